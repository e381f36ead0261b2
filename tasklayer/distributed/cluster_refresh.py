"""The cluster as it is NOW: a task restarted by the appmaster gets a fresh container and a new port, but the
other tasks' ``YARNFLOW_CLUSTER`` still names the old one. ``current_cluster`` asks resmgr (with the app's
own token from the environment) where each task's latest attempt runs; ``update_server_cluster`` points a
running ``tf.train.Server`` at those addresses.
"""

import os

from protos import resmgr_pb2, resmgr_pb2_grpc
from tasklayer.distributed.cluster_spec import ClusterSpec
from yarnflow import auth, rpc

RPC_TIMEOUT_S = 10.0


def cluster_from_report(report):
    """``ClusterSpec`` of the latest attempt of every task in an ``ApplicationReport`` (the AM left out).

    >>> r = resmgr_pb2.ApplicationReport()
    >>> _ = r.containers.add(role="ps", task_index=0, attempt=1, host="h", port=1)
    >>> _ = r.containers.add(role="ps", task_index=0, attempt=2, host="h", port=2)
    >>> _ = r.containers.add(role="appmaster", host="h", port=0)
    >>> cluster_from_report(r).as_dict()
    {'ps': ['h:2']}
    """
    latest = {}
    for c in report.containers:
        if c.role == "appmaster" or not c.host or c.port <= 0:
            continue
        key = (c.role, c.task_index)
        if key not in latest or c.attempt > latest[key].attempt:
            latest[key] = c
    jobs = {}
    for (role, index), c in latest.items():
        jobs.setdefault(role, {})[index] = f"{c.host}:{c.port}"
    return ClusterSpec(jobs)


def current_cluster(environ=None, timeout=RPC_TIMEOUT_S):
    """The app's cluster now, from resmgr (``YARNFLOW_RESMGR``, ``YARNFLOW_APP_ID``, ``YARNFLOW_APP_TOKEN``)."""
    return cluster_from_report(application_report(environ, timeout))


def application_report(environ=None, timeout=RPC_TIMEOUT_S):
    """This app's ``ApplicationReport`` from resmgr, asked with the app's own token (ValueError outside an app)."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("YARNFLOW_RESMGR", "YARNFLOW_APP_ID", "YARNFLOW_APP_TOKEN") if not env.get(k)]
    if missing:
        raise ValueError(f"cannot ask resmgr for the current cluster: {', '.join(missing)} not set "
                         "(is this process a task of a yarnflow app?)")
    app_id = env["YARNFLOW_APP_ID"]
    channel = rpc.channel(env["YARNFLOW_RESMGR"], auth.app_metadata(app_id, env["YARNFLOW_APP_TOKEN"]))
    try:
        stub = resmgr_pb2_grpc.ApplicationClientStub(channel)
        return stub.GetApplicationReport(resmgr_pb2.GetApplicationReportRequest(app_id=app_id), timeout=timeout)
    finally:
        channel.close()


def update_server_cluster(server, cluster):
    """Point ``server`` (a running ``tf.train.Server``) at the addresses of ``cluster``; its own address stays.

    Returns the tasks whose address changed. Clients of moved tasks are dropped, so the next step dials the
    new address; sessions created before keep their old plans, so create a new session after this.
    """
    return server.update_cluster(cluster)
