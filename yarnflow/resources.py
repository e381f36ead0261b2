"""Parsing and printing resource sizes (memory like ``2g``, ``512m``)."""

import re

from yarnflow.errors import YarnflowError

_UNITS_MB = {"": 1, "m": 1, "mb": 1, "mi": 1, "mib": 1,
             "g": 1024, "gb": 1024, "gi": 1024, "gib": 1024,
             "t": 1024 * 1024, "tb": 1024 * 1024, "ti": 1024 * 1024, "tib": 1024 * 1024,
             "k": 1 / 1024, "kb": 1 / 1024, "ki": 1 / 1024, "kib": 1 / 1024}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory_mb(text):
    """Parse a memory size such as ``2g``, ``512m``, ``1.5G`` or ``1024`` (MB) into whole MB.

    >>> parse_memory_mb("2g")
    2048
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise YarnflowError(f"memory size must not be negative, got {text}")
        return int(text)
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS_MB:
        raise YarnflowError(
            f"malformed memory size {text!r}: expected a number with an optional unit "
            "k, m, g or t (for example 512m or 2g)")
    mb = float(match.group(1)) * _UNITS_MB[unit]
    return max(int(round(mb)), 1 if mb > 0 else 0)


def format_memory_mb(mb):
    """Print MB the way a person reads it: ``2.0 GiB``, ``512 MiB``."""
    if mb >= 1024:
        return f"{mb / 1024:.1f} GiB"
    return f"{int(mb)} MiB"


def format_resource(res):
    """One-line view of a ``Resource`` message: ``4 vcores, 8.0 GiB, 1 GPU``."""
    gpus = f", {res.gpus} GPU{'s' if res.gpus != 1 else ''}" if res.gpus else ""
    return f"{res.vcores} vcores, {format_memory_mb(res.memory_mb)}{gpus}"


def fits(ask, capacity):
    """True when every dimension of ``ask`` is at most that of ``capacity`` (Resource messages or alike)."""
    return (ask.vcores <= capacity.vcores and ask.memory_mb <= capacity.memory_mb
            and ask.gpus <= capacity.gpus)
