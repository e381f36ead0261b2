"""The cluster as it is NOW: a task restarted by the appmaster gets a fresh container and a new port, but the
other tasks' ``YARNFLOW_CLUSTER`` still names the old one. ``current_cluster`` asks resmgr (with the app's
own token from the environment) where each task's latest attempt runs; ``update_server_cluster`` points a
running ``tf.train.Server`` at those addresses.
"""

import os

from tasklayer.train.cluster_spec import ClusterSpec

RPC_TIMEOUT_S = 10.0


def cluster_from_report(report):
    """``ClusterSpec`` of the latest attempt of every task in an ``ApplicationReport`` (the AM left out).

    >>> from protos import resmgr_pb2
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
    from protos import resmgr_pb2, resmgr_pb2_grpc
    from yarnflow import auth, rpc
    env = os.environ if environ is None else environ
    missing = [k for k in ("YARNFLOW_RESMGR", "YARNFLOW_APP_ID", "YARNFLOW_APP_TOKEN") if not env.get(k)]
    if missing:
        raise ValueError(f"cannot ask resmgr for the current cluster: {', '.join(missing)} not set "
                         "(is this process a task of a yarnflow app?)")
    app_id = env["YARNFLOW_APP_ID"]
    channel = rpc.channel(env["YARNFLOW_RESMGR"], auth.app_metadata(app_id, env["YARNFLOW_APP_TOKEN"]))
    try:
        stub = resmgr_pb2_grpc.ApplicationClientStub(channel)
        report = stub.GetApplicationReport(resmgr_pb2.GetApplicationReportRequest(app_id=app_id), timeout=timeout)
    finally:
        channel.close()
    return cluster_from_report(report)


def update_server_cluster(server, cluster):
    """Point ``server`` (a running ``tf.train.Server``) at the addresses of ``cluster``; its own address stays.

    Returns the tasks whose address changed. Clients of moved tasks are dropped, so the next step dials the
    new address; sessions created before keep their old plans, so create a new session after this.
    """
    task_server = server._server  # the distributed runtime has no public API for this yet (see report)
    cluster = ClusterSpec(cluster)
    own = (task_server.job, task_server.index)
    jobs = {j: dict(enumerate(t)) if isinstance(t, list) else dict(t) for j, t in cluster.as_dict().items()}
    jobs.setdefault(own[0], {})[own[1]] = task_server.address
    cluster = ClusterSpec(jobs)
    old = task_server.cluster
    moved = [(j, i) for j, i, a in cluster.tasks() if not old.has_task(j, i) or old.task_address(j, i) != a]
    if not moved:
        return []
    worker = task_server.worker
    with worker._lock:
        for job, index in moved:
            client = worker._peers.pop((job, index), None)
            if old.has_task(job, index):
                client = worker._peers.pop(old.task_address(job, index), None) or client
            if client is not None:
                client.close()
    task_server.cluster = worker.cluster = task_server.master.cluster = cluster
    return moved
