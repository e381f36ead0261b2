"""Executor overhead per op: a chain of N small elementwise ops (x = x + 1.0 on a 1-element float32 tensor).

Rows: numpy making the same calls directly (the floor), our Executor, and TensorFlow's own
``tf.compat.v1.Session`` on the same graph when ``import tensorflow`` works. Ratios are against numpy and
against TensorFlow, measured in this run.

    python3 bench/executor_overhead.py [--ops 1000] [--repeats 50]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._peers import best_of, import_tensorflow  # noqa: E402
from engine import dtypes  # noqa: E402
from engine.executor import Executor  # noqa: E402
from engine.graph_util import make_const, make_node  # noqa: E402
from protos import graph_pb2  # noqa: E402


def chain_graph(n):
    """x -> x + 1 -> ... (n Adds), one shared Const."""
    g = graph_pb2.GraphDef()
    g.node.append(make_node("x", "Placeholder", dtype=dtypes.float32))
    g.node.append(make_const("one", np.float32(1.0)))
    prev = "x"
    for i in range(n):
        g.node.append(make_node(f"add_{i}", "AddV2", [prev, "one"], T=dtypes.float32))
        prev = f"add_{i}"
    return g, prev + ":0"


def time_numpy(n, repeats):
    x, one = np.zeros(1, np.float32), np.array(1.0, np.float32)  # the Const value the executor passes

    def run():
        y = x
        for _ in range(n):
            y = np.add(y, one)
        return y
    return best_of(run, repeats)


def time_engine(n, repeats):
    g, fetch = chain_graph(n)
    ex = Executor(g)
    x = np.zeros(1, np.float32)
    assert ex.run({"x:0": x}, [fetch])[0][0] == n
    return best_of(lambda: ex.run({"x:0": x}, [fetch]), repeats)


def time_tensorflow(n, repeats):
    """Seconds per run in TF's own session, or None when TensorFlow is not installed."""
    tf1 = import_tensorflow()
    if tf1 is None:
        return None
    graph = tf1.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf1.float32, [1])
        one = tf1.constant(1.0)
        y = x
        for _ in range(n):
            y = y + one
    config = tf1.ConfigProto(graph_options=tf1.GraphOptions(optimizer_options=tf1.OptimizerOptions(
        opt_level=tf1.OptimizerOptions.L0)))
    with tf1.Session(graph=graph, config=config) as sess:
        feed = {x: np.zeros(1, np.float32)}
        return best_of(lambda: sess.run(y, feed), repeats)


def main(argv=None):
    """Print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args(argv)
    n = args.ops
    base = time_numpy(n, args.repeats)
    ours = time_engine(n, args.repeats)
    tf_time = time_tensorflow(n, args.repeats)
    print(f"chain of {n} AddV2 on float32[1], best of {args.repeats} runs")
    print(f"{'runner':<32}{'us/op':>10}{'vs numpy':>12}{'vs tensorflow':>16}")

    def row(name, seconds):
        vs_tf = f"{seconds / tf_time:.2f}x" if tf_time else "-"
        print(f"{name:<32}{seconds / n * 1e6:>10.2f}{seconds / base:>11.2f}x{vs_tf:>16}")
    row("numpy calls directly", base)
    row("engine Executor", ours)
    if tf_time is None:
        print(f"{'tensorflow Session':<32}{'tensorflow not installed':>38}")
    else:
        row("tensorflow Session (C++)", tf_time)


if __name__ == "__main__":
    main()
