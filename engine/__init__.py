"""Runs one graph partition on one task: dtypes, devices, kernels, executor, rendezvous, graph passes."""
