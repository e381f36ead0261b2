"""``tf.Variable``: state that outlives ``Session.run`` calls (TF1's ref variable). The variable collections, their
initializers and the global step are in ``tasklayer.variables``, which re-exports ``Variable``.

A Variable is three ops: ``w`` (VariableV2, holding the value in the engine), ``w/Assign`` (its initializer)
and ``w/read`` (an Identity that every reader uses). It converts to its ``read`` tensor wherever a Tensor is
expected, so ``x @ w + b`` works as in TF1.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     w = tf.Variable([1.0, 2.0], name="w")
...     inc = w.assign_add([1.0, 1.0])
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         _ = sess.run(inc)
...         sess.run(w * 2).tolist()
[4.0, 6.0]
"""

from tasklayer import dtypes, state_ops
from tasklayer.graph import GraphKeys, colocate_with, get_default_graph, graph_of, init_scope, name_scope
from tasklayer.ops import array_ops
from tasklayer.ops.constant_op import convert_to_tensor, register_tensor_conversion_function
from tasklayer.session_stack import get_default_session
from tasklayer.shapes import TensorShape

__all__ = ["Variable"]


class Variable:
    """A variable: ``Variable(initial_value, trainable=True, collections=None, validate_shape=True, name=None,
    dtype=None)``; ``initial_value`` may be a Tensor, a Python/numpy value or a callable returning one."""

    def __init__(self, initial_value=None, trainable=True, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None, aggregation=None,
                 shape=None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        if variable_def is not None:
            raise NotImplementedError("Variable(variable_def=...) is not supported; build the variable instead")
        collections = [GraphKeys.GLOBAL_VARIABLES] if collections is None else list(collections)
        if isinstance(collections, str) or not all(isinstance(c, str) for c in collections):
            raise ValueError(f"collections argument to Variable constructor must be a list of names, got "
                             f"{collections!r}")
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections = collections + [GraphKeys.TRAINABLE_VARIABLES]
        from_fn = callable(initial_value)
        full_name = getattr(name, "_exact_name", None)  # get_variable passes the full name it resolved
        graph = get_default_graph() if from_fn else graph_of([initial_value])
        # init_scope, as TF1: a variable made in a tf.cond branch or a while_loop body is made outside them (its
        # initializer must not wait for the branch's predicate, and it exists whichever branch runs)
        with graph.as_default(), init_scope():
            scope_cm = graph.name_scope(full_name + "/") if full_name else name_scope(
                name, "Variable", [] if from_fn else [initial_value])
            with scope_cm as scope:
                if from_fn:
                    with name_scope("Initializer"):
                        init = convert_to_tensor(initial_value(), dtype=dtype, name="initial_value")
                else:
                    init = convert_to_tensor(initial_value, dtype=dtype, name="initial_value")
                var_shape = init.shape if shape is None else TensorShape(shape)
                if validate_shape and not var_shape.is_fully_defined():
                    raise ValueError(f"initial_value must have a shape specified: {init} (variable "
                                     f"{scope[:-1]!r}); pass validate_shape=False for a shape known only at run time")
                self._variable = state_ops.variable_op(var_shape if validate_shape else TensorShape(None),
                                                       init.dtype, name=scope)
                self._initial_value = init
                self._initializer_op = state_ops.assign(self._variable, init, validate_shape=validate_shape,
                                                        name="Assign").op
                with colocate_with(self._variable.op, ignore_existing=True):
                    self._snapshot = array_ops.identity(self._variable, name="read")
        self._trainable = bool(trainable)
        self._save_slice_info = None
        graph.add_to_collections(collections, self)

    # ------------------------------------------------------------------ identity
    @property
    def name(self):
        """``"w:0"``: the name of the variable's tensor."""
        return self._variable.name

    @property
    def op(self):
        """The VariableV2 op."""
        return self._variable.op

    @property
    def dtype(self):
        """The element type."""
        return self._variable.dtype

    @property
    def shape(self):
        """The static shape."""
        return self._variable.shape

    def get_shape(self):
        """The static shape (TF1 alias of ``shape``)."""
        return self._variable.shape

    @property
    def device(self):
        """The device the variable lives on."""
        return self._variable.device

    @property
    def graph(self):
        """The Graph of the variable."""
        return self._variable.graph

    @property
    def trainable(self):
        """Whether optimizers update it by default."""
        return self._trainable

    @property
    def initializer(self):
        """The op that assigns the initial value."""
        return self._initializer_op

    @property
    def initial_value(self):
        """The tensor holding the initial value."""
        return self._initial_value

    def _ref(self):
        """The VariableV2 tensor (what ref ops and ``tf.gradients`` take)."""
        return self._variable

    def _as_graph_element(self):
        """What ``Session.run`` fetches or feeds for this variable: its VariableV2 tensor."""
        return self._variable

    # ------------------------------------------------------------------ reading
    def value(self):
        """The snapshot tensor (``w/read``) every reader uses."""
        return self._snapshot

    def read_value(self):
        """A new read of the variable (an Identity), e.g. inside ``control_dependencies`` after an update."""
        with colocate_with(self._variable.op, ignore_existing=True):
            return array_ops.identity(self._variable, name="read")

    def initialized_value(self):
        """The value, initializing the variable first if it is not yet (TF1 helper, simplified: after the
        initializer runs)."""
        with control_flow_ops_dependencies([self._initializer_op]):
            return self.read_value()

    def eval(self, session=None):
        """The current value in ``session`` (default: the default session)."""
        return self._snapshot.eval(session=session)

    def load(self, value, session=None):
        """Assign ``value`` in ``session`` without adding ops per call (feeds the initializer's value)."""
        session = session or get_default_session()
        if session is None:
            raise ValueError("Variable.load needs a session: pass one or use it inside `with sess.as_default()`")
        session.run(self._initializer_op, {self._initial_value: value})

    # ------------------------------------------------------------------ writing
    def assign(self, value, use_locking=False, name=None, read_value=True):
        """``self = value``; the new value (or the op when ``read_value=False``)."""
        out = state_ops.assign(self._variable, value, name=name)
        return out if read_value else out.op

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        """``self += delta``; the new value (or the op when ``read_value=False``)."""
        out = state_ops.assign_add(self._variable, delta, name=name)
        return out if read_value else out.op

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        """``self -= delta``; the new value (or the op when ``read_value=False``)."""
        out = state_ops.assign_sub(self._variable, delta, name=name)
        return out if read_value else out.op

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    __hash__ = object.__hash__


def control_flow_ops_dependencies(ops):
    """``tf.control_dependencies`` in the variable's graph."""
    return get_default_graph().control_dependencies(ops)


def _to_tensor(var, dtype=None, name=None, as_ref=False):
    if as_ref:
        return var._ref()
    value = var.value()
    if dtype is not None and dtypes.as_dtype(dtype) != value.dtype:
        raise ValueError(f"Incompatible type conversion requested to type '{dtypes.as_dtype(dtype).name}' for "
                         f"variable of type '{value.dtype.name}' ({var.name})")
    return value


register_tensor_conversion_function(Variable, _to_tensor)


def _forward(operator):
    def method(self, *args):
        return getattr(self.value(), operator)(*args)
    method.__name__ = operator
    method.__doc__ = f"``Variable.{operator}``: the same operator on the variable's value."
    return method


for _operator in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                  "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__",
                  "__neg__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__rand__", "__or__",
                  "__ror__", "__invert__", "__matmul__", "__rmatmul__", "__getitem__"):
    setattr(Variable, _operator, _forward(_operator))
Variable.__array_ufunc__ = None  # ``ndarray * variable`` builds an op instead of looping over elements
