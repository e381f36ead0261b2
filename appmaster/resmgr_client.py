"""The appmaster's side of ApplicationMasterProtocol: calls that ride out a resmgr that is briefly away."""

import time

import grpc

from protos import common_pb2, resmgr_pb2, resmgr_pb2_grpc
from yarnflow import auth, rpc
from yarnflow.errors import YarnflowError

# A resmgr that answers these may come back (restart, overload); anything else is final.
_TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class ResmgrError(YarnflowError):
    """resmgr refused a call, or stayed unreachable longer than the appmaster waits."""


class ResmgrClient:
    """Register, allocate and finish for one app, retrying transient failures for ``unreachable_s``."""

    def __init__(self, address, app_id, app_token, unreachable_s=60.0, rpc_timeout_s=10.0,
                 sleep=time.sleep, clock=time.monotonic):
        self.address = address
        self.app_id = app_id
        self.unreachable_s = unreachable_s
        self.rpc_timeout_s = rpc_timeout_s
        self._sleep = sleep
        self._clock = clock
        self._channel = rpc.channel(address, auth.app_metadata(app_id, app_token))
        self._stub = resmgr_pb2_grpc.ApplicationMasterProtocolStub(self._channel)

    def register(self, host):
        """RegisterApplicationMaster; returns its response (the app spec, the largest node, the attempt)."""
        req = resmgr_pb2.RegisterApplicationMasterRequest(app_id=self.app_id, host=host)
        return self._call(self._stub.RegisterApplicationMaster, req, "register")

    def allocate(self, gangs, release, wait_ms, tasks_running, tasks_total):
        """One Allocate long-poll: send asks and releases, hear of allocations and completions."""
        req = resmgr_pb2.AllocateRequest(app_id=self.app_id, gangs=gangs, release=release,
                                         wait_ms=wait_ms, tasks_running=tasks_running,
                                         tasks_total=tasks_total)
        return self._call(self._stub.Allocate, req, "allocate", extra_timeout_s=wait_ms / 1000)

    def finish(self, final_status, diagnostics):
        """FinishApplicationMaster with ``final_status`` (a FinalStatus name or value)."""
        status = common_pb2.FinalStatus.Value(final_status) if isinstance(final_status, str) else final_status
        req = resmgr_pb2.FinishApplicationMasterRequest(app_id=self.app_id, final_status=status,
                                                        diagnostics=diagnostics)
        return self._call(self._stub.FinishApplicationMaster, req, "finish")

    def close(self):
        """Close the channel."""
        self._channel.close()

    def _call(self, method, request, what, extra_timeout_s=0.0):
        deadline = None
        backoff = 0.2
        while True:
            timeout = self.rpc_timeout_s + extra_timeout_s
            if deadline is not None:
                # Already failing: no single call may outlast the time left to wait for resmgr.
                timeout = min(timeout, max(deadline - self._clock(), 0.1) + extra_timeout_s)
            try:
                return method(request, timeout=timeout)
            except grpc.RpcError as exc:
                if exc.code() not in _TRANSIENT:
                    raise ResmgrError(f"resmgr refused {what}: "
                                      f"{rpc.describe_rpc_error(exc, 'resmgr', self.address)}") from None
                now = self._clock()
                deadline = deadline if deadline is not None else now + self.unreachable_s
                if now >= deadline:
                    raise ResmgrError(f"resmgr at {self.address} unreachable for {self.unreachable_s:g} s "
                                      f"({what}): {rpc.describe_rpc_error(exc, 'resmgr')}") from None
                self._sleep(min(backoff, max(deadline - now, 0.0)))
                backoff = min(backoff * 2, 2.0)
