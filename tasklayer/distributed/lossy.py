"""Lossy transfer of float32 tensors between tasks (the TF paper's compression): float16 or bfloat16 on the
wire, float32 again on arrival. Off unless a session config names a wire dtype.

>>> payload, code = compress(np.array([1.0, 3.14159, -300.7], np.float32), "bfloat16")
>>> payload.dtype, code == BFLOAT16
(dtype(bfloat16), True)
>>> decompress(payload, code)
array([   1.      ,    3.140625, -300.      ], dtype=float32)
"""

import ml_dtypes
import numpy as np

# Which names a session may ask for is the session config's business: parsed there, used here.
from tasklayer.session_config import WIRE_DTYPES, parse_wire_dtype  # noqa: F401 - lossy's public names

NONE, FLOAT16, BFLOAT16 = 0, 1, 2  # wire codes: how a payload was compressed
_CODES = {"float16": FLOAT16, "bfloat16": BFLOAT16}
_F32 = np.dtype(np.float32)
_BF16 = np.dtype(ml_dtypes.bfloat16)


def compress(arr, wire):
    """``(payload, code)`` for sending ``arr`` as the wire dtype ``wire`` (a name from ``parse_wire_dtype``).

    Only float32 ndarrays are compressed; anything else (and ``wire`` None) comes back unchanged with code
    ``NONE``. float16 keeps 11 significant bits over a narrow range: finite values beyond +-65504 become
    +-inf, and values below about 6e-8 become zero. bfloat16 keeps float32's range with 8 significant bits
    (rounded to nearest, ties to even): a real ``ml_dtypes.bfloat16`` array (the upper 16 bits of each float32
    pattern), which crosses tasks as the engine's bfloat16 does.
    """
    if wire is None or not isinstance(arr, np.ndarray) or arr.dtype != _F32:
        return arr, NONE
    code = _CODES.get(wire)
    if code is None:
        parse_wire_dtype(wire)  # raises the one-line message for a bad name
        return arr, NONE  # an "off" spelling such as "float32"
    if code == FLOAT16:
        with np.errstate(over="ignore"):  # out-of-range values become inf, as documented
            return arr.astype(np.float16), FLOAT16
    return _to_bfloat16(arr), BFLOAT16


def decompress(payload, code):
    """The float32 array that ``compress`` sent as ``payload`` with ``code`` (``NONE``: payload unchanged)."""
    if code == NONE:
        return payload
    if code == FLOAT16:
        if payload.dtype != np.float16:
            raise ValueError(f"lossy payload with code FLOAT16 must be float16, got {payload.dtype}")
        return payload.astype(np.float32)
    if code == BFLOAT16:
        if payload.dtype != _BF16:
            raise ValueError(f"lossy payload with code BFLOAT16 must be bfloat16, got {payload.dtype}")
        out = payload.view(np.uint16).astype(np.uint32)  # the bits, widened: exact, and faster than a cast
        out <<= 16
        return out.view(np.float32)
    raise ValueError(f"unknown lossy transfer code {code!r}: expected {NONE}, {FLOAT16} or {BFLOAT16}")


def _to_bfloat16(arr):
    """float32 ``arr`` as bfloat16, rounded to nearest even (by its bit patterns: as fast as a float16 cast)."""
    if not arr.flags.c_contiguous:
        arr = arr.copy()  # .view needs a contiguous buffer; np.ascontiguousarray would make 0-d arrays 1-d
    bits = arr.view(np.uint32)
    # Round to nearest even: add 0x7FFF plus the lowest kept bit, then drop the low half. uint32 addition wraps,
    # which only matters for NaN patterns (handled below); finite values near the top round to inf, as they should.
    rounded = bits >> 16
    rounded &= 1
    rounded += 0x7FFF
    rounded += bits
    rounded >>= 16
    out = rounded.astype(np.uint16)
    nan = np.isnan(arr)
    if nan.any():
        # The carry would turn a NaN into inf (or wrap it to -0.0): keep its sign and high payload, set the
        # quiet bit so the result is still a NaN whatever the dropped bits were.
        out[nan] = (bits[nan] >> 16).astype(np.uint16) | 0x0040
    return out.view(_BF16)
