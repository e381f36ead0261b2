"""conv2d forward and backward (input and filter gradients) through a Session, against numpy's matmul of the
same FLOPs and TensorFlow's own Session on the same graph, all measured in this run.

Layer: a batch of 64 28x28x32 float32 images -> 64 channels, 3x3 filter, stride 1, SAME (the shape of a small
CNN's second layer). Each row fetches one of Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter (the input and the
output gradient are fed, the filter is a constant). Runners take turns, run by run, so that a load that comes
and goes on a shared machine weighs on all of them alike. Goal: within 2x of TensorFlow on CPU.

    python bench/conv2d.py [--batch 64] [--size 28] [--channels 32] [--filters 64] [--repeats 10]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tasklayer  # noqa: E402
from bench._peers import import_tensorflow  # noqa: E402

ROWS = ("forward (Conv2D)", "input gradient", "filter gradient")


def build(tf, x_value, w_value, dy_shape):
    """``(x, dy, [y, dx, dw])`` built with ``tf`` (tasklayer, or TensorFlow's compat.v1) in its default graph."""
    x = tf.placeholder(tf.float32, x_value.shape, name="x")
    dy = tf.placeholder(tf.float32, dy_shape, name="dy")
    w = tf.constant(w_value)
    y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
    dx, dw = tf.gradients(y, [x, w], grad_ys=dy)
    return x, dy, [y, dx, dw]


class Runner:
    """One way of computing the three rows, called as ``runner(row)``."""

    def __init__(self, name, calls):
        self.name, self.calls = name, calls
        self.times = {row: [] for row in ROWS}

    def time(self, row):
        """Run ``row`` once and record its wall time."""
        t0 = time.perf_counter()
        self.calls[row]()
        self.times[row].append(time.perf_counter() - t0)


def session_runner(name, tf, session, x_value, w_value, dy_value):
    """A Runner over ``tf``'s Session; also returns the three values, for the cross-checks."""
    graph = tf.Graph()
    with graph.as_default():
        x, dy, fetches = build(tf, x_value, w_value, dy_value.shape)
    sess = session(graph)
    feeds = [{x: x_value}, {x: x_value, dy: dy_value}, {x: x_value, dy: dy_value}]
    values = [sess.run(f, fd) for f, fd in zip(fetches, feeds)]
    calls = {row: (lambda f=f, fd=fd: sess.run(f, fd)) for row, f, fd in zip(ROWS, fetches, feeds)}
    return Runner(name, calls), values


def matmul_runner(n, h, w, c, o, k):
    """numpy's matmul of each row's FLOPs: [positions, k*k*c] x [k*k*c, o] and its two transposes' shapes."""
    rng = np.random.default_rng(1)
    positions, depth = n * h * w, k * k * c
    patches = rng.standard_normal((positions, depth), dtype=np.float32)
    filt = rng.standard_normal((depth, o), dtype=np.float32)
    grad = rng.standard_normal((positions, o), dtype=np.float32)
    calls = {ROWS[0]: lambda: patches @ filt, ROWS[1]: lambda: grad @ filt.T, ROWS[2]: lambda: patches.T @ grad}
    return Runner("numpy matmul, same FLOPs", calls)


def main(argv=None):
    """Print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--kernel", type=int, default=3)
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args(argv)
    n, s, c, o, k = args.batch, args.size, args.channels, args.filters, args.kernel
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, s, s, c), dtype=np.float32)
    w = rng.standard_normal((k, k, c, o), dtype=np.float32)
    dy = rng.standard_normal((n, s, s, o), dtype=np.float32)

    ours, our_values = session_runner("tasklayer Session", tasklayer, lambda g: tasklayer.Session(graph=g), x, w, dy)
    runners = [matmul_runner(n, s, s, c, o, k), ours]
    tf1 = import_tensorflow()
    if tf1 is not None:
        theirs, tf_values = session_runner("tensorflow Session", tf1, lambda g: tf1.Session(graph=g), x, w, dy)
        for row, a, b in zip(ROWS, our_values, tf_values):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-2 * float(np.abs(b).max()), err_msg=row)
        runners.append(theirs)

    for _ in range(args.repeats):
        for row in ROWS:
            for runner in runners:
                runner.time(row)

    flops = 2 * n * s * s * k * k * c * o
    print(f"conv2d float32 {n}x{s}x{s}x{c} -> {o}, {k}x{k}, SAME ({flops / 1e9:.2f} GFLOP a row); best and median "
          f"of {args.repeats} runs, runners taking turns")
    print(f"{'row':<20}{'runner':<28}{'best ms':>9}{'median':>9}{'GFLOP/s':>9}{'vs matmul':>11}{'vs TF':>9}")
    for row in ROWS:
        base = min(runners[0].times[row])
        tf_best = min(runners[2].times[row]) if len(runners) > 2 else None
        for runner in runners:
            best, median = min(runner.times[row]), statistics.median(runner.times[row])
            vs_tf = f"{best / tf_best:.2f}x" if tf_best else "-"
            print(f"{row:<20}{runner.name:<28}{best * 1e3:>9.1f}{median * 1e3:>9.1f}{flops / best / 1e9:>9.0f}"
                  f"{best / base:>10.2f}x{vs_tf:>9}")
        if tf_best is None:
            print(f"{row:<20}{'tensorflow Session':<28}{'not installed':>13}")


if __name__ == "__main__":
    main()
