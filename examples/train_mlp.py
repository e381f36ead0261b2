"""A 784-256-10 MLP trained by between-graph replication, as a TF1 program: every task of
``submit examples/train_mlp.py --ps 1 --workers 4 --args --checkpoint-dir DIR`` runs this script.

ps tasks serve the variables. Each worker builds the same graph (variables on the ps through
``replica_device_setter``) and trains asynchronously with a ``MonitoredTrainingSession`` until the global step
reaches ``--steps``; worker 0 is the chief: it initializes (or restores the latest checkpoint of
``--checkpoint-dir``), saves a checkpoint every ``--save-steps`` steps, then evaluates held-out accuracy,
prints ``accuracy A after N steps OK`` (exit 1 below 0.95), waits for the other workers to say they are done
(a ``workers_done`` counter on the ps) and stops the ps tasks (Shutdown RPC), so every task exits 0.

Surviving failures: a session that fails because a task died (the ps, or a restarted worker's old address)
is recreated once the task serves again at its new address (asked of resmgr: a restarted task gets a fresh
container and port); the chief then restores from the last checkpoint and prints ``restored from step K``.
The data are synthetic (no download): 10 Gaussian class centers in 784-d drawn from a fixed seed.
"""

import argparse
import os
import sys
import time

import numpy as np

import tasklayer as tf
from tasklayer.train import cluster_refresh

CLASSES, FEATURES, HIDDEN = 10, 784, 256
CENTER_SCALE = 0.15  # class centers ~N(0, 0.15^2) per feature, unit noise: about 99% is the best reachable
RECOVERABLE = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError,
               tf.errors.NotFoundError, tf.errors.FailedPreconditionError, tf.errors.CancelledError,
               tf.errors.UnknownError, tf.errors.InternalError)


def class_centers(seed=0):
    """The 10 class centers, the same in every task (fixed seed)."""
    return np.random.RandomState(seed).normal(0.0, CENTER_SCALE, (CLASSES, FEATURES)).astype(np.float32)


def sample(centers, n, rng):
    """``n`` labelled points: a random class's center plus unit Gaussian noise."""
    labels = rng.randint(0, CLASSES, n)
    points = centers[labels] + rng.normal(0.0, 1.0, (n, FEATURES)).astype(np.float32)
    return points, labels.astype(np.int64)


def build_model(cluster, task_index, learning_rate):
    """The graph every worker builds: variables on the ps tasks, the rest on this worker."""
    with tf.device(tf.train.replica_device_setter(cluster=cluster, worker_device=f"/job:worker/task:{task_index}")):
        x = tf.placeholder(tf.float32, [None, FEATURES], name="x")
        y = tf.placeholder(tf.int64, [None], name="y")
        hidden = tf.layers.dense(x, HIDDEN, activation=tf.nn.relu, name="hidden")
        logits = tf.layers.dense(hidden, CLASSES, name="logits")
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, CLASSES),
                                                                         logits=logits))
        global_step = tf.train.get_or_create_global_step()
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        done = tf.Variable(0, dtype=tf.int32, trainable=False, name="workers_done")
        mark_done = done.assign_add(1)
    return dict(x=x, y=y, loss=loss, train_op=train_op, accuracy=accuracy, global_step=global_step, done=done,
                mark_done=mark_done)


def log(message):
    """One flushed line on stdout."""
    print(message, flush=True)


# ---------------------------------------------------------------------- where the other tasks are
def refresh_cluster(server):
    """Point this task's server at where every task runs now (a restarted task has a new port)."""
    try:
        moved = cluster_refresh.update_server_cluster(server, cluster_refresh.current_cluster())
    except ValueError:
        return []  # not running under yarnflow (e.g. TF_CONFIG by hand): the static spec is all there is
    for job, index in moved:
        log(f"/job:{job}/task:{index} is now at {server.cluster_spec.task_address(job, index)}")
    return moved


def wait_for_job(server, job, timeout):
    """Wait until every task of ``job`` serves, following their moves; TimeoutError naming the job."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            refresh_cluster(server)
        except Exception as e:  # noqa: BLE001 - resmgr briefly unreachable: keep the last known spec
            print(f"could not refresh the cluster spec: {e}", file=sys.stderr)
        cluster = server.cluster_spec
        down = [i for _, i in tf.train.unreachable_tasks(cluster, [(job, i) for i in cluster.task_indices(job)])]
        if not down:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"tasks {down} of job {job!r} did not serve within {timeout:g} s")
        time.sleep(0.3)


def with_recovery(server, fn, timeout, what):
    """``fn()``, retried after the ps serves again when a task failure interrupts it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except RECOVERABLE as e:
            if time.monotonic() > deadline:
                raise
            log(f"{what} interrupted ({type(e).__name__}: {str(e).splitlines()[0][:200]}); reconnecting")
            wait_for_job(server, "ps", max(1.0, deadline - time.monotonic()))


# ---------------------------------------------------------------------- the roles
def serve_ps(server):
    """Serve variables until the chief says stop, following workers that restart elsewhere."""
    log(f"serving /job:ps/task:{server.task_index} at {server.target}")
    while not server.join(timeout=1.0):
        try:
            refresh_cluster(server)
        except Exception as e:  # noqa: BLE001 - resmgr briefly unreachable: try again next second
            print(f"could not refresh the cluster spec: {e}", file=sys.stderr)
    return 0


def train(server, model, args, is_chief):
    """Train until the global step reaches ``args.steps``, recreating the session after a task failure."""
    index = server.task_index
    rng = np.random.RandomState(1000 + 100 * index + int(time.time()) % 100)
    centers = class_centers()
    stop_hook = tf.train.StopAtStepHook(last_step=args.steps)

    def session_loop():
        with tf.train.MonitoredTrainingSession(master=server.target, is_chief=is_chief,
                                               checkpoint_dir=args.checkpoint_dir if is_chief else None,
                                               save_checkpoint_steps=args.save_steps, hooks=[stop_hook],
                                               max_wait_secs=args.timeout) as sess:
            if sess.restored_from:
                step = sess.run(model["global_step"])
                log(f"restored from step {step} ({sess.restored_from})")
            while not sess.should_stop():
                xs, ys = sample(centers, args.batch, rng)
                _, step = sess.run([model["train_op"], model["global_step"]], {model["x"]: xs, model["y"]: ys})
                if step % 50 == 0:
                    log(f"worker {index}: global step {step}")

    with_recovery(server, session_loop, args.timeout, "training")


def run_chief_end(server, model, args):
    """Evaluate, wait for the other workers, stop the ps tasks; the exit status."""
    test_x, test_y = sample(class_centers(), 2000, np.random.RandomState(12345))
    num_workers = server.cluster_spec.num_tasks("worker")

    def evaluate():
        with tf.Session(server.target) as sess:
            return sess.run([model["accuracy"], model["global_step"]], {model["x"]: test_x, model["y"]: test_y})

    accuracy, step = with_recovery(server, evaluate, args.timeout, "evaluation")
    ok = accuracy >= 0.95
    log(f"accuracy {accuracy:.4f} after {step} steps {'OK' if ok else 'TOO LOW'}")

    def others_done():
        deadline = time.monotonic() + args.timeout
        with tf.Session(server.target) as sess:
            while sess.run(model["done"]) < num_workers - 1:
                if time.monotonic() > deadline:
                    log("not every worker said it was done; stopping the ps anyway")
                    return
                time.sleep(0.2)

    with_recovery(server, others_done, args.timeout, "waiting for the workers")
    stop_ps(server)
    return 0 if ok else 1


def stop_ps(server):
    """Ask every ps task to stop its server (best effort: one may be gone already)."""
    try:
        refresh_cluster(server)
    except Exception as e:  # noqa: BLE001 - the last known spec is the best we have
        print(f"could not refresh the cluster spec: {e}", file=sys.stderr)
    cluster = server.cluster_spec
    ps_tasks = [("ps", i) for i in cluster.task_indices("ps")]
    for (job, i), error in tf.train.shutdown_tasks(cluster, ps_tasks).items():
        print(f"could not stop /job:{job}/task:{i}: {error}", file=sys.stderr)


def main(argv=None):
    """Run this task's part of the job; the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--save-steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a failed task")
    args = parser.parse_args(argv)
    server = tf.train.Server.from_env()
    job, index = server.job_name, server.task_index
    if job == "ps":
        return serve_ps(server)
    is_chief = index == 0
    model = build_model(server.cluster_spec, index, args.learning_rate)
    wait_for_job(server, "ps", args.timeout)
    log(f"worker {index} (attempt {os.environ.get('YARNFLOW_ATTEMPT', '1')}) training"
        f"{' as chief' if is_chief else ''}")
    train(server, model, args, is_chief)
    if is_chief:
        status = run_chief_end(server, model, args)
    else:
        def mark_done():
            with tf.Session(server.target) as sess:
                sess.run(model["mark_done"])
        with_recovery(server, mark_done, args.timeout, "saying done")
        log(f"worker {index} done")
        status = 0
    server.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
