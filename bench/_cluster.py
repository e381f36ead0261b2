"""Helpers for the distributed benchmarks: task servers in their own processes, TensorFlow if present."""

import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.distributed_helpers import TaskProcesses, free_ports  # noqa: E402,F401


def tensorflow():
    """``tensorflow.compat.v1`` or None when TensorFlow is not installed."""
    try:
        import tensorflow
    except ImportError:
        return None
    return tensorflow.compat.v1


def timeit(fn, repeat, warmup=2):
    """Median seconds of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def table(title, header, rows):
    """Print a fixed-width table."""
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
