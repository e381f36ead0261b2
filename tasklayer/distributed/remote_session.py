"""``RemoteBackend``: the SessionBackend of ``tf.Session("grpc://host:port")``. It sends the graph once per
version, then one RunStep per ``run``; a master in this very process is called directly, without RPC."""

import os
import threading

import grpc
import numpy as np

from engine import tensor_codec
from engine.errors import DeadlineExceededError, InternalError, UnavailableError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed import feed_routing, lossy
from tasklayer.distributed.channel import (CallError, ChannelClient, ChannelError, ChannelTimeout,
                                           StaleConnectionError)
from tasklayer.distributed.server import local_server
from tasklayer.distributed.transport import INLINE_BYTES, PUSH_BYTES, as_contiguous, encode_stream
from tasklayer.distributed.worker import TRANSPORT_ENV
from tasklayer.distributed.worker_client import MASTER, RemoteWorker, _unary
from tasklayer.train.cluster_spec import validate_address
from yarnflow import rpc
from yarnflow.errors import YarnflowError

CONNECT_TIMEOUT = 10.0
_STEP_CACHE = 256  # cached RunStep signatures per session connection


def _option(obj, name, default=0):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default) or default


class _GrpcMaster:
    """A remote master, with the same methods as ``Master``."""

    def __init__(self, address, connect_timeout):
        self.address = address
        self._worker = RemoteWorker("master", address)  # its WorkerService serves large fetches
        ch = self._worker.channel
        try:
            rpc.wait_ready(ch, address, "master (tf.train.Server)", connect_timeout)
        except YarnflowError as e:
            self._worker.close()
            raise UnavailableError(None, None, str(e)) from None
        self._create = _unary(ch, MASTER, "CreateSession", pb.CreateSessionRequest, pb.CreateSessionResponse)
        self._extend = _unary(ch, MASTER, "ExtendSession", pb.ExtendSessionRequest, pb.ExtendSessionResponse)
        self._close = _unary(ch, MASTER, "CloseSession", pb.CloseSessionRequest, pb.CloseSessionResponse)
        self._run = _unary(ch, MASTER, "RunStep", pb.RunStepRequest, pb.RunStepResponse)
        # Pre-serialized requests: a repeated step re-sends cached bytes (no proto rebuilt, no strings copied).
        self._run_raw = ch.unary_unary(MASTER + "RunStep", request_serializer=None,
                                       response_deserializer=pb.RunStepResponse.FromString)
        self._step_bytes = {}
        self._put = ch.stream_unary(MASTER + "PutTensor", request_serializer=None,
                                    response_deserializer=pb.PutTensorResponse.FromString)
        self._uploads = 0
        self._channel = None  # the master's tensor channel: large feeds are pushed there
        self._router = None  # large feeds go straight to the tasks that consume them (see feed_routing)
        self._lock = threading.Lock()

    def _call(self, fn, request, timeout=60.0):
        try:
            return fn(request, timeout=timeout)
        except grpc.RpcError as e:
            raise derrors.from_rpc(e, "the master", self.address) from None

    def create_session(self, graph_def, version, transfer_dtype=None):
        resp = self._call(self._create, pb.CreateSessionRequest(graph_def=graph_def, graph_version=version,
                                                                transfer_dtype=transfer_dtype or ""))
        if resp.channel_port and self._channel is None and os.environ.get(TRANSPORT_ENV, "").lower() != "grpc":
            self._channel = ChannelClient(f"{self.address.rsplit(':', 1)[0]}:{resp.channel_port}")
            self._router = feed_routing.FeedRouter(self._channel)
        return resp.session_handle

    def extend_session(self, handle, graph_def, version):
        self._call(self._extend, pb.ExtendSessionRequest(session_handle=handle, graph_def=graph_def,
                                                         graph_version=version))

    def close_session(self, handle):
        try:
            self._close(pb.CloseSessionRequest(session_handle=handle), timeout=5.0)
        except grpc.RpcError:
            pass  # a master that is gone holds no session
        self._worker.close()
        if self._channel is not None:
            self._channel.close()
        if self._router is not None:
            self._router.close()

    def _feed(self, name, value, handle, timeout):
        arr = as_contiguous(value)
        pushable = self._channel is not None and not self._channel.broken
        if arr.nbytes <= (PUSH_BYTES if pushable else INLINE_BYTES):
            return pb.NamedTensor(name=name, tensor=tensor_codec.to_proto(arr))
        with self._lock:
            self._uploads += 1
            key = f"upload/{handle}/{self._uploads}"
        if pushable:
            try:
                self._channel.push(0, key, arr)
                return pb.NamedTensor(name=name, ref_key=key, pushed=True)
            except ChannelError:
                pass  # the channel is unreachable from here (or the master restarted): upload with gRPC
        resp = self._call(lambda it, timeout: self._put(it, timeout=timeout), encode_stream(arr, key=key),
                          timeout)
        return pb.NamedTensor(name=name, ref_key=resp.key)

    def _step_prefix(self, handle, version, fetches, targets, timeout):
        """The serialized RunStepRequest of a step without its feeds (cached per signature)."""
        key = (handle, version, tuple(fetches), tuple(targets), timeout)
        raw = self._step_bytes.get(key)
        if raw is None:
            raw = pb.RunStepRequest(session_handle=handle, graph_version=version, fetch=fetches, target=targets,
                                    options=pb.RunOptions(timeout_ms=int(timeout * 1000))).SerializeToString()
            if len(self._step_bytes) >= _STEP_CACHE:
                self._step_bytes.clear()
            self._step_bytes[key] = raw
        return raw

    def run_step(self, handle, version, feeds, fetches, targets, timeout):
        raw = self._step_prefix(handle, version, fetches, targets, timeout)
        router = self._router
        if not feeds or router is None or self._channel.broken or all(
                np.asarray(v).nbytes <= PUSH_BYTES for v in feeds.values()):
            return self._run_raw_step(raw, self._feeds(feeds, handle, timeout), timeout)
        signature = (handle, version, tuple(fetches), tuple(sorted(feeds)), tuple(targets))
        known = router.known(signature)
        if known is None:  # the first run of this signature: through the master, asking for the routes
            resp = self._run_raw_step(raw, self._feeds(feeds, handle, timeout, want_routes=True), timeout, True)
            router.learn(signature, resp.routes_id, resp.route)
            return self._fetched(resp, timeout)
        if known:
            routes_id, routes = known
            step_id = feed_routing.new_step_id()
            try:
                routed = router.push(step_id, routes, feeds, timeout)
            except ChannelError:  # some task cannot be reached from here: drop what landed, stop routing
                self._run_raw_step(raw, pb.RunStepRequest(step_id=step_id, abandon=True), timeout, True)
                router.forget(signature, stop=True)
                routed = None
            if routed:
                extra = self._feeds({n: v for n, v in feeds.items() if n not in routed}, handle, timeout)
                extra.feed.extend(pb.NamedTensor(name=n, routed=True) for n in routed)
                extra.step_id, extra.routes_id = step_id, routes_id
                resp = self._run_raw_step(raw, extra, timeout, True)
                if not resp.stale_routes:
                    return self._fetched(resp, timeout)
                router.forget(signature)  # the plan changed: nothing ran; the next run asks anew
        return self._run_raw_step(raw, self._feeds(feeds, handle, timeout), timeout)

    def _feeds(self, feeds, handle, timeout, want_routes=False):
        """The feeds part of a RunStepRequest (merged into the cached prefix), naming the step: a master whose
        client goes away mid-step cancels the step by that id."""
        return pb.RunStepRequest(feed=[self._feed(n, v, handle, timeout) for n, v in feeds.items()],
                                 want_routes=want_routes, step_id=feed_routing.new_step_id())

    def _run_raw_step(self, raw, extra, timeout, whole=False):
        """Send the cached request prefix merged with ``extra``; the fetched arrays (``whole``: the response)."""
        # Serialized messages concatenate as a merge: the feeds append to the cached request.
        raw += extra.SerializeToString()
        resp = None
        if self._channel is not None and not self._channel.broken:
            try:
                resp = pb.RunStepResponse.FromString(self._channel.call("RunStep", raw, timeout + 5.0))
            except StaleConnectionError:
                pass  # nothing was sent: the channel is gone, gRPC may still reach the master
            except CallError as e:
                raise InternalError(None, None, f"RunStep on the master ({self.address}) failed: {e}") from None
            except ChannelTimeout as e:
                raise DeadlineExceededError(None, None, f"the master ({self.address}) did not answer before the "
                                                        f"deadline: {e}") from None
            except ChannelError as e:  # the step may have run: never sent twice
                raise UnavailableError(None, None, f"the master ({self.address}) is unavailable: {e}") from None
        if resp is None:
            resp = self._call(self._run_raw, raw, timeout + 5.0)
        return resp if whole else self._fetched(resp, timeout)

    def _fetched(self, resp, timeout):
        """The arrays of a RunStepResponse (large ones pulled from the master), or its error raised."""
        err = derrors.from_proto(resp.error)
        if err is not None:
            raise err
        return [self._worker.recv_tensor(0, nt.ref_key, timeout) if nt.ref_key
                else tensor_codec.from_proto(nt.tensor) for nt in resp.tensor]


class RemoteBackend:
    """Runs a session's graph on a cluster through the master at ``target`` (``grpc://host:port``).

    ``config`` (a dict or object) may set ``operation_timeout_in_ms`` (a step's deadline) and
    ``connect_timeout_in_ms``; ``run``'s ``options`` may set ``timeout_in_ms``.
    """

    def __init__(self, target, config=None):
        address = target[len("grpc://"):] if target.startswith("grpc://") else target
        try:
            validate_address(address, "session", 0)
        except ValueError:
            raise ValueError(f"malformed session target {target!r}: expected grpc://HOST:PORT") from None
        self.target = target
        self._transfer_dtype = lossy.parse_wire_dtype(_option(config, "transfer_dtype", None))
        self._timeout = _option(config, "operation_timeout_in_ms") / 1000 or None
        connect_timeout = _option(config, "connect_timeout_in_ms") / 1000 or CONNECT_TIMEOUT
        server = local_server(address)
        self._master = server.master if server is not None else _GrpcMaster(address, connect_timeout)
        self.in_process = server is not None
        self._handle = None
        self._version = None
        self._lock = threading.Lock()

    def run(self, graph, fetch_names, feeds, target_names, options=None):
        """Run one step on the cluster; the fetched arrays in order."""
        with self._lock:
            # The graph only grows, so the master's newest version holds every tensor an older one did: a run
            # that read an older version while another thread extended the session still finds its fetches.
            version = graph.version
            if self._handle is None:
                self._handle = self._master.create_session(graph.as_graph_def(), version, self._transfer_dtype)
                self._version = version
            elif version > self._version:
                self._master.extend_session(self._handle, graph.as_graph_def(), version)
                self._version = version
        timeout = _option(options, "timeout_in_ms") / 1000 or self._timeout or 600.0
        return self._master.run_step(self._handle, version, feeds, list(fetch_names), list(target_names),
                                     timeout)

    def close(self):
        """Close the session on the master."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._master.close_session(handle)
        elif isinstance(self._master, _GrpcMaster):
            self._master._worker.close()
