"""The cluster spec and task environment the appmaster hands to every task."""

import json

import pytest

from appmaster import cluster_spec as C


def test_cluster_spec_lists_each_role_in_index_order_and_roles_in_spec_order():
    endpoints = {("worker", 1): "h2:2", ("ps", 0): "h1:1", ("worker", 0): "h1:2", ("worker", 2): "h3:2"}
    spec = C.build_cluster_spec(endpoints, role_order=["ps", "worker"])
    assert spec == {"ps": ["h1:1"], "worker": ["h1:2", "h2:2", "h3:2"]}
    assert list(C.build_cluster_spec(endpoints, role_order=["worker", "ps"])) == ["worker", "ps"]
    assert list(C.build_cluster_spec(endpoints)) == ["ps", "worker"]


def test_cluster_spec_refuses_a_gap_or_an_unknown_role():
    with pytest.raises(ValueError, match="role 'worker' has no endpoint for task index 1"):
        C.build_cluster_spec({("worker", 0): "a:1", ("worker", 2): "a:2"})
    with pytest.raises(ValueError, match="chief"):
        C.build_cluster_spec({("chief", 0): "a:1"}, role_order=["ps", "worker"])


def test_role_order_may_name_roles_without_endpoints():
    assert C.build_cluster_spec({("worker", 0): "a:1"}, role_order=["ps", "worker"]) == {"worker": ["a:1"]}


def test_task_env_carries_the_whole_contract():
    cluster = {"ps": ["h1:1"], "worker": ["h1:2", "h2:2"]}
    env = C.task_env(cluster, "worker", 1, app_id="app_1_0001", attempt=2, resmgr="rm:8030",
                     app_token="tok", extra={"MY_FLAG": "on", "YARNFLOW_JOB_NAME": "spoofed"})
    assert json.loads(env["YARNFLOW_CLUSTER"]) == cluster
    assert env["YARNFLOW_JOB_NAME"] == "worker"          # the contract wins over spec.env
    assert env["YARNFLOW_TASK_INDEX"] == "1"
    assert env["YARNFLOW_APP_ID"] == "app_1_0001"
    assert env["YARNFLOW_ATTEMPT"] == "2"
    assert env["YARNFLOW_RESMGR"] == "rm:8030"
    assert env["YARNFLOW_APP_TOKEN"] == "tok"
    assert env["MY_FLAG"] == "on"
    assert json.loads(env["TF_CONFIG"]) == {"cluster": cluster, "task": {"type": "worker", "index": 1}}
    assert all(isinstance(v, str) for v in env.values())
