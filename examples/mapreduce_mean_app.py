"""The map/reduce mean as a yarnflow app: ``submit examples/mapreduce_mean_app.py --workers N`` runs this
script in every task. Each worker serves its task; worker 0 builds one slice-and-mean per worker over a fed
placeholder, runs it through its own server, checks the answer against numpy, prints it, then stops the
other workers (a Shutdown RPC) so every task exits 0. Exit status 1 if the answer is wrong.

Optional: ``--values N`` (default 1,000,000).
"""

import argparse
import sys

import numpy as np

import tasklayer as tf


def build_mean(x, num_values, num_workers, job):
    """One slice-and-mean per worker task, then the weighted mean of the partial means on task 0."""
    bounds = np.linspace(0, num_values, num_workers + 1).astype(int)
    partials = []
    for i in range(num_workers):
        with tf.device(f"/job:{job}/task:{i}"):
            part = tf.slice(x, [int(bounds[i])], [int(bounds[i + 1] - bounds[i])])
            partials.append(tf.reduce_sum(tf.cast(part, tf.float64)))
    with tf.device(f"/job:{job}/task:0"):
        return tf.add_n(partials) / float(num_values)


def other_tasks(cluster, job):
    """Every task of the cluster but this one (task 0 of ``job``)."""
    return [(other, i) for other in cluster.jobs for i in cluster.task_indices(other) if (other, i) != (job, 0)]


def stop_others(cluster, job):
    """Ask every other task of the cluster to stop its server (best effort: a task may be gone already)."""
    for (other, i), error in tf.train.shutdown_tasks(cluster, other_tasks(cluster, job)).items():
        print(f"could not stop /job:{other}/task:{i}: {error}", file=sys.stderr)


def main(argv=None):
    """Run this task's part of the app; the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    server = tf.train.Server.from_env()
    job, index = server.job_name, server.task_index
    cluster = server.cluster_spec
    if job != "worker" or index != 0:
        print(f"serving /job:{job}/task:{index} at {server.target}", flush=True)
        server.join()
        return 0
    workers = cluster.num_tasks("worker")
    x = tf.placeholder(tf.float32, [args.values])
    mean = build_mean(x, args.values, workers, "worker")
    data = np.random.random(args.values).astype(np.float32)
    try:
        tf.train.wait_for_tasks(cluster, other_tasks(cluster, job))
        with tf.Session(server.target) as sess:
            result = float(sess.run(mean, feed_dict={x: data}))
    finally:
        stop_others(cluster, job)
    expected = float(data.astype(np.float64).mean())
    ok = abs(result - expected) <= 1e-6 * max(1.0, abs(expected))
    print(f"mean of {args.values} values over {workers} workers: {result:.5f} (numpy: {expected:.5f}) "
          f"{'OK' if ok else 'WRONG'}", flush=True)
    server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
