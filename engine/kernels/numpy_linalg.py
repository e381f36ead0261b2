"""Linear algebra kernels: Qr."""

import numpy as np

from engine import op_defs
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel

op_defs.register_op("Qr", lambda node: [get_attr(node, "T")] * 2)


@register_kernel("Qr", "CPU", xp_generic=True)
def qr(node, env, xp=np):
    """``(q, r)`` of the last two dimensions (reduced unless ``full_matrices``), in the input's dtype."""
    mode = "complete" if get_attr(node, "full_matrices", False) else "reduced"

    def qr_fn(x):
        # LAPACK has no half precision: factor float16 in float32.
        q, r = xp.linalg.qr(x.astype(np.float32) if x.dtype == np.float16 else x, mode=mode)
        return q.astype(x.dtype, copy=False), r.astype(x.dtype, copy=False)
    return qr_fn
