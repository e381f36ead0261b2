"""Kernels: one small module per family and backend, registered by (op type, device type)."""
