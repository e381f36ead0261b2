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

>>> import numpy as np
>>> route_slice(np.arange(10), [2], [3]).tolist(), route_slice(np.arange(10), [7], [-1]).tolist()
([2, 3, 4], [7, 8, 9])
>>> route_slice(np.arange(10), [8], [5]) is None  # out of bounds: sent by value, the master names the error
True
"""

import concurrent.futures
import random
import threading

from protos import tasklayer_pb2 as pb
from tasklayer.distributed.channel import ChannelClient, ChannelError
from tasklayer.distributed.transport import PUSH_BYTES, as_contiguous

_ROUTES_PER_CONNECTION = 256  # signatures whose routes a client keeps
_NO_ROUTES = ()


class Routed:
    """A feed value's stand-in on the master: the client pushed it (or its slices) to every consumer."""

    def __repr__(self):
        return "<routed feed>"


ROUTED = Routed()


class StaleRoutesError(Exception):
    """The routes a client followed are not those of the step's plan now (nothing ran)."""


def plan_routes(runs, derived, channel_of):
    """``[FeedRoute]`` of a plan: every consumer of every feed, or none of a feed that some consumer cannot
    take by route. ``runs`` are the plan's partitions (``.part.feeds``, ``.handle``, ``.client``; None = the
    master's own), ``derived`` the slices the master cuts, ``channel_of(run)`` a run's channel address or None."""
    routes, blocked = {}, set()
    for run in runs:
        channel = "" if run.client is None else channel_of(run)
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


class FeedRouter:
    """A client's side: the routes of each signature, and the pushes that follow them (thread-safe)."""

    def __init__(self, master_channel):
        self._master_channel = master_channel  # a ChannelClient to the master's own channel (route channel "")
        self._routes = {}  # signature -> (routes_id, [FeedRoute]) or _NO_ROUTES
        self._channels = {}
        self._lock = threading.Lock()
        self._pool = None

    def known(self, signature):
        """``(routes_id, routes)``, ``_NO_ROUTES`` (none to follow), or None (never asked)."""
        return self._routes.get(signature)

    def learn(self, signature, routes_id, routes):
        """Remember what the master answered to ``want_routes`` (no routes: never ask again)."""
        with self._lock:
            if len(self._routes) >= _ROUTES_PER_CONNECTION:
                self._routes.clear()
            self._routes[signature] = (routes_id, list(routes)) if routes_id and routes else _NO_ROUTES

    def forget(self, signature, stop=False):
        """Drop a signature's routes: to ask again (stale), or (``stop``) never to route it again."""
        with self._lock:
            if stop:
                self._routes[signature] = _NO_ROUTES
            else:
                self._routes.pop(signature, None)

    def push(self, step_id, routes, feeds, timeout):
        """Push every large feed that has routes to each of its consumers, in parallel; the names pushed.
        ChannelError when one push failed (others may have landed: the caller abandons the step)."""
        jobs = []
        for route in routes:
            value = feeds.get(route.feed)
            if value is None:
                continue
            arr = as_contiguous(value)
            if arr.nbytes <= PUSH_BYTES:
                continue  # small: inline in the RunStep is cheaper than a push
            part = route_slice(arr, list(route.begin), list(route.size))
            if part is None:
                continue
            jobs.append((route, part))
        # A feed is routed only when every one of its consumers gets it; the others go by value.
        counts = {}
        for route in routes:
            counts[route.feed] = counts.get(route.feed, 0) + 1
        pushed = {}
        for route, _ in jobs:
            pushed[route.feed] = pushed.get(route.feed, 0) + 1
        names = {name for name, n in pushed.items() if n == counts[name]}
        jobs = [(route, part) for route, part in jobs if route.feed in names]
        if not jobs:
            return set()
        futures = [self._executor().submit(self._push_one, step_id, route, part, timeout) for route, part in jobs[1:]]
        errors = []
        try:
            self._push_one(step_id, *jobs[0], timeout)
        except ChannelError as e:
            errors.append(e)
        for f in futures:
            try:
                f.result()
            except ChannelError as e:
                errors.append(e)
        if errors:
            raise errors[0]
        return names

    def _push_one(self, step_id, route, part, timeout):
        channel = self._master_channel if not route.channel else self._channel(route.channel)
        channel.push(step_id, route.key, part, timeout=timeout)

    def _channel(self, address):
        with self._lock:
            client = self._channels.get(address)
            if client is None or client.broken:
                if client is not None:
                    client.close()
                client = self._channels[address] = ChannelClient(address)
            return client

    def _executor(self):
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="feed-push")
            return self._pool

    def close(self):
        """Close the connections to the tasks."""
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
            pool, self._pool = self._pool, None
        for client in channels:
            client.close()
        if pool is not None:
            pool.shutdown(wait=False)


def new_step_id():
    """A random step id (odd, so never 0: 0 means "held by reference")."""
    return random.getrandbits(62) | 1
