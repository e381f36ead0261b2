"""The appmaster runtime: carries the task table's decisions out over gRPC and feeds it the news.

It registers with resmgr, asks for the whole gang at once, long-polls Allocate, starts tasks through
their node agents, and ends the app when the table says so. Every event is one line on stdout: that is
what ``yarnflow logs APP --task appmaster`` shows a user.
"""

import os
import socket
import sys
import time

from appmaster import cluster_spec, tasks
from appmaster.nodes import NodeClients
from appmaster.resmgr_client import ResmgrClient, ResmgrError
from protos import nodeagent_pb2, resmgr_pb2

RESMGR_ENV = "YARNFLOW_RESMGR"
APP_ID_ENV = "YARNFLOW_APP_ID"
APP_TOKEN_ENV = "YARNFLOW_APP_TOKEN"
AM_ATTEMPT_ENV = "YARNFLOW_AM_ATTEMPT"
PYTHON_PLACEHOLDER = "{python}"


class AppMaster:
    """One app's master: ``run()`` drives it to the end and returns the process exit code."""

    def __init__(self, resmgr, app_id, app_token, *, am_attempt=1, host=None, wait_ms=2000,
                 unreachable_s=60.0, out=None, validate=False):
        self.resmgr_address = resmgr
        self.app_id = app_id
        self.app_token = app_token
        self.am_attempt = am_attempt
        self.host = host or socket.gethostname()
        self.wait_ms = wait_ms
        self.validate = validate    # check the task table's invariants after every event (tests)
        self.out = out or sys.stdout
        self.resmgr = ResmgrClient(resmgr, app_id, app_token, unreachable_s=unreachable_s)
        self.nodes = NodeClients(app_id, app_token)
        self.spec = None
        self.table = None
        self._allocations = {}      # container id -> Allocation (node, port, token) of every task container
        self._outbox_gangs = []     # GangAsks to send with the next Allocate
        self._outbox_release = []   # container ids to give back with the next Allocate
        self._events = 0

    def log(self, message):
        """One line on stdout, timestamped and flushed at once."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} appmaster {self.app_id}: {message}", file=self.out, flush=True)

    # ---------------------------------------------------------------- the loop

    def run(self):
        """Register, run the app to its end, finish; return 0, or 1 when resmgr is lost or refuses us."""
        try:
            return self._run()
        except ResmgrError as exc:
            self.log(f"giving up: {exc}")
            return 1
        finally:
            self.resmgr.close()
            self.nodes.close()

    def _run(self):
        self.log(f"attempt {self.am_attempt} registering with resmgr at {self.resmgr_address} from {self.host}")
        self.spec = self.resmgr.register(self.host).spec
        try:
            self.table = tasks.TaskTable(self.spec, validate=self.validate)
        except ValueError as exc:
            self.log(f"finished FAILED: bad app spec: {exc}")
            self.resmgr.finish("FAILED", f"bad app spec: {exc}")
            return 0
        roles = ", ".join(f"{r.name} x{r.count}" for r in self.spec.roles if r.count)
        self.log(f"registered: app {self.spec.name or '(unnamed)'!r} with {roles}")
        self._execute(self.table.start())
        while not self.table.done:
            self._on_allocate(self._allocate())
        return 0

    def _allocate(self):
        gangs, release = self._outbox_gangs, self._outbox_release
        resp = self.resmgr.allocate(gangs, release, self.wait_ms,
                                    tasks_running=self.table.count(tasks.RUNNING),
                                    tasks_total=len(self.table.tasks))
        # Sent: clear only now, so asks survive a retried call.
        self._outbox_gangs, self._outbox_release = [], []
        return resp

    def _on_allocate(self, resp):
        if resp.shutdown:
            self.log("resmgr says the app was killed: stopping every task")
            self._handle(tasks.Shutdown(self._stimulus("shutdown")))
            return
        for status in resp.completed:
            task = self.table.task_of(status.container_id)
            name = task.key if task else "unknown task"
            why = f": {_one_line(status.diagnostics)}" if status.exit_code and status.diagnostics else ""
            self.log(f"exited: {name} (container {status.container_id}) with code {status.exit_code}{why}")
            self._handle(tasks.Completed(status.container_id, status.exit_code, status.diagnostics,
                                         self._stimulus("completed")))
        for alloc in resp.allocations:
            self._allocations[alloc.container_id] = alloc
            self.log(f"allocated: {alloc.ask_id} -> container {alloc.container_id} on node {alloc.node_id} "
                     f"(task endpoint {alloc.host}:{alloc.port})")
            self._handle(tasks.Allocated(alloc.ask_id, alloc.container_id, alloc.node_id, alloc.host,
                                         alloc.port, self._stimulus("allocated")))
        for gang_id in resp.failed_gangs:
            self.log(f"gang {gang_id} can never be placed: {resp.diagnostics}")
            self._handle(tasks.GangFailed(gang_id, resp.diagnostics, self._stimulus("gang-failed")))

    def _stimulus(self, kind):
        self._events += 1
        return f"{kind}-{self._events}"

    def _handle(self, event):
        self._execute(self.table.handle(event))

    # ---------------------------------------------------------------- decisions

    def _execute(self, decisions):
        """Carry out decisions in order; the launches of one list go out together, in parallel."""
        launches = [d for d in decisions if isinstance(d, tasks.Launch)]
        if launches:
            self._launch(launches)
        for decision in decisions:
            if isinstance(decision, tasks.AskGang):
                self._ask(decision)
            elif isinstance(decision, tasks.Release):
                self._outbox_release.extend(decision.container_ids)
                self.log(f"releasing unneeded containers {', '.join(decision.container_ids)}")
            elif isinstance(decision, tasks.StopContainers):
                self._stop(decision.container_ids)
            elif isinstance(decision, tasks.Finish):
                self._finish(decision)

    def _ask(self, gang):
        task = self.table.tasks[gang.asks[0].ask_id]
        if task.state == tasks.RETRYING and task.attempts:
            self.log(f"retrying: {task.key} in a fresh container "
                     f"(attempt {len(task.attempts) + 1} of {task.max_attempts})")
        asks = [resmgr_pb2.ContainerAsk(ask_id=a.ask_id, role=a.role, task_index=a.index, resource=a.resource)
                for a in gang.asks]
        self._outbox_gangs.append(resmgr_pb2.GangAsk(gang_id=gang.gang_id, asks=asks))
        self.log(f"asking for {len(asks)} container{'s' if len(asks) != 1 else ''} as gang {gang.gang_id}: "
                 + ", ".join(a.ask_id for a in gang.asks))

    def _launch(self, launches):
        cluster = cluster_spec.build_cluster_spec(self.table.endpoints(),
                                                  role_order=[r.name for r in self.spec.roles])
        command = [self.spec.python or PYTHON_PLACEHOLDER, self.spec.entry, *self.spec.args]
        by_node = {}
        for launch in launches:
            alloc = self._allocations[launch.container_id]
            env = cluster_spec.task_env(cluster, launch.role, launch.index, app_id=self.app_id,
                                        attempt=launch.attempt, resmgr=self.resmgr_address,
                                        app_token=self.app_token, extra=dict(self.spec.env))
            by_node.setdefault(alloc.node_id, []).append(nodeagent_pb2.ContainerLaunch(
                container_id=alloc.container_id, app_id=self.app_id, container_token=alloc.container_token,
                command=command, env=env, resource=alloc.resource, port=alloc.port,
                gpu_indices=alloc.gpu_indices, localize=True))
        results = self.nodes.start(by_node)
        for launch in launches:
            key = tasks.task_key(launch.role, launch.index)
            alloc = self._allocations[launch.container_id]
            why = results.get(launch.container_id, "no answer from the node agent")
            if why is None:
                self.log(f"launched: {key} attempt {launch.attempt} in container {launch.container_id} "
                         f"on node {alloc.node_id} at {alloc.host}:{alloc.port}")
                self._handle(tasks.Started(launch.container_id, self._stimulus("started")))
            else:
                self.log(f"launch failed: {key} attempt {launch.attempt} in container "
                         f"{launch.container_id}: {why}")
                self._handle(tasks.StartFailed(launch.container_id, why, self._stimulus("start-failed")))

    def _stop(self, container_ids):
        by_node = {}
        for cid in container_ids:
            by_node.setdefault(self._allocations[cid].node_id, []).append(cid)
        names = [self.table.task_of(cid).key for cid in container_ids]
        self.log(f"stopping {', '.join(names)}")
        for node, err in self.nodes.stop(by_node).items():
            # resmgr stops whatever is left when the app ends, so this is worth a line, not a failure.
            self.log(f"could not stop containers on node {node}: {err}")

    def _finish(self, decision):
        self.log(f"finished {decision.final_status}: {decision.diagnostics}")
        self.resmgr.finish(decision.final_status, decision.diagnostics)


def _one_line(text, limit=300):
    flat = " | ".join(line.strip() for line in (text or "").splitlines() if line.strip())
    return flat if len(flat) <= limit else "..." + flat[-limit:]


def from_env(environ=None, **options):
    """An AppMaster configured from the container's environment; raises KeyError naming a missing var."""
    environ = os.environ if environ is None else environ
    missing = [k for k in (RESMGR_ENV, APP_ID_ENV, APP_TOKEN_ENV) if not environ.get(k)]
    if missing:
        raise KeyError(missing[0])
    attempt = environ.get(AM_ATTEMPT_ENV, "1")
    return AppMaster(environ[RESMGR_ENV], environ[APP_ID_ENV], environ[APP_TOKEN_ENV],
                     am_attempt=int(attempt) if attempt.isdigit() else 1, **options)
