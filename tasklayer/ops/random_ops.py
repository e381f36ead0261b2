"""Random tensors (random_normal, random_uniform) and TF's graph-level + op-level seeds."""

from tasklayer import dtypes
from tasklayer.graph import get_default_graph, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import static_value
from tasklayer.ops._build import as_int_tensor, check_dtype, make_op
from tasklayer.ops.constant_op import convert_to_tensor

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1


def _infer_random(op):
    return [(op.get_attr("dtype"), static_value.partial_shape_value(op.inputs[0]))]


register_op("RandomStandardNormal", _infer_random, stateful=True)
register_op("RandomUniform", _infer_random, stateful=True)


def set_random_seed(seed):
    """Set the graph-level seed of the default graph: random ops then repeat their sequence in a new session.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default() as g:
    ...     tf.set_random_seed(7); g.seed
    7
    """
    get_default_graph().seed = None if seed is None else int(seed)


def get_seed(op_seed):
    """The ``(seed, seed2)`` attrs for a random op, from the graph seed and ``op_seed`` as TF derives them."""
    graph = get_default_graph()
    graph_seed = graph.seed
    if graph_seed is not None:
        seeds = (graph_seed, graph._last_id if op_seed is None else int(op_seed))
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, int(op_seed))
    else:
        seeds = (0, 0)  # nondeterministic
        return seeds
    if seeds == (0, 0):
        seeds = (0, _MAXINT32)  # (0, 0) would mean "nondeterministic"
    return seeds


def _random(op_type, shape, dtype, seed):
    shape_t = as_int_tensor(shape, "shape")
    seed1, seed2 = get_seed(seed)
    attrs = {"dtype": dtype, "seed": seed1, "seed2": seed2, "T": shape_t.dtype}
    return make_op(op_type, [shape_t], attrs, None).outputs[0]


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples of a normal distribution; new values every run, the same sequence for the same seeds.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.random_normal([2, 3], seed=1)).shape
    (2, 3)
    """
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "random_normal", [shape, mean, stddev]) as scope:
        mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = _random("RandomStandardNormal", shape, dtype, seed)
        check_dtype("RandomStandardNormal", "dtype", rnd, dtypes.FLOATS)
        from tasklayer.ops.math_ops import add
        return add(rnd * stddev_t, mean_t, name=scope)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples uniform in ``[minval, maxval)`` (maxval defaults to 1 for floats; required for ints).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     v = sess.run(tf.random_uniform([100], 2, 5, dtype=tf.int32, seed=3))
    ...     bool(v.min() >= 2 and v.max() < 5)
    True
    """
    dtype = dtypes.as_dtype(dtype)
    if dtype in dtypes.INTEGERS and maxval is None:
        raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
    if dtype not in dtypes.NUMERIC:
        raise TypeError(f"random_uniform: dtype must be a float or int type, got {dtype.name}")
    maxval = 1 if maxval is None else maxval
    with name_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        from tasklayer.ops.math_ops import add, cast
        min_t = convert_to_tensor(minval, dtype=dtype, name="min")
        max_t = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype in dtypes.FLOATS:
            rnd = _random("RandomUniform", shape, dtype, seed)
            return add(rnd * (max_t - min_t), min_t, name=scope)
        # Integers: scale a float64 uniform; the product is >= 0, so the cast's truncation is a floor.
        rnd = _random("RandomUniform", shape, dtypes.float64, seed)
        span = cast(max_t - min_t, dtypes.float64)
        return add(cast(rnd * span, dtype), min_t, name=scope)
