"""The gang scheduler: a pure state machine (no I/O, no threads, no clock).

Events go in through ``Scheduler.handle(event)`` and decisions come out. Nodes offer vcores, memory,
GPUs and a port range; a gang of container requests is placed all-or-nothing, each container getting
GPU indices on its node and a port unique on its hostname. Waiting gangs are retried on every event
that may have made room (a new ask, a freed container, a new node), oldest first; a younger gang may
jump a waiting one only ``max_passes`` times before the waiting one holds everything behind it, so a
big gang is not starved forever. All-or-nothing means two gangs never hold half of each other's needs.
"""

import collections
import dataclasses

from resmgr.model import Res, describe_capability, largest_capability, too_large_message


class SchedulerError(Exception):
    """An event the scheduler cannot take in its current state (a bug in the caller)."""


# ---------------------------------------------------------------- values

@dataclasses.dataclass(frozen=True)
class ContainerRequest:
    """One container of a gang, with the id it will get if placed."""

    container_id: str
    ask_id: str
    resource: Res
    role: str = ""
    task_index: int = 0


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one container of a gang was put."""

    app_id: str
    container_id: str
    ask_id: str
    node_id: str
    hostname: str
    port: int
    resource: Res
    gpu_indices: tuple = ()
    role: str = ""
    task_index: int = 0


# ---------------------------------------------------------------- events

@dataclasses.dataclass(frozen=True)
class NodeAdded:
    """A node joined (or re-joined after being removed)."""

    node_id: str
    hostname: str
    capability: Res
    port_start: int = 0
    port_end: int = 0
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class NodeRemoved:
    """A node left or was lost: its allocations are gone."""

    node_id: str
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class GangAsked:
    """An app asks for a gang of containers, all or nothing."""

    app_id: str
    gang_id: str
    requests: tuple
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class ContainerFreed:
    """A container ended or was released: its resources and port are free again."""

    container_id: str
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class AppRemoved:
    """An app ended: drop its waiting gangs and free all its containers."""

    app_id: str
    stimulus_id: str = ""


# ---------------------------------------------------------------- decisions

@dataclasses.dataclass(frozen=True)
class GangPlaced:
    """Every container of a gang got a place."""

    app_id: str
    gang_id: str
    placements: tuple


@dataclasses.dataclass(frozen=True)
class GangRejected:
    """A gang can never be placed (a container is larger than every node)."""

    app_id: str
    gang_id: str
    reason: str


# ---------------------------------------------------------------- state

@dataclasses.dataclass
class _Node:
    node_id: str
    hostname: str
    capability: Res
    port_start: int
    port_end: int
    used: Res = Res()
    free_gpus: list = dataclasses.field(default_factory=list)
    containers: set = dataclasses.field(default_factory=set)
    port_cursor: int = 0

    @property
    def free(self):
        return self.capability - self.used


@dataclasses.dataclass
class _Gang:
    app_id: str
    gang_id: str
    requests: tuple
    passed_over: int = 0


class Scheduler:
    """Places gangs of containers on nodes; ``handle(event) -> list of decisions``."""

    def __init__(self, max_passes=3, validate=False, log_size=1000):
        self.max_passes = max_passes
        self.validate = validate
        self.log = collections.deque(maxlen=log_size)  # (stimulus_id, event, decisions)
        self._nodes = {}            # node_id -> _Node, in registration order
        self._pending = []          # _Gang, oldest first
        self._allocations = {}      # container_id -> Placement
        self._host_ports = collections.defaultdict(set)  # hostname -> ports of live containers
        self._handlers = {
            NodeAdded: self._node_added,
            NodeRemoved: self._node_removed,
            GangAsked: self._gang_asked,
            ContainerFreed: self._container_freed,
            AppRemoved: self._app_removed,
        }

    # ------------------------------------------------------------ the one way in
    def handle(self, event):
        """Apply one event and return the decisions it leads to; an unknown event raises."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise SchedulerError(f"the scheduler has no transition for {type(event).__name__}")
        decisions = handler(event)
        self.log.append((event.stimulus_id, type(event).__name__, tuple(type(d).__name__ for d in decisions)))
        if self.validate:
            self.check_invariants()
        return decisions

    # ------------------------------------------------------------ queries
    def has_node(self, node_id):
        """True when ``node_id`` is a node of the scheduler."""
        return node_id in self._nodes

    def node_used(self, node_id):
        """The resources allocated on ``node_id``."""
        return self._nodes[node_id].used

    def node_containers(self, node_id):
        """The container ids allocated on ``node_id``."""
        return set(self._nodes[node_id].containers)

    def allocation(self, container_id):
        """The Placement of a live container, or None."""
        return self._allocations.get(container_id)

    def pending_gangs(self, app_id=None):
        """(app_id, gang_id) of waiting gangs, oldest first."""
        return [(g.app_id, g.gang_id) for g in self._pending if app_id in (None, g.app_id)]

    def capabilities(self):
        """The total capability of every node."""
        return [n.capability for n in self._nodes.values()]

    def never_placeable(self, what, resource):
        """Why ``resource`` fits no node's total capability, or None when it fits one (or no node exists)."""
        caps = self.capabilities()
        if not caps or any(resource.fits_in(c) for c in caps):
            return None
        largest = largest_capability(caps, resource)
        node_id = next(n.node_id for n in self._nodes.values() if n.capability is largest)
        return too_large_message(what, resource, largest, node_id)

    def waiting_reason(self, app_id):
        """Why ``app_id``'s oldest waiting gang is not placed yet, in one line; "" when none of its gangs waits.

        A gang that would not fit even were every other app's container gone says so (with what the nodes
        have in all): it waits for nodes to join, as Ray's infeasible placement groups do, and the user
        should know it, not watch an app sit at 0 running tasks.
        """
        gang = next((g for g in self._pending if g.app_id == app_id), None)
        if gang is None:
            return ""
        need = sum((r.resource for r in gang.requests), Res())
        count = len(gang.requests)
        roles = collections.Counter(r.role or r.ask_id for r in gang.requests)
        what = (f"the gang of {count} container{'s' if count != 1 else ''} "
                f"({', '.join(f'{n} {role}' for role, n in roles.items())}: {describe_capability(need)})")
        if not self._nodes:
            return f"{what} waits for a node to join"
        own = [p for p in self._allocations.values() if p.app_id == app_id]
        free = {nid: n.capability - sum((p.resource for p in own if p.node_id == nid), Res())
                for nid, n in self._nodes.items()}
        gpus = {nid: [g for g in range(n.capability.gpus)
                      if not any(g in p.gpu_indices for p in own if p.node_id == nid)]
                for nid, n in self._nodes.items()}
        if self._fit(gang, free, gpus, ports=False) is not None:
            return f"{what} waits for other apps' containers to free room"
        total = sum((n.capability for n in self._nodes.values()), Res())
        held = sum((p.resource for p in own), Res())
        nodes = len(self._nodes)
        return (f"{what} does not fit the {nodes} node{'s' if nodes != 1 else ''} of the cluster even with no other "
                f"app running (they have {describe_capability(total)} in all; this app holds "
                f"{describe_capability(held)}); it waits for nodes to join")

    # ------------------------------------------------------------ transitions
    def _node_added(self, ev):
        if ev.node_id in self._nodes:
            raise SchedulerError(f"node {ev.node_id} is already known; remove it before adding it again")
        if ev.capability.is_negative():
            raise SchedulerError(f"node {ev.node_id} has a negative capability {ev.capability}")
        self._nodes[ev.node_id] = _Node(ev.node_id, ev.hostname, ev.capability, ev.port_start,
                                        ev.port_end, free_gpus=list(range(ev.capability.gpus)),
                                        port_cursor=ev.port_start)
        return self._schedule()

    def _node_removed(self, ev):
        node = self._nodes.pop(ev.node_id, None)
        if node is None:
            raise SchedulerError(f"node {ev.node_id} is not known")
        for cid in list(node.containers):
            placement = self._allocations.pop(cid)
            self._host_ports[placement.hostname].discard(placement.port)
        return []

    def _gang_asked(self, ev):
        if any(g.app_id == ev.app_id and g.gang_id == ev.gang_id for g in self._pending):
            raise SchedulerError(f"gang {ev.gang_id} of {ev.app_id} is already waiting")
        if not ev.requests:
            return [GangRejected(ev.app_id, ev.gang_id, f"gang {ev.gang_id} asks for no container")]
        for req in ev.requests:
            if req.container_id in self._allocations:
                raise SchedulerError(f"container {req.container_id} is already allocated")
            if req.resource.is_negative():
                return [GangRejected(ev.app_id, ev.gang_id, f"{req.ask_id} asks a negative amount")]
            reason = self.never_placeable(req.ask_id or req.role, req.resource)
            if reason:
                return [GangRejected(ev.app_id, ev.gang_id, reason)]
        self._pending.append(_Gang(ev.app_id, ev.gang_id, tuple(ev.requests)))
        return self._schedule()

    def _container_freed(self, ev):
        # Completions may be reported more than once (heartbeats repeat): freeing twice is a no-op.
        if self._free(ev.container_id) is None:
            return []
        return self._schedule()

    def _app_removed(self, ev):
        self._pending = [g for g in self._pending if g.app_id != ev.app_id]
        freed = [cid for cid, p in self._allocations.items() if p.app_id == ev.app_id]
        for cid in freed:
            self._free(cid)
        return self._schedule() if freed else []

    # ------------------------------------------------------------ placing
    def _free(self, container_id):
        placement = self._allocations.pop(container_id, None)
        if placement is None:
            return None
        node = self._nodes.get(placement.node_id)
        if node is not None:
            node.used = node.used - placement.resource
            node.free_gpus = sorted(node.free_gpus + list(placement.gpu_indices))
            node.containers.discard(container_id)
        self._host_ports[placement.hostname].discard(placement.port)
        return placement

    def _schedule(self):
        """Place waiting gangs oldest first; a gang passed over too often blocks those behind it."""
        decisions, waiting = [], []
        for gang in list(self._pending):
            placements = self._try_place(gang)
            if placements is None:
                waiting.append(gang)
                if gang.passed_over >= self.max_passes:
                    break  # it holds the line: nothing younger may take what it waits for
                continue
            for earlier in waiting:
                earlier.passed_over += 1
            self._pending.remove(gang)
            for p in placements:
                self._commit(p)
            decisions.append(GangPlaced(gang.app_id, gang.gang_id, tuple(placements)))
        return decisions

    def _commit(self, p):
        node = self._nodes[p.node_id]
        node.used = node.used + p.resource
        node.free_gpus = [g for g in node.free_gpus if g not in p.gpu_indices]
        node.containers.add(p.container_id)
        if p.port:
            self._host_ports[p.hostname].add(p.port)
        self._allocations[p.container_id] = p

    def _try_place(self, gang):
        """Placements for every request of ``gang`` on what is free now, or None when one does not fit."""
        placed = self._fit(gang, {nid: n.free for nid, n in self._nodes.items()},
                           {nid: list(n.free_gpus) for nid, n in self._nodes.items()})
        if placed is None:
            return None
        for p in placed:
            node = self._nodes[p.node_id]
            if p.port:  # move the cursor past the port, so a just-freed port is not reused at once
                node.port_cursor = p.port + 1 if p.port + 1 < node.port_end else node.port_start
        return placed

    def _fit(self, gang, free, gpus, ports=True):
        """Placements for every request of ``gang`` given each node's ``free`` resources and ``gpus`` (both
        consumed), or None when one does not fit; ``ports=False`` leaves ports out (a what-if)."""
        taken_ports = collections.defaultdict(set)  # hostname -> ports tentatively given in this gang
        placed = {}
        # Biggest first: the hardest requests choose while there is the most room.
        order = sorted(range(len(gang.requests)), reverse=True,
                       key=lambda i: (gang.requests[i].resource.gpus, gang.requests[i].resource.memory_mb,
                                      gang.requests[i].resource.vcores))
        for i in order:
            req = gang.requests[i]
            best, best_port, best_score = None, 0, None
            for nid, node in self._nodes.items():
                if not req.resource.fits_in(free[nid]):
                    continue
                port = self._find_port(node, taken_ports[node.hostname]) if ports else 0
                if port is None:
                    continue
                score = _spread_score(free[nid] - req.resource, node.capability)
                if best_score is None or score > best_score:
                    best, best_port, best_score = node, port, score
            if best is None:
                return None
            free[best.node_id] = free[best.node_id] - req.resource
            indices = tuple(gpus[best.node_id][:req.resource.gpus])
            gpus[best.node_id] = gpus[best.node_id][req.resource.gpus:]
            if best_port:
                taken_ports[best.hostname].add(best_port)
            placed[i] = Placement(gang.app_id, req.container_id, req.ask_id, best.node_id, best.hostname,
                                  best_port, req.resource, indices, req.role, req.task_index)
        return [placed[i] for i in range(len(gang.requests))]

    def _find_port(self, node, tentative):
        """A port of the node's range free on its hostname (0 when the node reserves none), or None."""
        size = node.port_end - node.port_start
        if size <= 0:
            return 0
        used = self._host_ports[node.hostname]
        start = node.port_cursor if node.port_start <= node.port_cursor < node.port_end else node.port_start
        for k in range(size):
            port = node.port_start + (start - node.port_start + k) % size
            if port not in used and port not in tentative:
                return port
        return None

    # ------------------------------------------------------------ invariants
    def check_invariants(self):
        """Raise AssertionError when the bookkeeping disagrees with itself (tests switch this on)."""
        host_ports = collections.defaultdict(list)
        for nid, node in self._nodes.items():
            mine = [self._allocations[c] for c in node.containers]
            total = sum((p.resource for p in mine), Res())
            assert total == node.used, f"{nid}: used {node.used} != sum of allocations {total}"
            assert node.used.fits_in(node.capability), f"{nid}: used {node.used} over {node.capability}"
            given = [g for p in mine for g in p.gpu_indices]
            assert len(given) == len(set(given)), f"{nid}: a GPU given twice: {given}"
            assert not set(given) & set(node.free_gpus), f"{nid}: a GPU both given and free"
            for p in mine:
                if p.port:
                    host_ports[p.hostname].append(p.port)
        assert len(self._allocations) == sum(len(n.containers) for n in self._nodes.values())
        for host, ports in host_ports.items():
            assert len(ports) == len(set(ports)), f"{host}: a port given twice: {sorted(ports)}"


def _spread_score(left, capability):
    """Prefer the node left with the largest share free, so a gang spreads over the cluster."""
    share = 0.0
    if capability.vcores:
        share += left.vcores / capability.vcores
    if capability.memory_mb:
        share += left.memory_mb / capability.memory_mb
    return share
