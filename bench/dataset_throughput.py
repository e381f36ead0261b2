"""tf.data throughput: ``from_tensor_slices((x, y)).shuffle(10000).batch(128).repeat()`` over a 60000x784 float32
array, batches pulled with ``sess.run(get_next)``, against plain numpy doing the same job in a Python loop.

The reference is numpy drawing shuffled batches: one permutation per epoch, then ``x[perm[i:i+128]]`` for each
batch (the fancy-index copy a shuffled batch needs). Goal: tasklayer's iterator within 3x of it. Also printed:
contiguous numpy views ``x[i:i+128]`` (no shuffle, no copy: a lower bound no pipeline reaches), the same
shuffled batches fed through ``feed_dict`` (what TF1 programs did before tf.data), and TensorFlow's own tf.data
in graph mode when TensorFlow is importable.

    python bench/dataset_throughput.py [--rows 60000] [--batches 2000] [--buffer 10000] [--batch-size 128]
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tasklayer  # noqa: E402
from bench._peers import import_tensorflow  # noqa: E402


def numpy_shuffled(x, y, batch_size, rng):
    """Endless shuffled batches from numpy: a permutation per epoch, a gather per batch."""
    while True:
        perm = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            yield x[idx], y[idx]


def numpy_views(x, y, batch_size):
    """Endless contiguous views (no shuffle, no copy)."""
    while True:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


def best_rates(runners, batches, rounds=5, warmup=20):
    """Batches per second of each ``pull()`` in ``runners`` (label -> pull): the best of ``rounds`` rounds of
    ``batches / rounds`` pulls, the runners taking turns so that a busy machine slows them alike."""
    for pull in runners.values():
        for _ in range(warmup):
            pull()
    best = dict.fromkeys(runners, 0.0)
    per_round = max(1, batches // rounds)
    for _ in range(rounds):
        for label, pull in runners.items():
            t0 = time.perf_counter()
            for _ in range(per_round):
                pull()
            best[label] = max(best[label], per_round / (time.perf_counter() - t0))
    return best


def dataset_pipeline(tf, x, y, args, prefetch=False):
    """Build the pipeline with ``tf``; (session, next-element fetch, seconds to build and pull the first batch)."""
    t0 = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default():
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(args.buffer).batch(args.batch_size).repeat()
        if prefetch:
            ds = ds.prefetch(1)
        nxt = tf.data.make_one_shot_iterator(ds).get_next()
    sess = tf.Session(graph=graph)
    first = sess.run(nxt)
    assert first[0].shape == (args.batch_size, x.shape[1]), first[0].shape
    return sess, nxt, time.perf_counter() - t0


def main(argv=None):
    """Print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--features", type=int, default=784)
    p.add_argument("--batches", type=int, default=2000)
    p.add_argument("--buffer", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.rows, args.features), dtype=np.float32)
    y = rng.integers(0, 10, args.rows).astype(np.int64)

    runners, setups, sessions = {}, {}, []
    shuffled = numpy_shuffled(x, y, args.batch_size, np.random.default_rng(1))
    reference = "numpy x[perm[i:i+b]] (reference)"
    runners[reference] = lambda: next(shuffled)
    views = numpy_views(x, y, args.batch_size)
    runners["numpy x[i:i+b] views, no shuffle"] = lambda: next(views)

    tf = tasklayer
    with tf.Graph().as_default() as graph:
        px = tf.placeholder(tf.float32, [None, args.features])
        py = tf.placeholder(tf.int64, [None])
        fed = [tf.identity(px), tf.identity(py)]
    feed_sess = tf.Session(graph=graph)
    sessions.append(feed_sess)
    feeder = numpy_shuffled(x, y, args.batch_size, np.random.default_rng(2))

    def feed():
        bx, by = next(feeder)
        return feed_sess.run(fed, {px: bx, py: by})
    runners["tasklayer feed_dict of numpy batches"] = feed

    for label, prefetch in (("tasklayer tf.data", False), ("tasklayer tf.data + prefetch(1)", True)):
        sess, nxt, setups[label] = dataset_pipeline(tf, x, y, args, prefetch)
        sessions.append(sess)
        runners[label] = lambda sess=sess, nxt=nxt: sess.run(nxt)

    tf1 = import_tensorflow()
    if tf1 is not None:
        label = f"TensorFlow {tf1.VERSION} tf.data"
        sess, nxt, setups[label] = dataset_pipeline(tf1, x, y, args)
        sessions.append(sess)
        runners[label] = lambda sess=sess, nxt=nxt: sess.run(nxt)

    rates = best_rates(runners, args.batches, rounds=10)
    for sess in sessions:
        sess.close()
    base = rates[reference]
    print(f"from_tensor_slices(({args.rows}x{args.features} float32, int64)).shuffle({args.buffer})"
          f".batch({args.batch_size}).repeat(): batches pulled one by one, best of 10 interleaved rounds of "
          f"{args.batches // 10}")
    print(f"{'runner':<40}{'batches/s':>12}{'time/batch vs numpy':>21}{'setup s':>10}")
    for label, rate in rates.items():
        shown = f"{setups[label]:.2f}" if label in setups else ""
        print(f"{label:<40}{rate:>12.0f}{base / rate:>20.3g}x{shown:>10}")
    if tf1 is None:
        print("(TensorFlow is not installed in this interpreter: no TensorFlow row)")


if __name__ == "__main__":
    main()
