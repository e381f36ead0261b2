"""Random tensors (random_normal, truncated_normal, random_uniform, random_shuffle, multinomial) and TF1's
graph-level + op-level seeds.

Seeds follow TF1's ``random_seed.get_seed``: with ``tf.set_random_seed(s)`` and no op seed, an op takes the
graph's op count as its seed, so the same program repeats in a new graph while two ops still differ; with
neither seed an op is nondeterministic. Each random op keeps its generator for the life of its session, so a
new session repeats the sequence.
"""

from tasklayer import dtypes, shapes
from tasklayer.graph import get_default_graph, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, slicing_ops, static_value
from tasklayer.ops._build import as_int_tensor, check_dtype, make_op, shape_of, who
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.ops.math_ops import add, floormod, multiply, subtract

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1
_NORMAL_DTYPES = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)
_UNIFORM_DTYPES = _NORMAL_DTYPES + (dtypes.int32, dtypes.int64)


def _infer_random(op):
    shape = static_value.partial_shape_value(op.inputs[0])
    if op.inputs[0].shape.ndims not in (None, 1):
        raise ValueError(f"{who(op)}: Shape must be rank 1 but is rank {op.inputs[0].shape.ndims}")
    return [(op.get_attr("dtype" if op.type != "RandomUniformInt" else "Tout"), shape)]


def _infer_uniform_int(op):
    for t, arg in zip(op.inputs[1:], ("minval", "maxval")):
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"{who(op)}: {arg} must be 0-D, got shape {shapes.fmt(t.shape)}")
    return _infer_random(op)


def _infer_multinomial(op):
    logits = shape_of(op.inputs[0])
    if logits is not None and len(logits) != 2:
        raise ValueError(f"{who(op)}: logits should be a matrix, got shape {shapes.fmt(logits)}")
    num = static_value.constant_int(op.inputs[1])
    if num is not None and num < 0:
        raise ValueError(f"{who(op)}: num_samples should be nonnegative, got {num}")
    return [(op.get_attr("output_dtype"), (None if logits is None else logits[0], num))]


for _op in ("RandomStandardNormal", "RandomUniform", "TruncatedNormal"):
    register_op(_op, _infer_random, stateful=True)
register_op("RandomUniformInt", _infer_uniform_int, stateful=True)
register_op("RandomShuffle", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], stateful=True)
register_op("Multinomial", _infer_multinomial, stateful=True)


def set_random_seed(seed):
    """Set the graph-level seed of the default graph: random ops then repeat their sequence in a new graph
    and a new session.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default() as g:
    ...     tf.set_random_seed(7); g.seed
    7
    """
    get_default_graph().seed = None if seed is None else int(seed)


def get_seed(op_seed):
    """The ``(seed, seed2)`` attrs of a random op from the graph seed and ``op_seed``, as TF1 derives them
    (``(0, 0)``: nondeterministic).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.set_random_seed(1); _ = tf.constant(0.0)
    ...     get_seed(None), get_seed(5)
    ((1, 1), (1, 5))
    """
    graph_seed = get_default_graph().seed
    if graph_seed is not None:
        seeds = (graph_seed % _MAXINT32, (get_default_graph()._last_id if op_seed is None else op_seed) % _MAXINT32)
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, op_seed % _MAXINT32)
    else:
        return 0, 0
    # (0, 0) would mean "nondeterministic" to the kernels, which a seeded program must not get.
    return (0, _MAXINT32) if seeds == (0, 0) else (int(seeds[0]), int(seeds[1]))


def _random(op_type, shape_t, dtype, seed, extra_inputs=(), dtype_attr="dtype"):
    seed1, seed2 = get_seed(seed)
    attrs = {dtype_attr: dtype, "seed": seed1, "seed2": seed2, "T": shape_t.dtype}
    return make_op(op_type, [shape_t, *extra_inputs], attrs, None).outputs[0]


def _check_dtype(op_type, dtype, allowed):
    if dtype not in allowed:
        raise TypeError(f"Value passed to parameter 'dtype' of '{op_type}' has DataType {dtype.name} not in list "
                        f"of allowed values: {', '.join(d.name for d in allowed)}")


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples of a normal distribution; new values every run, the same sequence for the same seeds.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.random_normal([2, 3], seed=1)).shape
    (2, 3)
    """
    dtype = dtypes.as_dtype(dtype)
    _check_dtype("RandomStandardNormal", dtype, _NORMAL_DTYPES)
    with name_scope(name, "random_normal", [shape, mean, stddev]) as scope:
        shape_t = as_int_tensor(shape, "shape")
        mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = _random("RandomStandardNormal", shape_t, dtype, seed)
        return add(multiply(rnd, stddev_t), mean_t, name=scope)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal samples with every value beyond two standard deviations of the mean drawn again.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     v = sess.run(tf.truncated_normal([1000], mean=5.0, stddev=2.0, seed=1))
    ...     bool(v.min() >= 1.0 and v.max() <= 9.0)
    True
    """
    dtype = dtypes.as_dtype(dtype)
    _check_dtype("TruncatedNormal", dtype, _NORMAL_DTYPES)
    with name_scope(name, "truncated_normal", [shape, mean, stddev]) as scope:
        shape_t = as_int_tensor(shape, "shape")
        mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = _random("TruncatedNormal", shape_t, dtype, seed)
        return add(multiply(rnd, stddev_t), mean_t, name=scope)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples uniform in ``[minval, maxval)`` (maxval defaults to 1 for floats; required for ints).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     v = sess.run(tf.random_uniform([100], 2, 5, dtype=tf.int32, seed=3))
    ...     bool(v.min() >= 2 and v.max() < 5)
    True
    """
    dtype = dtypes.as_dtype(dtype)
    if dtype not in _UNIFORM_DTYPES:
        raise ValueError(f"Invalid dtype {dtype!r}")
    if maxval is None:
        if dtype.is_integer:
            raise ValueError(f"Must specify maxval for integer dtype {dtype!r}")
        maxval = 1
    with name_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        shape_t = as_int_tensor(shape, "shape")
        min_t = convert_to_tensor(minval, dtype=dtype, name="min")
        max_t = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype.is_integer:
            seed1, seed2 = get_seed(seed)
            attrs = {"Tout": dtype, "seed": seed1, "seed2": seed2, "T": shape_t.dtype}
            return make_op("RandomUniformInt", [shape_t, min_t, max_t], attrs, scope).outputs[0]
        rnd = _random("RandomUniform", shape_t, dtype, seed)
        return add(multiply(rnd, subtract(max_t, min_t)), min_t, name=scope)


def random_shuffle(value, seed=None, name=None):
    """``value`` with its first dimension shuffled (each slice ``value[i]`` moves as a whole).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sorted(sess.run(tf.random_shuffle([[1, 2], [3, 4], [5, 6]], seed=4)).tolist())
    [[1, 2], [3, 4], [5, 6]]
    """
    seed1, seed2 = get_seed(seed)
    with name_scope(name, "RandomShuffle", [value]) as scope:
        value = convert_to_tensor(value, name="value")
        attrs = {"T": value.dtype, "seed": seed1, "seed2": seed2}
        return make_op("RandomShuffle", [value], attrs, scope).outputs[0]


def random_crop(value, size, seed=None, name=None):
    """A random ``size`` block of ``value`` (each dim ``size[i] <= value.shape[i]``), e.g. a random image patch.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     patch = sess.run(tf.random_crop([[1, 2, 3], [4, 5, 6]], [2, 2], seed=1))
    ...     patch.shape, int(patch[1, 0] - patch[0, 0])
    ((2, 2), 3)
    """
    with name_scope(name, "random_crop", [value, size]) as scope:
        value = convert_to_tensor(value, name="value")
        size = convert_to_tensor(size, dtype=dtypes.int32, name="size")
        known, wanted = shape_of(value), static_value.constant_ints(size)
        if known is not None and wanted is not None and (
                len(known) != len(wanted) or any(k is not None and w > k for k, w in zip(known, wanted))):
            raise ValueError(f"random_crop: need value.shape >= size, got {shapes.fmt(known)} and {list(wanted)}")
        shape = array_ops.shape(value)
        limit = shape - size + 1
        offset = floormod(random_uniform(array_ops.shape(shape), dtype=size.dtype, maxval=size.dtype.max,
                                         seed=seed), limit)
        return slicing_ops.slice(value, offset, size, name=scope)


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """``num_samples`` class indices per row of ``logits`` (``[batch, classes]``, unnormalized log-probabilities),
    an ``[batch, num_samples]`` tensor of ``output_dtype`` (int64 by default).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.multinomial([[0.0, -float("inf")], [-float("inf"), 0.0]], 3, seed=2)).tolist()
    [[0, 0, 0], [1, 1, 1]]
    """
    with name_scope(name, "multinomial", [logits]):
        return _multinomial(logits, num_samples, output_dtype or dtypes.int64, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``tf.random.categorical``: ``multinomial`` with the output type named ``dtype``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.random.categorical([[-float("inf"), 0.0]], 2, seed=1)).tolist()
    [[1, 1]]
    """
    with name_scope(name, "categorical", [logits]):
        return _multinomial(logits, num_samples, dtype or dtypes.int64, seed)


def _multinomial(logits, num_samples, output_dtype, seed):
    logits = convert_to_tensor(logits, name="logits")
    check_dtype("Multinomial", "logits", logits, dtypes.NUMERIC)
    output_dtype = dtypes.as_dtype(output_dtype)
    if output_dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"Value passed to parameter 'output_dtype' of 'Multinomial' has DataType "
                        f"{output_dtype.name} not in list of allowed values: int32, int64")
    num_t = convert_to_tensor(num_samples, dtype=dtypes.int32, name="num_samples")
    seed1, seed2 = get_seed(seed)
    attrs = {"T": logits.dtype, "seed": seed1, "seed2": seed2, "output_dtype": output_dtype}
    return make_op("Multinomial", [logits, num_t], attrs, None).outputs[0]
