"""Nodes and edges of a task-layer graph: ``Operation`` (a node) and ``Tensor`` (one output of a node).

Both are created only by ``Graph.create_op``. Tensor operators (``+``, ``[...]``, ``<`` ...) are filled in
by the ops modules through ``Tensor._override_operator``, so this module needs none of them.
"""

from engine import device_spec
from tasklayer import node_defs
from tasklayer.session_stack import run_in_session
from tasklayer.shapes import TensorShape, as_shape


class Operation:
    """A node of a Graph: its type, inputs, attrs, device and output tensors.

    >>> import tasklayer as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     c = tf.constant(1.0, name="c")
    >>> c.op.name, c.op.type, c.op.get_attr("dtype")
    ('c', 'Const', tf.float32)
    """

    def __init__(self, graph, op_type, name, inputs, attrs, control_inputs):
        self._graph = graph
        self._type = op_type
        self._name = name
        self._inputs = tuple(inputs)
        self._attrs = dict(attrs or {})
        self._control_inputs = list(control_inputs)
        self._device = ""
        self._outputs = ()

    @property
    def name(self):
        """The unique name of this op in its graph."""
        return self._name

    @property
    def type(self):
        """The op type, e.g. ``"MatMul"``."""
        return self._type

    @property
    def graph(self):
        """The Graph this op belongs to."""
        return self._graph

    @property
    def inputs(self):
        """The data input tensors, in order."""
        return self._inputs

    @property
    def outputs(self):
        """The output tensors, in order."""
        return self._outputs

    def values(self):
        """The output tensors (TF1 alias of ``outputs``)."""
        return self._outputs

    @property
    def control_inputs(self):
        """The ops that must run before this one (no data flows from them)."""
        return tuple(self._control_inputs)

    @property
    def device(self):
        """The canonical device string this op was placed on by ``tf.device`` scopes (``""`` if none)."""
        return self._device

    def _set_device(self, device):
        self._device = device_spec.canonical("" if device is None else str(device))

    def _add_control_inputs(self, ops):
        """Add control inputs after creation (used by later issues' training ops)."""
        with self._graph._lock:
            for op in ops:
                op = getattr(op, "op", op)
                if op.graph is not self._graph:
                    raise ValueError(f"control input {op.name!r} is from a different graph than {self._name!r}")
                if op not in self._control_inputs:
                    self._control_inputs.append(op)
            self._graph._bump_version()

    @property
    def attr_names(self):
        """Names of this op's attrs."""
        return sorted(self._attrs)

    def get_attr(self, name):
        """The value of attr ``name`` (DType, TensorShape, ndarray, int, float, bool, str or list).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     tf.placeholder(tf.float32, [None, 3]).op.get_attr("shape")
        TensorShape([None, 3])
        """
        try:
            return self._attrs[name]
        except KeyError:
            raise ValueError(f"Operation {self._name!r} ({self._type}) has no attr named {name!r}") from None

    @property
    def node_def(self):
        """This op as a ``NodeDef`` proto."""
        return node_defs.node_def_of(self)

    def run(self, feed_dict=None, session=None):
        """Run this op in ``session`` (default: the default session).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default(), tf.Session():
        ...     tf.no_op().run()
        """
        run_in_session(self, feed_dict, session)

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"


class Tensor:
    """One output of an Operation: a symbolic value with a dtype and a (partial) static shape.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, [None, 3], name="x")
    ...     y = x * 2 + 1
    >>> y.name, y.dtype, y.shape.as_list()
    ('add:0', tf.float32, [None, 3])
    """

    # numpy hands ``ndarray <op> Tensor`` to our reflected operators instead of looping over elements.
    __array_ufunc__ = None
    _OPERATORS = {}

    def __init__(self, op, value_index, dtype, shape):
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = as_shape(shape)

    @property
    def op(self):
        """The Operation that produces this tensor."""
        return self._op

    @property
    def value_index(self):
        """Which output of ``op`` this is."""
        return self._value_index

    @property
    def dtype(self):
        """The element type (a DType)."""
        return self._dtype

    @property
    def graph(self):
        """The Graph of the producing op."""
        return self._op.graph

    @property
    def device(self):
        """The device of the producing op."""
        return self._op.device

    @property
    def name(self):
        """``"<op name>:<output index>"``."""
        return f"{self._op.name}:{self._value_index}"

    @property
    def shape(self):
        """The static shape (a TensorShape; unknown dims are None)."""
        return self._shape

    def get_shape(self):
        """The static shape (TF1 alias of ``shape``)."""
        return self._shape

    def set_shape(self, shape):
        """Refine the static shape; ValueError when ``shape`` conflicts with what is known."""
        self._shape = self._shape.merge_with(TensorShape(shape))

    def consumers(self):
        """The ops that take this tensor as a data input."""
        return [op for op in self.graph.get_operations() if any(t is self for t in op.inputs)]

    def eval(self, feed_dict=None, session=None):
        """The value of this tensor computed in ``session`` (default: the default session).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default(), tf.Session():
        ...     print((tf.constant(2) * 3).eval())
        6
        """
        return run_in_session(self, feed_dict, session)

    @classmethod
    def _override_operator(cls, operator, func):
        """Install ``func(tensor, other)`` as ``Tensor.<operator>`` (called by the ops modules)."""
        cls._OPERATORS[operator] = func

    def __bool__(self):
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. Use `if t is not None:` "
                        "instead of `if t:` to test if a tensor is defined, and use TensorFlow ops such as "
                        "tf.cond to execute subgraphs conditioned on the value of a tensor.")

    def __iter__(self):
        raise TypeError("Tensor objects are only iterable when eager execution is enabled. To iterate over "
                        "this tensor use tf.unstack.")

    def __len__(self):
        raise TypeError(f"len is not well defined for symbolic Tensors. ({self.name}) Please call "
                        "`x.shape` rather than `len(x)` for shape information.")

    __hash__ = object.__hash__  # identity, as in TF1 (``==`` is not overloaded)

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __str__(self):
        return f'Tensor("{self.name}", shape={self._shape}, dtype={self._dtype.name})'


def _make_operator(operator):
    def method(self, *args):
        try:
            func = Tensor._OPERATORS[operator]
        except KeyError:
            return NotImplemented
        return func(self, *args)
    method.__name__ = operator
    method.__doc__ = f"``Tensor.{operator}``: builds the matching op (see tasklayer.ops.math_ops)."
    return method


for _operator in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                  "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
                  "__rpow__", "__neg__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__and__",
                  "__rand__", "__or__", "__ror__", "__invert__", "__matmul__", "__rmatmul__", "__getitem__"):
    setattr(Tensor, _operator, _make_operator(_operator))
