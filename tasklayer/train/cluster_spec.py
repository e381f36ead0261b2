"""``tf.train.ClusterSpec``; it lives in ``tasklayer.distributed.cluster_spec``, below ``tf.train``, because the
runtime that serves a task needs it too."""

from tasklayer.distributed.cluster_spec import ClusterSpec, task_from_env, task_name, validate_address  # noqa: F401
