"""``RemoteMaster``: a master in another process, with the methods of ``Master``. Sessions are made by gRPC;
the steps go by the master's ``PeerTransport``, chosen once (at the first session) from the channel port it
reports: one RunStep per step, large feeds pushed first, and, once the master told the routes, pushed straight
to the tasks that consume them (``feed_router``)."""

import threading

import grpc
import numpy as np

from engine import tensor_codec
from engine.errors import UnavailableError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import feed_routing
from tasklayer.distributed.channel_codec import ChannelError
from tasklayer.distributed.channel_transport import ChannelTransport
from tasklayer.distributed.feed_router import FeedRouter
from tasklayer.distributed.peers import choose_transport
from tasklayer.distributed.tensor_stream import PUSH_BYTES, as_contiguous
from tasklayer.distributed.worker_client import MASTER, RemoteWorker, unary
from yarnflow import rpc
from yarnflow.errors import YarnflowError

_STEP_CACHE = 256  # cached RunStep signatures per session connection


class RemoteMaster:
    """The master serving at ``address``; UnavailableError when it does not answer within ``connect_timeout``."""

    def __init__(self, address, connect_timeout):
        self.address = address
        self._rpc = RemoteWorker("the master", address)  # its WorkerService serves large fetches
        ch = self._rpc.channel
        try:
            rpc.wait_ready(ch, address, "master (tf.train.Server)", connect_timeout)
        except YarnflowError as e:
            self._rpc.close()
            raise UnavailableError(None, None, str(e)) from None
        self._create = unary(ch, MASTER, "CreateSession", pb.CreateSessionRequest, pb.CreateSessionResponse)
        self._extend = unary(ch, MASTER, "ExtendSession", pb.ExtendSessionRequest, pb.ExtendSessionResponse)
        self._close = unary(ch, MASTER, "CloseSession", pb.CloseSessionRequest, pb.CloseSessionResponse)
        # Pre-serialized requests: a repeated step re-sends cached bytes (no proto rebuilt, no strings copied).
        self._step_bytes = {}
        self._uploads = 0
        self._transport = None  # chosen at the first session
        self._router = None  # large feeds go straight to the tasks that consume them (see feed_routing)
        self._lock = threading.Lock()

    def _call(self, fn, request, timeout=60.0):
        try:
            return fn(request, timeout=timeout)
        except grpc.RpcError as e:
            raise self._rpc.error(e) from None

    def create_session(self, graph_def, version, transfer_dtype=None):
        resp = self._call(self._create, pb.CreateSessionRequest(graph_def=graph_def, graph_version=version,
                                                                transfer_dtype=transfer_dtype or ""))
        with self._lock:
            if self._transport is None:
                self._transport = choose_transport(self._rpc, resp.channel_port)
                if isinstance(self._transport, ChannelTransport):
                    self._router = FeedRouter(self._transport)
        return resp.session_handle

    def extend_session(self, handle, graph_def, version):
        self._call(self._extend, pb.ExtendSessionRequest(session_handle=handle, graph_def=graph_def,
                                                         graph_version=version))

    def close_session(self, handle):
        try:
            self._close(pb.CloseSessionRequest(session_handle=handle), timeout=5.0)
        except grpc.RpcError:
            pass  # a master that is gone holds no session
        self.close()

    def close(self):
        """Close every connection to the master and the tasks."""
        if self._transport is not None:
            self._transport.close()
        if self._router is not None:
            self._router.close()
        self._rpc.close()

    def _feed(self, name, value, handle, timeout):
        """A feed of a RunStep: inline when small, else pushed to the master first (held there by reference)."""
        arr = as_contiguous(value)
        if arr.nbytes <= self._transport.inline_bytes:
            return pb.NamedTensor(name=name, tensor=tensor_codec.to_proto(arr))
        with self._lock:
            self._uploads += 1
            key = f"upload/{handle}/{self._uploads}"
        self._transport.push_tensor(0, key, arr, timeout=timeout)
        return pb.NamedTensor(name=name, ref_key=key, pushed=True)

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
        if not feeds or router is None or all(np.asarray(v).nbytes <= PUSH_BYTES for v in feeds.values()):
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
        resp = self._transport.run_step(raw + extra.SerializeToString(), timeout + 5.0)
        return resp if whole else self._fetched(resp, timeout)

    def _fetched(self, resp, timeout):
        """The arrays of a RunStepResponse (large ones pulled from the master)."""
        return [self._rpc.recv_tensor(0, nt.ref_key, timeout) if nt.ref_key
                else tensor_codec.from_proto(nt.tensor) for nt in resp.tensor]

