"""Lossy transfer of float32 tensors between tasks (the TF paper's compression): float16 or bfloat16 on the
wire, float32 again on arrival. Off unless a session config names a wire dtype.

>>> payload, code = compress(np.array([1.0, 3.14159, -300.7], np.float32), "bfloat16")
>>> payload.dtype, code == BFLOAT16
(dtype('uint16'), True)
>>> decompress(payload, code)
array([   1.      ,    3.140625, -300.      ], dtype=float32)
"""

import numpy as np

NONE, FLOAT16, BFLOAT16 = 0, 1, 2  # wire codes: how a payload was compressed
WIRE_DTYPES = ("float16", "bfloat16")
_CODES = {"float16": FLOAT16, "bfloat16": BFLOAT16}
_OFF = (None, "", "none", "float32")
_F32 = np.dtype(np.float32)


def parse_wire_dtype(value):
    """The wire dtype name ``value`` asks for (``"float16"``/``"bfloat16"``), or None when lossy transfer is
    off (None, ``""``, ``"none"``, ``"float32"``); ValueError for anything else.

    Accepts names and dtype objects with such a name (``tf.float16``, ``np.float16``, ``tf.float32``).

    >>> parse_wire_dtype("bfloat16"), parse_wire_dtype(None), parse_wire_dtype("float32")
    ('bfloat16', None, None)
    """
    if value is None:
        return None
    name = value
    if not isinstance(value, str):
        name = getattr(value, "name", None)  # engine DType and numpy dtypes both carry .name
        if name is None and isinstance(value, type) and issubclass(value, np.generic):
            name = np.dtype(value).name  # np.float16, np.float32 (types, not dtype instances)
    if isinstance(name, str) and name.lower() in _OFF:
        return None
    if isinstance(name, str) and name.lower() in _CODES:
        return name.lower()
    raise ValueError(f"unsupported transfer dtype {value!r}: use 'float16', 'bfloat16' or None (off)")


def compress(arr, wire):
    """``(payload, code)`` for sending ``arr`` as the wire dtype ``wire`` (a name from ``parse_wire_dtype``).

    Only float32 ndarrays are compressed; anything else (and ``wire`` None) comes back unchanged with code
    ``NONE``. float16 keeps 11 significant bits over a narrow range: finite values beyond +-65504 become
    +-inf, and values below about 6e-8 become zero. bfloat16 keeps float32's range with 8 significant bits
    (rounded to nearest, ties to even); it travels as the upper 16 bits of the float32 pattern, as uint16.
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
        if payload.dtype != np.uint16:
            raise ValueError(f"lossy payload with code BFLOAT16 must be uint16, got {payload.dtype}")
        out = payload.astype(np.uint32)
        out <<= 16
        return out.view(np.float32)
    raise ValueError(f"unknown lossy transfer code {code!r}: expected {NONE}, {FLOAT16} or {BFLOAT16}")


def _to_bfloat16(arr):
    """The bfloat16 bit patterns (uint16) of float32 ``arr``, rounded to nearest even."""
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
    return out
