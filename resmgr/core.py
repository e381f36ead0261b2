"""The resmgr's brain: scheduler, node tracker and app lifecycle joined, still without I/O.

Every method takes the time as ``now`` and returns actions for the daemon to carry out (launch an
appmaster, stop containers, write an app to the store). ``news_version`` grows whenever some app gets
something its appmaster's Allocate should hear, so the daemon knows when to wake long-polls.
"""

import collections
import dataclasses

from resmgr import apps as A
from resmgr.model import EXIT_STOPPED, Res, completed_status
from resmgr.nodes import NodeTracker
from resmgr.scheduler import (AppRemoved, ContainerFreed, ContainerRequest, GangAsked, GangPlaced,
                              GangRejected, NodeAdded, NodeRemoved, Scheduler)

DEFAULT_AM_RESOURCE = Res(1, 256, 0)
AM_EXIT_GRACE_S = 10.0   # after FinishApplicationMaster, the AM has this long to exit before it is stopped


# ---------------------------------------------------------------- actions
@dataclasses.dataclass(frozen=True)
class LaunchAM:
    """Start the appmaster of ``app_id`` in its placed container."""

    app_id: str
    attempt: int
    placement: object


@dataclasses.dataclass(frozen=True)
class StopContainers:
    """Stop these containers of ``app_id`` on ``node_id`` (with ``whole_app``: every one of the app there)."""

    node_id: str
    app_id: str
    container_ids: tuple
    whole_app: bool = False


@dataclasses.dataclass(frozen=True)
class PersistApp:
    """Write the app's record to the state store."""

    app_id: str


def am_resource(spec):
    """The AM container's resource: ``spec.am_resource``, or 1 vcore / 256 MB when unset."""
    r = getattr(spec, "am_resource", None)
    if r is None or (r.vcores, r.memory_mb, r.gpus) == (0, 0, 0):
        return DEFAULT_AM_RESOURCE
    return Res(r.vcores or 1, r.memory_mb or 256, r.gpus)


class ClusterState:
    """Scheduler + node tracker + apps, moved together by cluster events."""

    def __init__(self, expiry_s=30.0, max_am_attempts=2, validate=False):
        self.scheduler = Scheduler(validate=validate)
        self.nodes = NodeTracker(expiry_s)
        self.apps = A.AppManager(max_am_attempts)
        self.news_version = 0
        self._am_gangs = {}          # (app_id, scheduler gang id) -> attempt
        self._am_stop_due = {}       # app_id -> time after which a finished app's AM is stopped

    # ------------------------------------------------------------ nodes
    def register_node(self, node_id, hostname, capability, port_start, port_end, containers, now):
        """A node agent (re-)registered."""
        actions = []
        for lost in self.nodes.register(node_id, hostname, capability, port_start, port_end,
                                        containers, now):
            actions += self._node_lost(lost, now)
        if self.scheduler.has_node(node_id):
            self.scheduler.handle(NodeRemoved(node_id, stimulus_id=f"reregister-{node_id}"))
        actions += self._decide(self.scheduler.handle(NodeAdded(
            node_id, hostname, capability, port_start, port_end, stimulus_id=f"register-{node_id}")), now)
        return actions

    def heartbeat(self, node_id, usage, statuses, now):
        """A heartbeat: returns (HeartbeatResult, apps finished among those reported, actions)."""
        result = self.nodes.heartbeat(node_id, usage, statuses, now)
        actions = []
        for status in result.changed:
            actions += self._container_status(node_id, status, now)
        finished = sorted({s.app_id for s in statuses
                           if s.app_id in self.apps.apps and self.apps.apps[s.app_id].terminal})
        return result, finished, actions

    def tick(self, now):
        """Periodic work: expire silent nodes, stop appmasters that outstayed their finish."""
        actions = []
        for lost in self.nodes.expire(now):
            actions += self._node_lost(lost, now)
        for app_id, due in list(self._am_stop_due.items()):
            if now >= due:
                del self._am_stop_due[app_id]
                app = self.apps.get(app_id)
                am = app.containers.get(app.am_container_id) if app else None
                if am is not None and not am.status.complete:
                    actions += self._stop(app, [am])
        return actions

    def container_ended(self, node_id, status, now):
        """A container ended without its node saying so (e.g. it could not be started)."""
        return self._container_status(node_id, status, now)

    def stop_failed(self, node_id, container_ids):
        """StopContainers did not get through: ask again on the node's next heartbeat."""
        for cid in container_ids:
            self.nodes.request_kill(node_id, cid)

    # ------------------------------------------------------------ apps
    def submit(self, app_id, spec, spec_bytes, now):
        """Record a new app and ask for its appmaster's container."""
        self.apps.submit(app_id, spec, spec_bytes, spec.name, spec.queue, now)
        return [PersistApp(app_id)] + self._ask_am(app_id, now)

    def restore(self, app, now):
        """Take back an app from the store; one that had not ended starts a new AM attempt."""
        self.apps.restore(app)
        return [] if app.terminal else self._ask_am(app.app_id, now)

    def register_am(self, app_id, host, now):
        """The appmaster registered."""
        app = self.apps.get(app_id)
        before = app.state
        self.apps.am_registered(app_id, host, now)
        return [PersistApp(app_id)] if app.state != before else []

    def allocate(self, app_id, gangs, releases, now):
        """The appmaster gives back ``releases`` and asks for ``gangs`` ((gang_id, [(ask_id, role, index, Res)]))."""
        app = self.apps.get(app_id)
        if app.terminal:
            return []  # an appmaster that has not heard yet: nothing more is placed for an ended app
        actions = []
        gone = [app.containers[c] for c in releases if c in app.containers
                and not app.containers[c].status.complete]
        if gone:
            actions += self._stop(app, gone)
            for record in gone:
                record.status = completed_status(record.container_id, app_id, EXIT_STOPPED,
                                                  "released by the appmaster", now)
                self.nodes.forget(record.node_id, record.container_id)
                actions += self._decide(self.scheduler.handle(ContainerFreed(record.container_id)), now)
        for gang_id, asks in gangs:
            key = (app.am_attempt, gang_id)
            if key in app.gangs_seen:
                continue  # a repeated ask (a retried Allocate) is not a second gang
            app.gangs_seen.add(key)
            requests = tuple(ContainerRequest(self.apps.next_container_id(app_id), ask_id, res, role, index)
                             for ask_id, role, index, res in asks)
            actions += self._decide(self.scheduler.handle(GangAsked(
                app_id, f"{app.am_attempt}:{gang_id}", requests, stimulus_id=f"allocate-{app_id}")), now)
        return actions

    def finish_am(self, app_id, final_status, diagnostics, now):
        """The appmaster unregistered: end the app and stop its other containers."""
        app = self.apps.get(app_id)
        self.apps.finish(app_id, final_status, diagnostics, now)
        others = [c for c in app.live_containers() if c.container_id != app.am_container_id]
        self._am_stop_due[app_id] = now + AM_EXIT_GRACE_S
        return [PersistApp(app_id)] + self._end(app, others, now)

    def kill(self, app_id, reason, now):
        """Kill the app and every container of it; returns (killed, actions)."""
        app = self.apps.get(app_id)
        if not self.apps.kill(app_id, reason, now):
            return False, []
        self.news_version += 1   # its appmaster hears shutdown=true
        return True, [PersistApp(app_id)] + self._end(app, app.live_containers(), now, whole_app=True)

    # ------------------------------------------------------------ inner steps
    def _ask_am(self, app_id, now):
        app = self.apps.get(app_id)
        cid = self.apps.start_attempt(app_id)
        gang_id = f"am{app.am_attempt}"
        self._am_gangs[(app_id, gang_id)] = app.am_attempt
        request = ContainerRequest(cid, A.AM_ROLE, am_resource(app.spec), A.AM_ROLE, 0)
        return self._decide(self.scheduler.handle(GangAsked(app_id, gang_id, (request,),
                                                            stimulus_id=f"am-{app_id}")), now)

    def _decide(self, decisions, now):
        """Turn scheduler decisions into app changes and actions."""
        actions = []
        for d in decisions:
            am_attempt = self._am_gangs.pop((d.app_id, d.gang_id), None)
            if isinstance(d, GangPlaced):
                for p in d.placements:
                    self.nodes.expect(p.node_id, p.container_id, p.app_id)
                if am_attempt is not None:
                    self.apps.am_placed(d.app_id, d.placements[0], now)
                    actions += [PersistApp(d.app_id), LaunchAM(d.app_id, am_attempt, d.placements[0])]
                else:
                    self.apps.gang_placed(d.app_id, d.placements)
                    self.news_version += 1
            elif isinstance(d, GangRejected):
                if am_attempt is not None:
                    self.apps.fail(d.app_id, f"the appmaster can never be placed: {d.reason}", now)
                    actions.append(PersistApp(d.app_id))
                else:
                    self.apps.gang_rejected(d.app_id, d.gang_id.split(":", 1)[-1], d.reason)
                    self.news_version += 1
        return actions

    def _container_status(self, node_id, status, now):
        """A container's status moved on (reported by its node or made up for a lost node)."""
        if not status.complete:
            self.apps.container_status(status)
            return []
        self.nodes.forget(node_id, status.container_id)
        actions = self._decide(self.scheduler.handle(ContainerFreed(status.container_id)), now)
        record = self.apps.container_status(status)
        if record is None:
            return actions
        app = self.apps.get(status.app_id)
        if record.container_id == app.am_container_id and not app.terminal:
            actions += self._am_died(app, status, now)
        else:
            self.news_version += 1
        return actions

    def _am_died(self, app, status, now):
        """The AM's container ended before FinishApplicationMaster: retry it or fail the app."""
        why = f"exit code {status.exit_code}" + (f": {status.diagnostics}" if status.diagnostics else "")
        actions = self._end(app, app.live_containers(), now, whole_app=True)
        if self.apps.am_attempt_failed(app.app_id, why, now):
            actions += self._ask_am(app.app_id, now)
        self.news_version += 1
        return [PersistApp(app.app_id)] + actions

    def _end(self, app, to_stop, now, whole_app=False):
        """Stop ``to_stop``, drop the app's waiting gangs and free what it holds."""
        actions = self._stop(app, to_stop, whole_app)
        for (app_id, gang_id) in [k for k in self._am_gangs if k[0] == app.app_id]:
            del self._am_gangs[(app_id, gang_id)]
        actions += self._decide(self.scheduler.handle(AppRemoved(app.app_id, stimulus_id=f"end-{app.app_id}")),
                                now)
        return actions

    def _stop(self, app, records, whole_app=False):
        by_node = collections.defaultdict(list)
        for record in records:
            if self.nodes.running(record.node_id):
                by_node[record.node_id].append(record.container_id)
        return [StopContainers(node, app.app_id, tuple(cids), whole_app) for node, cids in sorted(by_node.items())]

    def _node_lost(self, lost, now):
        if self.scheduler.has_node(lost.node_id):
            self.scheduler.handle(NodeRemoved(lost.node_id, stimulus_id=f"lost-{lost.node_id}"))
        actions = []
        for status in lost.containers:
            actions += self._container_status(lost.node_id, status, now)
        return actions
