"""TF1's queues: ``tf.FIFOQueue``, ``tf.RandomShuffleQueue``, ``tf.PaddingFIFOQueue`` and their ``tf.QueueBase``.

A queue is a resource of the process that runs its queue op (``engine/kernels/numpy_queues.py``): the op outputs
a string handle, and every method builds an op that takes it and is colocated with the queue, so a queue placed
with ``tf.device("/job:ps/task:0")`` is used there by every worker. Give it a ``shared_name`` to share it across
sessions (and across the between-graph replicas of a cluster, whose graphs each build their own queue op).

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     q = tf.FIFOQueue(3, [tf.int32, tf.float32], shapes=[[], [2]])
...     enq = q.enqueue_many([[1, 2], [[0.5, 1.0], [1.5, 2.0]]])
...     ids, rows = q.dequeue_many(2)
...     with tf.Session() as sess:
...         sess.run(enq)
...         sess.run([ids, rows])
[array([1, 2], dtype=int32), array([[0.5, 1. ],
       [1.5, 2. ]], dtype=float32)]
"""

import functools
import hashlib

import numpy as np

from engine import tensor_codec
from engine.op_constants import QUEUE_OPS
from tasklayer import dtypes as dtypes_lib
from tasklayer.graph import Tensor, colocate_with, control_dependencies, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, random_ops, slicing_ops
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.ops.static_value import constant_int
from tasklayer.shapes import TensorShape, unknown_shape

QUEUE_OP_TYPES = tuple(QUEUE_OPS)


# ---------------------------------------------------------------------- graph ops
def _shape_attr(value):
    """A shape attr (a TensorShapeProto as built here, a tuple after an import) as a TensorShape."""
    if hasattr(value, "dim") and hasattr(value, "unknown_rank"):
        value = tensor_codec.shape_from_proto(value)
    return TensorShape(value)


def declared_shapes(handle):
    """The component shapes declared on the queue op behind ``handle`` (None when unknown)."""
    op = handle.op
    if op.type in QUEUE_OP_TYPES:
        shapes = op.get_attr("shapes")
        if shapes:
            return [_shape_attr(s) for s in shapes]
    return None


def _check_handle(op):
    handle = op.inputs[0]
    if handle.dtype != dtypes_lib.string or not handle.shape.is_compatible_with(()):
        raise ValueError(f"{who(op)}: input 0 must be a queue handle (a string scalar), got {handle.dtype.name} "
                         f"of shape {handle.shape}")


def _infer_queue(op):
    return [(dtypes_lib.string, ())]


def _infer_none(op):
    _check_handle(op)
    return []


def _infer_dequeue(op):
    _check_handle(op)
    types = op.get_attr("component_types")
    shapes = declared_shapes(op.inputs[0]) or [unknown_shape() for _ in types]
    if op.type == "QueueDequeueV2":
        return list(zip(types, shapes))
    n = op.inputs[1]
    if n.dtype != dtypes_lib.int32 or not n.shape.is_compatible_with(()):
        raise ValueError(f"{who(op)}: n must be an int32 scalar, got {n.dtype.name} of shape {n.shape}")
    batch = constant_int(n) if op.type == "QueueDequeueManyV2" else None
    if batch is not None and batch < 0:
        raise ValueError(f"Input 'n' must be >= 0, but is {batch} for '{op.name}'")
    return [(t, TensorShape([batch]).concatenate(s)) for t, s in zip(types, shapes)]


for _op in QUEUE_OP_TYPES:
    register_op(_op, _infer_queue, stateful=True)
for _op in ("QueueEnqueueV2", "QueueEnqueueManyV2", "QueueCloseV2"):
    register_op(_op, _infer_none, stateful=True)
for _op in ("QueueDequeueV2", "QueueDequeueManyV2", "QueueDequeueUpToV2"):
    register_op(_op, _infer_dequeue, stateful=True)
register_op("QueueSizeV2", lambda op: _infer_none(op) or [(dtypes_lib.int32, ())], stateful=True)
register_op("QueueIsClosedV2", lambda op: _infer_none(op) or [(dtypes_lib.bool_, ())], stateful=True)
# Every queue op type (tasklayer.grad_rules.data_flow_grad declares them not differentiable).
QUEUE_USE_OP_TYPES = (*QUEUE_OP_TYPES, "QueueEnqueueV2", "QueueEnqueueManyV2", "QueueCloseV2", "QueueDequeueV2",
                      "QueueDequeueManyV2", "QueueDequeueUpToV2", "QueueSizeV2", "QueueIsClosedV2")


# ---------------------------------------------------------------------- argument normalisation (TF's rules)
def _as_type_list(types):
    if types is None:
        raise TypeError("dtypes must be given")
    types = list(types) if isinstance(types, (list, tuple)) else [types]
    return [dtypes_lib.as_dtype(t) for t in types]


def _as_shape_list(shapes, unknown_dim_allowed=False):
    if unknown_dim_allowed and (not isinstance(shapes, (list, tuple)) or not shapes or any(
            s is None or isinstance(s, int) for s in shapes)):
        raise ValueError("When providing partial shapes, a list of shapes must be provided.")
    if shapes is None:
        return None
    if isinstance(shapes, TensorShape):
        shapes = [shapes]
    if not isinstance(shapes, (list, tuple)):
        raise TypeError(f"Shapes must be a TensorShape or a list or tuple of TensorShapes, got {type(shapes)} "
                        "instead.")
    if all(s is None or isinstance(s, int) for s in shapes):  # one shape given as a list of dims
        shapes = [shapes]
    shapes = [TensorShape(s) for s in shapes]
    if not unknown_dim_allowed and any(not s.is_fully_defined() for s in shapes):
        raise ValueError(f"All shapes must be fully defined: {shapes}")
    if any(s.ndims is None for s in shapes):
        raise ValueError(f"All shapes must have a defined rank: {shapes}")
    return shapes


def _as_name_list(names, types):
    if names is None:
        return None
    names = list(names) if isinstance(names, (list, tuple)) else [names]
    if len(names) != len(types):
        raise ValueError(f"List of names must have the same length as the list of dtypes, received "
                         f"len(names)={len(names)},len(dtypes)={len(types)}")
    return names


def _shape_common(s1, s2):
    """The most specific shape both ``s1`` and ``s2`` satisfy."""
    s1, s2 = TensorShape(s1), TensorShape(s2)
    if s1.ndims is None or s2.ndims is None or s1.ndims != s2.ndims:
        return unknown_shape()
    return TensorShape([a if a is not None and a == b else None for a, b in zip(s1.as_list(), s2.as_list())])


def _create_queue(op_type, types, shapes, capacity, shared_name, name, **extra):
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)):
        raise TypeError(f"capacity must be an int, got {capacity!r}")
    attrs = {"component_types": types, "shapes": [s.as_proto() for s in shapes or []], "capacity": int(capacity),
             "container": "", "shared_name": shared_name or ""}
    attrs.update(extra)
    with control_dependencies(None):  # TF builds a queue in its init scope: never behind a step's ops
        return make_op(op_type, [], attrs, name).outputs[0]


# ---------------------------------------------------------------------- the queue classes
class QueueBase:
    """A queue of tuples of tensors (one per component); the methods build ops, ``Session.run`` runs them."""

    def __init__(self, dtypes, shapes, names, queue_ref, colocate_op=None):
        self._dtypes = list(dtypes)
        if shapes is not None:
            if len(shapes) != len(dtypes):
                raise ValueError(f"Queue shapes must have the same length as dtypes, received "
                                 f"len(shapes)={len(shapes)}, len(dtypes)={len(dtypes)}")
            self._shapes = [TensorShape(s) for s in shapes]
        else:
            self._shapes = [unknown_shape() for _ in self._dtypes]
        if names is not None and len(names) != len(dtypes):
            raise ValueError(f"Queue names must have the same length as dtypes,received len(names)={len(names)},"
                             f"len {len(dtypes)}")
        self._names = names
        self._queue_ref = queue_ref
        self._colocate_op = colocate_op if colocate_op is not None else queue_ref.op
        self._name = queue_ref.op.name.split("/")[-1]

    @staticmethod
    def from_list(index, queues):
        """A queue that acts on ``queues[index]`` (``index`` a scalar int tensor); the queues must agree on
        dtypes and names, and the result's shapes are what their shapes have in common."""
        if not queues or not isinstance(queues, list) or not all(isinstance(q, QueueBase) for q in queues):
            raise TypeError("A list of queues expected")
        types = queues[0].dtypes
        if not all(types == q.dtypes for q in queues[1:]):
            raise TypeError("Queues do not have matching component dtypes.")
        names = queues[0].names
        if not all(names == q.names for q in queues[1:]):
            raise TypeError("Queues do not have matching component names.")
        shapes = [functools.reduce(_shape_common, s) for s in zip(*[q.shapes for q in queues])]
        colocate_op = queues[0]._colocate_op
        with colocate_with(colocate_op, ignore_existing=True):
            selected = slicing_ops.gather(array_ops.stack([q.queue_ref for q in queues]), index)
        return QueueBase(types, shapes, names, selected, colocate_op)

    @property
    def queue_ref(self):
        """The queue's handle (a string scalar tensor)."""
        return self._queue_ref

    @property
    def name(self):
        """The name of the queue op."""
        return self._queue_ref.op.name

    @property
    def dtypes(self):
        """The component dtypes."""
        return self._dtypes

    @property
    def shapes(self):
        """The component shapes (unknown where none were declared)."""
        return self._shapes

    @property
    def names(self):
        """The component names (None unless the queue was built with ``names``)."""
        return self._names

    # ---------------------------------------------------------------- ops
    def _queue_op(self, op_type, inputs, attrs, name):
        """An op of this queue, placed with it."""
        attrs = dict(attrs, _class=[f"loc:@{self._colocate_op.name}"])
        with colocate_with(self._colocate_op, ignore_existing=True):
            return make_op(op_type, inputs, attrs, name)

    def _check_enqueue_dtypes(self, vals):
        if isinstance(vals, dict):
            if not self._names:
                raise ValueError("Queue must have names to enqueue a dictionary")
            if sorted(self._names, key=str) != sorted(vals.keys(), key=str):
                raise ValueError(f"Keys in dictionary to enqueue do not match names of Queue.  Dictionary: "
                                 f"{sorted(vals.keys())},Queue: {sorted(self._names)}")
            vals = [vals[k] for k in self._names]
        else:
            if self._names:
                raise ValueError("You must enqueue a dictionary in a Queue with names")
            if not isinstance(vals, (list, tuple)):
                vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"Queue '{self.name}' has {len(self._dtypes)} components, but {len(vals)} values were "
                             "given to enqueue")
        return [convert_to_tensor(v, dtype=t, name=f"component_{i}")
                for i, (v, t) in enumerate(zip(vals, self._dtypes))]

    @staticmethod
    def _scope_vals(vals):
        if isinstance(vals, (list, tuple)):
            return list(vals)
        if isinstance(vals, dict):
            return list(vals.values())
        return [vals]

    def enqueue(self, vals, name=None):
        """An op putting one element (a tensor, a list/tuple of them, or a dict for a queue with names); it waits
        while the queue is full, and fails with CancelledError once the queue is closed."""
        with name_scope(name, f"{self._name}_enqueue", self._tensors_in(vals)) as scope:
            vals = self._check_enqueue_dtypes(vals)
            for val, shape in zip(vals, self._shapes):
                val.shape.assert_is_compatible_with(shape)
            return self._queue_op("QueueEnqueueV2", [self._queue_ref] + vals,
                                  {"Tcomponents": [v.dtype for v in vals], "timeout_ms": -1}, scope)

    def enqueue_many(self, vals, name=None):
        """An op putting every row of the values (sliced along dimension 0, which they must share)."""
        with name_scope(name, f"{self._name}_EnqueueMany", self._tensors_in(vals)) as scope:
            vals = self._check_enqueue_dtypes(vals)
            batch = None
            for val, shape in zip(vals, self._shapes):
                if val.shape.ndims == 0:
                    raise ValueError(f"Shape {val.shape} must have rank at least 1")
                dims = val.shape.as_tuple()
                if dims is not None:
                    if batch is not None and dims[0] is not None and dims[0] != batch:
                        raise ValueError(f"Dimensions {batch} and {dims[0]} are not compatible")
                    batch = dims[0] if batch is None else batch
                    TensorShape(dims[1:]).assert_is_compatible_with(shape)
            return self._queue_op("QueueEnqueueManyV2", [self._queue_ref] + vals,
                                  {"Tcomponents": [v.dtype for v in vals], "timeout_ms": -1}, scope)

    def _tensors_in(self, vals):
        return [v for v in self._scope_vals(vals) if isinstance(v, Tensor)] or None

    def _dequeue_return_value(self, tensors):
        if self._names:
            return {n: tensors[i] for i, n in enumerate(self._names)}
        if len(tensors) == 1:
            return tensors[0]
        return list(tensors)

    def dequeue(self, name=None):
        """One element (the tensor, a list of them, or a dict); waits while the queue is empty, and fails with
        OutOfRangeError once it is closed and empty."""
        op = self._queue_op("QueueDequeueV2", [self._queue_ref],
                            {"component_types": self._dtypes, "timeout_ms": -1}, name or f"{self._name}_Dequeue")
        for output, shape in zip(op.outputs, self._shapes):
            output.set_shape(shape)
        return self._dequeue_return_value(op.outputs)

    def dequeue_many(self, n, name=None):
        """``n`` elements stacked along a new dimension 0; waits for all of them (OutOfRangeError once the queue is
        closed with fewer left, which stay in it)."""
        return self._dequeue_batch("QueueDequeueManyV2", n, name or f"{self._name}_DequeueMany")

    def dequeue_up_to(self, n, name=None):
        """As ``dequeue_many``, but once the queue is closed a last batch may be shorter than ``n``."""
        return self._dequeue_batch("QueueDequeueUpToV2", n, name or f"{self._name}_DequeueUpTo")

    def _dequeue_batch(self, op_type, n, name):
        with name_scope(name) as scope:
            with colocate_with(self._colocate_op, ignore_existing=True):
                n = convert_to_tensor(n, dtype=dtypes_lib.int32, name="n")
            op = self._queue_op(op_type, [self._queue_ref, n], {"component_types": self._dtypes, "timeout_ms": -1},
                                scope)
        batch = constant_int(n) if op_type == "QueueDequeueManyV2" else None
        for output, shape in zip(op.outputs, self._shapes):
            output.set_shape(TensorShape([batch]).concatenate(shape))
        return self._dequeue_return_value(op.outputs)

    def close(self, cancel_pending_enqueues=False, name=None):
        """An op closing the queue: later enqueues fail, dequeues drain what is left. Without
        ``cancel_pending_enqueues`` it waits for the enqueues already waiting; with it, they fail."""
        return self._queue_op("QueueCloseV2", [self._queue_ref],
                              {"cancel_pending_enqueues": bool(cancel_pending_enqueues)}, name or f"{self._name}_Close")

    def is_closed(self, name=None):
        """A bool scalar: whether the queue is closed."""
        return self._queue_op("QueueIsClosedV2", [self._queue_ref], {}, name or f"{self._name}_Is_Closed").outputs[0]

    def size(self, name=None):
        """An int32 scalar: how many elements the queue holds."""
        return self._queue_op("QueueSizeV2", [self._queue_ref], {}, name or f"{self._name}_Size").outputs[0]


class FIFOQueue(QueueBase):
    """A queue that hands elements out in the order they came in.

    ``FIFOQueue(capacity, dtypes, shapes=None, names=None, shared_name=None, name="fifo_queue")``; without
    ``shapes``, ``dequeue_many`` cannot run (TF's rule: the batch needs the component shapes).
    """

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None, name="fifo_queue"):
        types = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, types)
        ref = _create_queue("FIFOQueueV2", types, shapes, capacity, shared_name, name)
        super().__init__(types, shapes, names, ref)


class PaddingFIFOQueue(QueueBase):
    """A FIFOQueue whose shapes may have unknown dims (None); ``dequeue_many`` pads each component to the largest
    element of the batch (zeros, or empty strings).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     q = tf.PaddingFIFOQueue(4, tf.int32, shapes=[[None]])
    ...     with tf.Session() as sess:
    ...         sess.run(q.enqueue([[1, 2, 3]])); sess.run(q.enqueue([[4]]))
    ...         sess.run(q.dequeue_many(2))
    array([[1, 2, 3],
           [4, 0, 0]], dtype=int32)
    """

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None, name="padding_fifo_queue"):
        types = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes, unknown_dim_allowed=True)
        names = _as_name_list(names, types)
        if len(types) != len(shapes):
            raise ValueError(f"Shapes must be provided for all components, but received {len(types)} dtypes and "
                             f"{len(shapes)} shapes.")
        ref = _create_queue("PaddingFIFOQueueV2", types, shapes, capacity, shared_name, name)
        super().__init__(types, shapes, names, ref)


class RandomShuffleQueue(QueueBase):
    """A queue that hands out a random element, keeping at least ``min_after_dequeue`` in it (so that what comes
    out is well mixed) until it is closed.

    ``RandomShuffleQueue(capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None,
    shared_name=None, name="random_shuffle_queue")``; seeds follow TF's graph- and op-level rules.
    """

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None, shared_name=None,
                 name="random_shuffle_queue"):
        types = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, types)
        seed1, seed2 = random_ops.get_seed(seed)
        if (seed1, seed2) != (0, 0) and seed is None and shared_name is not None:
            # TF's rule: replicas sharing a queue by name, seeded by the graph only, still draw alike.
            seed2 = int(hashlib.md5((str(seed1) + shared_name).encode("utf-8")).hexdigest()[:8], 16) & 0x7FFFFFFF
        if isinstance(min_after_dequeue, bool) or not isinstance(min_after_dequeue, (int, np.integer)):
            raise TypeError(f"min_after_dequeue must be an int, got {min_after_dequeue!r}")
        ref = _create_queue("RandomShuffleQueueV2", types, shapes, capacity, shared_name, name,
                            min_after_dequeue=int(min_after_dequeue), seed=int(seed1), seed2=int(seed2))
        super().__init__(types, shapes, names, ref)
