"""Runs one graph partition on one task: dtypes, devices, kernels, executor, rendezvous, graph passes."""

# The kernel registry gives engine.op_defs its loader, so a module that asks op_defs about an op type finds it in
# the backend that declares it without importing that backend (importing any part of engine is enough).
from engine.kernels import registry as _kernel_registry  # noqa: E402,F401
