"""The kernel registry: ``(op type, device type) -> factory``; backends register themselves when imported.

The backends are the ``numpy_*`` and ``cupy_backend`` modules of this package, found by name and loaded the
first time a kernel or an op definition is asked for (``engine.op_defs`` loads them through ``load_backends``
when it meets an op type it does not know): nothing else imports a backend module.

A factory is called once per node when a plan is compiled, ``factory(node_def, env) -> fn``, and ``fn`` is
called every run with the node's input arrays (after a ``RunContext`` if ``needs_context``). ``fn`` returns
one array for a one-output op, a sequence for several outputs, anything for none.

>>> @register_kernel("MyIdentity", "CPU")
... def _my_identity(node, env):
...     return lambda x: x
"""

import dataclasses
import importlib
import logging
import pkgutil
import threading

from engine import kernels as _backends  # this package: its numpy_* and cupy_backend modules are the backends
from engine import op_defs
from engine.errors import NotFoundError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class KernelDef:
    """One registered kernel."""

    op: str
    device_type: str
    factory: object             # callable(node_def, KernelEnv) -> callable
    needs_context: bool = False  # fn(ctx, *inputs) instead of fn(*inputs)
    xp_generic: bool = False     # factory also accepts xp=<array module> (lets the cupy backend reuse it)


_KERNELS = {}
_loaded = False
_loading = False  # this thread (holding the lock) is importing the backends now
# Reentrant: a backend being imported may ask ``op_defs`` about an op type it does not know, which asks to load
# again; that inner call returns at once (the op stays unknown until loading is done, as without lazy loading).
_load_lock = threading.RLock()
_soft_placed = set()


def register_kernel(op, device_type="CPU", *, needs_context=False, xp_generic=False):
    """Decorator registering a kernel factory for ``op`` on ``device_type`` ("CPU" or "GPU")."""
    def wrap(factory):
        _KERNELS[(op, device_type)] = KernelDef(op, device_type, factory, needs_context, xp_generic)
        return factory
    return wrap


def load_backends():
    """Import every backend module of ``engine.kernels`` once (numpy_* always; cupy_backend if it can)."""
    global _loaded, _loading
    if _loaded:
        return
    with _load_lock:
        if _loaded or _loading:
            return
        _loading = True
        try:
            names = load_numpy_backends()
            # The cupy backend registers GPU kernels only when cupy imports and a GPU is visible.
            if "cupy_backend" in names:
                importlib.import_module("engine.kernels.cupy_backend")
            _loaded = True
        finally:
            _loading = False


def load_numpy_backends():
    """Import every ``engine.kernels.numpy_*`` module (idempotent); the names of all kernel modules."""
    names = sorted(m.name for m in pkgutil.iter_modules(_backends.__path__))
    for name in names:
        if name.startswith("numpy_"):
            importlib.import_module(f"engine.kernels.{name}")
    return names


def get(op, device_type):
    """The ``KernelDef`` for exactly ``(op, device_type)``, or None."""
    load_backends()
    return _KERNELS.get((op, device_type))


def find(op, device_type="CPU", node_name=None):
    """The kernel to use for ``op`` on ``device_type``, falling back to CPU (soft placement, logged once).

    NotFoundError naming the op (and node) when no device has a kernel for it.
    """
    load_backends()
    kd = _KERNELS.get((op, device_type))
    if kd is not None:
        return kd
    kd = _KERNELS.get((op, "CPU"))
    if kd is not None:
        if (op, device_type) not in _soft_placed:
            _soft_placed.add((op, device_type))
            log.info("no %s kernel for op %s; running it on CPU", device_type, op)
        return kd
    where = f" (node {node_name!r})" if node_name else ""
    raise NotFoundError(None, None, f"no kernel registered for op type {op!r}{where}; known ops: "
                        f"{len(registered_ops())}", node_name=node_name, op_type=op)


def registered_ops(device_type="CPU"):
    """Sorted op types with a kernel on ``device_type``."""
    load_backends()
    return sorted(op for op, dev in _KERNELS if dev == device_type)


def all_kernels(load=True):
    """Every registered ``KernelDef`` (a list copy); ``load=False`` while a backend is being loaded."""
    if load:
        load_backends()
    return list(_KERNELS.values())


# Op definitions live beside their kernels: an op type op_defs does not know yet may be in a backend not loaded yet.
op_defs.set_loader(load_backends)
