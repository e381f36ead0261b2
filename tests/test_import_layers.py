"""The package layers hold: ``lint-imports`` checks the contracts of ``[tool.importlinter]`` in pyproject.toml (the
task layer's layers, no import cycles, a pure step planner, and the "must not" column of DESIGN.md's package
table); an AST scan checks that an import inside a function is only ever for an optional dependency."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
_LINT = "import sys; from importlinter import cli; sys.exit(cli.lint_imports(no_cache=True, no_logo=True))"


def test_import_contracts_are_kept():
    result = subprocess.run([sys.executable, "-c", _LINT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = result.stdout + result.stderr
    assert "No module named 'importlinter'" not in report, "install import-linter (in the test extra)"
    assert result.returncode == 0, f"import contracts broken:\n{report}"
    assert "0 broken" in report and "kept" in report.lower(), report


def test_every_task_layer_module_has_a_layer():
    """A new module of ``tasklayer`` must be placed in a layer (the contract is exhaustive), so none slips by."""
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "tasklayer-layers")
    assert layers["exhaustive"] is True
    placed = {name.strip(" ()") for layer in layers["layers"] for name in layer.replace("|", ":").split(":")}
    present = {p.stem if p.suffix == ".py" else p.name for p in (ROOT / "tasklayer").iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert not present - placed, f"modules of tasklayer in no layer: {sorted(present - placed)}"


def test_only_non_backend_helpers_of_the_kernels_may_be_imported_from_outside():
    """The "backends-found-by-name" contract forbids every module of ``engine.kernels`` but the helpers it lists;
    each listed one must exist and not be a backend (``numpy_*`` or ``cupy_backend``), so no backend is let in."""
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["id"] == "backends-found-by-name")
    assert contract["forbidden_modules"] == ["engine.kernels.*"]
    allowed = [rule.split("->")[1].strip() for rule in contract["ignore_imports"]]
    assert all(rule.split("->")[0].strip() == "**" for rule in contract["ignore_imports"])
    for module in allowed:
        name = module.removeprefix("engine.kernels.")
        assert (ROOT / "engine" / "kernels" / f"{name}.py").exists(), f"{module} does not exist"
        assert not name.startswith("numpy_") and name != "cupy_backend", f"{module} is a backend"



PACKAGES = ("engine", "tasklayer", "resmgr", "nodeagent", "appmaster", "protos", "yarnflow", "bin")
# What a function may import for itself: dependencies a module works without (and the standard library).
OPTIONAL = {"cupy", "pynvml", "fsspec", "grpc_tools"}
# Imports inside functions that still dodge a cycle, each with its fix in pyproject's "no-import-cycles" contract.
KNOWN_DODGES = set()


def _imports_inside_functions(tree):
    """``(line, module)`` of every import statement inside a function or lambda of ``tree``."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif in_function and isinstance(child, ast.ImportFrom):
                found.append((child.lineno, "." * child.level + (child.module or "")))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    visit(tree, False)
    return found


def _may_import_late(module):
    top = module.split(".")[0]
    return top in OPTIONAL or (top in sys.stdlib_module_names and top not in PACKAGES)


def test_the_scan_sees_imports_at_any_depth_of_a_function():
    tree = ast.parse("import os\ndef f():\n    import cupy\n    class C:\n        def g(self):\n"
                     "            from . import x\n            h = lambda: __import__('y')\n")
    assert _imports_inside_functions(tree) == [(3, "cupy"), (6, ".")]
    assert _may_import_late("cupy.cuda") and _may_import_late("importlib.resources")
    assert not _may_import_late("tasklayer.ops") and not _may_import_late("numpy")


def test_imports_inside_functions_are_only_for_optional_dependencies():
    late, dodges = [], set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for line, module in _imports_inside_functions(ast.parse(path.read_text(), rel)):
                if (rel, module) in KNOWN_DODGES:
                    dodges.add((rel, module))
                elif not _may_import_late(module):
                    late.append(f"{rel}:{line}: {module}")
    assert not late, ("imports inside functions are for optional dependencies only; move these to the top of their "
                      "module (a cycle means a layer is wrong: split the module, or let the lower one offer a "
                      "registry the higher one fills):\n" + "\n".join(late))
    assert dodges == KNOWN_DODGES, f"fixed, so drop from KNOWN_DODGES: {sorted(KNOWN_DODGES - dodges)}"
