"""A 784-256-10 MLP trained by between-graph replication, as a TF1 program: every task of
``submit examples/train_mlp.py --ps 1 --workers 4 --args --checkpoint-dir DIR`` runs this script.

ps tasks serve the variables. Each worker builds the same graph (variables on the ps through
``replica_device_setter``) and trains asynchronously with a ``MonitoredTrainingSession`` until the global step
reaches ``--steps`` (with ``--sync``, synchronously: ``SyncReplicasOptimizer`` averages one gradient of every
worker per step and applies it once); worker 0 is the chief: it initializes (or restores the latest checkpoint of
``--checkpoint-dir``), saves a checkpoint every ``--save-steps`` steps, then evaluates held-out accuracy,
prints ``accuracy A after N steps OK`` (exit 1 below 0.95), waits for the other workers to say they are done
(a ``workers_done`` counter on the ps) and stops the ps tasks (Shutdown RPC), so every task exits 0.

Surviving failures is ``MonitoredTrainingSession``'s job, as in TF: a run that fails because a task died (the
ps, or a restarted worker's old address) is made again on a new session once the task serves again at its new
address (asked of resmgr: a restarted task gets a fresh container and port); the chief's new session restores
the last checkpoint (it logs ``restored from step K``), and so does a restarted chief.
The data are synthetic (no download): 10 Gaussian class centers in 784-d drawn from a fixed seed.
"""

import argparse
import os
import sys
import time

import numpy as np

import tasklayer as tf
from tasklayer.training.cluster_follow import follow_cluster, join_following_cluster, wait_for_exit

CLASSES, FEATURES, HIDDEN = 10, 784, 256
CENTER_SCALE = 0.15  # class centers ~N(0, 0.15^2) per feature, unit noise: about 99% is the best reachable


def class_centers(seed=0):
    """The 10 class centers, the same in every task (fixed seed)."""
    return np.random.RandomState(seed).normal(0.0, CENTER_SCALE, (CLASSES, FEATURES)).astype(np.float32)


def sample(centers, n, rng):
    """``n`` labelled points: a random class's center plus unit Gaussian noise."""
    labels = rng.randint(0, CLASSES, n)
    points = centers[labels] + rng.normal(0.0, 1.0, (n, FEATURES)).astype(np.float32)
    return points, labels.astype(np.int64)


def build_model(cluster, task_index, learning_rate, sync=False):
    """The graph every worker builds: variables on the ps tasks, the rest on this worker. ``sync``: one averaged
    update per step from a gradient of every worker (``sync_hook`` is then the session hook that drives it)."""
    with tf.device(tf.train.replica_device_setter(cluster=cluster, worker_device=f"/job:worker/task:{task_index}")):
        x = tf.placeholder(tf.float32, [None, FEATURES], name="x")
        y = tf.placeholder(tf.int64, [None], name="y")
        hidden = tf.layers.dense(x, HIDDEN, activation=tf.nn.relu, name="hidden")
        logits = tf.layers.dense(hidden, CLASSES, name="logits")
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, CLASSES),
                                                                         logits=logits))
        global_step = tf.train.get_or_create_global_step()
        optimizer = tf.train.AdamOptimizer(learning_rate)
        sync_hook = None
        if sync:
            workers = cluster.num_tasks("worker")
            optimizer = tf.train.SyncReplicasOptimizer(optimizer, replicas_to_aggregate=workers,
                                                       total_num_replicas=workers)
            # num_tokens=0: no worker runs ahead, so every step averages one gradient of each worker.
            sync_hook = optimizer.make_session_run_hook(is_chief=task_index == 0, num_tokens=0)
        train_op = optimizer.minimize(loss, global_step=global_step)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        done = tf.Variable(0, dtype=tf.int32, trainable=False, name="workers_done")
        mark_done = done.assign_add(1)
    return dict(x=x, y=y, loss=loss, train_op=train_op, accuracy=accuracy, global_step=global_step, done=done,
                mark_done=mark_done, sync_hook=sync_hook)


def log(message):
    """One flushed line on stdout."""
    print(message, flush=True)


def train(server, model, args):
    """This worker's part of the job (worker 0 is the chief); the exit status."""
    index = server.task_index
    is_chief = index == 0
    # Fixed seeds, one stream per worker and attempt: a restarted worker draws new batches, not the same ones again.
    rng = np.random.RandomState(1000 + 100 * index + int(os.environ.get("YARNFLOW_ATTEMPT", "1")))
    centers = class_centers()
    hooks = [tf.train.StopAtStepHook(last_step=args.steps)]
    if model["sync_hook"] is not None:
        hooks.append(model["sync_hook"])
    log(f"worker {index} (attempt {os.environ.get('YARNFLOW_ATTEMPT', '1')}) training"
        f"{' as chief' if is_chief else ''}")
    # server=server: the session follows a task restarted at a new port (yarnflow only, not in TF).
    with tf.train.MonitoredTrainingSession(master=server.target, is_chief=is_chief,
                                           checkpoint_dir=args.checkpoint_dir, save_checkpoint_steps=args.save_steps,
                                           hooks=hooks, max_wait_secs=args.timeout, server=server) as sess:
        while not sess.should_stop():
            xs, ys = sample(centers, args.batch, rng)
            _, step = sess.run([model["train_op"], model["global_step"]], {model["x"]: xs, model["y"]: ys})
            if step % 50 == 0:
                log(f"worker {index}: global step {step}")
        if not is_chief:
            sess.run(model["mark_done"])
            log(f"worker {index} done")
            return 0
        test_x, test_y = sample(centers, 2000, np.random.RandomState(12345))
        accuracy, step = sess.run([model["accuracy"], model["global_step"]], {model["x"]: test_x, model["y"]: test_y})
        ok = accuracy >= 0.95
        log(f"accuracy {accuracy:.4f} after {step} steps {'OK' if ok else 'TOO LOW'}")
        if model["sync_hook"] is not None:
            log(f"sync: {model['sync_hook'].queue_runner.steps_applied} averaged updates applied by this session")
        wait_for_workers(sess, model, server.cluster_spec.num_tasks("worker") - 1, args.timeout)
    stop_ps(server)
    return 0 if ok else 1


def wait_for_workers(sess, model, count, timeout):
    """Wait until ``count`` other workers said they are done (the ps must serve them until then)."""
    deadline = time.monotonic() + timeout
    while sess.run(model["done"]) < count:
        if time.monotonic() > deadline:
            log("not every worker said it was done; stopping the ps anyway")
            return
        time.sleep(0.2)


def stop_ps(server, timeout=10.0):
    """Ask every ps task to stop its server (best effort: one may be gone already), and wait until each ended:
    the job ends when the chief exits, and the app master would stop a ps still exiting then."""
    follow_cluster(server)
    cluster = server.cluster_spec
    ps_tasks = [("ps", i) for i in cluster.task_indices("ps")]
    for (job, i), error in tf.train.shutdown_tasks(cluster, ps_tasks).items():
        print(f"could not stop /job:{job}/task:{i}: {error}", file=sys.stderr)
    for job, i in wait_for_exit(ps_tasks, timeout):
        print(f"/job:{job}/task:{i} still runs {timeout:g} s after its Shutdown", file=sys.stderr)


def main(argv=None):
    """Run this task's part of the job; the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--save-steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--sync", action="store_true", help="synchronous replicas (SyncReplicasOptimizer)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a failed task")
    args = parser.parse_args(argv)
    server = tf.train.Server.from_env()
    if server.job_name == "ps":
        log(f"serving /job:ps/task:{server.task_index} at {server.target}")
        join_following_cluster(server)  # server.join(), following workers restarted at new ports
        return 0
    model = build_model(server.cluster_spec, server.task_index, args.learning_rate, args.sync)
    status = train(server, model, args)
    server.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
