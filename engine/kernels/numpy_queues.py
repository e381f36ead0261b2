"""Queue kernels (TF1's FIFOQueue, RandomShuffleQueue, PaddingFIFOQueue) and CountUpTo, the epoch counter of
queue-based input pipelines.

A queue lives in its process's ``ResourceMgr`` under its ``shared_name`` (so every session of a server, and every
task of a cluster whose ops run there, reaches the same one), or, when it has none, under its node name as a
private resource (``resource_mgr.PRIVATE_PREFIX``): each session gets its own, as TF keeps such a queue per session.
The queue op outputs a string scalar *handle* naming it; every other queue op takes that handle as input 0 and is
placed with the queue (the task layer colocates them), so the handle never crosses processes.

As in TF, waiting enqueues and dequeues are *attempts* served strictly in arrival order: an enqueue of many goes
in as room frees up, a dequeue of many takes elements as they arrive (so ``dequeue_many(n)`` works with a capacity
below ``n``), and ``close()`` queues up behind the enqueues already waiting. ``QueueState`` is that state machine:
every change happens under its condition, and waiting is left to ``_run``. A waiting attempt gives up on a
cancelled step (CancelledError: the step failed elsewhere, or its session was closed) or after the step's timeout
(DeadlineExceededError) and then takes nothing: what it had taken goes back to the front of the queue (TF drops
it). An attempt that waits when the program ends keeps no process alive: blocking ops run on daemon threads.

Ops (inputs -> outputs; attrs):
  FIFOQueueV2 / PaddingFIFOQueueV2() -> handle; component_types, shapes, capacity, container, shared_name
  RandomShuffleQueueV2() -> handle; the same, and min_after_dequeue, seed, seed2
  QueueEnqueueV2(handle, components...) -> (); Tcomponents, timeout_ms                       [blocks]
  QueueEnqueueManyV2(handle, components...) -> (); Tcomponents, timeout_ms                   [blocks]
  QueueDequeueV2(handle) -> components; component_types, timeout_ms                          [blocks]
  QueueDequeueManyV2 / QueueDequeueUpToV2(handle, n int32) -> components; component_types   [blocks]
  QueueCloseV2(handle) -> (); cancel_pending_enqueues                                        [blocks]
  QueueSizeV2(handle) -> int32;  QueueIsClosedV2(handle) -> bool
  CountUpTo(ref) -> T; limit   (OutOfRangeError "Reached limit of N" once the variable reached it)
  Assert(condition, data...) -> (); T, summarize   (InvalidArgumentError "assertion failed: [...]" when false;
                                                    string_input_producer's check that it has strings to give)
"""

import collections
import itertools
import sys
import threading

import numpy as np

from engine import dtypes, op_defs
from engine.errors import CancelledError, InvalidArgumentError, OpError, OutOfRangeError
from engine.graph_util import get_attr
from engine.kernels.numpy_accumulators import _wait
from engine.kernels.numpy_state import _ref_state
from engine.kernels.registry import register_kernel
from engine.kernels.resources import lookup_by_handle, node_resources
from engine.op_constants import QUEUE_OPS
from engine.resource_mgr import PRIVATE_PREFIX

QUEUE_CONTAINER = "_queues"
_private_ids = itertools.count()  # TF names private queues "_<n>_<node name>" in its messages

# An attempt's step result, as TF's QueueBase::RunResult.
_NO_PROGRESS, _PROGRESS, _COMPLETE = 0, 1, 2


def _none(node):
    return []


def _components(node):
    return list(get_attr(node, "component_types"))


for _op in QUEUE_OPS:
    op_defs.register_op(_op, dtypes.string, stateful=True)
op_defs.register_op("QueueEnqueueV2", _none, stateful=True, blocking=True)
op_defs.register_op("QueueEnqueueManyV2", _none, stateful=True, blocking=True)
op_defs.register_op("QueueDequeueV2", _components, stateful=True, blocking=True)
op_defs.register_op("QueueDequeueManyV2", _components, stateful=True, blocking=True)
op_defs.register_op("QueueDequeueUpToV2", _components, stateful=True, blocking=True)
op_defs.register_op("QueueCloseV2", _none, stateful=True, blocking=True)
op_defs.register_op("QueueSizeV2", dtypes.int32, stateful=True)
op_defs.register_op("QueueIsClosedV2", dtypes.bool_, stateful=True)
op_defs.register_op("CountUpTo", "T", stateful=True, ref_inputs=(0,))
op_defs.register_op("Assert", _none, stateful=True)


class _Attempt:
    """One waiting operation: an enqueue (``items`` left to put), a dequeue (``wanted`` elements, ``taken`` so
    far) or a close."""

    __slots__ = ("action", "items", "wanted", "allow_small", "taken", "done", "error")

    def __init__(self, action, items=(), wanted=0, allow_small=False):
        self.action = action
        self.items = collections.deque(items)
        self.wanted = wanted
        self.allow_small = allow_small
        self.taken = []
        self.done = False
        self.error = None


class QueueState:
    """One queue: its elements (tuples of arrays), whether it is closed, and the attempts waiting on it.

    >>> from engine.kernels.context import RunContext
    >>> q = QueueState("q", "FIFOQueue", [dtypes.int32], [()], capacity=2)
    >>> q.enqueue_many([np.int32([1, 2])], RunContext()); q.size()
    2
    >>> q.close(False, RunContext()); [int(v) for v in q.dequeue_many(5, RunContext(), allow_small=True)[0]]
    [1, 2]
    """

    def __init__(self, name, kind, component_types, shapes, capacity, min_after_dequeue=0, seed=0, seed2=0):
        self.name = name
        self.kind = kind
        self.dtypes = list(component_types)
        self.shapes = _norm_shapes(shapes)  # [] when none were declared
        self.capacity = sys.maxsize if capacity < 0 else capacity
        self.min_after_dequeue = min_after_dequeue
        self.closed = False
        self.cond = threading.Condition()
        self._random = kind == "RandomShuffleQueue"
        self._elements = [] if self._random else collections.deque()
        self._enqueues = collections.deque()
        self._dequeues = collections.deque()
        bits = np.random.PCG64([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF]) if (seed or seed2) \
            else np.random.PCG64()
        self._rng = np.random.Generator(bits)

    # ---------------------------------------------------------------- operations (each takes the lock)
    def enqueue(self, components, ctx):
        """Put one element, waiting for room."""
        self._run(_Attempt("enqueue", [self._element(components)]), self._enqueues, ctx, "enqueue")

    def enqueue_many(self, components, ctx):
        """Put every row of the components (sliced along dimension 0), waiting for room as needed."""
        self._run(_Attempt("enqueue", self._rows(components)), self._enqueues, ctx, "enqueue_many")

    def dequeue(self, ctx):
        """Take one element (a tuple of arrays), waiting for one."""
        attempt = self._run(_Attempt("dequeue", wanted=1), self._dequeues, ctx, "dequeue")
        return attempt.taken[0]

    def dequeue_many(self, n, ctx, allow_small=False):
        """Take ``n`` elements as one batch per component, waiting for them; ``allow_small``: once the queue is
        closed, a shorter last batch (dequeue_up_to)."""
        what = "DequeueUpTo" if allow_small else "DequeueMany"
        if n < 0:
            raise InvalidArgumentError(None, None, f"{self.kind} '{self.name}': {what} requested {n} < 0 elements")
        if not self.shapes or self.kind != "PaddingFIFOQueue" and any(s is None or None in s for s in self.shapes):
            raise InvalidArgumentError(None, None, f"{self.kind}'s DequeueMany and DequeueUpTo require the "
                                                   "components to have specified shapes.")
        attempt = self._run(_Attempt("dequeue", wanted=n, allow_small=allow_small), self._dequeues, ctx,
                            what.lower())
        return self._batch(attempt.taken)

    def close(self, cancel_pending_enqueues, ctx):
        """Close: later enqueues fail, dequeues drain what is left. Without ``cancel_pending_enqueues`` this waits
        behind the enqueues already waiting (as TF's close does); with it, those fail at once."""
        if not cancel_pending_enqueues:
            self._run(_Attempt("close"), self._enqueues, ctx, "close")
            return
        with self.cond:
            self.closed = True
            for attempt in self._enqueues:
                attempt.error = CancelledError(None, None, "Enqueue operation was cancelled")
                attempt.done = True
            self._enqueues.clear()
            self._flush()
            self.cond.notify_all()

    def size(self):
        """How many elements wait."""
        with self.cond:
            return len(self._elements)

    def is_closed(self):
        """Whether the queue was closed."""
        with self.cond:
            return self.closed

    def waiting(self):
        """``(enqueues, dequeues)``: how many attempts wait now (tests wait for an op to block)."""
        with self.cond:
            return len(self._enqueues), len(self._dequeues)

    def check_spec(self, kind, component_types, shapes, capacity, min_after_dequeue):
        """InvalidArgumentError in TF's words when another op names this queue with a different definition."""
        def fmt_types(ts):
            return ", ".join(_tf_name(t) for t in ts)

        def fmt_shapes(ss):
            return "[" + ", ".join(_fmt_shape(s) for s in ss) + "]"
        if kind != self.kind:
            raise InvalidArgumentError(None, None, f"Shared queue '{self.name}' is a {self.kind}, but a {kind} "
                                                   "was requested")
        if list(component_types) != self.dtypes:
            raise InvalidArgumentError(None, None, f"Shared queue '{self.name}' has component types "
                                                   f"{fmt_types(self.dtypes)} but requested component types were "
                                                   f"{fmt_types(component_types)}")
        if (sys.maxsize if capacity < 0 else capacity) != self.capacity:
            raise InvalidArgumentError(None, None, f"Shared queue '{self.name}' has capacity {self.capacity} but "
                                                   f"requested capacity was {capacity}")
        if _norm_shapes(shapes) != self.shapes:
            raise InvalidArgumentError(None, None, f"Shared queue '{self.name}' has component shapes "
                                                   f"{fmt_shapes(self.shapes)} but requested component shapes "
                                                   f"were {fmt_shapes(shapes)}")
        if min_after_dequeue != self.min_after_dequeue:
            raise InvalidArgumentError(None, None, f"Shared queue '{self.name}' has min_after_dequeue "
                                                   f"{self.min_after_dequeue} but requested min_after_dequeue was "
                                                   f"{min_after_dequeue}")

    # ---------------------------------------------------------------- waiting (the only blocking part)
    def _run(self, attempt, attempts, ctx, what):
        """Add ``attempt``, serve the queue, and wait until it is done; its error raised, else the attempt."""
        with self.cond:
            attempts.append(attempt)
            self._flush()
            try:
                _wait(self.cond, lambda: attempt.done, ctx, f"{self.kind} '{self.name}' ({what})")
            except OpError:
                if attempt.done and attempt.action != "dequeue" and attempt.error is None:
                    return attempt  # it took effect before the step was stopped: nothing to take back
                self._withdraw(attempt, attempts)
                raise
            if attempt.error is not None:
                raise attempt.error
            return attempt

    def _withdraw(self, attempt, attempts):
        """Forget a waiting attempt; a dequeue's elements go back to the front, so it takes nothing."""
        try:
            attempts.remove(attempt)
        except ValueError:
            pass  # already served
        if attempt.action == "dequeue" and attempt.error is None:
            self._restore(attempt)
        self._flush()

    # ---------------------------------------------------------------- the state machine (lock held)
    def _flush(self):
        """Serve the attempts in order until none can progress; wake the waiters if any did."""
        any_change = False
        while True:
            changed = self._serve(self._enqueues, self._try_enqueue)
            changed = self._serve(self._dequeues, self._try_dequeue) or changed
            if not changed:
                break
            any_change = True
        if any_change:
            self.cond.notify_all()

    @staticmethod
    def _serve(attempts, try_one):
        progress = False
        while attempts:
            attempt = attempts[0]
            result = try_one(attempt)
            if result == _COMPLETE:
                attempts.popleft()
                attempt.done = True
                progress = True
                continue
            progress = progress or result == _PROGRESS
            break
        return progress

    def _try_enqueue(self, attempt):
        if attempt.action == "close":
            if self.closed:
                attempt.error = CancelledError(None, None, f"Queue '{self.name}' is already closed.")
            self.closed = True
            return _COMPLETE
        if self.closed:
            attempt.error = CancelledError(None, None, f"{self.kind} '{self.name}' is closed.")
            return _COMPLETE
        moved = 0
        while attempt.items and len(self._elements) < self.capacity:
            self._elements.append(attempt.items.popleft())
            moved += 1
        if not attempt.items:
            return _COMPLETE
        return _PROGRESS if moved else _NO_PROGRESS

    def _try_dequeue(self, attempt):
        remaining = attempt.wanted - len(attempt.taken)
        if self.closed and len(self._elements) < remaining:
            self._restore(attempt)
            size = len(self._elements)
            if not (attempt.allow_small and size):
                attempt.error = OutOfRangeError(None, None, f"{self.kind} '{self.name}' is closed and has "
                                                            f"insufficient elements (requested {attempt.wanted}, "
                                                            f"current size {size})")
                return _COMPLETE
            attempt.wanted = remaining = size
        available = len(self._elements) - (0 if self.closed else self.min_after_dequeue)
        take = min(remaining, available)
        for _ in range(max(take, 0)):
            attempt.taken.append(self._pop())
        if len(attempt.taken) == attempt.wanted:
            return _COMPLETE
        return _PROGRESS if take > 0 else _NO_PROGRESS

    def _pop(self):
        if not self._random:
            return self._elements.popleft()
        i = int(self._rng.integers(len(self._elements)))
        elements = self._elements
        elements[i], elements[-1] = elements[-1], elements[i]
        return elements.pop()

    def _restore(self, attempt):
        if not attempt.taken:
            return
        if self._random:
            self._elements.extend(attempt.taken)
        else:
            self._elements.extendleft(reversed(attempt.taken))
        attempt.taken = []

    # ---------------------------------------------------------------- values in and out
    def _element(self, components):
        """One element as a tuple of our own read-only arrays, checked against the queue's definition."""
        self._check_arity(components)
        out = []
        for i, value in enumerate(components):
            value = self._cast(i, value)
            if self.shapes and not _fits(self.shapes[i], value.shape):
                raise InvalidArgumentError(None, None, f"Shape mismatch in tuple component {i}. Expected "
                                                       f"{_fmt_shape(self.shapes[i])}, got {_fmt_shape(value.shape)}")
            out.append(_frozen(value))
        return tuple(out)

    def _rows(self, components):
        """The elements of an enqueue_many: the components sliced along dimension 0."""
        self._check_arity(components)
        values = [_frozen(self._cast(i, v)) for i, v in enumerate(components)]  # rows are views of one copy
        for i, value in enumerate(values):
            if value.ndim == 0:
                raise InvalidArgumentError(None, None, f"Shape mismatch in tuple component {i}: enqueue_many "
                                                       "needs components of rank >= 1, got a scalar")
            if value.shape[0] != values[0].shape[0]:
                raise InvalidArgumentError(None, None, "All input tensors must have the same size in the 0th "
                                                       f"dimension. Component {i} has {value.shape[0]}, and "
                                                       f"should have {values[0].shape[0]}")
            if self.shapes and not _fits(self.shapes[i], value.shape[1:]):
                want = (value.shape[0],) + tuple(self.shapes[i])
                raise InvalidArgumentError(None, None, f"Shape mismatch in tuple component {i}. Expected "
                                                       f"{_fmt_shape(want)}, got {_fmt_shape(value.shape)}")
        return [tuple(v[r] for v in values) for r in range(values[0].shape[0] if values else 0)]

    def _check_arity(self, components):
        if len(components) != len(self.dtypes):
            raise InvalidArgumentError(None, None, f"{self.kind} '{self.name}' has {len(self.dtypes)} components, "
                                                   f"got {len(components)}")

    def _cast(self, i, value):
        value = np.asarray(value)
        want = self.dtypes[i]
        if want is dtypes.string and value.dtype.kind in "SU":  # numpy's fixed-width strings: as object bytes
            value = np.array([v.encode() if isinstance(v, str) else bytes(v) for v in value.reshape(-1).tolist()],
                             dtype=object).reshape(value.shape)
        if dtypes.as_dtype(value.dtype) is not want:
            raise InvalidArgumentError(None, None, f"Type mismatch in tuple component {i}. Expected "
                                                   f"{_tf_name(want)}, got {_tf_name(dtypes.as_dtype(value.dtype))}")
        return value

    def _batch(self, elements):
        """One array per component: the elements stacked (padded to the largest, for a PaddingFIFOQueue)."""
        out = []
        for i, dtype in enumerate(self.dtypes):
            parts = [e[i] for e in elements]
            declared = self.shapes[i]
            if parts and self.kind != "PaddingFIFOQueue":
                out.append(np.stack(parts))
                continue
            shape = tuple(d if d is not None else max((p.shape[k] for p in parts), default=0)
                          for k, d in enumerate(declared))
            batch = np.zeros((len(parts),) + shape, dtype=dtype.as_numpy_dtype)
            if dtype is dtypes.string:
                batch.fill(b"")
            for r, part in enumerate(parts):  # through a slice: an object array must take the elements
                batch[(slice(r, r + 1),) + tuple(slice(0, d) for d in part.shape)] = part[np.newaxis]
            out.append(batch)
        return tuple(out)


def _norm_shapes(shapes):
    return [None if s is None else tuple(s) for s in shapes]


def _fits(declared, shape):
    if declared is None:
        return True
    return len(declared) == len(shape) and all(d is None or d == s for d, s in zip(declared, shape))


def _frozen(value):
    value = np.array(value, copy=True)
    value.setflags(write=False)
    return value


def _fmt_shape(shape):
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


_TF_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


def _tf_name(dtype):
    return _TF_NAMES.get(dtype.name, dtype.name)


# -------------------------------------------------------------------- kernels
def lookup_queue(resources, handle, node):
    """The QueueState a handle names; NotFoundError-like InvalidArgumentError naming the node when it is not in
    this process (a queue op must run where its queue lives)."""
    return lookup_by_handle(resources, QUEUE_CONTAINER, handle, node, "queue")


def resource_key(node_name, shared_name=""):
    """The ResourceMgr name (in ``QUEUE_CONTAINER``) of the queue a queue op makes: its shared name, else its node's
    as a name private to the session."""
    return shared_name or PRIVATE_PREFIX + node_name


def _queue_factory(node, env):
    """The queue op: creates its queue on first run (or checks that the existing shared one matches) and outputs
    the handle naming it."""
    resources = node_resources(node, env)
    kind = QUEUE_OPS[node.op]
    types = list(get_attr(node, "component_types"))
    shapes = _norm_shapes(get_attr(node, "shapes", []))
    capacity = int(get_attr(node, "capacity", -1))
    min_after = int(get_attr(node, "min_after_dequeue", 0))
    shared = get_attr(node, "shared_name", "") or ""
    if not types:
        raise InvalidArgumentError(None, None, f"{node.op} node {node.name!r}: a queue needs at least one "
                                               "component type", node_name=node.name, op_type=node.op)
    if shapes and len(shapes) != len(types):
        raise InvalidArgumentError(None, None, f"{node.op} node {node.name!r}: {len(shapes)} shapes for "
                                               f"{len(types)} component types", node_name=node.name, op_type=node.op)
    if kind == "RandomShuffleQueue" and not 0 <= min_after < (sys.maxsize if capacity < 0 else capacity):
        raise InvalidArgumentError(None, None, f"min_after_dequeue {min_after} must be >= 0 and < capacity "
                                               f"{capacity}", node_name=node.name, op_type=node.op)
    if kind == "PaddingFIFOQueue" and len(shapes) != len(types):
        raise InvalidArgumentError(None, None, "PaddingFIFOQueue needs a shape for every component",
                                   node_name=node.name, op_type=node.op)
    key = resource_key(node.name, shared)
    handle = np.array(key.encode(), dtype=object)
    seeds = (int(get_attr(node, "seed", 0)), int(get_attr(node, "seed2", 0)))
    created = []

    def make():
        name = shared or f"_{next(_private_ids)}_{node.name}"
        created.append(True)
        return QueueState(name, kind, types, shapes, capacity, min_after, *seeds)

    def queue_fn():
        queue = resources.lookup_or_create(QUEUE_CONTAINER, key, make)
        if not created:  # a queue made by another op of that name: it must be the same queue
            queue.check_spec(kind, types, shapes, capacity, min_after)
            created.append(True)
        return handle
    return queue_fn


for _op in QUEUE_OPS:
    register_kernel(_op, "CPU")(_queue_factory)


@register_kernel("QueueEnqueueV2", "CPU", needs_context=True)
def queue_enqueue(node, env):
    """Put one element (the components after the handle)."""
    resources = node_resources(node, env)
    return lambda ctx, handle, *components: lookup_queue(resources, handle, node).enqueue(components, ctx)


@register_kernel("QueueEnqueueManyV2", "CPU", needs_context=True)
def queue_enqueue_many(node, env):
    """Put the rows of the components."""
    resources = node_resources(node, env)
    return lambda ctx, handle, *components: lookup_queue(resources, handle, node).enqueue_many(components, ctx)


def _outputs(values):
    return values[0] if len(values) == 1 else list(values)


@register_kernel("QueueDequeueV2", "CPU", needs_context=True)
def queue_dequeue(node, env):
    """Take one element."""
    resources = node_resources(node, env)
    return lambda ctx, handle: _outputs(lookup_queue(resources, handle, node).dequeue(ctx))


def _dequeue_many(allow_small):
    def factory(node, env):
        resources = node_resources(node, env)

        def fn(ctx, handle, n):
            n = np.asarray(n)
            if n.ndim or n.dtype.kind not in "iu":
                raise InvalidArgumentError(None, None, f"{node.op}: n must be an integer scalar, got {n.dtype} of "
                                                       f"shape {list(n.shape)}")
            return _outputs(lookup_queue(resources, handle, node).dequeue_many(int(n), ctx, allow_small))
        return fn
    return factory


register_kernel("QueueDequeueManyV2", "CPU", needs_context=True)(_dequeue_many(False))
register_kernel("QueueDequeueUpToV2", "CPU", needs_context=True)(_dequeue_many(True))


@register_kernel("QueueCloseV2", "CPU", needs_context=True)
def queue_close(node, env):
    """Close the queue (cancelling the waiting enqueues with ``cancel_pending_enqueues``)."""
    resources = node_resources(node, env)
    cancel = bool(get_attr(node, "cancel_pending_enqueues", False))
    return lambda ctx, handle: lookup_queue(resources, handle, node).close(cancel, ctx)


@register_kernel("QueueSizeV2", "CPU")
def queue_size(node, env):
    """How many elements wait."""
    resources = node_resources(node, env)
    return lambda handle: np.array(lookup_queue(resources, handle, node).size(), np.int32)


@register_kernel("QueueIsClosedV2", "CPU")
def queue_is_closed(node, env):
    """Whether the queue was closed."""
    resources = node_resources(node, env)
    return lambda handle: np.array(lookup_queue(resources, handle, node).is_closed())


@register_kernel("CountUpTo", "CPU")
def count_up_to(node, env):
    """The variable's value before adding 1; OutOfRangeError once it reached ``limit`` (limit_epochs)."""
    state_of = _ref_state(node, env)
    limit = int(get_attr(node, "limit"))

    def fn(ref):
        state = state_of()
        with state.lock:
            old = state.get()
            if int(old) >= limit:
                raise OutOfRangeError(None, None, f"Reached limit of {limit}", node_name=node.name,
                                      op_type=node.op)
            state.set(np.array(old + 1, dtype=state.dtype))
            return old
    return fn


@register_kernel("Assert", "CPU")
def assert_(node, env):
    """InvalidArgumentError showing the data tensors (their first ``summarize`` values) when the condition is
    false."""
    summarize = int(get_attr(node, "summarize", 3))

    def fn(condition, *data):
        if np.all(condition):
            return None
        shown = []
        for value in data:
            flat = np.asarray(value).reshape(-1)[:summarize].tolist()
            items = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
            shown.append(items[0] if np.ndim(value) == 0 else "[" + " ".join(items) + "]")
        raise InvalidArgumentError(None, None, "assertion failed: [" + "] [".join(shown) + "]",
                                   node_name=node.name, op_type=node.op)
    return fn
