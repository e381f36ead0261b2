"""The seed's zcalc ``sess.run`` latency on two tasks, each its own process, beside TensorFlow's own
``tf.compat.v1.train.Server`` in the same run when TensorFlow is installed.

Run: ``python3 bench/zcalc_latency.py [--runs 500]``. Rows: the seed's graph as written (constants: the
master folds y1/y2 and copies the small constants to z's task, so one RunStep does it), the same graph with
x fed (nothing folds, y1 really runs on task 0 and crosses by RecvTensor), and the client inside task 1's
process (no RPC to the master).
"""

import argparse

from _cluster import TaskProcesses, free_ports, table, tensorflow, timeit

TF_REFERENCE_MS = 0.63  # the figure for TensorFlow on this machine


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
    """Median seconds of one ``sess.run(z)``."""
    with tf.Graph().as_default():
        z, feed = zcalc(tf, fed)
        with tf.Session(target) as sess:
            assert sess.run(z, feed) == -18
            return timeit(lambda: sess.run(z, feed), runs, warmup=20)


def tensorflow_ms(tf1, runs, fed):
    """TensorFlow's own latency for the same layout (two in-process servers), or None."""
    if tf1 is None:
        return None
    ports = free_ports(2)
    cluster = tf1.train.ClusterSpec({"local": [f"localhost:{p}" for p in ports]})
    servers = [tf1.train.Server(cluster, job_name="local", task_index=i) for i in range(2)]
    tf1.disable_eager_execution()
    with tf1.Graph().as_default():
        z, feed = zcalc(tf1, fed)
        with tf1.Session(servers[1].target) as sess:
            return timeit(lambda: sess.run(z, feed), runs, warmup=20) * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    import tasklayer as tf
    tf1 = tensorflow()
    rows = []
    with TaskProcesses({"local": 2}) as procs:
        for fed in (False, True):
            ms = measure(tf, procs.target("local", 1), fed, args.runs) * 1e3
            ref = tensorflow_ms(tf1, args.runs, fed)
            rows.append([f"zcalc, x {'fed' if fed else 'constant (as the seed)'}, client process -> task 1",
                         f"{ms:.3f}", "tensorflow not installed" if ref is None else f"{ref:.3f}",
                         f"{(ref or TF_REFERENCE_MS) / ms:.2f}"])
        procs.procs[("local", 1)].terminate()
        procs.procs[("local", 1)].wait(10)
        server = tf.train.Server(procs.spec, "local", 1)
        try:
            for fed in (False, True):
                ms = measure(tf, server.target, fed, args.runs) * 1e3
                rows.append([f"zcalc, x {'fed' if fed else 'constant'}, client inside task 1", f"{ms:.3f}", "-",
                             f"{TF_REFERENCE_MS / ms:.2f}"])
        finally:
            server.stop()
    table(f"zcalc sess.run latency (median of {args.runs}; TF reference {TF_REFERENCE_MS} ms from the issue "
          "where TensorFlow is not installed)", ["case", "yarnflow ms", "TensorFlow ms", "TF / yarnflow"], rows)


if __name__ == "__main__":
    main()
