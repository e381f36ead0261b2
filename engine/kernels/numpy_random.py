"""Random kernels: RandomStandardNormal, RandomUniform, TruncatedNormal.

Each node owns one generator, seeded by ``(seed, seed2)`` (OS entropy when both are 0) and kept in the
executor's per-node state, so every run draws new values and a fresh executor repeats the sequence.
"""

import threading

import numpy as np

from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_list


def generator_for(node, env):
    """The node's generator and its lock, created on first use and kept in ``env.state``."""
    state = env.state
    if "rng" not in state:
        seed, seed2 = int(get_attr(node, "seed", 0)), int(get_attr(node, "seed2", 0))
        bits = np.random.PCG64([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF]) if (seed or seed2) \
            else np.random.PCG64()
        state["rng"] = (np.random.Generator(bits), threading.Lock())
    return state["rng"]


def _shape_of(shape):
    dims = int_list(shape)
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(None, None, f"shape must be non-negative, got {dims}")
    return dims


def _draw(draw):
    def factory(node, env):
        dtype = np.dtype(get_attr(node, "dtype").as_numpy_dtype)
        if dtype.kind != "f":
            raise InvalidArgumentError(None, None, f"random ops need a float dtype, got {dtype}",
                                       node_name=node.name, op_type=node.op)
        rng, lock = generator_for(node, env)
        # numpy draws float32 and float64 natively; float16 is drawn as float32 and narrowed.
        gen_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)

        def random_fn(shape):
            dims = _shape_of(shape)
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
