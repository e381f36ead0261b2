"""``tf.estimator`` in one process: RunConfig from TF_CONFIG (worker 0 the chief of a ps/worker cluster),
EstimatorSpec's checks, an Estimator that learns, continues from its checkpoints, evaluates with tf.metrics and
predicts, numpy_input_fn and tf.data inputs, and train_and_evaluate run locally."""

import doctest
import importlib
import json
import logging

import numpy as np
import pytest

import tasklayer as tf

FEATURES = 4


def _data(n, seed):
    w = np.array([1.5, -2.0, 0.5, 1.0], np.float32)
    x = np.random.RandomState(seed).normal(size=(n, FEATURES)).astype(np.float32)
    return x, (x @ w > 0).astype(np.int64)


def _model_fn(features, labels, mode, params):
    logits = tf.layers.dense(features["x"], 2, name="logits")
    classes = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"class": classes, "logits": logits})
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = tf.train.GradientDescentOptimizer(params["lr"]).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      eval_metric_ops={"accuracy": tf.metrics.accuracy(labels, classes)})


def _estimator(tmp_path, **config):
    config.setdefault("log_step_count_steps", None)
    config.setdefault("tf_random_seed", 1)
    return tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "model"), params={"lr": 0.5},
                                  config=tf.estimator.RunConfig(**config))


TRAIN_X, TRAIN_Y = _data(400, seed=1)
TEST_X, TEST_Y = _data(300, seed=2)


def _train_input(batch_size=32, num_epochs=None):
    return tf.estimator.inputs.numpy_input_fn({"x": TRAIN_X}, TRAIN_Y, batch_size=batch_size, num_epochs=num_epochs,
                                              shuffle=True)


def _test_input():
    return tf.estimator.inputs.numpy_input_fn({"x": TEST_X}, TEST_Y, batch_size=100, shuffle=False)


@pytest.fixture(autouse=True)
def _no_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)


@pytest.mark.parametrize("name", ["tasklayer.estimator.estimator", "tasklayer.estimator.run_config",
                                  "tasklayer.estimator.model_fn", "tasklayer.estimator.training",
                                  "tasklayer.estimator.inputs"])
def test_the_module_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------------- RunConfig
def _config(monkeypatch, cluster, task_type, index):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}}))
    return tf.estimator.RunConfig()


PS_WORKER = {"ps": ["h1:1", "h2:1"], "worker": ["w0:1", "w1:1", "w2:1"]}


def test_run_config_without_a_cluster_is_a_local_chief():
    config = tf.estimator.RunConfig()
    assert (config.task_type, config.task_id, config.is_chief, config.master, config.num_ps_replicas,
            config.num_worker_replicas, config.cluster_spec.jobs) == ("worker", 0, True, "", 0, 1, [])
    assert (config.save_checkpoints_secs, config.save_checkpoints_steps, config.keep_checkpoint_max,
            config.log_step_count_steps, config.save_summary_steps) == (600, None, 5, 100, 100)


def test_in_a_ps_worker_cluster_worker_0_is_the_chief(monkeypatch):
    chief = _config(monkeypatch, PS_WORKER, "worker", 0)
    assert (chief.is_chief, chief.master, chief.num_ps_replicas, chief.num_worker_replicas,
            chief.global_id_in_cluster) == (True, "grpc://w0:1", 2, 3, 0)
    other = _config(monkeypatch, PS_WORKER, "worker", 2)
    assert (other.is_chief, other.master, other.global_id_in_cluster) == (False, "grpc://w2:1", 2)
    ps = _config(monkeypatch, PS_WORKER, "ps", 1)
    assert (ps.is_chief, ps.task_type, ps.master, ps.global_id_in_cluster) == (False, "ps", "grpc://h2:1", 4)


def test_a_real_chief_master_or_evaluator_is_honoured(monkeypatch):
    cluster = dict(PS_WORKER, chief=["c:1"])
    chief = _config(monkeypatch, cluster, "chief", 0)
    worker0 = _config(monkeypatch, cluster, "worker", 0)
    assert chief.is_chief and not worker0.is_chief and chief.num_worker_replicas == 4
    assert worker0.global_id_in_cluster == 1
    master = _config(monkeypatch, dict(PS_WORKER, master=["m:1"]), "master", 0)
    assert master.is_chief and master.master == "grpc://m:1"
    evaluator = _config(monkeypatch, cluster, "evaluator", 0)
    assert (evaluator.is_chief, evaluator.master, evaluator.num_ps_replicas, evaluator.num_worker_replicas,
            evaluator.cluster_spec.jobs) == (False, "", 0, 0, [])


def test_run_config_errors_as_tf(monkeypatch):
    with pytest.raises(ValueError, match="`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."):
        tf.estimator.RunConfig(save_checkpoints_steps=1, save_checkpoints_secs=1)
    with pytest.raises(ValueError, match="log_step_count_steps should be > 0"):
        tf.estimator.RunConfig(log_step_count_steps=0)
    with pytest.raises(ValueError, match="Replacing task_id is not supported"):
        tf.estimator.RunConfig().replace(task_id=3)
    assert tf.estimator.RunConfig().replace(save_checkpoints_steps=7).save_checkpoints_secs is None
    with pytest.raises(ValueError, match="3 is not a valid task_id for task_type worker"):
        _config(monkeypatch, PS_WORKER, "worker", 3)
    with pytest.raises(ValueError, match="gpu is not a valid task_type in the cluster_spec"):
        _config(monkeypatch, PS_WORKER, "gpu", 0)
    with pytest.raises(ValueError, match="If `master` node exists in `cluster`, job `chief` is not supported."):
        _config(monkeypatch, dict(PS_WORKER, master=["m:1"], chief=["c:1"]), "chief", 0)
    with pytest.raises(ValueError, match='must have one "chief" node'):
        _config(monkeypatch, {"ps": ["h1:1"]}, "ps", 0)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"task": {"type": "ps", "index": 0}}))
    with pytest.raises(ValueError, match='If "cluster" is not set in TF_CONFIG, task type must be WORKER.'):
        tf.estimator.RunConfig()


# ---------------------------------------------------------------------- EstimatorSpec
def test_estimator_spec_checks_what_each_mode_needs():
    with tf.Graph().as_default():
        loss = tf.constant(1.0)
        with pytest.raises(ValueError, match="Missing loss."):
            tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.EVAL)
        with pytest.raises(ValueError, match="Missing predictions."):
            tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.PREDICT)
        with pytest.raises(ValueError, match="Loss must be scalar"):
            tf.estimator.EstimatorSpec("eval", loss=tf.constant([1.0, 2.0]))
        with pytest.raises(TypeError, match="Values of eval_metric_ops must be \\(metric_value, update_op\\) tuples"):
            tf.estimator.EstimatorSpec("eval", loss=loss, eval_metric_ops={"m": loss})
        with pytest.raises(TypeError, match="All hooks must be SessionRunHook instances"):
            tf.estimator.EstimatorSpec("eval", loss=loss, evaluation_hooks=[object()])
        spec = tf.estimator.EstimatorSpec("eval", loss=tf.constant([2.0]))
        assert spec.loss.shape.as_list() == [] and isinstance(spec.scaffold, tf.train.Scaffold)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match='loss with "Const:0" must be from the default graph'):
            tf.estimator.EstimatorSpec("eval", loss=loss)
    assert (tf.estimator.ModeKeys.TRAIN, tf.estimator.ModeKeys.EVAL, tf.estimator.ModeKeys.PREDICT) == \
        ("train", "eval", "infer")


def test_estimator_checks_model_fn_and_config():
    with pytest.raises(ValueError, match="must include features argument"):
        tf.estimator.Estimator(lambda x, labels: None)
    with pytest.raises(ValueError, match="has following not expected args: \\['extra'\\]"):
        tf.estimator.Estimator(lambda features, extra: None)
    with pytest.raises(ValueError, match="does not include params argument, but params"):
        tf.estimator.Estimator(lambda features: None, params={"a": 1})
    with pytest.raises(ValueError, match="config must be an instance of `RunConfig`"):
        tf.estimator.Estimator(_model_fn, config={})
    with pytest.raises(ValueError, match="model_dir are set both in constructor and RunConfig"):
        tf.estimator.Estimator(_model_fn, model_dir="/a", config=tf.estimator.RunConfig(model_dir="/b"))


# ---------------------------------------------------------------------- Estimator
def test_an_estimator_learns_and_continues_from_its_checkpoints(tmp_path):
    est = _estimator(tmp_path, save_checkpoints_steps=50)
    before = est.evaluate(_test_input())
    assert int(before["global_step"]) == 0 and set(before) == {"accuracy", "loss", "global_step"}
    est.train(_train_input(), steps=60)
    assert tf.train.latest_checkpoint(est.model_dir).endswith("model.ckpt-60")
    est.train(_train_input(), steps=40)  # steps are more steps: 100 in all
    after = est.evaluate(_test_input())
    assert int(after["global_step"]) == 100
    assert after["loss"] < before["loss"] / 3 and after["accuracy"] >= 0.9, (before, after)
    est.train(_train_input(), max_steps=100)  # already there: nothing to do
    assert int(est.evaluate(_test_input(), steps=1)["global_step"]) == 100
    assert est.get_variable_names() == ["global_step", "logits/bias", "logits/kernel"]
    assert est.get_variable_value("logits/kernel").shape == (FEATURES, 2)


def test_train_ends_with_the_input_and_checks_its_arguments(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tensorflow")
    est = _estimator(tmp_path)
    est.train(_train_input(batch_size=100, num_epochs=2))  # 400 examples twice: 8 batches, then OutOfRange
    assert int(est.evaluate(_test_input())["global_step"]) == 8
    assert any(r.getMessage().startswith("Loss for final step: ") for r in caplog.records)
    with pytest.raises(ValueError, match="Can not provide both steps and max_steps."):
        est.train(_train_input(), steps=1, max_steps=1)
    with pytest.raises(ValueError, match="Must specify steps > 0, given: 0"):
        est.train(_train_input(), steps=0)
    with pytest.raises(ValueError, match="Must specify steps > 0, given: -1"):
        est.evaluate(_test_input(), steps=-1)


def test_predict_yields_examples_or_batches(tmp_path):
    est = _estimator(tmp_path)
    est.train(_train_input(), steps=80)
    predict_input = tf.estimator.inputs.numpy_input_fn({"x": TEST_X[:10]}, batch_size=4, shuffle=False)
    examples = list(est.predict(predict_input, predict_keys=["class"]))
    assert len(examples) == 10 and all(set(e) == {"class"} for e in examples)
    assert np.mean([e["class"] for e in examples] == TEST_Y[:10]) >= 0.8
    batches = list(est.predict(predict_input, yield_single_examples=False))
    assert [b["logits"].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    with pytest.raises(ValueError, match="Expected to run at least one output from"):
        next(est.predict(predict_input, predict_keys=["nothing"]))


def test_a_dataset_input_fn(tmp_path):
    def train_input():
        return tf.data.Dataset.from_tensor_slices(({"x": TRAIN_X}, TRAIN_Y)).shuffle(100).repeat().batch(32)

    def test_input():
        return tf.data.Dataset.from_tensor_slices(({"x": TEST_X}, TEST_Y)).batch(100)

    est = _estimator(tmp_path)
    est.train(train_input, steps=100)
    result = est.evaluate(test_input)  # until the dataset ends
    assert int(result["global_step"]) == 100 and result["accuracy"] >= 0.9


def test_evaluate_keeps_its_own_metric_names(tmp_path):
    def model_fn(features, labels, mode):
        loss = tf.reduce_mean(features["x"])
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.no_op(),
                                          eval_metric_ops={"loss": tf.metrics.mean(loss)})

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match='Metric with name "loss" is not allowed'):
        est.evaluate(_test_input(), steps=1)


def test_params_config_and_warm_start_reach_the_model(tmp_path):
    first = _estimator(tmp_path / "a")
    first.train(_train_input(), steps=50)
    trained = first.get_variable_value("logits/kernel")
    seen = {}

    def model_fn(features, labels, mode, params, config):
        seen.update(params=params, model_dir=config.model_dir)
        return _model_fn(features, labels, mode, params)

    second = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "b"), params={"lr": 0.0},
                                    warm_start_from=first.model_dir)
    second.train(_train_input(), steps=1)  # lr 0: the warm-started values stay as they were
    assert seen == {"params": {"lr": 0.0}, "model_dir": str(tmp_path / "b")}
    np.testing.assert_array_equal(second.get_variable_value("logits/kernel"), trained)
    assert int(second.get_variable_value("global_step")) == 1  # only trainable variables are warm-started


def test_numpy_input_fn_arguments_as_tf():
    with pytest.raises(ValueError, match="shuffle must be provided and explicitly set as boolean"):
        tf.estimator.inputs.numpy_input_fn({"x": TRAIN_X})
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="x must be a dict or array; got list"):
            tf.estimator.inputs.numpy_input_fn([1, 2], shuffle=False)()
        with pytest.raises(ValueError, match="Length of tensors in x and y is mismatched"):
            tf.estimator.inputs.numpy_input_fn({"x": TRAIN_X}, TRAIN_Y[:5], shuffle=False)()
        with pytest.raises(ValueError, match="1 duplicate keys are found in both x and y: \\['k'\\]"):
            tf.estimator.inputs.numpy_input_fn({"k": TRAIN_X}, {"k": TRAIN_Y}, shuffle=False)()
        plain = tf.estimator.inputs.numpy_input_fn(TRAIN_X, shuffle=False)()
        assert plain.shape.as_list() == [None, FEATURES]  # an array gives a tensor, not a dict


def test_train_and_evaluate_locally(tmp_path):
    est = _estimator(tmp_path, save_checkpoints_steps=40)
    metrics, exports = tf.estimator.train_and_evaluate(
        est, tf.estimator.TrainSpec(_train_input(), max_steps=100),
        tf.estimator.EvalSpec(_test_input(), steps=None, throttle_secs=0))
    assert exports == [] and int(metrics["global_step"]) == 100 and metrics["accuracy"] >= 0.9
    with pytest.raises(TypeError, match="`eval_spec` must have type `tf.estimator.EvalSpec`"):
        tf.estimator.train_and_evaluate(est, tf.estimator.TrainSpec(_train_input()), None)
    with pytest.raises(ValueError, match="Must specify max_steps > 0, given: 0"):
        tf.estimator.TrainSpec(_train_input(), max_steps=0)
    with pytest.raises(TypeError, match="`input_fn` must be callable"):
        tf.estimator.EvalSpec(None)
