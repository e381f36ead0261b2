"""Kernels that split a tensor by a partition map and stitch pieces back (numpy; cupy reuses them via ``xp``).

Ops (inputs -> outputs; attrs), TF's names and semantics:
  DynamicPartition(data, partitions int32) -> num_partitions x T; num_partitions
      output i holds the slices ``data[j]`` with ``partitions[j] == i``, in order
  DynamicStitch(indices int32 x N, data T x N) -> T; N
      ``merged[indices[m][i]] = data[m][i]``, later pieces winning where indices repeat; rows no index
      names are zeros
"""

import numpy as np

from engine import op_defs
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel

op_defs.register_op("DynamicPartition", lambda node: [get_attr(node, "T")] * int(get_attr(node, "num_partitions")))
op_defs.register_op("DynamicStitch", "T")


def _bad(message):
    return InvalidArgumentError(None, None, message)


@register_kernel("DynamicPartition", "CPU", xp_generic=True)
def dynamic_partition(node, env, xp=np):
    """The slices of ``data`` for each partition number, in their original order."""
    num = int(get_attr(node, "num_partitions"))

    def dynamic_partition_fn(data, partitions):
        if data.shape[:partitions.ndim] != partitions.shape:
            raise _bad(f"data.shape must start with partitions.shape, got data.shape = {list(data.shape)}, "
                       f"partitions.shape = {list(partitions.shape)}")
        flat_parts = partitions.reshape(-1)
        flat_data = data.reshape((flat_parts.shape[0],) + data.shape[partitions.ndim:])
        bad = (flat_parts < 0) | (flat_parts >= num)
        if bool(xp.any(bad)):
            at = int(xp.argmax(bad))
            raise _bad(f"partitions[{at}] = {int(flat_parts[at])} is not in [0, {num})")
        return [flat_data[flat_parts == i] for i in range(num)]
    return dynamic_partition_fn


@register_kernel("DynamicStitch", "CPU", xp_generic=True)
def dynamic_stitch(node, env, xp=np):
    """One tensor whose row ``indices[m][i]`` is ``data[m][i]``."""
    def dynamic_stitch_fn(*args):
        n = len(args) // 2
        indices, data = args[:n], args[n:]
        tail = None
        for m, (idx, d) in enumerate(zip(indices, data)):
            if d.shape[:idx.ndim] != idx.shape:
                raise _bad(f"data[{m}].shape = {list(d.shape)} does not start with indices[{m}].shape = "
                           f"{list(idx.shape)}")
            piece_tail = d.shape[idx.ndim:]
            if tail is not None and piece_tail != tail:
                raise _bad(f"Need data[0].shape[1:] = {list(tail)} to match data[{m}].shape[1:] = "
                           f"{list(piece_tail)} beyond their indices' dims")
            tail = piece_tail
        rows = max((int(idx.max()) + 1 for idx in indices if idx.size), default=0)
        if any(idx.size and int(idx.min()) < 0 for idx in indices):
            raise _bad("DynamicStitch: indices must be non-negative")
        merged = xp.zeros((rows,) + tuple(tail or ()), dtype=data[0].dtype)
        for idx, d in zip(indices, data):
            flat_idx = idx.reshape(-1)
            merged[flat_idx] = d.reshape((flat_idx.shape[0],) + tuple(tail))
        return merged
    return dynamic_stitch_fn
