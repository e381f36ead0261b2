"""The resmgr's gRPC servicers: authenticate, validate, translate; the state lives in the daemon.

A client's mistake is answered with a status code and one line naming the problem; nothing a client
sends can raise out of a servicer. The servers run on grpc.aio: the heartbeat methods are coroutines run on
the event loop (thousands of node streams, no thread each); every other method is plain code that the
server runs on its thread pool.
"""

import functools
import logging

import grpc

from protos import resmgr_pb2, resmgr_pb2_grpc
from resmgr import apps as A
from resmgr import convert
from resmgr.core import am_resource
from resmgr.model import Res, largest_capability
from resmgr.staging import StagingError
from yarnflow import auth

log = logging.getLogger("resmgr.service")
MAX_WAIT_MS = 60_000


class ClientError(Exception):
    """A request the resmgr refuses: ``code`` and a one-line message for the caller."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def invalid(message):
    """An INVALID_ARGUMENT ClientError."""
    return ClientError(grpc.StatusCode.INVALID_ARGUMENT, message)


def _rpc(method):
    """Turn ClientError into its status and any other exception into INTERNAL, never a crash."""
    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ClientError as exc:
            context.abort(exc.code, str(exc))
        except Exception as exc:
            if _aborted(context, exc):  # context.abort() already set the status: let it through
                raise
            log.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"resmgr internal error in {method.__name__}: {exc}")
    return wrapper


def _aborted(context, exc):
    """True when ``exc`` is context.abort() ending the RPC, on the aio server's or the sync server's context."""
    if isinstance(exc, grpc.aio.AbortError):
        return True
    code = getattr(context, "code", None)   # the aio server's context for plain methods has no code()
    return code is not None and code() is not None


class _Refused(Exception):
    """What ``auth.authenticate`` aborted with, held to be replayed on an asyncio context."""

    def __init__(self, code, details):
        super().__init__(details)
        self.code, self.details = code, details


class _MetadataOnly:
    """The part of a servicer context ``auth.authenticate`` reads; its abort raises ``_Refused``."""

    def __init__(self, metadata):
        self._metadata = metadata

    def invocation_metadata(self):
        """The caller's metadata."""
        return self._metadata

    def abort(self, code, details):
        """Refuse: raise instead of ending the call, so a coroutine can await the real abort."""
        raise _Refused(code, details)


async def authenticate_member(context, secret):
    """``auth.authenticate`` for an asyncio servicer context: members only, else abort UNAUTHENTICATED."""
    try:
        return auth.authenticate(_MetadataOnly(context.invocation_metadata()), secret, allow_app=False)
    except _Refused as refused:
        await context.abort(refused.code, refused.details)


# ---------------------------------------------------------------- validation
def _check_resource(what, r):
    if r.vcores < 0 or r.memory_mb < 0 or r.gpus < 0:
        raise invalid(f"{what} asks a negative amount: {r.vcores} vcores, {r.memory_mb} MB, {r.gpus} GPUs")


def validate_spec(spec):
    """Raise an INVALID_ARGUMENT ClientError naming the first problem of an ApplicationSpec."""
    if not spec.roles:
        raise invalid("the app has no roles: ask for at least one task (e.g. --workers 1)")
    names = set()
    for role in spec.roles:
        if not role.name:
            raise invalid("a role has no name")
        if role.name == A.AM_ROLE or role.name in names:
            raise invalid(f"role name {role.name!r} is reserved or given twice")
        names.add(role.name)
        if role.count < 0:
            raise invalid(f"role {role.name} has a negative count {role.count}")
        if role.max_attempts < 0:
            raise invalid(f"role {role.name} has a negative max_attempts {role.max_attempts}")
        _check_resource(role.name, role.resource)
    if sum(r.count for r in spec.roles) == 0:
        raise invalid("the app asks for no task: every role has count 0")
    if spec.max_task_attempts < 0:
        raise invalid(f"max_task_attempts is negative: {spec.max_task_attempts}")
    _check_resource("the appmaster", spec.am_resource)
    if not spec.entry:
        raise invalid("the app has no entry script")


def _check_fits(core, spec):
    """Refuse a role or AM larger than every node (no node at all: the app waits for one)."""
    for what, res in [(r.name, convert.res_from_proto(r.resource)) for r in spec.roles if r.count] + \
                     [("the appmaster", am_resource(spec))]:
        reason = core.scheduler.never_placeable(what, res)
        if reason:
            raise invalid(reason)


def _app(core, app_id):
    app = core.apps.get(app_id)
    if app is None:
        raise ClientError(grpc.StatusCode.NOT_FOUND, f"unknown app id {app_id!r}")
    return app


def _report(core, app):
    """``app``'s ApplicationReport, saying why its waiting gang is not placed yet when one waits."""
    return convert.app_report(app, "" if app.terminal else core.scheduler.waiting_reason(app.app_id))


# ---------------------------------------------------------------- node agents
class ResourceTrackerServicer(resmgr_pb2_grpc.ResourceTrackerServicer):
    """RegisterNode, NodeHeartbeat (unary or streamed) and FetchAppFiles, for node agents."""

    def __init__(self, rm):
        self.rm = rm

    @_rpc
    def RegisterNode(self, request, context):
        auth.authenticate(context, self.rm.secret, allow_app=False)
        if not request.node_id:
            raise invalid("RegisterNode needs a node_id (the host:port of the node agent)")
        _check_resource(f"node {request.node_id}", request.capability)
        start, end = request.port_range_start, request.port_range_end
        if not (0 <= start <= end <= 65536):
            raise invalid(f"node {request.node_id} has a bad port range {start}-{end}")
        self.rm.register_node(request.node_id, request.hostname or request.node_id.rpartition(":")[0],
                              convert.res_from_proto(request.capability), start, end,
                              [convert.status_from_proto(s) for s in request.containers])
        return resmgr_pb2.RegisterNodeResponse(heartbeat_interval_ms=self.rm.heartbeat_interval_ms)

    def heartbeat_reply(self, request):
        """The one heartbeat handler behind NodeHeartbeat and HeartbeatStream (the caller is authenticated).

        Runs on the event loop itself: it takes the state lock for a few microseconds and never waits
        on a node, and a hop to a thread per heartbeat would cost more than the heartbeat.
        """
        statuses = [convert.status_from_proto(s) for s in request.containers]
        result, finished = self.rm.heartbeat(request.node_id, request.usage, statuses)
        return resmgr_pb2.NodeHeartbeatResponse(
            reregister=not result.known, containers_to_kill=result.to_kill, apps_finished=finished,
            heartbeat_interval_ms=self.rm.heartbeat_interval_ms)

    async def NodeHeartbeat(self, request, context):
        await authenticate_member(context, self.rm.secret)
        try:
            return self.heartbeat_reply(request)
        except Exception as exc:
            await self._internal(context, exc)

    async def HeartbeatStream(self, request_iterator, context):
        """NodeHeartbeat on a long-lived stream: authenticated once, then one answer per heartbeat."""
        await authenticate_member(context, self.rm.secret)
        async for request in request_iterator:
            try:
                reply = self.heartbeat_reply(request)
            except Exception as exc:   # ends this stream only: the node reopens it
                await self._internal(context, exc)
            yield reply

    @staticmethod
    async def _internal(context, exc):
        log.exception("heartbeat failed")
        await context.abort(grpc.StatusCode.INTERNAL, f"resmgr internal error in a heartbeat: {exc}")

    def FetchAppFiles(self, request, context):
        try:
            caller = auth.authenticate(context, self.rm.secret)
            auth.authorize(context, caller, request.app_id)
            self.rm.read(lambda core: _app(core, request.app_id))
            yield from self.rm.staging.iter_files(request.app_id)
        except ClientError as exc:
            context.abort(exc.code, str(exc))
        except OSError as exc:
            context.abort(grpc.StatusCode.INTERNAL, f"cannot read the files of {request.app_id}: {exc}")


# ---------------------------------------------------------------- clients
class ApplicationClientServicer(resmgr_pb2_grpc.ApplicationClientServicer):
    """Staging, submission, reports, listings and kills, for clients."""

    def __init__(self, rm):
        self.rm = rm

    def StageFiles(self, request_iterator, context):
        auth.authenticate(context, self.rm.secret, allow_app=False)
        try:
            staging_id, nbytes, nfiles = self.rm.staging.stage(request_iterator)
        except StagingError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except OSError as exc:
            context.abort(grpc.StatusCode.INTERNAL, f"cannot stage the files: {exc}")
        return resmgr_pb2.StageFilesResponse(staging_id=staging_id, bytes=nbytes, files=nfiles)

    @_rpc
    def SubmitApplication(self, request, context):
        auth.authenticate(context, self.rm.secret, allow_app=False)
        spec = request.spec
        validate_spec(spec)
        if not request.staging_id:
            raise invalid("no staged files: upload the app's files with StageFiles first")
        if not self.rm.staging.has_file(request.staging_id, spec.entry):
            raise invalid(f"entry {spec.entry!r} is not among the staged files of {request.staging_id!r}")
        try:
            app_id = self.rm.submit(spec, request.staging_id, lambda core: _check_fits(core, spec))
        except StagingError as exc:  # e.g. the same upload submitted twice at once
            raise invalid(str(exc)) from None
        return resmgr_pb2.SubmitApplicationResponse(app_id=app_id)

    @_rpc
    def GetApplicationReport(self, request, context):
        caller = auth.authenticate(context, self.rm.secret)
        auth.authorize(context, caller, request.app_id)
        return self.rm.read(lambda core: _report(core, _app(core, request.app_id)))

    @_rpc
    def ListApplications(self, request, context):
        auth.authenticate(context, self.rm.secret, allow_app=False)
        states = set(request.states)
        return self.rm.read(lambda core: resmgr_pb2.ListApplicationsResponse(apps=[
            _report(core, a) for a in core.apps.apps.values() if not states or a.state in states]))

    @_rpc
    def ListNodes(self, request, context):
        auth.authenticate(context, self.rm.secret, allow_app=False)
        return self.rm.read(lambda core: resmgr_pb2.ListNodesResponse(nodes=[
            convert.node_report(n, core.scheduler.node_used(n.node_id) if core.scheduler.has_node(n.node_id)
                                else Res()) for n in core.nodes.nodes.values()]))

    @_rpc
    def KillApplication(self, request, context):
        caller = auth.authenticate(context, self.rm.secret)
        auth.authorize(context, caller, request.app_id)

        def kill(core, now):
            _app(core, request.app_id)
            return core.kill(request.app_id, request.reason or "killed by a client", now)
        return resmgr_pb2.KillApplicationResponse(killed=self.rm.apply(kill))


# ---------------------------------------------------------------- appmasters
def _gangs(request):
    """The gangs of an AllocateRequest as (gang_id, [(ask_id, role, index, Res)]), checked."""
    gangs, seen = [], set()
    for gang in request.gangs:
        if not gang.asks:
            raise invalid(f"gang {gang.gang_id!r} asks for no container")
        asks = []
        for ask in gang.asks:
            if not ask.ask_id or ask.ask_id in seen:
                raise invalid(f"ask id {ask.ask_id!r} is empty or given twice")
            seen.add(ask.ask_id)
            _check_resource(ask.ask_id, ask.resource)
            asks.append((ask.ask_id, ask.role, ask.task_index, convert.res_from_proto(ask.resource)))
        gangs.append((gang.gang_id, asks))
    return gangs


class ApplicationMasterServicer(resmgr_pb2_grpc.ApplicationMasterProtocolServicer):
    """Register, Allocate (long-poll) and Finish, for appmasters."""

    def __init__(self, rm):
        self.rm = rm

    def _caller(self, context, app_id):
        caller = auth.authenticate(context, self.rm.secret)
        auth.authorize(context, caller, app_id)

    @_rpc
    def RegisterApplicationMaster(self, request, context):
        self._caller(context, request.app_id)

        def register(core, now):
            app = _app(core, request.app_id)
            if app.terminal or app.state == A.SUBMITTED:
                raise ClientError(grpc.StatusCode.FAILED_PRECONDITION,
                                  f"app {app.app_id} is {A.STATE_NAMES[app.state]}: no appmaster may register")
            actions = core.register_am(app.app_id, request.host, now)
            largest = largest_capability(core.scheduler.capabilities()) or Res()
            reply = resmgr_pb2.RegisterApplicationMasterResponse(
                spec=app.spec, max_capability=convert.res_to_proto(largest), attempt=app.am_attempt)
            return reply, actions
        return self.rm.apply(register)

    @_rpc
    def Allocate(self, request, context):
        self._caller(context, request.app_id)
        gangs = _gangs(request)
        wait_s = min(max(request.wait_ms, 0), MAX_WAIT_MS) / 1000.0

        def check(core):
            app = _app(core, request.app_id)
            if app.state in (A.SUBMITTED, A.ACCEPTED):
                raise ClientError(grpc.StatusCode.FAILED_PRECONDITION,
                                  f"app {app.app_id}: register the appmaster before Allocate")
        allocations, completed, failed, shutdown, diagnostics = self.rm.allocate(
            request.app_id, gangs, list(request.release), request, wait_s, check)
        reply = resmgr_pb2.AllocateResponse(shutdown=shutdown, diagnostics=diagnostics)
        reply.allocations.extend(convert.allocation_to_proto(p, self.rm.container_token(p)) for p in allocations)
        reply.completed.extend(convert.status_to_proto(s) for s in completed)
        reply.failed_gangs.extend(gang_id for gang_id, _ in failed)
        if failed:  # the why of each failed gang, in one line
            reply.diagnostics = "; ".join([f"gang {g} can never be placed: {why}" for g, why in failed]
                                          + ([diagnostics] if diagnostics else []))
        return reply

    @_rpc
    def FinishApplicationMaster(self, request, context):
        self._caller(context, request.app_id)

        def finish(core, now):
            app = _app(core, request.app_id)
            if app.terminal:
                return None, []  # killed meanwhile, or a repeated call: nothing more to do
            return None, core.finish_am(app.app_id, request.final_status, request.diagnostics, now)
        self.rm.apply(finish)
        return resmgr_pb2.FinishApplicationMasterResponse()
