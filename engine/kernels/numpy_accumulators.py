"""Kernels of synchronous replica training (issue 5): conditional gradient accumulators and token queues.

TF's SyncReplicasOptimizer keeps, beside every trainable variable on its ps, a *conditional accumulator*:
workers add gradients tagged with their local step, gradients older than the accumulator's global step are
dropped, and the chief takes the average once ``num_required`` have arrived (which bumps the accumulator's
step). A *token queue* beside the global step lets each worker wait until the chief applied the step.

A sync step spans several accumulators, so the chief first *waits* on every one of them (nothing consumed) and
only then takes from all: a step that times out while waiting leaves every accumulator as it was.

Both live in the process's ``ResourceMgr`` under their ``shared_name`` attr (every worker's graph names them
alike, so all workers reach the same one). Unlike TF they take no handle input: each op carries the
resource's ``shared_name``, ``dtype`` and ``shape`` and is placed with its variable by the task layer.

Ops (inputs -> outputs; attrs):
  AccumulatorApplyGradient(local_step int64, gradient) -> (); shared_name, dtype, shape
  AccumulatorWaitForGradients(num_required int32) -> (); shared_name, dtype, shape  [blocks]
  AccumulatorTakeGradient(num_required int32) -> average; shared_name, dtype, shape   [blocks]
  AccumulatorNumAccumulated() -> int32; shared_name, dtype, shape
  AccumulatorSetGlobalStep(new_global_step int64) -> (); shared_name, dtype, shape
  TokenQueueEnqueueMany(tokens int64[n]) -> (); shared_name
  TokenQueueDequeue() -> int64 scalar; shared_name                                   [blocks]
  TokenQueueSize() -> int32; shared_name

Blocking kernels wait on a condition in short slices, so a cancelled step (``ctx.cancel``) stops them at once
(CancelledError) and ``ctx.timeout`` bounds the wait (DeadlineExceededError): they never pin an executor.
"""

import collections
import threading
import time

import numpy as np

from engine import dtypes, op_defs
from engine.errors import CancelledError, DeadlineExceededError, InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.resources import node_resources

ACCUMULATOR_CONTAINER = "_accumulators"
TOKEN_QUEUE_CONTAINER = "_token_queues"

# How often a blocked kernel looks at its step's cancel event.
_WAIT_SLICE = 0.02


def _none(node):
    return []


op_defs.register_op("AccumulatorApplyGradient", _none, stateful=True)
op_defs.register_op("AccumulatorWaitForGradients", _none, stateful=True, blocking=True)
op_defs.register_op("AccumulatorTakeGradient", "dtype", stateful=True, blocking=True)
op_defs.register_op("AccumulatorNumAccumulated", dtypes.int32, stateful=True)
op_defs.register_op("AccumulatorSetGlobalStep", _none, stateful=True)
op_defs.register_op("TokenQueueEnqueueMany", _none, stateful=True)
op_defs.register_op("TokenQueueDequeue", dtypes.int64, stateful=True, blocking=True)
op_defs.register_op("TokenQueueSize", dtypes.int32, stateful=True)


def _wait(cond, ready, ctx, what):
    """Wait (holding ``cond``) until ``ready()``; CancelledError on a cancelled step (checked first: a step
    cancelled while it waited takes nothing, even what arrived as it woke), DeadlineExceededError after
    ``ctx.timeout`` seconds."""
    cancel = ctx.cancel if ctx is not None else None
    timeout = ctx.timeout if ctx is not None else None
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if cancel is not None and cancel.is_set():
            raise CancelledError(None, None, f"{what}: step cancelled while waiting")
        if ready():
            return
        slice_s = _WAIT_SLICE
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceededError(None, None, f"{what}: still waiting after {timeout:g} s")
            slice_s = min(slice_s, left)
        cond.wait(slice_s)


class AccumulatorState:
    """Gradients of one variable for the current global step: their running sum and count."""

    def __init__(self, name, dtype, shape):
        self.name = name
        self.dtype = np.dtype(dtype)
        self.shape = shape  # tuple with None for unknown dims, or None for unknown rank
        self.cond = threading.Condition()
        self.global_step = 0
        self.total = None
        self.count = 0
        self.dropped = 0  # stale gradients seen (for tests and logs)

    def apply(self, local_step, grad):
        """Add ``grad`` unless it is stale (``local_step`` < the accumulator's global step); True if added."""
        grad = np.asarray(grad)
        if not _fits(self.shape, grad.shape):
            raise InvalidArgumentError(None, None, f"accumulator {self.name}: gradient of shape "
                                                   f"{list(grad.shape)} does not match {list(self.shape)}")
        with self.cond:
            if local_step < self.global_step:
                self.dropped += 1
                return False
            if self.total is None:
                self.total = grad.astype(self.dtype, copy=True)
            else:
                if self.total.shape != grad.shape:
                    raise InvalidArgumentError(None, None, f"accumulator {self.name}: gradient of shape "
                                                           f"{list(grad.shape)} does not match earlier ones "
                                                           f"{list(self.total.shape)}")
                self.total += grad
            self.count += 1
            self.cond.notify_all()
            return True

    def wait(self, num_required, ctx):
        """Wait until ``num_required`` gradients wait for the current step; consumes nothing."""
        with self.cond:
            self._wait_for(num_required, ctx, "wait_for_grads")

    def take(self, num_required, ctx):
        """Wait for ``num_required`` gradients, return their average, reset, and bump the global step."""
        with self.cond:
            self._wait_for(num_required, ctx, "take_grad")
            average = self.total / self.count
            self.total, self.count = None, 0
            self.global_step += 1
            return average.astype(self.dtype, copy=False)

    def _wait_for(self, num_required, ctx, what):
        if num_required < 1:
            raise InvalidArgumentError(None, None, f"accumulator {self.name}: num_required must be >= 1, got "
                                                   f"{num_required}")
        _wait(self.cond, lambda: self.count >= num_required, ctx,
              f"accumulator {self.name} ({what} of {num_required})")

    def set_global_step(self, step):
        """Jump to ``step`` (the chief does it at start): gradients of older steps are dropped from now on,
        and what was gathered for an older step is discarded."""
        with self.cond:
            if step != self.global_step:
                self.total, self.count = None, 0
            self.global_step = step


class TokenQueueState:
    """A FIFO of int64 tokens (global-step values) that workers take before their next step."""

    def __init__(self, name):
        self.name = name
        self.cond = threading.Condition()
        self.items = collections.deque()

    def enqueue_many(self, tokens):
        """Append every token."""
        with self.cond:
            self.items.extend(int(t) for t in np.asarray(tokens).reshape(-1))
            self.cond.notify_all()

    def dequeue(self, ctx):
        """The oldest token, waiting for one."""
        with self.cond:
            _wait(self.cond, lambda: bool(self.items), ctx, f"token queue {self.name} (dequeue)")
            return self.items.popleft()

    def size(self):
        """How many tokens wait."""
        with self.cond:
            return len(self.items)


def _fits(declared, shape):
    if declared is None:
        return True
    return len(declared) == len(shape) and all(d is None or d == s for d, s in zip(declared, shape))


def _accumulator(node, env):
    """The AccumulatorState this node names (created on first use by whichever op comes first)."""
    resources = node_resources(node, env)
    shared = get_attr(node, "shared_name", "") or ""
    if not shared:
        raise InvalidArgumentError(None, None, f"{node.op} node {node.name!r} has no shared_name attr",
                                   node_name=node.name, op_type=node.op)
    dtype = get_attr(node, "dtype")
    shape = get_attr(node, "shape", None)
    return resources.lookup_or_create(ACCUMULATOR_CONTAINER, shared,
                                      lambda: AccumulatorState(shared, dtype.as_numpy_dtype, shape))


def _token_queue(node, env):
    resources = node_resources(node, env)
    shared = get_attr(node, "shared_name", "") or node.name
    return resources.lookup_or_create(TOKEN_QUEUE_CONTAINER, shared, lambda: TokenQueueState(shared))


def _int_scalar(value, what, node):
    value = np.asarray(value)
    if value.ndim or value.dtype.kind not in "iu":
        raise InvalidArgumentError(None, None, f"{node.op}: {what} must be an integer scalar, got "
                                               f"{value.dtype} of shape {list(value.shape)}")
    return int(value)


@register_kernel("AccumulatorApplyGradient", "CPU")
def accumulator_apply_gradient(node, env):
    """Add a gradient tagged with the worker's local step (dropped when stale)."""
    state = _accumulator(node, env)

    def fn(local_step, gradient):
        state.apply(_int_scalar(local_step, "local_step", node), gradient)
    return fn


@register_kernel("AccumulatorWaitForGradients", "CPU", needs_context=True)
def accumulator_wait_for_gradients(node, env):
    """Block until ``num_required`` gradients arrived for the current step, taking none."""
    state = _accumulator(node, env)
    return lambda ctx, num_required: state.wait(_int_scalar(num_required, "num_required", node), ctx)


@register_kernel("AccumulatorTakeGradient", "CPU", needs_context=True)
def accumulator_take_gradient(node, env):
    """The average of ``num_required`` gradients (blocks until they arrived)."""
    state = _accumulator(node, env)
    return lambda ctx, num_required: state.take(_int_scalar(num_required, "num_required", node), ctx)


@register_kernel("AccumulatorNumAccumulated", "CPU")
def accumulator_num_accumulated(node, env):
    """How many gradients wait for the current step."""
    state = _accumulator(node, env)
    return lambda: np.array(state.count, np.int32)


@register_kernel("AccumulatorSetGlobalStep", "CPU")
def accumulator_set_global_step(node, env):
    """Set the accumulator's global step."""
    state = _accumulator(node, env)
    return lambda step: state.set_global_step(_int_scalar(step, "new_global_step", node))


@register_kernel("TokenQueueEnqueueMany", "CPU")
def token_queue_enqueue_many(node, env):
    """Append tokens (a 1-D int vector, or a scalar)."""
    queue = _token_queue(node, env)
    return lambda tokens: queue.enqueue_many(tokens)


@register_kernel("TokenQueueDequeue", "CPU", needs_context=True)
def token_queue_dequeue(node, env):
    """Take one token (blocks until there is one)."""
    queue = _token_queue(node, env)
    return lambda ctx: np.array(queue.dequeue(ctx), np.int64)


@register_kernel("TokenQueueSize", "CPU")
def token_queue_size(node, env):
    """How many tokens wait."""
    queue = _token_queue(node, env)
    return lambda: np.array(queue.size(), np.int32)
