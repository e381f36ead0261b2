"""Linear algebra ops: ``qr`` (what ``orthogonal_initializer`` needs)."""

from tasklayer import dtypes
from tasklayer.graph import name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import check_dtype, make_op, shape_of, who
from tasklayer.ops.constant_op import convert_to_tensor

_QR_DTYPES = (dtypes.float16, dtypes.float32, dtypes.float64) + dtypes.COMPLEX


def _infer_qr(op):
    x = op.inputs[0]
    shape = shape_of(x)
    if shape is None:
        return [(x.dtype, None), (x.dtype, None)]
    if len(shape) < 2:
        raise ValueError(f"{who(op)}: Shape must be at least rank 2 but is rank {len(shape)}")
    *batch, m, n = shape
    k = None if m is None or n is None else min(m, n)
    full = op.get_attr("full_matrices")
    q = (*batch, m, m if full else k)
    r = (*batch, m if full else k, n)
    return [(x.dtype, q), (x.dtype, r)]


register_op("Qr", _infer_qr)


def qr(input, full_matrices=False, name=None):  # noqa: A002 - TF's name
    """``(q, r)`` with ``input = q @ r``, ``q`` orthonormal columns and ``r`` upper triangular (over the last two
    dimensions; ``full_matrices`` makes ``q`` square).

    >>> import numpy as np
    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     q, r = sess.run(tf.qr([[3.0, 1.0], [4.0, 2.0]]))
    ...     bool(np.allclose(q @ r, [[3, 1], [4, 2]]) and np.allclose(q.T @ q, np.eye(2)))
    True
    """
    with name_scope(name, "Qr", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        check_dtype("Qr", "input", x, _QR_DTYPES)
        out = make_op("Qr", [x], {"T": x.dtype, "full_matrices": bool(full_matrices)}, scope).outputs
        return out[0], out[1]
