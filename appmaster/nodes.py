"""Talking to node agents for one app: start and stop containers, one call per node, nodes in parallel."""

import concurrent.futures

import grpc

from protos import nodeagent_pb2, nodeagent_pb2_grpc
from yarnflow import auth, rpc


class NodeClients:
    """ContainerManager stubs, one per node agent address, calling with the app's token."""

    def __init__(self, app_id, app_token, rpc_timeout_s=30.0, max_parallel=16):
        self.app_id = app_id
        self.rpc_timeout_s = rpc_timeout_s
        self._metadata = auth.app_metadata(app_id, app_token)
        self._channels = {}
        self._stubs = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_parallel,
                                                           thread_name_prefix="am-node")

    def _stub(self, node_id):
        if node_id not in self._stubs:
            self._channels[node_id] = rpc.channel(node_id, self._metadata)
            self._stubs[node_id] = nodeagent_pb2_grpc.ContainerManagerStub(self._channels[node_id])
        return self._stubs[node_id]

    def start(self, launches_by_node):
        """Start ``{node_id: [ContainerLaunch, ...]}``; returns ``{container_id: None | why it failed}``."""
        futures = {node: self._pool.submit(self._start_on, node, launches)
                   for node, launches in launches_by_node.items()}
        results = {}
        for future in futures.values():
            results.update(future.result())
        return results

    def _start_on(self, node_id, launches):
        try:
            resp = self._stub(node_id).StartContainers(
                nodeagent_pb2.StartContainersRequest(containers=launches), timeout=self.rpc_timeout_s)
        except grpc.RpcError as exc:
            why = rpc.describe_rpc_error(exc, "node agent", node_id)
            return {launch.container_id: why for launch in launches}
        started = set(resp.started)
        return {launch.container_id: None if launch.container_id in started
                else resp.failed.get(launch.container_id, "the node agent did not start it")
                for launch in launches}

    def stop(self, container_ids_by_node):
        """Stop ``{node_id: [container_id, ...]}``; returns ``{node_id: error}`` for nodes that failed."""
        futures = {node: self._pool.submit(self._stop_on, node, cids)
                   for node, cids in container_ids_by_node.items()}
        errors = {node: future.result() for node, future in futures.items()}
        return {node: err for node, err in errors.items() if err}

    def _stop_on(self, node_id, container_ids):
        try:
            self._stub(node_id).StopContainers(
                nodeagent_pb2.StopContainersRequest(container_ids=container_ids),
                timeout=self.rpc_timeout_s)
        except grpc.RpcError as exc:
            return rpc.describe_rpc_error(exc, "node agent", node_id)
        return None

    def close(self):
        """Close every channel and the worker threads."""
        self._pool.shutdown(wait=False)
        for ch in self._channels.values():
            ch.close()
