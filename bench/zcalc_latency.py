"""The seed's zcalc ``sess.run`` latency on two tasks, beside TensorFlow's own ``tf.compat.v1.train.Server``
in the same run and the same layout when TensorFlow is installed.

Run: ``python3 bench/zcalc_latency.py [--runs 500]``. Rows: the seed's graph as written (constants: the
master folds y1/y2 and copies the small constants to z's task, so one RunStep does it), the same graph with
x fed (nothing folds, y1 really runs on task 0 and crosses by RecvTensor); each with the client a process of
its own (both tasks are processes: the seed's layout) and with the client inside task 1's process (task 0 a
process). TensorFlow runs each layout the same way, so every ratio compares like with like.
"""

import argparse

from _cluster import TaskProcesses, TFServers, table  # first: it puts the repository on sys.path
from bench._peers import import_tensorflow, median_of


def zcalc(tf, fed):
    """The seed's graph; ``fed`` makes x a placeholder. Returns (z, feed_dict)."""
    x = tf.placeholder(tf.int32, []) if fed else tf.constant(5)
    with tf.device("/job:local/task:0"):
        y1 = x - 8
    with tf.device("/job:local/task:1"):
        y2 = x + 1
    z = y1 * y2
    return z, ({x: 5} if fed else None)


def measure(tf, target, fed, runs):
    """Median milliseconds of one ``sess.run(z)``."""
    with tf.Graph().as_default():
        z, feed = zcalc(tf, fed)
        with tf.Session(target) as sess:
            assert sess.run(z, feed) == -18
            return median_of(lambda: sess.run(z, feed), runs, warmup=20) * 1e3


def ours(runs):
    """``{(layout, fed): ms}`` for yarnflow."""
    import tasklayer as tf
    out = {}
    with TaskProcesses({"local": 2}) as procs:
        for fed in (False, True):
            out["process", fed] = measure(tf, procs.target("local", 1), fed, runs)
        procs.procs[("local", 1)].terminate()
        procs.procs[("local", 1)].wait(10)
        server = tf.train.Server(procs.spec, "local", 1)
        try:
            for fed in (False, True):
                out["inside", fed] = measure(tf, server.target, fed, runs)
        finally:
            server.stop()
    return out


def theirs(tf1, runs):
    """``{(layout, fed): ms}`` for TensorFlow, the same layouts (empty when it is not installed)."""
    if tf1 is None:
        return {}
    out = {}
    with TFServers(tf1, 2) as servers:
        for fed in (False, True):
            out["process", fed] = measure(tf1, servers.target(1), fed, runs)
    with TFServers(tf1, 2, in_process=1) as servers:
        for fed in (False, True):
            out["inside", fed] = measure(tf1, servers.target(1), fed, runs)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    tf1 = import_tensorflow()
    mine, ref = ours(args.runs), theirs(tf1, args.runs)
    rows = []
    for layout, where in (("process", "client process -> task 1"), ("inside", "client inside task 1")):
        for fed in (False, True):
            ms, tf_ms = mine[layout, fed], ref.get((layout, fed))
            rows.append([f"zcalc, x {'fed' if fed else 'constant (as the seed)'}, {where}", f"{ms:.3f}",
                         "tensorflow not installed" if tf_ms is None else f"{tf_ms:.3f}",
                         "-" if tf_ms is None else f"{tf_ms / ms:.2f}"])
    note = "TensorFlow measured in this run, same layout per row" if tf1 else "TensorFlow not installed"
    table(f"zcalc sess.run latency (median of {args.runs}; {note})",
          ["case", "yarnflow ms", "TensorFlow ms", "TF / yarnflow"], rows)


if __name__ == "__main__":
    main()
