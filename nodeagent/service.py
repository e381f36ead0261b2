"""The ContainerManager gRPC servicer: authenticate, validate, translate; the work is in ``manager``."""

import logging

import grpc

from nodeagent import logs
from nodeagent.manager import check_id
from protos import nodeagent_pb2, nodeagent_pb2_grpc
from yarnflow import auth

log = logging.getLogger(__name__)


def validate_launch(launch):
    """Raise ValueError naming what is wrong with a ``ContainerLaunch``."""
    check_id("container id", launch.container_id)
    check_id("app id", launch.app_id)
    if not launch.command:
        raise ValueError("empty command")
    if any(not arg and i == 0 or "\x00" in arg for i, arg in enumerate(launch.command)):
        raise ValueError("command has an empty program or a NUL byte")
    for key, value in launch.env.items():
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise ValueError(f"invalid environment variable name or value {key!r}")
    res = launch.resource
    if res.vcores < 0 or res.memory_mb < 0 or res.gpus < 0:
        raise ValueError(f"negative resource ask ({res.vcores} vcores, {res.memory_mb} MB, {res.gpus} GPUs)")
    if not 0 <= launch.port < 65536:
        raise ValueError(f"port {launch.port} is out of range")
    if any(i < 0 for i in launch.gpu_indices):
        raise ValueError(f"negative GPU index in {list(launch.gpu_indices)}")


class ContainerManagerServicer(nodeagent_pb2_grpc.ContainerManagerServicer):
    """Serves StartContainers, StopContainers, GetContainerStatuses and ReadLog for one node.

    Members (resmgr, the CLI) may do anything; an app's caller only touches its own app, and starts a
    container only with the container token resmgr issued for it on this node."""

    def __init__(self, manager, secret, node_id):
        self._manager = manager
        self._secret = secret
        self._node_id = node_id

    def StartContainers(self, request, context):
        """Start each container of the request; per-container failures are listed, not raised."""
        caller = auth.authenticate(context, self._secret)
        if not request.containers:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no containers to start")
        if not caller.is_member:
            for launch in request.containers:
                auth.authorize(context, caller, launch.app_id)
                expected = auth.container_token(self._secret, launch.container_id, launch.app_id,
                                                self._node_id, launch.port)
                if not auth.check(expected, launch.container_token):
                    context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                  f"invalid container token for {launch.container_id} on node {self._node_id}")
        response = nodeagent_pb2.StartContainersResponse()
        for launch in request.containers:
            key = launch.container_id or "<no container id>"
            try:
                validate_launch(launch)
                why = self._manager.start(launch)
            except ValueError as exc:
                response.failed[key] = str(exc)
                continue
            if why is None:
                response.started.append(launch.container_id)
            else:
                response.failed[key] = why
        return response

    def StopContainers(self, request, context):
        """Stop the named containers and/or every container of ``app_id``; returns once they ended."""
        caller = auth.authenticate(context, self._secret)
        if not request.container_ids and not request.app_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "name container_ids or an app_id to stop")
        if request.app_id:
            auth.authorize(context, caller, request.app_id)
        ids = list(request.container_ids)
        self._authorize_containers(context, caller, ids)
        if request.app_id:
            ids += [c.container_id for c in self._manager.table.all(request.app_id) if c.container_id not in ids]
        return nodeagent_pb2.StopContainersResponse(stopped=self._manager.stop(ids))

    def GetContainerStatuses(self, request, context):
        """Statuses of the named containers, or of all the caller's (of ``app_id`` when given)."""
        caller = auth.authenticate(context, self._secret)
        app_id = request.app_id or caller.app_id
        if app_id:
            auth.authorize(context, caller, app_id)
        if request.container_ids:
            self._authorize_containers(context, caller, request.container_ids)
            found = [self._manager.table.get(cid) for cid in request.container_ids]
            chosen = [c for c in found if c is not None and (not app_id or c.app_id == app_id)]
        else:
            chosen = self._manager.table.all(app_id)
        return nodeagent_pb2.GetContainerStatusesResponse(statuses=[c.to_proto() for c in chosen])

    def ReadLog(self, request, context):
        """Stream a container's stdout or stderr from an offset; with follow, until it has ended."""
        caller = auth.authenticate(context, self._secret)
        if request.stream not in logs.STREAMS:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"unknown log stream {request.stream!r}: expected stdout or stderr")
        container = self._manager.table.get(request.container_id)
        if container is None and not request.app_id:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no container {request.container_id!r} on "
                          f"{self._node_id} (name its app_id to read the logs of an older one)")
        app_id = container.app_id if container is not None else request.app_id
        try:
            check_id("container id", request.container_id)
            check_id("app id", app_id)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if request.app_id and request.app_id != app_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"container {request.container_id} is not of app {request.app_id}")
        auth.authorize(context, caller, app_id)
        path = self._manager.log_dir(app_id, request.container_id) / request.stream
        if not path.is_file():
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"no {request.stream} log of container {request.container_id} on {self._node_id}")
        table = self._manager.table

        def has_ended():
            c = table.get(request.container_id)
            return c is None or c.done   # a container no longer in the table has ended long ago

        for data, offset, eof in logs.read_log(path, request.offset, follow=request.follow,
                                               has_ended=has_ended, is_active=context.is_active):
            yield nodeagent_pb2.LogChunk(data=data, offset=offset, eof=eof)

    def _authorize_containers(self, context, caller, container_ids):
        """Abort unless an app caller owns every named container it knows of."""
        if caller.is_member:
            return
        for cid in container_ids:
            c = self._manager.table.get(cid)
            if c is not None and c.app_id != caller.app_id:
                context.abort(grpc.StatusCode.PERMISSION_DENIED,
                              f"container {cid} is not of app {caller.app_id}")


def add_to_server(server, manager, secret, node_id):
    """Register the ContainerManager service on a gRPC server."""
    nodeagent_pb2_grpc.add_ContainerManagerServicer_to_server(
        ContainerManagerServicer(manager, secret, node_id), server)
