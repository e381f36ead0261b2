"""A client's side of feed routing (see ``feed_routing``): the routes it learned for each signature, and the
pushes that follow them, in parallel, straight to the tasks' tensor channels."""

import concurrent.futures
import threading

from engine.errors import OpError
from tasklayer.distributed.channel_client import ChannelClient
from tasklayer.distributed.channel_codec import ChannelError
from tasklayer.distributed.feed_routing import route_slice
from tasklayer.distributed.tensor_stream import PUSH_BYTES, as_contiguous

_ROUTES_PER_CONNECTION = 256  # signatures whose routes a client keeps
_NO_ROUTES = ()


class FeedRouter:
    """A client's side: the routes of each signature, and the pushes that follow them (thread-safe)."""

    def __init__(self, master):
        self._master = master  # the master's PeerTransport: routes with channel "" go to the master itself
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
        if route.channel:
            self._channel(route.channel).push(step_id, route.key, part, timeout=timeout)
            return
        try:
            self._master.push_tensor(step_id, route.key, part, timeout=timeout)
        except OpError as e:
            raise ChannelError(str(e)) from None

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
