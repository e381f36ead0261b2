"""Per-process state that outlives runs (variables and their slots, issue 5): named resources in containers."""

import threading

from engine.errors import NotFoundError


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

    def create(self, container, name, resource):
        """Store ``resource``, replacing any older one of that name."""
        with self._lock:
            self._items[(container, name)] = resource

    def lookup(self, container, name):
        """The resource; NotFoundError naming it if absent (e.g. a variable read before initialization)."""
        with self._lock:
            try:
                return self._items[(container, name)]
            except KeyError:
                raise NotFoundError(None, None, f"resource {container + '/' if container else ''}{name} does not "
                                                "exist", node_name=None) from None

    def lookup_or_create(self, container, name, make):
        """The resource, created by ``make()`` (under the lock, so once) if absent."""
        with self._lock:
            key = (container, name)
            if key not in self._items:
                self._items[key] = make()
            return self._items[key]

    def delete(self, container, name):
        """Forget a resource (no error if absent)."""
        with self._lock:
            self._items.pop((container, name), None)

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
