"""tf.train.Server in this process: start/stop/join, the port-taken error, from_env, in-process sessions."""

import json
import socket

import numpy as np
import pytest

import tasklayer as tf
from engine import errors
from tasklayer.distributed.remote_session import RemoteBackend
from tasklayer.distributed.worker_client import RemoteWorker
from tests.distributed_helpers import free_ports, wait_until
from yarnflow.errors import YarnflowError


def test_local_server_runs_a_session_in_process():
    server = tf.train.Server.create_local_server()
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [3])
            y = tf.reduce_sum(x * 2.0)
            with tf.Session(server.target) as sess:
                assert sess.backend.in_process  # the master of this process, no RPC
                assert sess.run(y, {x: np.ones(3, np.float32)}) == 6.0
    finally:
        server.stop()
    assert server.join(timeout=5)


def test_port_taken_is_a_clear_error():
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(YarnflowError, match=f"cannot listen on .*:{port}"):
            tf.train.Server({"local": [f"localhost:{port}"]}, "local", 0)
    finally:
        holder.close()


def test_server_for_a_task_not_in_the_cluster():
    with pytest.raises(ValueError, match="no task 3 in job 'local'"):
        tf.train.Server({"local": ["localhost:0"]}, "local", 3)


def test_server_from_env_and_shutdown_rpc(monkeypatch):
    port = free_ports(1)[0]
    cluster = {"worker": [f"localhost:{port}"]}
    monkeypatch.setenv("YARNFLOW_CLUSTER", json.dumps(cluster))
    monkeypatch.setenv("YARNFLOW_JOB_NAME", "worker")
    monkeypatch.setenv("YARNFLOW_TASK_INDEX", "0")
    server = tf.train.Server.from_env()
    assert server.target == f"grpc://localhost:{port}"
    client = RemoteWorker("/job:worker/task:0", f"localhost:{port}")
    try:
        assert client.get_status().task == "/job:worker/task:0"
        client.shutdown()
    finally:
        client.close()
    wait_until(lambda: server.join(timeout=0.01), 10, "the server to stop")


def test_grpc_session_to_a_server_of_this_process_by_another_name_still_works():
    server = tf.train.Server.create_local_server()
    try:
        port = server.target.rsplit(":", 1)[1]
        backend = RemoteBackend(f"grpc://127.0.0.1:{port}")
        assert backend.in_process
        backend.close()
    finally:
        server.stop()


def test_malformed_target():
    with pytest.raises(ValueError, match="malformed session target"):
        RemoteBackend("grpc://nowhere")


def test_unknown_session_handle_is_an_error():
    server = tf.train.Server.create_local_server()
    try:
        with pytest.raises(errors.FailedPreconditionError, match="unknown to the master"):
            server._server.master.run_step("nope", 1, {}, ["x:0"], [])
    finally:
        server.stop()


def _two_servers():
    ports = free_ports(2)
    spec = {"local": [f"localhost:{p}" for p in ports]}
    return [tf.train.Server(spec, "local", i) for i in range(2)]


def test_partitions_are_registered_once_per_graph_version():
    servers = _two_servers()
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [])
            with tf.device("/job:local/task:1"):
                y = x * 2.0
            z = y + 1.0
            with tf.Session(servers[0].target) as sess:
                for v in range(5):
                    assert sess.run(z, {x: float(v)}) == 2 * v + 1
                remote = servers[1].worker
                assert remote.register_count == 1 and len(remote.registered()) == 1
                w = z * 10.0  # a new version: registered again, once
                for v in range(3):
                    assert sess.run(w, {x: float(v)}) == (2 * v + 1) * 10
                assert remote.register_count == 2
            wait_until(lambda: not remote.registered(), 5, "the closed session's partitions to be dropped")
    finally:
        for s in servers:
            s.stop()


def test_a_repeated_run_is_one_run_step_and_one_run_graph_per_task():
    ports = free_ports(3)
    spec = {"local": [f"localhost:{p}" for p in ports]}
    servers = [tf.train.Server(spec, "local", i) for i in range(3)]
    calls = {"step": 0, "graph": [0, 0, 0]}

    def counting(obj, name, count):
        method = getattr(obj, name)

        def counted(*args, **kwargs):
            count()
            return method(*args, **kwargs)
        setattr(obj, name, counted)
    counting(servers[0]._server.master, "run_step", lambda: calls.__setitem__("step", calls["step"] + 1))
    for i, server in enumerate(servers):
        counting(server.worker, "run_graph", lambda i=i: calls["graph"].__setitem__(i, calls["graph"][i] + 1))
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [])
            with tf.device("/job:local/task:1"):
                a = x * 2.0
            with tf.device("/job:local/task:2"):
                b = x + 1.0
            z = a * b  # on task 0, where the session connects
            port = ports[0]
            with tf.Session(f"grpc://127.0.0.2:{port}") as sess:  # over the wire, not the in-process master
                for v in range(10):
                    assert sess.run(z, {x: float(v)}) == 2 * v * (v + 1)
        assert calls == {"step": 10, "graph": [10, 10, 10]}
        assert [s.worker.register_count for s in servers] == [1, 1, 1]
    finally:
        for s in servers:
            s.stop()


def test_master_cut_slice_with_bad_bounds_names_the_slice():
    servers = _two_servers()
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None])
            with tf.device("/job:local/task:1"):
                part = tf.slice(x, [2], [5], name="my_slice")
                total = tf.reduce_sum(part)
            with tf.Session(servers[0].target) as sess:
                assert sess.run(total, {x: np.arange(10, dtype=np.float32)}) == 2 + 3 + 4 + 5 + 6
                with pytest.raises(errors.InvalidArgumentError, match="size") as info:
                    sess.run(total, {x: np.arange(4, dtype=np.float32)})
                assert info.value.node_name == "my_slice"
    finally:
        for s in servers:
            s.stop()
