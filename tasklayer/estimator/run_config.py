"""``tf.estimator.RunConfig``: where an Estimator keeps its checkpoints, how often it saves and logs, and which
task of which cluster this process is, read from the ``TF_CONFIG`` environment variable as TF does.

``TF_CONFIG`` is ``{"cluster": {"ps": [...], "worker": [...]}, "task": {"type": "worker", "index": 0}}``
(yarnflow gives it to every task). TF wants one ``chief`` task in the cluster (or a legacy ``master``); yarnflow
starts only ``ps`` and ``worker`` tasks, so **when the cluster has neither a ``chief`` nor a ``master``, worker 0
is the chief** (TF 1.x's old ``master`` convention, with the first worker in that role): it initializes or
restores the model, saves the checkpoints and evaluates. A real ``chief``, ``master`` or ``evaluator`` in
``TF_CONFIG`` is honoured as TF does. Without a cluster the run is local (``master`` ``""``, the chief).

>>> import json, os
>>> os.environ["TF_CONFIG"] = json.dumps({"cluster": {"ps": ["h1:2222"], "worker": ["h2:2222", "h3:2222"]},
...                                       "task": {"type": "worker", "index": 1}})
>>> config = RunConfig()
>>> config.task_type, config.task_id, config.is_chief, config.master
('worker', 1, False, 'grpc://h3:2222')
>>> config.num_ps_replicas, config.num_worker_replicas
(1, 2)
>>> del os.environ["TF_CONFIG"]
>>> RunConfig(save_checkpoints_steps=50).save_checkpoints_secs is None
True
"""

import copy
import json
import os

from tasklayer.train.cluster_spec import ClusterSpec

__all__ = ["RunConfig", "TaskType"]

_USE_DEFAULT = object()
_SAVE_CKPT_ERR = "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."
_LOCAL_MASTER = ""
_GRPC_SCHEME = "grpc://"

_REPLACEABLE = ["model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps",
                "save_checkpoints_secs", "session_config", "keep_checkpoint_max", "keep_checkpoint_every_n_hours",
                "log_step_count_steps", "train_distribute", "device_fn", "protocol", "eval_distribute",
                "experimental_distribute", "experimental_max_worker_delay_secs", "session_creation_timeout_secs"]


class TaskType:
    """The task types a ``TF_CONFIG`` names."""

    MASTER = "master"
    PS = "ps"
    WORKER = "worker"
    CHIEF = "chief"
    EVALUATOR = "evaluator"


def _tf_config():
    text = os.environ.get("TF_CONFIG", "")
    if not text:
        return {}
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise ValueError("TF_CONFIG must be a JSON object")
    return config


def _model_dir(tf_config, model_dir):
    from_env = tf_config.get("model_dir")
    if from_env is not None and model_dir is not None and from_env != model_dir:
        raise ValueError("`model_dir` provided in RunConfig construct, if set, must have the same value as the "
                         f"model_dir in TF_CONFIG. model_dir: {model_dir}\nTF_CONFIG[\"model_dir\"]: {from_env}.\n")
    return model_dir if model_dir is not None else from_env


def _validate_task(cluster, task_env, chief_type):
    """``(task_type, task_id)`` of ``task_env`` checked against ``cluster`` (TF's messages)."""
    if chief_type != TaskType.WORKER and len(cluster.job_tasks(chief_type)) > 1:
        raise ValueError(f'The "cluster" in TF_CONFIG must have only one "{chief_type}" node.')
    task_type, task_id = task_env.get("type"), task_env.get("index")
    if not task_type:
        raise ValueError('If "cluster" is set in TF_CONFIG, task type must be set.')
    if task_id is None:
        raise ValueError('If "cluster" is set in TF_CONFIG, task index must be set.')
    task_id = int(task_id)
    if task_id < 0:
        raise ValueError("Task index must be non-negative number.")
    if task_type == TaskType.EVALUATOR:  # not part of the training cluster
        return task_type, task_id
    if task_type not in cluster.jobs:
        raise ValueError(f"{task_type} is not a valid task_type in the cluster_spec:\n{cluster}\n\n"
                         "Note that these values may be coming from the TF_CONFIG environment variable.")
    if not cluster.has_task(task_type, task_id):
        raise ValueError(f"{task_id} is not a valid task_id for task_type {task_type} in the cluster_spec:\n"
                         f"{cluster}\n\nNote that these values may be coming from the TF_CONFIG environment variable.")
    return task_type, task_id


def _global_id(cluster, task_type, task_id, chief_type):
    """TF's numbering: the chief's job first, then the other jobs by name, the ps last."""
    order = [chief_type] + [j for j in cluster.jobs if j not in (chief_type, TaskType.PS)]
    if TaskType.PS in cluster.jobs:
        order.append(TaskType.PS)
    next_id = 0
    for job in order:
        if job == task_type:
            return next_id + task_id
        next_id += len(cluster.job_tasks(job))
    raise RuntimeError(f"Internal Error: `task_type` ({task_type}) is not in cluster_spec ({cluster}).")


def _session_master(cluster, task_type, task_id, tf_config):
    if "session_master" in tf_config:
        return tf_config["session_master"]
    jobs = cluster.jobs
    if len(jobs) == 1 and len(cluster.job_tasks(jobs[0])) == 1:
        return _LOCAL_MASTER  # a single task: run in process
    return _GRPC_SCHEME + cluster.task_address(task_type, task_id)


def _validate_properties(config):
    def check(name, ok, message):
        value = getattr(config, name)
        if value is not None and not ok(value):
            raise ValueError(message)

    check("model_dir", lambda d: d, "model_dir should be non-empty")
    check("save_summary_steps", lambda s: s >= 0, "save_summary_steps should be >= 0")
    check("save_checkpoints_steps", lambda s: s >= 0, "save_checkpoints_steps should be >= 0")
    check("save_checkpoints_secs", lambda s: s >= 0, "save_checkpoints_secs should be >= 0")
    check("keep_checkpoint_max", lambda k: k >= 0, "keep_checkpoint_max should be >= 0")
    check("keep_checkpoint_every_n_hours", lambda h: h > 0, "keep_checkpoint_every_n_hours should be > 0")
    check("log_step_count_steps", lambda n: n > 0, "log_step_count_steps should be > 0")
    check("tf_random_seed", lambda s: isinstance(s, int), "tf_random_seed must be integer.")
    check("experimental_max_worker_delay_secs", lambda d: isinstance(d, int),
          "experimental_max_worker_delay_secs must be an integer if set.")
    check("session_creation_timeout_secs", lambda t: t > 0, "session_creation_timeout_secs should be > 0")
    check("device_fn", callable, 'device_fn must be callable with exactly one argument "op".')
    check("protocol", lambda p: p in ("grpc",), "protocol should be grpc or grpc+verbs")
    for name in ("train_distribute", "eval_distribute", "experimental_distribute"):
        if getattr(config, name) is not None:
            raise NotImplementedError(f"RunConfig({name}=...): tf.distribute strategies are not supported; "
                                      "train between-graph replicated on ps and worker tasks instead")


class RunConfig:
    """The configuration of an Estimator's runs; the task this process is comes from ``TF_CONFIG`` (module
    docstring). ``save_checkpoints_secs`` defaults to 600 unless ``save_checkpoints_steps`` is given; both None
    turn checkpoints off."""

    def __init__(self, model_dir=None, tf_random_seed=None, save_summary_steps=100,
                 save_checkpoints_steps=_USE_DEFAULT, save_checkpoints_secs=_USE_DEFAULT, session_config=None,
                 keep_checkpoint_max=5, keep_checkpoint_every_n_hours=10000, log_step_count_steps=100,
                 train_distribute=None, device_fn=None, protocol=None, eval_distribute=None,
                 experimental_distribute=None, experimental_max_worker_delay_secs=None,
                 session_creation_timeout_secs=7200):
        if save_checkpoints_steps is _USE_DEFAULT and save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_steps, save_checkpoints_secs = None, 600
        elif save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_secs = None
        elif save_checkpoints_steps is _USE_DEFAULT:
            save_checkpoints_steps = None
        elif save_checkpoints_steps is not None and save_checkpoints_secs is not None:
            raise ValueError(_SAVE_CKPT_ERR)
        tf_config = _tf_config()
        model_dir = os.fspath(model_dir) if model_dir is not None else None
        self._set(model_dir=_model_dir(tf_config, model_dir), tf_random_seed=tf_random_seed,
                  save_summary_steps=save_summary_steps, save_checkpoints_steps=save_checkpoints_steps,
                  save_checkpoints_secs=save_checkpoints_secs, session_config=session_config,
                  keep_checkpoint_max=keep_checkpoint_max,
                  keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours,
                  log_step_count_steps=log_step_count_steps, train_distribute=train_distribute,
                  device_fn=device_fn, protocol=protocol, eval_distribute=eval_distribute,
                  experimental_distribute=experimental_distribute,
                  experimental_max_worker_delay_secs=experimental_max_worker_delay_secs,
                  session_creation_timeout_secs=session_creation_timeout_secs)
        self._init_distributed_setting(tf_config)

    def _set(self, **values):
        for name, value in values.items():
            setattr(self, "_" + name, value)
        _validate_properties(self)

    # ------------------------------------------------------------------ TF_CONFIG
    def _init_distributed_setting(self, tf_config):
        self._service = tf_config.get("service")
        if self._service is not None and not isinstance(self._service, dict):
            raise TypeError(f'If "service" is set in TF_CONFIG, it must be a dict. Given {type(self._service)}')
        self._cluster_spec = ClusterSpec(tf_config.get("cluster", {}))
        task_env = tf_config.get("task", {}) or {}
        cluster = self._cluster_spec
        if not cluster:
            self._init_local(tf_config, task_env)
            return
        if TaskType.MASTER in cluster.jobs:
            if TaskType.CHIEF in cluster.jobs:
                raise ValueError("If `master` node exists in `cluster`, job `chief` is not supported.")
            chief_type = TaskType.MASTER
        elif TaskType.CHIEF in cluster.jobs:
            chief_type = TaskType.CHIEF
        elif TaskType.WORKER in cluster.jobs:
            chief_type = TaskType.WORKER  # yarnflow's ps/worker clusters: worker 0 is the chief
        else:
            raise ValueError('If "cluster" is set in TF_CONFIG, it must have one "chief" node (or, as yarnflow '
                             'starts tasks, a "worker" job whose task 0 acts as the chief).')
        self._task_type, self._task_id = _validate_task(cluster, task_env, chief_type)
        if self._task_type == TaskType.EVALUATOR:
            if chief_type == TaskType.MASTER:
                raise ValueError("If `master` node exists in `cluster`, task_type `evaluator` is not supported.")
            self._evaluation_master = tf_config.get("eval_session_master", _LOCAL_MASTER)
            self._cluster_spec = ClusterSpec({})  # the evaluator is not part of the training cluster
            self._master, self._num_ps_replicas, self._num_worker_replicas = _LOCAL_MASTER, 0, 0
            self._global_id_in_cluster = None
            self._is_chief = False
            return
        self._evaluation_master = _LOCAL_MASTER
        self._master = _session_master(cluster, self._task_type, self._task_id, tf_config)
        self._num_ps_replicas = len(cluster.job_tasks(TaskType.PS)) if TaskType.PS in cluster.jobs else 0
        self._num_worker_replicas = sum(len(cluster.job_tasks(j)) for j in {TaskType.WORKER, chief_type}
                                        if j in cluster.jobs)
        self._global_id_in_cluster = _global_id(cluster, self._task_type, self._task_id, chief_type)
        self._is_chief = self._task_type == chief_type and (chief_type != TaskType.WORKER or self._task_id == 0)

    def _init_local(self, tf_config, task_env):
        self._task_type = task_env.get("type", TaskType.WORKER)
        self._task_id = int(task_env.get("index", 0))
        if self._task_type != TaskType.WORKER:
            raise ValueError('If "cluster" is not set in TF_CONFIG, task type must be WORKER.')
        if self._task_id != 0:
            raise ValueError('If "cluster" is not set in TF_CONFIG, task index must be 0.')
        self._global_id_in_cluster = 0
        self._master = tf_config.get("session_master", _LOCAL_MASTER)
        self._evaluation_master = tf_config.get("eval_session_master", _LOCAL_MASTER)
        self._is_chief = True
        self._num_ps_replicas, self._num_worker_replicas = 0, 1

    # ------------------------------------------------------------------ the task
    @property
    def cluster_spec(self):
        """The training cluster (an empty ``ClusterSpec`` when local, or on the evaluator)."""
        return self._cluster_spec

    @property
    def task_type(self):
        """``worker``, ``ps``, ``chief``, ``master`` or ``evaluator``."""
        return self._task_type

    @property
    def task_id(self):
        """The index of this task in its job."""
        return self._task_id

    @property
    def is_chief(self):
        """Whether this task initializes, checkpoints and evaluates (worker 0 of a ps/worker cluster)."""
        return self._is_chief

    @property
    def master(self):
        """The session target of this task (``grpc://host:port``), ``""`` when local."""
        return self._master

    @property
    def evaluation_master(self):
        """The session target evaluations use (``""``: in process)."""
        return self._evaluation_master

    @property
    def num_ps_replicas(self):
        """How many ps tasks the cluster has."""
        return self._num_ps_replicas

    @property
    def num_worker_replicas(self):
        """How many tasks train (workers, and the chief or master)."""
        return self._num_worker_replicas

    @property
    def global_id_in_cluster(self):
        """This task's number among all the tasks of the training cluster (the chief's is 0)."""
        return self._global_id_in_cluster

    @property
    def service(self):
        """TF_CONFIG's ``service`` entry, or None."""
        return self._service

    # ------------------------------------------------------------------ what the user set
    model_dir = property(lambda self: self._model_dir, doc="Where checkpoints are kept.")
    tf_random_seed = property(lambda self: self._tf_random_seed, doc="The graph-level random seed.")
    save_summary_steps = property(lambda self: self._save_summary_steps, doc="Steps between summaries.")
    save_checkpoints_steps = property(lambda self: self._save_checkpoints_steps, doc="Steps between checkpoints.")
    save_checkpoints_secs = property(lambda self: self._save_checkpoints_secs, doc="Seconds between checkpoints.")
    session_config = property(lambda self: self._session_config, doc="The ConfigProto of the sessions.")
    keep_checkpoint_max = property(lambda self: self._keep_checkpoint_max, doc="Checkpoints kept (0: all).")
    keep_checkpoint_every_n_hours = property(lambda self: self._keep_checkpoint_every_n_hours,
                                             doc="Hours between checkpoints kept for good.")
    log_step_count_steps = property(lambda self: self._log_step_count_steps,
                                    doc="Steps between logs of the loss and of steps/sec.")
    train_distribute = property(lambda self: self._train_distribute, doc="Always None (no tf.distribute).")
    eval_distribute = property(lambda self: self._eval_distribute, doc="Always None (no tf.distribute).")
    experimental_distribute = property(lambda self: self._experimental_distribute, doc="Always None.")
    device_fn = property(lambda self: self._device_fn,
                         doc="The device function of the graphs (default: a replica_device_setter).")
    protocol = property(lambda self: self._protocol, doc="The server protocol (grpc).")
    experimental_max_worker_delay_secs = property(lambda self: self._experimental_max_worker_delay_secs,
                                                  doc="The most a worker waits before it starts (default 60).")
    session_creation_timeout_secs = property(lambda self: self._session_creation_timeout_secs,
                                             doc="How long a worker waits for its session to be ready.")

    def replace(self, **kwargs):
        """A copy with the given properties replaced (only those a user may set)."""
        return self._replace(_REPLACEABLE, **kwargs)

    def _replace(self, allowed, **kwargs):
        new = copy.deepcopy(self)
        for key in kwargs:
            if key not in allowed:
                raise ValueError(f"Replacing {key} is not supported. Allowed properties are {allowed}.")
        if "save_checkpoints_steps" in kwargs and "save_checkpoints_secs" in kwargs:
            if kwargs["save_checkpoints_steps"] is not None and kwargs["save_checkpoints_secs"] is not None:
                raise ValueError(_SAVE_CKPT_ERR)
        elif kwargs.get("save_checkpoints_steps") is not None:
            kwargs["save_checkpoints_secs"] = None
        elif kwargs.get("save_checkpoints_secs") is not None:
            kwargs["save_checkpoints_steps"] = None
        new._set(**kwargs)
        return new

    def __repr__(self):
        fields = ", ".join(f"{k[1:]}={v!r}" for k, v in sorted(vars(self).items()))
        return f"RunConfig({fields})"
