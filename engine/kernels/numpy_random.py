"""Random kernels: RandomStandardNormal, RandomUniform, TruncatedNormal, RandomUniformInt, RandomShuffle,
Multinomial.

Each node owns one generator, seeded by ``(seed, seed2)`` (OS entropy when both are 0) and kept in the
executor's per-node state, so every run draws new values and a fresh executor (a new session) repeats the
sequence.
"""

import threading

import numpy as np

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_list

op_defs.register_op("RandomUniformInt", "Tout", stateful=True)
op_defs.register_op("RandomShuffle", "T", stateful=True)
op_defs.register_op("Multinomial", lambda node: [get_attr(node, "output_dtype", dtypes.int64)], stateful=True)


def generator_for(node, env):
    """The node's generator and its lock, created on first use and kept in ``env.state``."""
    state = env.state
    if "rng" not in state:
        seed, seed2 = int(get_attr(node, "seed", 0)), int(get_attr(node, "seed2", 0))
        bits = np.random.PCG64([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF]) if (seed or seed2) \
            else np.random.PCG64()
        # setdefault: two plans of one session compiled at once share the first generator made (dict ops are
        # atomic under the GIL), so neither restarts the sequence
        state.setdefault("rng", (np.random.Generator(bits), threading.Lock()))
    return state["rng"]


def _error(node, message):
    return InvalidArgumentError(None, None, message, node_name=node.name, op_type=node.op)


def _shape_of(node, shape):
    dims = int_list(shape)
    if any(d < 0 for d in dims):
        raise _error(node, f"shape must be non-negative, got {dims}")
    return dims


def _draw(draw):
    def factory(node, env):
        dtype = np.dtype(get_attr(node, "dtype").as_numpy_dtype)
        if dtypes.kind_of(dtype) != "f":
            raise _error(node, f"random ops need a float dtype, got {dtype}")
        rng, lock = generator_for(node, env)
        # numpy draws float32 and float64 natively; float16 and bfloat16 are drawn as float32 and narrowed.
        gen_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)

        def random_fn(shape):
            dims = _shape_of(node, shape)
            with lock:
                out = draw(rng, dims, gen_dtype)
            return out.astype(dtype, copy=False)
        return random_fn
    return factory


def _truncated(rng, dims, dtype):
    out = rng.standard_normal(dims, dtype=dtype)
    bad = np.abs(out) > 2
    while bad.any():  # redraw values beyond two standard deviations, as TF does
        out[bad] = rng.standard_normal(int(bad.sum()), dtype=dtype)
        bad = np.abs(out) > 2
    return out


register_kernel("RandomStandardNormal", "CPU")(_draw(lambda rng, dims, dt: rng.standard_normal(dims, dtype=dt)))
register_kernel("RandomUniform", "CPU")(_draw(lambda rng, dims, dt: rng.random(dims, dtype=dt)))
register_kernel("TruncatedNormal", "CPU")(_draw(_truncated))


@register_kernel("RandomUniformInt", "CPU")
def random_uniform_int(node, env):
    """Integers uniform in ``[minval, maxval)`` (scalars); InvalidArgumentError unless minval < maxval."""
    dtype = np.dtype(get_attr(node, "Tout").as_numpy_dtype)
    rng, lock = generator_for(node, env)

    def random_int_fn(shape, minval, maxval):
        dims = _shape_of(node, shape)
        for arg, v in (("minval", minval), ("maxval", maxval)):
            if np.ndim(v) != 0:
                raise _error(node, f"{arg} must be 0-D, got shape {list(np.shape(v))}")
        lo, hi = int(minval), int(maxval)
        if int(np.prod(dims)) and lo >= hi:
            raise _error(node, f"Need minval < maxval: {lo} >= {hi}")
        with lock:
            return rng.integers(lo, max(hi, lo + 1), size=dims, dtype=dtype)
    return random_int_fn


@register_kernel("RandomShuffle", "CPU")
def random_shuffle(node, env):
    """``value`` with its first dimension permuted (a scalar or a single row comes back as is)."""
    rng, lock = generator_for(node, env)

    def shuffle_fn(value):
        if value.ndim == 0 or value.shape[0] <= 1:
            return value
        with lock:
            order = rng.permutation(value.shape[0])
        return value[order]
    return shuffle_fn


@register_kernel("Multinomial", "CPU")
def multinomial(node, env):
    """``[batch, num_samples]`` class indices drawn from each row's softmax of ``logits``."""
    out_dtype = np.dtype(get_attr(node, "output_dtype", dtypes.int64).as_numpy_dtype)
    rng, lock = generator_for(node, env)

    def multinomial_fn(logits, num_samples):
        if logits.ndim != 2:
            raise _error(node, f"logits should be a matrix, got shape {list(logits.shape)}")
        num = int(num_samples)
        if num < 0:
            raise _error(node, f"num_samples should be nonnegative, got {num}")
        batch, classes = logits.shape
        if batch and num and not classes:
            raise _error(node, "num_classes should be positive, got 0")
        # Inverse-CDF sampling in float64: exp(logits - max) per row, a -inf logit never drawn.
        with np.errstate(invalid="ignore", over="ignore"):
            z = np.asarray(logits, np.float64)
            weights = np.exp(z - np.max(z, axis=1, keepdims=True)) if classes else z
        cdf = np.cumsum(weights, axis=1)
        with lock:
            u = rng.random((batch, num))
        out = np.empty((batch, num), dtype=out_dtype)
        for i in range(batch):
            total = cdf[i, -1] if classes else 0.0
            if not np.isfinite(total) or total <= 0:
                out[i] = 0  # no finite logit: TF's kernel then returns class 0 too
                continue
            out[i] = np.minimum(np.searchsorted(cdf[i], u[i] * total, side="right"), classes - 1)
        return out
    return multinomial_fn
