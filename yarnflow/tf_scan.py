"""Find the TensorFlow API a Python program uses, without running it: its TF imports and every ``tf.a.b.c`` chain.

A use is a path into TF's API (``("nn", "relu")`` for ``tf.nn.relu``), whatever the program calls the module:
``import tensorflow as tf``, ``import tensorflow.compat.v1 as tf``, ``from tensorflow import nn``,
``from tensorflow.compat.v1 import layers``, ``import tensorflow`` (``tensorflow.nn.relu``), a converted program's
``import tasklayer as tf``, and plain aliases (``layers = tf.layers``).

>>> uses = scan_source("import tensorflow.compat.v1 as tf\\nx = tf.nn.relu(tf.placeholder(tf.float32))\\n")
>>> [(u.line, dotted(u.path)) for u in uses]
[(2, 'tf.nn.relu'), (2, 'tf.placeholder'), (2, 'tf.float32')]
"""

import ast
import dataclasses

__all__ = ["Use", "dotted", "api_path_of_module", "scan_source"]

# Module names that are TF's whole v1 API; what follows them is a path into it.
API_ROOTS = ("tensorflow.compat.v1", "tasklayer.compat.v1", "tensorflow", "tasklayer")


@dataclasses.dataclass(frozen=True)
class Use:
    """One use of TF's API: ``path`` into it, the ``line`` it is on, and whether it was imported (``"import"``,
    resolved as Python imports a module) or reached as an attribute chain (``"attribute"``)."""

    path: tuple
    line: int
    kind: str = "attribute"


def dotted(path):
    """The name a TF1 user writes for ``path``: ``("nn", "relu")`` -> ``"tf.nn.relu"``."""
    return ".".join(("tf",) + tuple(path))


def api_path_of_module(module_name):
    """The API path of an imported module name, or None when it is not TensorFlow (or tasklayer).

    >>> api_path_of_module("tensorflow.compat.v1.nn"), api_path_of_module("tensorflow"), api_path_of_module("os")
    (('nn',), (), None)
    """
    for root in API_ROOTS:
        if module_name == root:
            return ()
        if module_name.startswith(root + "."):
            return tuple(module_name[len(root) + 1:].split("."))
    return None


def _chain(node):
    """``(base name, [attrs])`` of a name or an attribute chain ``a.b.c``, or None for anything else."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return (node.id, attrs[::-1]) if isinstance(node, ast.Name) else None


def _import_uses(tree):
    """``(bindings, uses)``: the names TF imports bind (local name -> API path), and the imports' own uses."""
    bindings, uses = {}, []
    for node in ast.walk(tree):  # a name imported inside a function counts everywhere: scopes are not tracked
        if isinstance(node, ast.Import):
            for alias in node.names:
                path = api_path_of_module(alias.name)
                if path is None:
                    continue
                # `import tensorflow.contrib.slim` binds `tensorflow` (the root) and imports the module
                bindings[alias.asname or alias.name.split(".")[0]] = path if alias.asname else ()
                if path:
                    uses.append(Use(path, node.lineno, "import"))
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module in ("tensorflow.compat", "tasklayer.compat") and \
                    [a.name for a in node.names] == ["v1"]:  # from tensorflow.compat import v1 as tf: the root
                bindings[node.names[0].asname or "v1"] = ()
                continue
            base = api_path_of_module(node.module)
            if base is None:
                continue
            if base:
                uses.append(Use(base, node.lineno, "import"))
            for alias in node.names:
                if alias.name != "*":
                    bindings[alias.asname or alias.name] = base + (alias.name,)
                    uses.append(Use(base + (alias.name,), node.lineno, "import"))
    return bindings, uses


def _add_aliases(tree, bindings):
    """Add ``name = <TF chain>`` assignments to ``bindings`` (wherever they are, until nothing changes); a name an
    import binds keeps its import's meaning (``tf = tf.compat.v1`` changes nothing for a TF1 program)."""
    fixed = set(bindings)
    assigns = [(n.targets[0].id, _chain(n.value)) for n in ast.walk(tree)
               if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
               and n.targets[0].id not in fixed]
    changed = True
    while changed:
        changed = False
        for name, chain in assigns:
            if chain is not None and chain[0] in bindings:
                path = bindings[chain[0]] + tuple(chain[1])
                if bindings.get(name) != path:
                    bindings[name], changed = path, True


class _ChainFinder(ast.NodeVisitor):
    """Collects each outermost attribute chain whose base name is bound to TF's API."""

    def __init__(self, bindings):
        self.bindings = bindings
        self.uses = []

    def visit_Attribute(self, node):  # noqa: N802 - ast's name
        chain = _chain(node)
        if chain is not None and chain[0] in self.bindings and not isinstance(node.ctx, (ast.Store, ast.Del)):
            self.uses.append(Use(self.bindings[chain[0]] + tuple(chain[1]), node.lineno))
            return  # the whole chain is one use: its inner attributes are not uses of their own
        self.generic_visit(node)


def scan_source(source, filename="<program>"):
    """Every use of TF's API in the Python ``source``, by line, each (path, line, kind) once (raises SyntaxError)."""
    tree = ast.parse(source, filename=filename)
    bindings, uses = _import_uses(tree)
    _add_aliases(tree, bindings)
    finder = _ChainFinder(bindings)
    finder.visit(tree)
    uses = list(dict.fromkeys(uses + finder.uses))
    return sorted(uses, key=lambda u: u.line)  # stable: the order within a line is kept
