"""What the benchmarks share: TensorFlow (the peer measured beside us) when this interpreter has it, and timers.

Scripts put the repository root on ``sys.path`` and import this as ``bench._peers``, so that they run both as
``python bench/NAME.py`` and as ``python -m bench.NAME``.
"""

import os
import time


def import_tensorflow(v1_behavior=False):
    """TensorFlow's v1 API in graph mode, quiet and on the CPU, or None when TensorFlow is not installed.

    ``v1_behavior``: all of TF 1.x's behaviour (ref variables, control flow v1 with its dead tensors), for
    comparing semantics; the speed benches keep TF 2's defaults in graph mode. ``tf.layers`` needs the
    ``tf_keras`` package beside TensorFlow (Keras 3 dropped it).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    try:
        import tensorflow.compat.v1 as tf1
    except ImportError:
        return None
    if v1_behavior:
        tf1.disable_v2_behavior()
    tf1.disable_eager_execution()
    tf1.logging.set_verbosity(tf1.logging.ERROR)
    return tf1


def run_times(fn, repeats, warmup):
    """Wall seconds of each of ``repeats`` calls of ``fn()``, after ``warmup`` calls that are not timed."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def best_of(fn, repeats, warmup=1):
    """Best wall seconds of ``repeats`` calls of ``fn()`` (after ``warmup`` calls)."""
    return min(run_times(fn, repeats, warmup))


def median_of(fn, repeats, warmup=2):
    """Median wall seconds of ``repeats`` calls of ``fn()`` (after ``warmup`` calls)."""
    return sorted(run_times(fn, repeats, warmup))[repeats // 2]
