"""``tf.estimator.train_and_evaluate`` between-graph replicated across real processes: 1 ps and 2 workers on
loopback ports, each told its task by ``TF_CONFIG`` alone (as yarnflow starts them: no ``chief`` task, so worker
0 is the chief). The workers train one logistic-regression model whose variables live on the ps; the chief
checkpoints and evaluates held-out accuracy.

This module is also the program every task runs: ``python -m tests.test_estimator_distributed --model-dir D``,
or, submitted to a test cluster, ``submit tests/test_estimator_distributed.py --ps 1 --workers 2``.
"""

import argparse
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.distributed_helpers import ROOT, free_ports

MAX_STEPS = 300
FEATURES = 6


def _data(n, seed):
    """Linearly separable points (a fixed hyperplane, the same in every task), labels 0/1."""
    w = np.random.RandomState(0).normal(size=FEATURES).astype(np.float32)
    x = np.random.RandomState(seed).normal(size=(n, FEATURES)).astype(np.float32)
    return x, (x @ w > 0).astype(np.int64)


def _model_fn(features, labels, mode):
    import tasklayer as tf
    logits = tf.layers.dense(features["x"], 2, name="logits")
    classes = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"class": classes})
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = tf.train.GradientDescentOptimizer(0.2).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      eval_metric_ops={"accuracy": tf.metrics.accuracy(labels, classes)})


def main(argv=None):
    """One task of the job: train_and_evaluate, then a line saying what this task did."""
    import tasklayer as tf
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

    class CountRuns(tf.train.SessionRunHook):
        """How many training steps this task ran."""
        runs = 0

        def after_run(self, run_context, run_values):
            CountRuns.runs += 1

    config = tf.estimator.RunConfig(model_dir=args.model_dir, save_checkpoints_steps=100, log_step_count_steps=50,
                                    experimental_max_worker_delay_secs=0, session_creation_timeout_secs=60)
    estimator = tf.estimator.Estimator(_model_fn, config=config)
    train_x, train_y = _data(2000, seed=1 + config.task_id)
    test_x, test_y = _data(500, seed=99)
    train_spec = tf.estimator.TrainSpec(
        tf.estimator.inputs.numpy_input_fn({"x": train_x}, train_y, batch_size=32, num_epochs=None, shuffle=True),
        max_steps=MAX_STEPS, hooks=[CountRuns()])
    eval_spec = tf.estimator.EvalSpec(
        tf.estimator.inputs.numpy_input_fn({"x": test_x}, test_y, batch_size=100, shuffle=False), steps=None,
        throttle_secs=0)
    print(f"{config.task_type} {config.task_id} starts (chief: {config.is_chief})", flush=True)
    result = tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
    if config.is_chief:
        metrics, _ = result
        print("EVAL " + json.dumps({k: float(v) for k, v in metrics.items()}), flush=True)
    print(f"RUNS {CountRuns.runs}", flush=True)
    return 0


def _start(cluster, job, index, model_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YARNFLOW_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": job, "index": index}}))
    return subprocess.Popen([sys.executable, "-m", "tests.test_estimator_distributed", "--model-dir", model_dir],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _check_chief_output(chief, model_dir):
    """The chief's evaluation learned the problem and its checkpoints are in ``model_dir``."""
    metrics = json.loads(next(line[5:] for line in chief.splitlines() if line.startswith("EVAL ")))
    assert metrics["global_step"] >= MAX_STEPS
    assert metrics["accuracy"] >= 0.95 > _initial_accuracy() + 0.3, metrics
    assert metrics["loss"] < 0.3, metrics  # from log(2) = 0.69 for the untrained model
    assert any(name.startswith("model.ckpt-") for name in os.listdir(model_dir))


def _runs(output):
    return int(next(line.split()[1] for line in output.splitlines() if line.startswith("RUNS ")))


def _initial_accuracy():
    """The held-out accuracy of the untrained model (zero weights: every point in class 0)."""
    _, test_y = _data(500, seed=99)
    return float(np.mean(test_y == 0))


def test_train_and_evaluate_on_one_ps_and_two_workers(tmp_path):
    ports = free_ports(3)
    cluster = {"ps": [f"localhost:{ports[0]}"], "worker": [f"localhost:{p}" for p in ports[1:]]}
    model_dir = str(tmp_path / "model")
    procs = {}
    try:
        procs["ps"] = _start(cluster, "ps", 0, model_dir)
        procs["w0"] = _start(cluster, "worker", 0, model_dir)
        procs["w1"] = _start(cluster, "worker", 1, model_dir)
        outputs = {}
        for name in ("w0", "w1"):
            outputs[name], _ = procs[name].communicate(timeout=180)
            assert procs[name].returncode == 0, f"{name} failed:\n{outputs[name]}"
        assert procs["ps"].poll() is None, "the ps must serve until it is stopped, as TF's does"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    chief, other = outputs["w0"], outputs["w1"]
    assert "worker 0 starts (chief: True)" in chief and "worker 1 starts (chief: False)" in other
    _check_chief_output(chief, model_dir)
    runs = [_runs(chief), _runs(other)]
    # One global step for both: each ran part of the steps (separate models would each have run all of them).
    assert all(r > 0 for r in runs) and sum(runs) < 1.5 * MAX_STEPS, runs


@pytest.mark.integration
@pytest.mark.timeout(150)
def test_train_and_evaluate_submitted_to_a_cluster(tmp_path):
    from tests.cluster import LocalTestCluster
    from yarnflow import client as yc
    model_dir = str(tmp_path / "model")
    ask = yc.RoleAsk(memory="1g", vcores=1)
    with LocalTestCluster(tmp_path / "cluster") as cluster:
        cluster.add_node(vcores=8, memory="8g")
        cluster.wait_for_nodes(1)
        with cluster.client() as client:
            spec = yc.build_spec("test_estimator_distributed.py", workers=2, ps=1, worker=ask, ps_ask=ask,
                                 args=["--model-dir", model_dir])
            app_id = client.submit(__file__, spec)
            report = client.wait(app_id, timeout=120)
            chief, other = (client.log_text(app_id, f"worker:{i}") for i in (0, 1))
            assert yc.succeeded(report), f"{report.diagnostics}\n{chief}\n{other}\n{cluster.log_tails()}"
    _check_chief_output(chief, model_dir)
    assert _runs(chief) > 0 and "worker 1 starts (chief: False)" in other


if __name__ == "__main__":
    sys.exit(main())
