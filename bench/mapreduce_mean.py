"""The seed's map/reduce mean over two tasks with 100, 1M and 25M fed float32 values, beside numpy alone and
TensorFlow's own ``tf.compat.v1.train.Server`` measured in the same run when TensorFlow is installed.

Run: ``python3 bench/mapreduce_mean.py [--repeat 5]``. Two layouts, each measured for yarnflow and for
TensorFlow alike: the client inside task 0's process (how ``examples/mapreduce_mean_app.py`` runs it: its own
server's target; task 1 a process) and a separate client process connecting to task 0 (the seed's way: both
tasks are processes). Each ratio compares a row with the same layout of the other system.
"""

import argparse

import numpy as np

from _cluster import TaskProcesses, TFServers, free_ports, table  # first: it puts the repository on sys.path
from bench._peers import import_tensorflow, median_of

SIZES = (100, 1_000_000, 25_000_000)
# The issue's TensorFlow figures (separate client), shown only when TensorFlow is not installed here.
ISSUE_TF_MS = {100: 2.1, 1_000_000: 12.9, 25_000_000: 481.0}


def _graph(tf, n):
    x = tf.placeholder(tf.float32, [n])
    with tf.device("/job:local/task:1"):
        mean1 = tf.reduce_mean(tf.slice(x, [0], [n // 2]))
    with tf.device("/job:local/task:0"):
        mean2 = tf.reduce_mean(tf.slice(x, [n // 2], [-1]))
        mean = (mean1 + mean2) / 2
    return x, mean


def measure(tf, target, n, repeat):
    """Median seconds of one ``sess.run(mean, feed)`` with ``n`` values (``tf``: yarnflow or TF's v1 API)."""
    data = np.random.random(n).astype(np.float32)
    with tf.Graph().as_default():
        x, mean = _graph(tf, n)
        with tf.Session(target) as sess:
            got = sess.run(mean, {x: data})
            want = (data[:n // 2].mean() + data[n // 2:].mean()) / 2
            assert abs(got - want) < 1e-4, (got, want)
            return median_of(lambda: sess.run(mean, {x: data}), repeat)


def ours(repeat):
    """``{(layout, n): seconds}`` for yarnflow."""
    import tasklayer as tf
    out = {}
    ports = free_ports(2)
    procs = TaskProcesses({"local": 2})
    procs.spec = {"local": [f"localhost:{p}" for p in ports]}
    procs.start_task("local", 1)
    server = tf.train.Server(procs.spec, "local", 0)
    procs.wait_serving(("local", 1))
    try:
        for n in SIZES:
            out["inside", n] = measure(tf, server.target, n, repeat)
    finally:
        server.stop()
    # The seed's layout: a client process of its own. Here: task 0 as a process too, this process the client.
    procs.start_task("local", 0)
    procs.wait_serving(("local", 0))
    try:
        for n in SIZES:
            out["process", n] = measure(tf, procs.target("local", 0), n, repeat)
    finally:
        procs.stop()
    return out


def theirs(tf1, repeat):
    """``{(layout, n): seconds}`` for TensorFlow, the same layouts (empty when it is not installed)."""
    if tf1 is None:
        return {}
    out = {}
    with TFServers(tf1, 2, in_process=0) as servers:
        for n in SIZES:
            out["inside", n] = measure(tf1, servers.target(0), n, repeat)
    with TFServers(tf1, 2) as servers:
        for n in SIZES:
            out["process", n] = measure(tf1, servers.target(0), n, repeat)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tf1 = import_tensorflow()
    mine, ref = ours(args.repeat), theirs(tf1, args.repeat)
    rows = []
    for n in SIZES:
        data = np.random.random(n).astype(np.float32)
        np_s = median_of(lambda: (data[:n // 2].mean() + data[n // 2:].mean()) / 2, args.repeat)
        for layout, where in (("inside", "client in task 0"), ("process", "separate client")):
            s = mine[layout, n]
            if tf1 is not None:
                tf_ms = ref[layout, n] * 1e3
            else:
                tf_ms = ISSUE_TF_MS[n] if layout == "process" else None
            rows.append([f"{n:,}", where, f"{np_s * 1e3:.2f}", f"{s * 1e3:.2f}", f"{s / np_s:.1f}x",
                         f"{n * 4 / s / 1e9:.2f}", "-" if tf_ms is None else f"{tf_ms:.2f}",
                         "-" if tf_ms is None else f"{tf_ms / (s * 1e3):.1f}x"])
    note = ("TF measured in this run, same layout per row" if tf1 is not None else
            "TensorFlow NOT installed: TF column = the issue's figures, not measured here")
    table(f"map/reduce mean over two tasks (median ms of {args.repeat}; {note})",
          ["values", "layout", "numpy ms", "yarnflow ms", "vs numpy", "yarnflow GB/s", "TF ms",
           "speedup vs TF (same layout)"], rows)


if __name__ == "__main__":
    main()
