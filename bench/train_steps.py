"""Aggregate training steps/s of the 784-256-10 MLP (batch 128, synthetic data, async gradient descent) with
1 ps and 2 workers, each task its own OS process; yarnflow beside TensorFlow's own ``tf.compat.v1``
between-graph replication of the same model (when ``import tensorflow`` works), in the same run.

yarnflow's tasks run with ``OMP_NUM_THREADS=1``, the environment the node agent gives a 1-vcore container
(numpy's OpenBLAS threads spin while waiting, so three processes each running two of them on two cores starve
one another; the engine then also computes one op at a time, see ``engine.executor.compute_width``). TensorFlow runs twice: with its defaults, and with one intra-op thread per task
("tensorflow-1t"); the ratio is taken against the faster of the two.

    /opt/peers/bin/python bench/train_steps.py [--seconds 10] [--optimizer sgd|adam] [--only yarnflow]

Each worker process starts its task's server, builds the model under ``replica_device_setter`` (variables on
the ps), runs its own training loop through a session on its own server, and counts the steps it finished
inside a common measurement window (wall-clock start agreed by the parent, after a warm-up). TensorFlow's
sessions and servers use ``device_filters`` (ps + own worker), as TF's between-graph examples do.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._peers import import_tensorflow  # noqa: E402

BATCH, IN, HIDDEN, OUT = 128, 784, 256, 10
WARMUP_S = 3.0


def _load(system):
    if system.startswith("tensorflow"):
        return import_tensorflow()
    import tasklayer
    return tasklayer


def _dense(tf, x, units, activation, name):
    """``tf.layers.dense``; for TensorFlow builds without a working ``tf.compat.v1.layers`` (Keras 3), the same
    layer from ``get_variable`` (glorot-uniform kernel, zero bias)."""
    try:
        return tf.layers.dense(x, units, activation=activation, name=name)
    except Exception:
        with tf.variable_scope(name):
            kernel = tf.get_variable("kernel", [int(x.shape[-1]), units], tf.float32,
                                     tf.glorot_uniform_initializer())
            bias = tf.get_variable("bias", [units], tf.float32, tf.zeros_initializer())
        out = tf.matmul(x, kernel) + bias
        return activation(out) if activation is not None else out


def _config(tf, system, task):
    if system == "yarnflow":
        return None
    # "tensorflow-1t": each task computes on one thread, as yarnflow's 1-vcore containers do (OMP_NUM_THREADS=1).
    threads = {"intra_op_parallelism_threads": 1, "inter_op_parallelism_threads": 2} if system.endswith("-1t") else {}
    return tf.ConfigProto(device_filters=["/job:ps", f"/job:worker/task:{task}"], **threads)


def run_ps(system, cluster):
    """Serve the ps task until killed."""
    tf = _load(system)
    server = tf.train.Server(tf.train.ClusterSpec(cluster), job_name="ps", task_index=0,
                             config=_config(tf, system, 0))
    print("serving", flush=True)
    server.join()


def run_worker(system, cluster, task, start_at, seconds, optimizer):
    """Train until the window closes; print ``{"steps": n}`` (steps finished inside the window)."""
    import numpy as np
    tf = _load(system)
    config = _config(tf, system, task)
    server = (tf.train.Server(tf.train.ClusterSpec(cluster), job_name="worker", task_index=task, config=config)
              if config is not None else
              tf.train.Server(tf.train.ClusterSpec(cluster), job_name="worker", task_index=task))
    with tf.Graph().as_default():
        with tf.device(tf.train.replica_device_setter(cluster=tf.train.ClusterSpec(cluster),
                                                      worker_device=f"/job:worker/task:{task}")):
            x = tf.placeholder(tf.float32, [None, IN], name="x")
            y = tf.placeholder(tf.float32, [None, OUT], name="y")
            hidden = _dense(tf, x, HIDDEN, tf.nn.relu, "hidden")
            logits = _dense(tf, hidden, OUT, None, "logits")
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
            step = tf.train.get_or_create_global_step()
            opt = (tf.train.AdamOptimizer(1e-3) if optimizer == "adam" else
                   tf.train.GradientDescentOptimizer(0.01))
            train = opt.minimize(loss, global_step=step)
            init = tf.global_variables_initializer()
            ready = tf.report_uninitialized_variables()
        rng = np.random.RandomState(task)
        xs = rng.rand(BATCH, IN).astype(np.float32)
        ys = np.eye(OUT, dtype=np.float32)[rng.randint(0, OUT, BATCH)]
        feed = {x: xs, y: ys}
        sess = tf.Session(server.target, config=config) if config is not None else tf.Session(server.target)
        with sess:
            if task == 0:
                sess.run(init)
            deadline = time.time() + 60
            while _pending(sess.run(ready)) and time.time() < deadline:  # the others wait for the chief
                time.sleep(0.05)
            while time.time() < start_at:  # warm-up until the common window opens
                sess.run(train, feed)
            end = start_at + seconds
            steps = 0
            while time.time() < end:
                sess.run(train, feed)
                steps += 1
            final_step = int(sess.run(step))
    print(json.dumps({"steps": steps, "global_step": final_step}), flush=True)


def _pending(report):
    """Whether ``report_uninitialized_variables`` lists any variable (both systems answer with names)."""
    import numpy as np
    return np.asarray(report).size > 0


def measure(system, seconds, optimizer):
    """Start ps + 2 worker processes of ``system``; aggregate steps/s in the common window."""
    from tests.distributed_helpers import free_ports
    ports = free_ports(3)
    cluster = {"ps": [f"localhost:{ports[0]}"], "worker": [f"localhost:{p}" for p in ports[1:]]}
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if system == "yarnflow":  # what the node agent gives a 1-vcore container (numpy's BLAS then runs 1 thread)
        env["OMP_NUM_THREADS"] = "1"
    me = [sys.executable, str(pathlib.Path(__file__).resolve())]
    procs = []
    try:
        ps = subprocess.Popen(me + ["--role", "ps", "--system", system, "--cluster", json.dumps(cluster)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
        procs.append(ps)
        if not ps.stdout.readline().startswith("serving"):
            raise RuntimeError(f"{system} ps did not start (exit {ps.poll()})")
        start_at = time.time() + WARMUP_S + (12.0 if system.startswith("tensorflow") else 6.0)  # imports + warm-up
        workers = [subprocess.Popen(me + ["--role", "worker", "--system", system, "--cluster", json.dumps(cluster),
                                          "--task", str(i), "--start-at", repr(start_at), "--seconds",
                                          str(seconds), "--optimizer", optimizer],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
                   for i in range(2)]
        procs += workers
        results = []
        for w in workers:
            out, err = w.communicate(timeout=start_at - time.time() + seconds + 120)
            lines = [ln for ln in out.splitlines() if ln.startswith("{")]
            if w.returncode != 0 or not lines:
                raise RuntimeError(f"{system} worker failed (exit {w.returncode}): {err.strip()[-800:]}")
            results.append(json.loads(lines[-1]))
        return sum(r["steps"] for r in results) / seconds, results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bench", "ps", "worker"], default="bench")
    parser.add_argument("--system", default="yarnflow")
    parser.add_argument("--cluster")
    parser.add_argument("--task", type=int, default=0)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--only", choices=["yarnflow", "tensorflow", "tensorflow-1t"])
    args = parser.parse_args()
    if args.role == "ps":
        return run_ps(args.system, json.loads(args.cluster))
    if args.role == "worker":
        return run_worker(args.system, json.loads(args.cluster), args.task, args.start_at, args.seconds,
                          args.optimizer)
    systems = [args.only] if args.only else ["yarnflow", "tensorflow", "tensorflow-1t"]
    rows = {}
    for system in systems:
        if system.startswith("tensorflow") and import_tensorflow() is None:
            print("tensorflow: not installed; run with /opt/peers/bin/python for the comparison")
            continue
        rate, per_worker = measure(system, args.seconds, args.optimizer)
        rows[system] = rate
        print(f"{system}: {rate:.1f} steps/s (per worker: {[r['steps'] for r in per_worker]} steps in "
              f"{args.seconds:g} s; global_step {max(r['global_step'] for r in per_worker)})", flush=True)
    print(f"\n784-256-10 MLP, batch {BATCH}, {args.optimizer}, async, 1 ps + 2 workers (separate processes), "
          f"{args.seconds:g} s window")
    print(f"{'system':<12}{'steps/s':>10}")
    for system, rate in rows.items():
        print(f"{system:<12}{rate:>10.1f}")
    tf_best = max((rate, system) for system, rate in rows.items() if system.startswith("tensorflow")) \
        if any(s.startswith("tensorflow") for s in rows) else None
    if "yarnflow" in rows and tf_best:
        print(f"{'ratio':<12}{rows['yarnflow'] / tf_best[0]:>10.2f}  (yarnflow / {tf_best[1]}, the faster TF)")


if __name__ == "__main__":
    sys.exit(main())
