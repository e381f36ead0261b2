"""Per-process state that outlives runs (variables and their slots, queues, readers): named resources in
containers, and the view of them that one session's kernels get.

A resource whose name starts with ``PRIVATE_PREFIX`` is private to the session that made it (TF's per-session
resources: a queue or reader without ``shared_name``); every other one (variables, anything with a
``shared_name``) is shared by all sessions of the process, as on a TF server.
"""

import threading

from engine.errors import NotFoundError

# Names under this prefix belong to one session (see ``SessionResources``).
PRIVATE_PREFIX = "_private/"
# The containers of a session's private resources: this, the session's handle, "/", the resource's container.
_SESSION_CONTAINER = "_session:"


class ResourceMgr:
    """A thread-safe map ``(container, name) -> resource``; pass one to every ``Executor`` of a process.

    >>> rm = ResourceMgr(); rm.lookup_or_create("", "w", lambda: [0.0])
    [0.0]
    >>> rm.lookup("", "w")
    [0.0]
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._items = {}

    def _key(self, container, name):
        """Where ``(container, name)`` is stored (a session's view moves its private names)."""
        return container, name

    def create(self, container, name, resource):
        """Store ``resource``, replacing any older one of that name."""
        with self._lock:
            self._items[self._key(container, name)] = resource

    def lookup(self, container, name):
        """The resource; NotFoundError naming it if absent (e.g. a variable read before initialization)."""
        with self._lock:
            try:
                return self._items[self._key(container, name)]
            except KeyError:
                raise NotFoundError(None, None, f"resource {container + '/' if container else ''}{name} does not "
                                                "exist", node_name=None) from None

    def lookup_or_create(self, container, name, make):
        """The resource, created by ``make()`` (under the lock, so once) if absent."""
        with self._lock:
            key = self._key(container, name)
            if key not in self._items:
                self._items[key] = make()
            return self._items[key]

    def delete(self, container, name):
        """Forget a resource (no error if absent)."""
        with self._lock:
            self._items.pop(self._key(container, name), None)

    def clear(self, container=None):
        """Forget every resource (of one container, if given)."""
        with self._lock:
            if container is None:
                self._items.clear()
            else:
                for key in [k for k in self._items if k[0] == container]:
                    del self._items[key]

    def names(self, container=None):
        """Sorted ``(container, name)`` keys (of one container, if given)."""
        with self._lock:
            return sorted(k for k in self._items if container is None or k[0] == container)

    def for_session(self, handle):
        """The view of these resources that the kernels of session ``handle`` get (see ``SessionResources``)."""
        return SessionResources(self, handle)


class SessionResources(ResourceMgr):
    """One session's view of a process's ``ResourceMgr``: names under ``PRIVATE_PREFIX`` are the session's own
    (another session's kernels, making or looking up the same name, get their own), the rest are shared.

    >>> shared = ResourceMgr()
    >>> one, two = shared.for_session("s1"), shared.for_session("s2")
    >>> one.lookup_or_create("q", PRIVATE_PREFIX + "fifo", lambda: "s1's queue")
    "s1's queue"
    >>> two.lookup_or_create("q", PRIVATE_PREFIX + "fifo", lambda: "s2's queue")
    "s2's queue"
    >>> two.lookup_or_create("q", "by_shared_name", lambda: "one for all") is one.lookup("q", "by_shared_name")
    True
    >>> one.close(); one.names("q")  # its private queue is gone; what is shared stays
    [('q', 'by_shared_name')]
    >>> two.lookup("q", PRIVATE_PREFIX + "fifo")
    "s2's queue"
    """

    def __init__(self, shared, handle):  # noqa: D107 - no lock or map of its own: it stores into ``shared``'s
        self.handle = handle
        self._shared = shared
        self._lock = shared._lock
        self._items = shared._items
        self._prefix = f"{_SESSION_CONTAINER}{handle}/"

    def _key(self, container, name):
        if name.startswith(PRIVATE_PREFIX):
            return self._prefix + container, name
        return container, name

    def clear(self, container=None):
        """Forget this session's private resources (of one container, if given); shared ones stay."""
        with self._lock:
            for key in [k for k in self._items if self._owns(k, container)]:
                del self._items[key]

    def names(self, container=None):
        """Sorted ``(container, name)`` keys this session reaches: the shared ones and its own private ones
        (under their container as the session names it)."""
        with self._lock:
            keys = [k for k in self._items if not k[0].startswith(_SESSION_CONTAINER)]
            keys += [(k[0][len(self._prefix):], k[1]) for k in self._items if self._owns(k, None)]
        return sorted(k for k in keys if container is None or k[0] == container)

    def close(self):
        """The session is closed: forget its private resources."""
        self.clear()

    def for_session(self, handle):
        """Another session's view of the same process's resources."""
        return self._shared.for_session(handle)

    def _owns(self, key, container):
        return key[0].startswith(self._prefix) and (container is None or key[0] == self._prefix + container)
