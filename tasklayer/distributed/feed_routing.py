"""Feeds that go straight to the task that consumes them, not through the master.

A client in another process than the master would otherwise send every feed to the master, which pushes it on
to the partitions that take it: twice the bytes on the wire and a copy in the master. Instead, the first run of
a signature with a large feed asks the master for its routes (``want_routes``): for each consuming partition,
the channel of its task, the rendezvous key and, when the master would only pass on a constant slice of the feed
(the seed's map/reduce mean), that slice. Later runs of that signature pick their step id, push every routed
feed (or slice) to each consumer in parallel, and send a RunStep that names the feeds as ``routed``.

Both ends agree on which routes were followed by ``routes_id``: when the master's plan changed since (a larger
graph, a task that moved), it refuses the step before running anything (``stale_routes``), drops what was pushed
and the client sends the feeds again, the old way. A push that fails (a task this client cannot reach) makes the
client abandon that step and stop routing the signature.

The master's side is pure planning (this module); the client's pushes are ``feed_router.FeedRouter``.

>>> import numpy as np
>>> route_slice(np.arange(10), [2], [3]).tolist(), route_slice(np.arange(10), [7], [-1]).tolist()
([2, 3, 4], [7, 8, 9])
>>> route_slice(np.arange(10), [8], [5]) is None  # out of bounds: sent by value, the master names the error
True
"""

import random

from protos import tasklayer_pb2 as pb


class Routed:
    """A feed value's stand-in on the master: the client pushed it (or its slices) to every consumer."""

    def __repr__(self):
        return "<routed feed>"


ROUTED = Routed()


class StaleRoutesError(Exception):
    """The routes a client followed are not those of the step's plan now (nothing ran)."""


def plan_routes(runs, derived, channels):
    """``[FeedRoute]`` of a plan: every consumer of every feed, or none of a feed that some consumer cannot
    take by route. ``runs`` are the plan's partitions (``.part.feeds``, ``.handle``, ``.local``, ``.task_key``),
    ``derived`` the slices the master cuts, ``channels`` the channel address of each remote task (None: none)."""
    routes, blocked = {}, set()
    for run in runs:
        channel = "" if run.local else channels.get(run.task_key)
        for name in run.part.feeds:
            source, begin, size = name, [], []
            if name in derived:
                source, _, begin, size = derived[name]
                begin, size = [int(b) for b in begin], [int(s) for s in size]
            if channel is None:
                blocked.add(source)
                continue
            routes.setdefault(source, []).append(
                pb.FeedRoute(feed=source, channel=channel, key=feed_key(run.handle, name), begin=begin, size=size))
    return [r for source, rs in routes.items() if source not in blocked for r in rs]


def feed_key(handle, name):
    """The rendezvous key of feed ``name`` of the partition registered as ``handle`` (one per consumer)."""
    return f"feed/{handle}/{name}"


def route_slice(arr, begin, size):
    """``arr[begin:begin+size]`` per dimension (size -1: to the end), or None when it is out of bounds."""
    if not begin:
        return arr
    if len(begin) != arr.ndim or len(size) != arr.ndim:
        return None
    index = []
    for b, s, dim in zip(begin, size, arr.shape):
        stop = dim if s == -1 else b + s
        if b < 0 or s < -1 or stop > dim:
            return None
        index.append(slice(b, stop))
    return arr[tuple(index)]


def new_step_id():
    """A random step id (odd, so never 0: 0 means "held by reference")."""
    return random.getrandbits(62) | 1
