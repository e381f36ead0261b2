"""How much of TF 1.15's Python API tasklayer provides, module by module, and which TF1 symbols a program uses
that it lacks (``yarnflow tf-coverage``).

The symbol lists are data (``yarnflow/tf1_api/``): every public name of TF 1.15 (``tf1_symbols.json``, written by
``bench/tf1_symbols.py``) and the names TF 1.x's own tutorials and examples use (``tf1_tutorial_symbols.json``).
A name is *provided* when the namespace (``tasklayer``) resolves it by attribute access to something that is not a
stub: a function whose body only raises NotImplementedError does not count, nor does a module where TF1 has a
function or class, and a name that fails to resolve (``tf.contrib``'s missing names raise AttributeError) is missing.

>>> api = Tf1Api({"tf": ["Session", "placeholder"], "tf.nn": ["relu", "crelu"]})
>>> import types
>>> fake = types.SimpleNamespace(Session=object, placeholder=len, nn=types.ModuleType("nn"))
>>> fake.nn.relu = abs
>>> [(r.module, r.provided, r.total) for r in coverage(api, fake, ["tf", "tf.nn"])]
[('tf', 2, 2), ('tf.nn', 1, 2)]
"""

import ast
import dataclasses
import functools
import importlib
import inspect
import json
import os
import pathlib
import textwrap
import types

from yarnflow import tf_scan

__all__ = ["TABLE_MODULES", "GOAL_MODULES", "Tf1Api", "Row", "Missing", "ProgramError", "load_api",
           "load_tutorial_api", "load_namespace", "resolve", "coverage", "python_files", "scan_programs",
           "tutorial_symbols"]

DATA_DIR = pathlib.Path(__file__).resolve().parent / "tf1_api"
SYMBOLS_FILE = DATA_DIR / "tf1_symbols.json"
TUTORIAL_FILE = DATA_DIR / "tf1_tutorial_symbols.json"

# The modules the coverage table shows, in the order; GOAL_MODULES are held to 90% of the tutorial-used.
TABLE_MODULES = ("tf", "tf.nn", "tf.train", "tf.layers", "tf.losses", "tf.metrics", "tf.summary", "tf.data",
                 "tf.io", "tf.gfile", "tf.estimator", "tf.saved_model", "tf.compat", "tf.app", "tf.flags",
                 "tf.logging", "tf.random", "tf.math", "tf.linalg", "tf.image", "tf.sparse", "tf.strings")
GOAL_MODULES = ("tf", "tf.nn", "tf.train", "tf.layers", "tf.losses")
GOAL_PERCENT = 90

# Names whose TF 1.15 implementation itself only raises NotImplementedError: ours doing the same is faithful.
FAITHFUL_STUBS = frozenset({"tf.logging.flush"})


class ProgramError(ValueError):
    """A program given to scan that cannot be read as Python (no such file, not text, a syntax error)."""


class Tf1Api:
    """TF1's API as data: ``modules`` maps a module path (``"tf.nn"``) to its public names that are not modules."""

    def __init__(self, modules, header=None):
        self.modules = {path: frozenset(names) for path, names in modules.items()}
        self.header = dict(header or {})

    def symbol_of(self, path):
        """``(module, name)`` of the TF1 symbol an API path starts with (``("nn", "relu", "x")`` -> ``("tf.nn",
        "relu")``), the longest module prefix winning; None when the path names no listed symbol."""
        path = _strip_compat_v1(path)
        for cut in range(len(path) - 1, -1, -1):
            module = tf_scan.dotted(path[:cut])
            if module in self.modules and path[cut] in self.modules[module]:
                return module, path[cut]
        return None

    def is_module(self, path):
        """Whether ``path`` is one of TF1's modules."""
        return tf_scan.dotted(_strip_compat_v1(path)) in self.modules


def _strip_compat_v1(path):
    """``tf.compat.v1.X`` is TF1's ``tf.X``."""
    return tuple(path[2:]) if tuple(path[:2]) == ("compat", "v1") else tuple(path)


def _load(file):
    with open(file) as f:
        data = json.load(f)
    return Tf1Api(data["modules"], data.get("header"))


@functools.lru_cache(maxsize=None)
def load_api(file=SYMBOLS_FILE):
    """Every public symbol of TF 1.15 (cached)."""
    return _load(file)


@functools.lru_cache(maxsize=None)
def load_tutorial_api(file=TUTORIAL_FILE):
    """The TF 1.15 symbols that TF 1.x's own tutorials and examples use (cached)."""
    return _load(file)


def load_namespace(name="tasklayer"):
    """The module whose coverage is measured, imported by name (``tasklayer``; ``tensorflow.compat.v1`` checks the
    lists themselves)."""
    return importlib.import_module(name)


# ---------------------------------------------------------------- resolving a name

@dataclasses.dataclass(frozen=True)
class Resolution:
    """Whether a path resolves in the namespace; if not, the shortest prefix that does not, and why."""

    ok: bool
    missing: tuple = ()
    reason: str = ""


def _is_stub_function(fn):
    """Whether ``fn``'s body (past its docstring) is only ``raise NotImplementedError...``."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        body = ast.parse(source).body[0].body
    except (OSError, TypeError, SyntaxError, IndexError, AttributeError):
        return False
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def is_stub(obj):
    """Whether ``obj`` only raises NotImplementedError: a stub function, or a class whose own ``__init__`` is one."""
    if isinstance(obj, type):
        init = obj.__dict__.get("__init__")
        return isinstance(init, types.FunctionType) and _is_stub_function(init)
    return isinstance(obj, types.FunctionType) and _is_stub_function(obj)


def _getattr(obj, name, import_semantics):
    """``obj.name``, or (for an import) the submodule ``obj.name`` imported; raises AttributeError when neither."""
    try:
        return getattr(obj, name)
    except Exception as exc:  # noqa: BLE001 - a name whose lookup fails in any way is not provided
        if import_semantics and isinstance(obj, types.ModuleType) and hasattr(obj, "__path__"):
            try:
                return importlib.import_module(f"{obj.__name__}.{name}")
            except ImportError:
                pass
        raise AttributeError(name) from exc


def resolve(namespace, path, import_semantics=False, expect_symbol=False):
    """Resolve the API ``path`` in ``namespace`` as a program's attribute chain (or import) would.

    Modules are followed down to the symbol (the first name that is not a module); past it, one attribute more is
    checked on a class (``tf.GraphKeys.LOSSES``) and none on anything else (``tf.flags.FLAGS.batch_size`` is the
    program's own). ``expect_symbol``: TF1 has a function or class at ``path``, which a module of ours is not.
    """
    obj = namespace
    for i, name in enumerate(path):
        if i and not isinstance(obj, types.ModuleType):
            symbol, symbol_path = obj, path[:i]
            if isinstance(obj, type):
                try:
                    getattr(obj, name)
                except Exception:  # noqa: BLE001 - a class attribute whose lookup fails is not provided
                    return Resolution(False, tuple(path[:i + 1]), "not provided")
            break
        try:
            obj = _getattr(obj, name, import_semantics)
        except AttributeError:
            return Resolution(False, tuple(path[:i + 1]), "not provided")
    else:
        symbol, symbol_path = obj, path
        if expect_symbol and isinstance(obj, types.ModuleType):
            return Resolution(False, tuple(path), "a module in tasklayer, not TF1's function or class")
    if is_stub(symbol) and tf_scan.dotted(_strip_compat_v1(symbol_path)) not in FAITHFUL_STUBS:
        return Resolution(False, tuple(symbol_path), "a stub in tasklayer (raises NotImplementedError)")
    return Resolution(True)


# ---------------------------------------------------------------- coverage per module

@dataclasses.dataclass
class Row:
    """One module's coverage: how many of ``total`` names are provided, and the missing ones."""

    module: str
    provided: int
    total: int
    missing: list

    @property
    def percent(self):
        """Provided of total, in percent (None when the module has no names)."""
        return 100.0 * self.provided / self.total if self.total else None


def provides(namespace, module, name):
    """Whether ``namespace`` provides TF1's ``module.name`` (``"tf.nn"``, ``"relu"``)."""
    return resolve(namespace, tuple(module.split(".")[1:]) + (name,), expect_symbol=True).ok


def coverage(api, namespace, modules=TABLE_MODULES):
    """A :class:`Row` per module of ``modules`` (those ``api`` lists; a module it lacks has total 0)."""
    rows = []
    for module in modules:
        names = sorted(api.modules.get(module, ()))
        missing = [n for n in names if not provides(namespace, module, n)]
        rows.append(Row(module, len(names) - len(missing), len(names), missing))
    return rows


def total_row(rows, label="all"):
    """The rows summed into one."""
    return Row(label, sum(r.provided for r in rows), sum(r.total for r in rows),
               [m for r in rows for m in r.missing])


# ---------------------------------------------------------------- scanning programs

@dataclasses.dataclass(frozen=True)
class Missing:
    """A TF1 name a program uses that the namespace lacks: where, the name, the chain it was used in, why, and
    whether TF 1.15 lists it (False: not TF 1.15's public API either, e.g. a typo or ``tensorflow.python``)."""

    file: str
    line: int
    symbol: str
    used_as: str
    reason: str
    tf1: bool

    def describe(self):
        """One line for a person: ``app.py:12: tf.nn.ctc_loss is not provided by tasklayer``."""
        used = f" (in {self.used_as})" if self.used_as != self.symbol else ""
        listed = "" if self.tf1 else " (not a listed TF 1.15 symbol)"
        verb = "is not provided by tasklayer" if self.reason == "not provided" else f"is {self.reason}"
        return f"{self.file}:{self.line}: {self.symbol}{used} {verb}{listed}"


def python_files(paths):
    """The Python files ``paths`` name (a directory: its ``*.py`` files, recursively, hidden ones and
    ``__pycache__`` skipped); raises ProgramError for a path that does not exist or a directory without any."""
    files = []
    for p in paths:
        p = pathlib.Path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.py")
                           if not any(part.startswith(".") or part == "__pycache__"
                                      for part in f.relative_to(p).parts))
            if not found:
                raise ProgramError(f"{p}: a directory with no Python files (*.py)")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise ProgramError(f"{p}: no such file or directory")
    return files


def read_program(file):
    """The uses of TF's API in ``file``; raises ProgramError when it is not Python."""
    try:
        source = pathlib.Path(file).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ProgramError(f"{file}: not a Python program (not UTF-8 text)") from None
    except OSError as exc:
        raise ProgramError(f"{file}: cannot be read: {exc.strerror}") from None
    try:
        return tf_scan.scan_source(source, str(file))
    except SyntaxError as exc:
        where = "" if "line" in (exc.msg or "") else f" (line {exc.lineno})"
        raise ProgramError(f"{file}: not a Python program: {exc.msg}{where}") from None
    except ValueError as exc:  # source with NUL bytes
        raise ProgramError(f"{file}: not a Python program: {exc}") from None


def scan_programs(paths, namespace, api):
    """``(number of distinct TF names used, [Missing...])`` over the Python files ``paths`` name."""
    used, missing = set(), []
    for file in python_files(paths):
        for use in read_program(file):
            used.add(use.path)
            found = api.symbol_of(use.path)
            exact = found is not None and len(_strip_compat_v1(use.path)) == len(found[0].split("."))
            res = resolve(namespace, use.path, import_semantics=use.kind == "import", expect_symbol=exact)
            if res.ok:
                continue
            tf1 = api.symbol_of(res.missing) is not None or api.is_module(res.missing)
            missing.append(Missing(os.fspath(file), use.line, tf_scan.dotted(res.missing),
                                   tf_scan.dotted(use.path), res.reason, tf1))
    unique = {}
    for m in missing:  # a symbol missing twice on a line (an import and its module) is reported once
        unique.setdefault((m.file, m.line, m.symbol), m)
    return len(used), list(unique.values())


def tutorial_symbols(files, api):
    """``(symbols, unlisted)`` the programs use: TF1 symbols as ``{module: set(names)}``, and the dotted chains that
    name no listed symbol (``tf.contrib...``, ``tf.examples...``), for the tutorial-used list."""
    symbols, unlisted = {}, set()
    for file in files:
        for use in read_program(file):
            found = api.symbol_of(use.path)
            if found:
                symbols.setdefault(found[0], set()).add(found[1])
            elif not api.is_module(use.path):
                unlisted.add(tf_scan.dotted(use.path))
    return symbols, unlisted
