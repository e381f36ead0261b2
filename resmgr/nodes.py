"""The node tracker: registrations, heartbeats and liveness of node agents (pure; the clock is passed in).

A node that sends no heartbeat for ``expiry_s`` is LOST: every container resmgr placed on it and has not
seen end is reported completed with exit code -100. Heartbeats repeat every container's status; the
tracker passes on only what changed, so the heartbeat path does little work when nothing happens.
"""

import dataclasses

from resmgr.model import EXIT_NODE_LOST, Res, completed_status

# Same numbers as common.proto's NodeState.
NODE_RUNNING, NODE_LOST = 1, 2


@dataclasses.dataclass
class NodeRecord:
    """What resmgr knows about one node agent."""

    node_id: str
    hostname: str
    capability: Res
    port_start: int
    port_end: int
    registered_at: float
    last_heartbeat: float
    state: int = NODE_RUNNING
    usage: object = None          # the last probed utilisation, kept as the node sent it
    statuses: dict = dataclasses.field(default_factory=dict)   # container_id -> last ContainerStatus
    expected: dict = dataclasses.field(default_factory=dict)   # container_id -> app_id, placed here, not ended
    to_kill: set = dataclasses.field(default_factory=set)      # told to the node on its next heartbeat


@dataclasses.dataclass(frozen=True)
class NodeLost:
    """A node stopped heart-beating; ``containers`` are the made-up COMPLETE statuses of its containers."""

    node_id: str
    hostname: str
    containers: tuple


@dataclasses.dataclass(frozen=True)
class HeartbeatResult:
    """What a heartbeat changed: statuses that are new or moved on, containers the node must stop."""

    known: bool
    changed: tuple = ()
    to_kill: tuple = ()


class NodeTracker:
    """Tracks node agents: who is there, what they run, who went silent."""

    def __init__(self, expiry_s=30.0):
        self.expiry_s = expiry_s
        self.nodes = {}   # node_id -> NodeRecord (LOST nodes stay listed)

    def register(self, node_id, hostname, capability, port_start, port_end, containers, now):
        """Take a (re-)registration; returns NodeLost events for the node's previous life, if any.

        Containers the node still runs from before are unknown to this incarnation: they are to be killed.
        """
        events = []
        old = self.nodes.get(node_id)
        if old is not None and old.state == NODE_RUNNING:
            events.append(self._lose(old, now, f"node {node_id} re-registered"))
        record = NodeRecord(node_id, hostname, capability, port_start, port_end, now, now)
        for status in containers:
            if not status.complete:
                record.to_kill.add(status.container_id)
        self.nodes[node_id] = record
        return events

    def heartbeat(self, node_id, usage, statuses, now):
        """Take a heartbeat: remember usage, pass on changed container statuses, drain the kill list."""
        record = self.nodes.get(node_id)
        if record is None or record.state != NODE_RUNNING:
            return HeartbeatResult(known=False)
        record.last_heartbeat = now
        record.usage = usage
        changed = []
        reported = set()
        for status in statuses:
            cid = status.container_id
            reported.add(cid)
            last = record.statuses.get(cid)
            if last is None or last.state != status.state:
                changed.append(status)
            record.statuses[cid] = status
            if not status.complete and cid not in record.expected:
                record.to_kill.add(cid)  # resmgr never placed it here or already gave up on it
        # An ended container the node no longer reports need not be remembered.
        for cid in [c for c, s in record.statuses.items() if c not in reported and s.complete]:
            del record.statuses[cid]
        kills = ()
        if record.to_kill:
            kills = tuple(sorted(record.to_kill))
            record.to_kill.clear()
        return HeartbeatResult(True, tuple(changed), kills)

    def expect(self, node_id, container_id, app_id):
        """Note that resmgr placed ``container_id`` of ``app_id`` on ``node_id``."""
        self.nodes[node_id].expected[container_id] = app_id

    def forget(self, node_id, container_id):
        """The container ended or was given up: it is no longer expected on its node."""
        record = self.nodes.get(node_id)
        if record is not None:
            record.expected.pop(container_id, None)

    def request_kill(self, node_id, container_id):
        """Ask the node, on its next heartbeat, to stop ``container_id`` (a backup to StopContainers)."""
        record = self.nodes.get(node_id)
        if record is not None and record.state == NODE_RUNNING:
            record.to_kill.add(container_id)

    def expire(self, now):
        """Mark every node silent for longer than the expiry LOST; returns one NodeLost per such node."""
        return [self._lose(r, now, f"node {r.node_id} lost")
                for r in list(self.nodes.values())
                if r.state == NODE_RUNNING and now - r.last_heartbeat > self.expiry_s]

    def running(self, node_id):
        """True when ``node_id`` is registered and not lost."""
        record = self.nodes.get(node_id)
        return record is not None and record.state == NODE_RUNNING

    def _lose(self, record, now, diagnostics):
        record.state = NODE_LOST
        lost = tuple(completed_status(cid, app_id, EXIT_NODE_LOST, diagnostics, now)
                     for cid, app_id in sorted(record.expected.items()))
        record.expected.clear()
        record.to_kill.clear()
        return NodeLost(record.node_id, record.hostname, lost)
