"""The master's step planner: sessions (a graph per version), their plans cached per step signature, and the
retirement of plans a newer graph or a full cache replaced, counted by the steps that still use them. Plain
values in, plain values out: no sockets, no threads, not thread-safe (the runtime calls it under one lock).
Whatever must be unregistered from the tasks comes back as plans for the runtime to clean up.

>>> from protos import graph_pb2
>>> from engine import dtypes
>>> from engine.graph_util import make_node
>>> from tasklayer.distributed.cluster_spec import ClusterSpec
>>> g = graph_pb2.GraphDef(node=[make_node("x", "Placeholder", dtype=dtypes.float32),
...                              make_node("y", "Neg", ["x"], T=dtypes.float32)])
>>> planner = StepPlanner(ClusterSpec({"local": ["localhost:1"]}), ("local", 0))
>>> handle = planner.create_session(g, 1)
>>> plan, idle = planner.acquire(handle, 1, ["y:0"], ["x:0"], [])
>>> planner.acquire(handle, 1, ["y:0"], ["x:0"], [])[0] is plan, plan.users  # cached: one plan, two steps
(True, 2)
>>> planner.extend_session(handle, g, 2)  # a newer graph retires the plan; two steps still use it
[]
>>> planner.release(plan), planner.release(plan) == [plan]  # its last step hands it over for cleanup
([], True)
"""

import itertools

from engine.errors import FailedPreconditionError
from engine.graph_validation import validate_graph_def
from tasklayer.distributed import handles
from tasklayer.distributed.cluster_spec import task_name
from tasklayer.distributed.plan_builder import build_plan

# Plans kept per session (one per distinct fetches/feeds/targets signature); read at each new plan.
PLANS_PER_SESSION = 64


class PlannedSession:
    """A client's graph (its latest version) and its cached step plans."""

    def __init__(self, handle, graph_def, version, transfer_dtype=None):
        self.handle = handle
        self.transfer_dtype = transfer_dtype  # lossy transfer between tasks: "float16", "bfloat16" or None
        self.graph_def = graph_def
        self.version = version
        self.plans = {}  # signature -> Plan, oldest first
        self.plan_ids = itertools.count(1)
        self.tasks = set()  # (job, index) of every task a plan of this session ran on: its state lives there


class StepPlanner:
    """Sessions of the master on task ``task_key`` of ``cluster`` and the plans of their steps."""

    def __init__(self, cluster, task_key, optimize=True):
        self.cluster = cluster  # the runtime points it at a newer cluster when tasks move
        self.task_key = (task_key[0], int(task_key[1]))
        self.optimize = optimize
        self._sessions = {}
        self._session_ids = itertools.count(1)

    def create_session(self, graph_def, version, transfer_dtype=None):
        """A new session holding ``graph_def``; its handle. A malformed graph is refused (see ``check_graph``)."""
        check_graph(graph_def)
        handle = handles.new_session_handle(next(self._session_ids))
        self._sessions[handle] = PlannedSession(handle, graph_def, version, transfer_dtype)
        return handle

    def session(self, handle):
        """The session ``handle``; FailedPreconditionError when there is none (closed, or the server restarted)."""
        session = self._sessions.get(handle)
        if session is None:
            raise FailedPreconditionError(None, None, f"session {handle!r} is unknown to the master on "
                                                      f"{task_name(*self.task_key)} (closed, or the server restarted)")
        return session

    def extend_session(self, handle, graph_def, version):
        """Replace the session's graph by a newer version; the plans to clean up now (older plans are retired:
        each goes with the last step that uses it). A late, older extension changes nothing; a malformed graph is
        refused (see ``check_graph``) and the session keeps the graph it had."""
        session = self.session(handle)
        if version <= session.version:
            return []
        check_graph(graph_def)
        idle = _retire(session.plans.values())
        session.graph_def, session.version, session.plans = graph_def, version, {}
        return idle

    def tasks_of(self, handle):
        """Sorted ``(job, index)`` of the tasks the session's plans ran on (none for an unknown handle)."""
        session = self._sessions.get(handle)
        return [] if session is None else sorted(session.tasks)

    def close_session(self, handle):
        """Forget a session; all its plans, to clean up (none for an unknown handle)."""
        session = self._sessions.pop(handle, None)
        return [] if session is None else list(session.plans.values())

    def acquire(self, handle, version, fetches, feeds, targets):
        """``(plan, idle)``: the plan of a step (built on first use, then cached) taken for one step until
        ``release``, and the plans the cache dropped for it, to clean up now."""
        session = self.session(handle)
        if version > session.version:
            raise FailedPreconditionError(None, None, f"graph version {version} was never sent to the master "
                                                      f"(it holds version {session.version})")
        # An older version is a prefix of the graph held (graphs only grow): plan it on the newest.
        key = (session.version, tuple(fetches), tuple(sorted(feeds)), tuple(targets))
        idle = []
        plan = session.plans.get(key)
        if plan is None:
            plan = build_plan(session.graph_def, list(fetches), set(feeds), list(targets), self.cluster,
                              self.task_key, handles.plan_prefix(session.handle, next(session.plan_ids)),
                              self.optimize)
            if len(session.plans) >= PLANS_PER_SESSION:
                idle = _retire([session.plans.pop(next(iter(session.plans)))])
            session.plans[key] = plan
            session.tasks.update(run.task_key for run in plan.runs)
        plan.users += 1
        return plan, idle

    def release(self, plan):
        """A step is done with ``plan``; ``[plan]`` when it was retired and that was its last step, else []."""
        plan.users -= 1
        return [plan] if plan.retired and plan.users == 0 else []

    def handles(self):
        """Session handles held now."""
        return sorted(self._sessions)


def check_graph(graph_def):
    """Refuse a client's whole graph as TF's master does when it arrives, before anything is planned from it:
    InvalidArgumentError (NotFoundError for an unknown op) naming the first bad node. Strict: every input must be
    in the graph, and names may not start with ``_`` (those are the nodes a master inserts)."""
    validate_graph_def(graph_def, partial=False)


def handles_by_task(plans):
    """``{task key: [partition handles]}`` of ``plans``: what to unregister where."""
    out = {}
    for plan in plans:
        for run in plan.runs:
            out.setdefault(run.task_key, []).append(run.handle)
    return out


def _retire(plans):
    """Mark ``plans`` retired; those no step uses, to clean up now."""
    idle = []
    for plan in plans:
        plan.retired = True
        if plan.users == 0:
            idle.append(plan)
    return idle
