"""The resmgr daemon: one lock around the state, a server, a timer, and an executor for decisions.

``ResourceManager`` holds a ``ClusterState`` behind one condition variable. RPC handlers change it
through ``apply`` (which carries out the resulting actions and wakes long-polling Allocates when an app
got news); a timer thread expires silent nodes; a small thread pool talks to node agents
(StartContainers for appmasters, StopContainers for ended apps) so no RPC handler waits on a node.
The gRPC server is a grpc.aio one on an event loop of its own thread (``LoopServer``), so that every
node's heartbeat stream costs a coroutine, not a thread.
"""

import argparse
import asyncio
import concurrent.futures
import logging
import os
import pathlib
import signal
import socket
import sys
import threading
import time

import grpc

from protos import nodeagent_pb2, nodeagent_pb2_grpc, resmgr_pb2, resmgr_pb2_grpc
from resmgr import convert
from resmgr.core import ClusterState, LaunchAM, PersistApp, StopContainers
from resmgr.model import EXIT_NOT_STARTED, completed_status
from resmgr.service import ApplicationClientServicer, ApplicationMasterServicer, ResourceTrackerServicer
from resmgr.staging import StagingStore
from resmgr.store import StateStore
from yarnflow import auth, rpc
from yarnflow.errors import YarnflowError

log = logging.getLogger("resmgr")
AM_COMMAND = ["{python}", "-m", "appmaster"]
NODE_RPC_TIMEOUT_S = 60.0


class LoopServer:
    """A grpc.aio server on an event loop in a thread of its own, driven from plain threads.

    Coroutine methods (the heartbeats) run on the loop; plain methods run on ``max_workers`` threads,
    as on a ``grpc.server`` (an Allocate long-poll holds one of them while it waits). Add servicers to
    and bind ``.server`` before ``start()``.
    """

    def __init__(self, max_workers):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="resmgr-grpc", daemon=True)
        self._thread.start()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="resmgr-rpc")
        self.server = self._run(self._make())

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _make(self):
        return grpc.aio.server(migration_thread_pool=self._pool,
                               options=rpc.CHANNEL_OPTIONS + [("grpc.so_reuseport", 0)])

    def start(self):
        """Start serving."""
        self._run(self.server.start())

    def stop(self, grace):
        """Stop serving (calls still running get ``grace`` seconds), then end the loop and its thread."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.server.stop(grace))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            self._pool.shutdown(wait=False, cancel_futures=True)


class ResourceManager:
    """The running resmgr: state, server, timer and node-agent calls."""

    def __init__(self, data_dir, host="127.0.0.1", port=0, expiry_s=30.0, max_am_attempts=2,
                 heartbeat_interval_ms=1000, max_workers=64):
        self.data_dir = pathlib.Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.host, self.port = host, port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.secret = auth.load_or_create_secret(self.data_dir)
        self.core = ClusterState(expiry_s=expiry_s, max_am_attempts=max_am_attempts)
        self.cond = threading.Condition()
        self.parked_polls = 0  # Allocate calls waiting for news now (a gauge: tests wait on it)
        self.store = StateStore(self.data_dir / "state.db")
        self.staging = StagingStore(self.data_dir)
        self.started_ms = int(time.time() * 1000)
        self._app_seq = 0
        self._stopping = threading.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="resmgr-exec")
        self._channels = {}   # node_id -> (channel, ContainerManagerStub)
        self._tick_s = max(0.05, min(1.0, expiry_s / 4))
        self._server = LoopServer(max_workers=max_workers)
        resmgr_pb2_grpc.add_ResourceTrackerServicer_to_server(ResourceTrackerServicer(self), self._server.server)
        resmgr_pb2_grpc.add_ApplicationClientServicer_to_server(ApplicationClientServicer(self), self._server.server)
        resmgr_pb2_grpc.add_ApplicationMasterProtocolServicer_to_server(ApplicationMasterServicer(self),
                                                                       self._server.server)
        self._timer = threading.Thread(target=self._tick_loop, name="resmgr-timer", daemon=True)
        self.address = None

    # ------------------------------------------------------------ life
    def start(self):
        """Reload stored apps, bind, start serving; writes ``D/resmgr.addr`` and returns the address."""
        self._restore()
        self.port = rpc.bind(self._server.server, self.host, self.port)
        self._server.start()
        self._timer.start()
        self.address = f"{advertised_host(self.host)}:{self.port}"
        tmp = self.data_dir / "resmgr.addr.tmp"
        tmp.write_text(self.address + "\n")
        os.replace(tmp, self.data_dir / "resmgr.addr")
        return self.address

    def stop(self, grace=1.0):
        """Stop serving and release everything; long-polls answer at once."""
        self._stopping.set()
        with self.cond:
            self.cond.notify_all()
        self._server.stop(grace)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for ch, _ in list(self._channels.values()):
            ch.close()
        self.store.close()

    def _restore(self):
        apps = self.store.load_apps(resmgr_pb2.ApplicationSpec.FromString)
        with self.cond:
            for app in apps:
                self._carry_out(self.core.restore(app, time.time()))
        if apps:
            log.info("reloaded %d apps from %s", len(apps), self.store.path)

    def _tick_loop(self):
        while not self._stopping.wait(self._tick_s):
            try:
                self.apply(lambda core, now: (None, core.tick(now)))
            except Exception:  # the timer must outlive any bug in one tick
                log.exception("tick failed")

    # ------------------------------------------------------------ state access
    def read(self, fn):
        """``fn(core)`` under the lock, for queries."""
        with self.cond:
            return fn(self.core)

    def apply(self, fn):
        """``fn(core, now) -> (result, actions)`` under the lock; carries out the actions, returns result."""
        with self.cond:
            version = self.core.news_version
            result, actions = fn(self.core, time.time())
            self._carry_out(actions)
            if self.core.news_version != version:
                self.cond.notify_all()
            return result

    def register_node(self, node_id, hostname, capability, port_start, port_end, containers):
        """A node agent registered."""
        self.apply(lambda core, now: (None, core.register_node(node_id, hostname, capability, port_start,
                                                               port_end, containers, now)))
        log.info("node %s registered (%s)", node_id, hostname)

    def heartbeat(self, node_id, usage, statuses):
        """A heartbeat: returns (HeartbeatResult, finished app ids). Cheap when nothing changed."""
        def beat(core, now):
            result, finished, actions = core.heartbeat(node_id, usage, statuses, now)
            return (result, finished), actions
        return self.apply(beat)

    def submit(self, spec, staging_id, check):
        """Record a new app (durably, before returning) and ask for its appmaster; returns its id."""
        def submit(core, now):
            check(core)
            self._app_seq += 1
            app_id = f"app_{self.started_ms}_{self._app_seq:04d}"
            self.staging.claim(staging_id, app_id)
            return app_id, core.submit(app_id, spec, spec.SerializeToString(), now)
        app_id = self.apply(submit)
        log.info("app %s submitted (%s)", app_id, spec.name)
        return app_id

    def allocate(self, app_id, gangs, releases, progress, wait_s, check):
        """Take asks and releases, then wait up to ``wait_s`` for news of the app; returns the news."""
        deadline = time.monotonic() + wait_s
        with self.cond:
            check(self.core)
            app = self.core.apps.get(app_id)
            app.tasks_running, app.tasks_total = progress.tasks_running, progress.tasks_total
            self.apply(lambda core, now: (None, core.allocate(app_id, gangs, releases, now)))
            self.parked_polls += 1
            try:
                while not (app.has_news() or app.terminal or self._stopping.is_set()):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self.cond.wait(remaining)
            finally:
                self.parked_polls -= 1
            allocations, completed, failed = self.core.apps.take_news(app_id)
            diagnostics = app.diagnostics if app.terminal else ""
            return allocations, completed, failed, app.terminal, diagnostics

    def container_token(self, placement):
        """The token that lets the node agent start this container."""
        return auth.container_token(self.secret, placement.container_id, placement.app_id,
                                    placement.node_id, placement.port)

    # ------------------------------------------------------------ carrying out decisions
    def _carry_out(self, actions):
        """Run actions; called under the lock: store writes now, node-agent calls on the executor."""
        for action in actions:
            if isinstance(action, PersistApp):
                self.store.save_app(self.core.apps.get(action.app_id))
            elif isinstance(action, LaunchAM):
                self._submit_job(self._launch_am, action)
            elif isinstance(action, StopContainers):
                self._submit_job(self._stop_containers, action)
            else:
                raise TypeError(f"unknown action {action!r}")

    def _submit_job(self, fn, *args):
        if self._stopping.is_set():
            return
        try:
            self._executor.submit(fn, *args)
        except RuntimeError:  # shutting down
            pass

    def _stub(self, node_id):
        known = self._channels.get(node_id)
        if known is None:
            ch = rpc.channel(node_id, auth.member_metadata(self.secret))
            known = self._channels[node_id] = (ch, nodeagent_pb2_grpc.ContainerManagerStub(ch))
        return known[1]

    def _launch_am(self, action):
        p, app_id = action.placement, action.app_id
        env = {"YARNFLOW_RESMGR": self.address or f"{self.host}:{self.port}",
               "YARNFLOW_APP_TOKEN": auth.app_token(self.secret, app_id),
               "YARNFLOW_AM_ATTEMPT": str(action.attempt)}
        launch = nodeagent_pb2.ContainerLaunch(
            container_id=p.container_id, app_id=app_id, container_token=self.container_token(p),
            command=AM_COMMAND, env=env, resource=convert.res_to_proto(p.resource), port=p.port,
            gpu_indices=list(p.gpu_indices), localize=True)
        try:
            reply = self._stub(p.node_id).StartContainers(
                nodeagent_pb2.StartContainersRequest(containers=[launch]), timeout=NODE_RPC_TIMEOUT_S)
            why = reply.failed.get(p.container_id) if p.container_id not in reply.started else None
            if why is None and p.container_id not in reply.started:
                why = "the node agent did not start it"
        except grpc.RpcError as exc:
            why = rpc.describe_rpc_error(exc, "node agent", p.node_id)
        if why is None:
            log.info("appmaster %s of %s started on %s", p.container_id, app_id, p.node_id)
            return
        log.warning("appmaster %s of %s could not start on %s: %s", p.container_id, app_id, p.node_id, why)
        status = completed_status(p.container_id, app_id, EXIT_NOT_STARTED,
                                  f"could not start the appmaster on {p.node_id}: {why}", time.time())
        self.apply(lambda core, now: (None, core.container_ended(p.node_id, status, now)))

    def _stop_containers(self, action):
        try:
            self._stub(action.node_id).StopContainers(
                # an app_id asks the node to stop every container of the app there, so only for whole_app
                nodeagent_pb2.StopContainersRequest(container_ids=list(action.container_ids),
                                                    app_id=action.app_id if action.whole_app else ""),
                timeout=NODE_RPC_TIMEOUT_S)
        except grpc.RpcError as exc:
            log.warning("StopContainers on %s failed (%s); asking again on its next heartbeat",
                        action.node_id, rpc.describe_rpc_error(exc, "node agent", action.node_id))
            self.apply(lambda core, now: (None, core.stop_failed(action.node_id, action.container_ids) or []))


def advertised_host(host):
    """The host others reach us at: ``host``, or this machine's name when bound to every address."""
    return socket.getfqdn() if host in ("", "0.0.0.0", "::", "[::]") else host


# ---------------------------------------------------------------- command line
def parse_args(argv):
    """The resmgr's command-line options."""
    p = argparse.ArgumentParser(prog="resmgr", description="yarnflow ResourceManager daemon")
    p.add_argument("--port", type=int, default=8030, help="port to listen on (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--data-dir", required=True, help="where the secret, state.db and app files live")
    p.add_argument("--node-expiry", type=float, default=30.0, help="seconds of silence before a node is LOST")
    p.add_argument("--am-max-attempts", type=int, default=2, help="appmaster attempts per app")
    p.add_argument("--heartbeat-interval", type=float, default=1.0, help="seconds between node heartbeats")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if args.node_expiry <= 0 or args.am_max_attempts < 1 or args.heartbeat_interval <= 0:
        p.error("--node-expiry and --heartbeat-interval must be > 0 and --am-max-attempts >= 1")
    return args


def main(argv=None):
    """Run the resmgr until SIGTERM/SIGINT; returns the exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        rm = ResourceManager(args.data_dir, args.host, args.port, expiry_s=args.node_expiry,
                             max_am_attempts=args.am_max_attempts,
                             heartbeat_interval_ms=int(args.heartbeat_interval * 1000))
        address = rm.start()
    except (YarnflowError, OSError) as exc:
        print(f"resmgr: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"resmgr listening on {address}", flush=True)
    while not stop.wait(3600):
        pass
    log.info("stopping")
    rm.stop()
    return 0
