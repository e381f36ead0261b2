"""``tf.get_variable`` and ``tf.variable_scope``: variables named by scope, created once and shared on reuse.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     with tf.variable_scope("layer"):
...         w = tf.get_variable("w", [2, 3])
...     with tf.variable_scope("layer", reuse=True):
...         w2 = tf.get_variable("w")
...     w.name, w2 is w
('layer/w:0', True)
"""

import contextlib
import threading

from tasklayer import dtypes, initializers
from tasklayer.graph import get_default_graph
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.ref_variable import Variable
from tasklayer.shapes import TensorShape

__all__ = ["get_variable", "variable_scope", "get_variable_scope", "VariableScope", "AUTO_REUSE"]


class _AutoReuse:
    """``tf.AUTO_REUSE``: create a variable when it does not exist, reuse it when it does."""

    def __repr__(self):
        return "tf.AUTO_REUSE"


AUTO_REUSE = _AutoReuse()
_STORE_KEY = "__variable_store"


class VariableScope:
    """A variable scope: the name prefix of ``get_variable`` and defaults (reuse, initializer, dtype)."""

    def __init__(self, reuse, name="", initializer=None, dtype=dtypes.float32, name_scope=""):
        self._reuse = reuse
        self._name = name
        self._initializer = initializer
        self._dtype = dtypes.as_dtype(dtype)
        self._name_scope = name_scope

    @property
    def name(self):
        """The scope's full name (``"outer/inner"``)."""
        return self._name

    @property
    def original_name_scope(self):
        """The name scope opened when this variable scope was first entered (``"outer/inner/"``)."""
        return self._name_scope

    @property
    def reuse(self):
        """True, AUTO_REUSE or False."""
        return self._reuse

    @property
    def initializer(self):
        """The default initializer of variables created here (None: TF's defaults)."""
        return self._initializer

    @property
    def dtype(self):
        """The default dtype of variables created here."""
        return self._dtype

    def reuse_variables(self):
        """Reuse variables from now on in this scope."""
        self._reuse = True

    def set_initializer(self, initializer):
        """Set the default initializer."""
        self._initializer = initializer

    def __repr__(self):
        return f"<VariableScope {self._name!r} reuse={self._reuse}>"


class _Scopes(threading.local):
    def __init__(self):
        self.stacks = {}  # id(graph) -> [VariableScope], innermost last


_scopes = _Scopes()


def _stack(graph):
    return _scopes.stacks.setdefault(id(graph), [VariableScope(False)])


def get_variable_scope():
    """The current VariableScope of the default graph."""
    return _stack(get_default_graph())[-1]


def _store(graph):
    ref = graph.get_collection_ref(_STORE_KEY)
    if not ref:
        ref.append({"vars": {}, "scope_counts": {}})
    return ref[0]


class _ExactName(str):
    """A variable name already resolved to its full scope path (Variable uses it as is)."""

    @property
    def _exact_name(self):
        return str(self)


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True, use_resource=None,
                 custom_getter=None, constraint=None, synchronization=None, aggregation=None):
    """The variable ``<scope>/name``: created (with ``initializer``, default glorot_uniform for floats and zeros
    otherwise) unless the scope reuses, in which case it must exist and match ``shape``/``dtype``."""
    graph = get_default_graph()
    scope = get_variable_scope()
    full = f"{scope.name}/{name}" if scope.name else name
    store = _store(graph)["vars"]
    reuse = scope.reuse
    existing = store.get(full)
    if existing is not None:
        if reuse is False or reuse is None:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                             "reuse=tf.AUTO_REUSE in VarScope?")
        if shape is not None and not TensorShape(shape).is_compatible_with(existing.shape):
            raise ValueError(f"Trying to share variable {full}, but specified shape {TensorShape(shape)} and "
                             f"found shape {existing.shape}.")
        if dtype is not None and dtypes.as_dtype(dtype) != existing.dtype:
            raise ValueError(f"Trying to share variable {full}, but specified dtype {dtypes.as_dtype(dtype).name} "
                             f"and found dtype {existing.dtype.name}.")
        return existing
    if reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you "
                         "mean to set reuse=tf.AUTO_REUSE in VarScope?")
    initializer = initializer if initializer is not None else scope.initializer
    value_init = initializer is not None and not (callable(initializer) and not hasattr(initializer, "op"))
    # A Tensor (or value) initializer brings its own dtype unless one is asked for.
    dtype = dtypes.as_dtype(dtype) if dtype is not None else (None if value_init else scope.dtype)
    if initializer is None:
        initializer = initializers.glorot_uniform() if dtype in dtypes.FLOATS else initializers.zeros()
    if not value_init:
        if shape is None:
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was None.")
        shape_t = TensorShape(shape)
        if not shape_t.is_fully_defined():
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was {shape_t}.")
        init = initializer
        value = lambda: init(shape_t.as_list(), dtype=dtype)  # noqa: E731
    else:  # a Tensor or a Python/numpy value: the shape comes from it
        value = initializer
        if shape is not None:
            value = convert_to_tensor(initializer, dtype=dtype)
            if not value.shape.is_compatible_with(TensorShape(shape)):
                raise ValueError(f"get_variable {full}: initializer shape {value.shape} does not match shape "
                                 f"{TensorShape(shape)}")
    with graph.name_scope(None):
        # The store is keyed by ``full``, but the op name must be free: after tf.Variable(name="w"), TF1's
        # get_variable("w") makes op "w_1". (Creating the op marks its name used; a failure burns none.)
        op_name = graph.unique_name(full, mark_as_used=False)
    v = Variable(value, trainable=True if trainable is None else trainable, collections=collections,
                 validate_shape=validate_shape, name=_ExactName(op_name), dtype=dtype)
    store[full] = v
    if regularizer is not None:
        with graph.name_scope(f"{full}/Regularizer/"):
            loss = regularizer(v)
        if loss is not None:
            graph.add_to_collection("regularization_losses", loss)
    return v


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None, regularizer=None,
                   caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                   use_resource=None, constraint=None, auxiliary_name_scope=True):
    """Open a variable scope (and a name scope of the same name); yields the VariableScope.

    ``reuse``: True (variables must exist), ``tf.AUTO_REUSE`` (create or reuse), None (inherit).
    """
    graph = get_default_graph()
    stack = _stack(graph)
    outer = stack[-1]
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    counts = _store(graph)["scope_counts"]  # full scope name -> times opened (TF1's variable_scopes_count)
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
        name_scope_name = name_or_scope.original_name_scope or (full + "/" if full else "")
        base_reuse = name_or_scope.reuse
        base_init, base_dtype = name_or_scope.initializer, name_or_scope.dtype
    else:
        if name_or_scope is None:  # default_name: the first of name, name_1, ... not open in this scope yet
            prefix = f"{outer.name}/{default_name}" if outer.name else default_name
            n = 0
            while counts.get(prefix if n == 0 else f"{prefix}_{n}", 0) > 0:
                n += 1
            short = default_name if n == 0 else f"{default_name}_{n}"
        else:
            short = str(name_or_scope)
        full = f"{outer.name}/{short}" if outer.name else short
        name_scope_name = short
        base_reuse = outer.reuse
        base_init, base_dtype = outer.initializer, outer.dtype
    if reuse is False:
        reuse = False
    elif reuse is None:
        reuse = True if outer.reuse is True else base_reuse
    elif reuse is not AUTO_REUSE:
        reuse = True
    saved_counts = dict(counts) if isinstance(name_or_scope, VariableScope) else None
    counts[full] = counts.get(full, 0) + 1
    ns_cm = graph.name_scope(name_scope_name) if auxiliary_name_scope else contextlib.nullcontext(
        graph.get_name_scope() + "/" if graph.get_name_scope() else "")
    with ns_cm as ns:
        scope = VariableScope(reuse, full, initializer if initializer is not None else base_init,
                              dtype if dtype is not None else base_dtype, ns)
        stack.append(scope)
        try:
            yield scope
        finally:
            stack.pop()
            # As TF1: leaving a scope given as an object restores the counts; leaving one named by a string
            # resets its sub-scopes, so re-entering "net" names its layers "net/dense" again, not "net/dense_1".
            if saved_counts is not None:
                counts.clear()
                counts.update(saved_counts)
            else:
                for key in [k for k in counts if k.startswith(full + "/")]:
                    counts[key] = 0
