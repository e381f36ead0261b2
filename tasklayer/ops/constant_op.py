"""``tf.constant`` and ``tf.convert_to_tensor``: Python and numpy values become Const ops.

dtype rules (TF's): Python ints -> int32 (int64 when too big), floats -> float32, bools -> bool; numpy
values keep their dtype; a requested dtype accepts only values it can hold (see ``dtypes.safe_cast``).
"""

import numpy as np

from tasklayer import dtypes
from tasklayer.graph import Operation, Tensor, get_default_graph
from tasklayer.op_registry import register_op

_CONVERSIONS = []  # (base_type, func(value, dtype=None, name=None, as_ref=False) -> Tensor)
_AUTOPACK = []  # [func(tensors, name) -> Tensor]: how a list holding Tensors becomes one (array_ops's stack)


def _infer_const(op):
    return [(op.get_attr("dtype"), op.get_attr("value").shape)]


register_op("Const", _infer_const)


def register_tensor_conversion_function(base_type, conversion_func):
    """Let ``convert_to_tensor`` (and so every op) accept ``base_type`` objects (e.g. Variables).

    >>> import tasklayer as tf
    >>> class Meters:
    ...     def __init__(self, v): self.v = v
    >>> tf.register_tensor_conversion_function(Meters, lambda m, dtype=None, name=None, as_ref=False:
    ...                                        tf.constant(m.v, dtype=dtype, name=name or "Const"))
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.constant(1.0) + Meters(2.0)))
    3.0
    """
    _CONVERSIONS.append((base_type, conversion_func))


def register_autopacking(pack):
    """Let ``convert_to_tensor`` turn a list holding Tensors into one Tensor with ``pack(tensors, name=...)``.
    ``array_ops`` registers ``tf.stack`` when it is imported (as TF's array_ops registers its autopacking
    conversion), so that this module, below it, needs no array ops."""
    _AUTOPACK[:] = [pack]


def is_tensor_like(value):
    """Whether ``value`` is a Tensor or an object with a registered conversion."""
    return isinstance(value, Tensor) or any(isinstance(value, t) for t, _ in _CONVERSIONS)


def to_numpy(value, dtype=None):
    """``value`` as an ndarray following TF's dtype rules; TypeError naming the value when it cannot be."""
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    is_numpy = isinstance(value, (np.ndarray, np.generic))
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor: {value!r}") from None
    if array.size == 0 and dtype is not None and not is_numpy:  # [] is an empty tensor of any dtype, as in TF
        return np.zeros(array.shape, dtype=dtype.as_numpy_dtype)
    if array.dtype.kind in "OSU" and dtype in (None, dtypes.string):  # text: an object array of bytes
        strings = dtypes.string_array(array)
        if strings is not None or dtype is None:
            if strings is None:
                raise TypeError(f"Failed to convert object of type {type(value)} to Tensor. Contents: {value!r}.")
            return strings
    if array.dtype.kind not in "biufc" and dtypes.kind_of(array.dtype) != "f":  # bfloat16's numpy kind is "V"
        raise TypeError(f"Failed to convert object of type {type(value)} to Tensor. Contents: {value!r}.")
    if dtype is None:
        if is_numpy:
            dtypes.as_dtype(array.dtype)  # TypeError for numpy dtypes the engine does not have
            return array
        if array.dtype.kind == "c":
            dtype = dtypes.complex128  # a Python complex, as in TF
        elif array.dtype.kind == "f" or array.size == 0:
            dtype = dtypes.float32
        elif array.dtype.kind in "iu":
            fits = array.size == 0 or (array.min() >= -2**31 and array.max() < 2**31)
            dtype = dtypes.int32 if fits else dtypes.int64
        else:
            dtype = dtypes.bool_
    out = dtypes.safe_cast(array, dtype)
    if out is None:
        shown = value if np.size(array) <= 8 else f"an array of {array.dtype}"
        raise TypeError(f"Expected {dtype.name}, got {shown!r} of type '{type(value).__name__}' instead.")
    return out


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """A Const op holding ``value`` (reshaped to ``shape``, or filled when ``value`` is a scalar).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     c = tf.constant([[1, 2], [3, 4]])
    ...     z = tf.constant(0.5, shape=[2, 3])
    >>> c.dtype, c.shape.as_list(), z.dtype, z.shape.as_list()
    (tf.int32, [2, 2], tf.float32, [2, 3])
    """
    array = to_numpy(value, dtype)
    if shape is not None:
        shape = [int(d) for d in (shape if isinstance(shape, (list, tuple)) else [shape])]
        if verify_shape and list(array.shape) != shape:
            raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, got {array.shape}.")
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == int(np.prod(shape)):
            array = array.reshape(shape)
        else:
            raise ValueError(f"Too many or too few elements for tf.constant: {array.size} values for shape "
                             f"{shape}")
    dt = dtypes.as_dtype(array.dtype)
    array = np.array(array, order="C", copy=True)  # our own copy: later changes to the caller's array don't leak in
    array.setflags(write=False)
    return get_default_graph().create_op("Const", [], {"value": array, "dtype": dt}, name=name).outputs[0]


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None):
    """``value`` as a Tensor: Tensors pass through (their dtype must match ``dtype``), anything else becomes
    a Const; lists holding Tensors are stacked.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.convert_to_tensor([1.0, 2.0], dtype=tf.float64).dtype
    tf.float64
    """
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for Tensor with dtype "
                             f"{value.dtype.name}: {value!r}")
        return value
    for base_type, func in _CONVERSIONS:
        if isinstance(value, base_type):
            return convert_to_tensor(func(value, dtype=dtype, name=name, as_ref=False), dtype, name)
    if isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor (target dtype={dtype}, name={name})")
    if isinstance(value, (list, tuple)) and _holds_tensor(value):
        parts = [convert_to_tensor(v, dtype) for v in value]
        return _AUTOPACK[0](parts, name=name or "packed")
    if dtype is None and preferred_dtype is not None:
        try:
            return constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    return constant(value, dtype=dtype, name=name or "Const")


def _holds_tensor(values):
    return any(is_tensor_like(v) or isinstance(v, (list, tuple)) and _holds_tensor(v) for v in values)
