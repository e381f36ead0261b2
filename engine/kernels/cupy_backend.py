"""The GPU backend: cupy running the numpy kernels' code (they take an array module ``xp``).

Registered only when cupy imports and sees a GPU; otherwise ops placed on a GPU run on the CPU kernels
(soft placement). Kernels that are not array-module generic (Placeholder, random, _Send/_Recv) stay on the
CPU kernel; the executor copies values between host and device where a plan mixes the two.
"""

import logging

import numpy as np

from engine.kernels import registry

log = logging.getLogger(__name__)


def _load_cupy():
    """The cupy module when it imports and a GPU is visible, else None."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        return cupy
    except Exception as e:  # no cupy, no driver, no device: the CPU kernels serve
        log.debug("cupy backend unavailable: %s", e)
        return None


cp = _load_cupy()
AVAILABLE = cp is not None

# These only read metadata (shape, size, rank) and answer on the host: no copy of the tensor is needed.
_METADATA_OPS = ("Shape", "Size", "Rank")


def _on_device(value):
    """A numpy value copied to the GPU; GPU arrays and other values unchanged."""
    if isinstance(value, (np.ndarray, np.generic)):
        return cp.asarray(value)
    return value


def _gpu_factory(cpu_factory):
    """A GPU factory from an xp-generic CPU factory: same code, ``xp=cupy``, inputs moved to the device."""
    def factory(node, env):
        fn = cpu_factory(node, env, xp=cp)

        def on_gpu(*args):
            return fn(*(_on_device(a) for a in args))
        on_gpu.runs_on_gpu = True
        return on_gpu
    return factory


def _metadata_factory(cpu_factory):
    def factory(node, env):
        fn = cpu_factory(node, env)

        def metadata(x):
            return fn(x)
        metadata.runs_on_gpu = True  # reads only x.shape: no host copy of x
        return metadata
    return factory


def register_all():
    """Register a GPU kernel for every xp-generic CPU kernel (and the metadata ops)."""
    for kd in registry.all_kernels(load=False):  # called from load_backends, which holds its lock
        if kd.device_type != "CPU":
            continue
        if kd.xp_generic:
            registry.register_kernel(kd.op, "GPU", needs_context=kd.needs_context)(_gpu_factory(kd.factory))
        elif kd.op in _METADATA_OPS:
            registry.register_kernel(kd.op, "GPU")(_metadata_factory(kd.factory))


if AVAILABLE:
    registry.load_numpy_backends()  # the CPU kernels this backend reuses, even if imported first
    register_all()
