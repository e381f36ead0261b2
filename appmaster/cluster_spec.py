"""The cluster spec a task is started with, and the rest of its environment (the layer contract)."""

import json

CLUSTER_ENV = "YARNFLOW_CLUSTER"
JOB_NAME_ENV = "YARNFLOW_JOB_NAME"
TASK_INDEX_ENV = "YARNFLOW_TASK_INDEX"
APP_ID_ENV = "YARNFLOW_APP_ID"
ATTEMPT_ENV = "YARNFLOW_ATTEMPT"
RESMGR_ENV = "YARNFLOW_RESMGR"
APP_TOKEN_ENV = "YARNFLOW_APP_TOKEN"
TF_CONFIG_ENV = "TF_CONFIG"


def build_cluster_spec(endpoints, role_order=None):
    """``{"ps": ["host:port", ...], "worker": [...]}`` from ``{(role, index): "host:port"}``.

    Each role's list is in index order and must be complete (indexes 0..n-1); roles come in
    ``role_order`` when given (the app spec's order), else sorted.

    >>> build_cluster_spec({("worker", 1): "b:2", ("ps", 0): "a:1", ("worker", 0): "a:2"})
    {'ps': ['a:1'], 'worker': ['a:2', 'b:2']}
    """
    by_role = {}
    for (role, index), endpoint in endpoints.items():
        by_role.setdefault(role, {})[index] = endpoint
    roles = [r for r in (role_order or sorted(by_role)) if r in by_role]
    unknown = set(by_role) - set(roles)
    if unknown:
        raise ValueError(f"roles {sorted(unknown)} are not in the role order {list(role_order)}")
    spec = {}
    for role in roles:
        indexes = by_role[role]
        missing = sorted(set(range(len(indexes))) - set(indexes))
        if missing:
            raise ValueError(f"role {role!r} has no endpoint for task index {missing[0]}")
        spec[role] = [indexes[i] for i in range(len(indexes))]
    return spec


def tf_config(cluster, job_name, task_index):
    """The same facts in TensorFlow's ``TF_CONFIG`` shape."""
    return {"cluster": cluster, "task": {"type": job_name, "index": task_index}}


def task_env(cluster, job_name, task_index, *, app_id, attempt, resmgr, app_token, extra=None):
    """The environment of one task: ``extra`` (the app's ``spec.env``) under the contract's variables.

    The contract's variables win over ``extra``, so a user's env cannot hide the task's identity.
    """
    env = dict(extra or {})
    env.update({
        CLUSTER_ENV: json.dumps(cluster, separators=(",", ":")),
        JOB_NAME_ENV: job_name,
        TASK_INDEX_ENV: str(task_index),
        APP_ID_ENV: app_id,
        ATTEMPT_ENV: str(attempt),
        TF_CONFIG_ENV: json.dumps(tf_config(cluster, job_name, task_index), separators=(",", ":")),
        RESMGR_ENV: resmgr,
        APP_TOKEN_ENV: app_token,
    })
    return env
