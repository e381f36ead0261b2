"""A large matmul + reduction graph run by the Executor, against the same numpy calls made directly.

Graph: a, b fed float32 [N, N]; c = MatMul(a, b); s = Sum(c, [0, 1]); m = Mean(Relu(c), [1]).
Goal: within 10% of numpy.

    python3 bench/matmul_reduction.py [--size 2048] [--repeats 5]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._peers import best_of  # noqa: E402
from engine import dtypes  # noqa: E402
from engine.executor import Executor  # noqa: E402
from engine.graph_util import make_const, make_node  # noqa: E402
from engine.passes import optimize  # noqa: E402
from protos import graph_pb2  # noqa: E402

F = dtypes.float32


def matmul_graph():
    """The benchmark graph as a GraphDef."""
    return graph_pb2.GraphDef(node=[
        make_node("a", "Placeholder", dtype=F), make_node("b", "Placeholder", dtype=F),
        make_node("c", "MatMul", ["a", "b"], T=F),
        make_const("all_axes", np.int32([0, 1])), make_const("axis1", np.int32([1])),
        make_node("s", "Sum", ["c", "all_axes"], T=F),
        make_node("r", "Relu", ["c"], T=F), make_node("m", "Mean", ["r", "axis1"], T=F)])


def main(argv=None):
    """Print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.size, args.size), dtype=np.float32)
    b = rng.standard_normal((args.size, args.size), dtype=np.float32)

    def direct():
        c = np.matmul(a, b)
        return np.sum(c, axis=(0, 1), dtype=np.float32), np.mean(np.maximum(c, np.float32(0)), axis=1,
                                                                 dtype=np.float32)
    fetches = ["s:0", "m:0"]
    ex = Executor(optimize(matmul_graph(), fetches, feeds=["a:0", "b:0"]))
    feeds = {"a:0": a, "b:0": b}
    got, want = ex.run(feeds, fetches), direct()
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4)
    base = best_of(direct, args.repeats)
    ours = best_of(lambda: ex.run(feeds, fetches), args.repeats)
    print(f"{args.size}x{args.size} float32 matmul + sum + mean(relu), best of {args.repeats} runs "
          f"(executor mode: {ex.last_stats.mode})")
    print(f"{'runner':<28}{'ms':>10}{'vs numpy':>12}")
    print(f"{'numpy calls directly':<28}{base * 1e3:>10.2f}{1:>11.2f}x")
    print(f"{'engine Executor':<28}{ours * 1e3:>10.2f}{ours / base:>11.2f}x")


if __name__ == "__main__":
    main()
