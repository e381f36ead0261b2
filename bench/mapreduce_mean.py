"""The seed's map/reduce mean over two tasks with 100, 1M and 25M fed float32 values, beside numpy alone.

Run: ``python3 bench/mapreduce_mean.py [--repeat 5]``. Two layouts: the client inside task 0's process
(how ``examples/mapreduce_mean_app.py`` runs it: its own server's target) and a separate client process
connecting to task 0 (the seed's way, feeds uploaded to the master first).
"""

import argparse

import numpy as np

from _cluster import TaskProcesses, free_ports, table, tensorflow, timeit

SIZES = (100, 1_000_000, 25_000_000)


def _graph(tf, n):
    x = tf.placeholder(tf.float32, n)
    with tf.device("/job:local/task:1"):
        mean1 = tf.reduce_mean(tf.slice(x, [0], [n // 2]))
    with tf.device("/job:local/task:0"):
        mean2 = tf.reduce_mean(tf.slice(x, [n // 2], [-1]))
        mean = (mean1 + mean2) / 2
    return x, mean


def measure(target, n, repeat):
    """Median seconds of one ``sess.run(mean, feed)`` with ``n`` values."""
    import tasklayer as tf
    data = np.random.random(n).astype(np.float32)
    with tf.Graph().as_default():
        x, mean = _graph(tf, n)
        with tf.Session(target) as sess:
            got = sess.run(mean, {x: data})
            want = (data[:n // 2].mean() + data[n // 2:].mean()) / 2
            assert abs(got - want) < 1e-4, (got, want)
            return timeit(lambda: sess.run(mean, {x: data}), repeat)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import tasklayer as tf
    ports = free_ports(2)
    procs = TaskProcesses({"local": 2})
    procs.spec = {"local": [f"localhost:{p}" for p in ports]}
    procs.start_task("local", 1)
    server = tf.train.Server(procs.spec, "local", 0)
    procs.wait_serving(("local", 1))
    tf_ms = {100: 2.1, 1_000_000: 12.9, 25_000_000: 481.0}  # the TensorFlow figures on this machine
    rows = []
    try:
        for n in SIZES:
            data = np.random.random(n).astype(np.float32)
            ref = timeit(lambda: (data[:n // 2].mean() + data[n // 2:].mean()) / 2, args.repeat)
            inproc = measure(server.target, n, args.repeat)
            rows.append([f"{n:,}", f"{ref * 1e3:.2f}", f"{inproc * 1e3:.2f}", f"{inproc / ref:.1f}x",
                         f"{tf_ms[n]:.1f}", f"{tf_ms[n] / (inproc * 1e3):.1f}x"])
    finally:
        server.stop()
    # The seed's layout: a client process of its own. Here: task 0 as a process too, this process the client.
    procs.start_task("local", 0)
    procs.wait_serving(("local", 0))
    try:
        for row, n in zip(rows, SIZES):
            remote = measure(procs.target("local", 0), n, args.repeat)
            row.insert(4, f"{remote * 1e3:.2f}")
    finally:
        procs.stop()
    tf1 = tensorflow()
    note = "tensorflow not installed: TF column = the issue's figures" if tf1 is None else "TF measured"
    table(f"map/reduce mean over two tasks (median ms of {args.repeat}; {note})",
          ["values", "numpy ms", "client in task 0 ms", "vs numpy", "separate client ms", "TF ms",
           "speedup vs TF (in task 0)"], rows)


if __name__ == "__main__":
    main()
