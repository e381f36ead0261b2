"""The names a master gives: a session's handle, and the handles of its plans' partitions, which start with the
session's handle. A worker reads the session of a partition from its handle (what TF's RegisterGraphRequest
carries as ``session_handle``): the partitions of one session share that session's state on the worker, its
kernels' per-node state (random generators) and its private resources (queues without ``shared_name``).

>>> session = new_session_handle(7)
>>> session_of(f"{plan_prefix(session, 3)}//job:ps/replica:0/task:0/device:CPU:0") == session
True
"""

import random


def new_session_handle(serial):
    """A fresh session handle: random (a restarted master never reuses one) and without ``/``."""
    return f"s{random.getrandbits(40):010x}{serial}"


def plan_prefix(session_handle, plan_number):
    """What the partitions of a session's plan are named by (``prefix/device``)."""
    return f"{session_handle}/{plan_number}"


def session_of(graph_handle):
    """The session handle a partition's handle starts with (a handle without ``/`` is its own session)."""
    return graph_handle.split("/", 1)[0]
