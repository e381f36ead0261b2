"""Queue-based input pipelines, as TF1 builds them: producers (``string_input_producer``, ``range_input_producer``,
``slice_input_producer``, ``input_producer``) fill a queue from a tensor, ``limit_epochs`` stops them after
``num_epochs`` with a LOCAL ``epochs`` counter (so programs run ``tf.local_variables_initializer()``), and
``batch``/``shuffle_batch`` (and their ``_join`` forms) gather elements into batches through a queue. Each adds a
``QueueRunner`` to the graph; ``tf.train.start_queue_runners`` starts them.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     [x] = tf.train.slice_input_producer([tf.constant([1, 2, 3, 4])], num_epochs=1, shuffle=False)
...     xs = tf.train.batch([x], batch_size=3, allow_smaller_final_batch=True)
...     with tf.Session() as sess:
...         sess.run(tf.local_variables_initializer())
...         coord = tf.train.Coordinator()
...         threads = tf.train.start_queue_runners(sess, coord)
...         print(sess.run(xs), sess.run(xs))
...         coord.request_stop(); coord.join(threads)
[1 2 3] [4]
"""

from tasklayer import dtypes, state_ops
from tasklayer.graph import GraphKeys, colocate_with, control_dependencies, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, io_ops, math_ops, random_ops, slicing_ops
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import constant, convert_to_tensor
from tasklayer.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue
from tasklayer.shapes import TensorShape
from tasklayer.training.queue_runner import QueueRunner, add_queue_runner
from tasklayer.variables import Variable

__all__ = ["limit_epochs", "input_producer", "string_input_producer", "range_input_producer",
           "slice_input_producer", "match_filenames_once", "batch", "batch_join", "shuffle_batch",
           "shuffle_batch_join", "count_up_to"]


def _infer_count_up_to(op):
    ref = op.inputs[0]
    if ref.dtype not in (dtypes.int32, dtypes.int64) or not ref.shape.is_compatible_with(()):
        raise ValueError(f"{who(op)}: the variable must be an int32 or int64 scalar, got {ref.dtype.name} of shape "
                         f"{ref.shape}")
    return [(ref.dtype, TensorShape(()))]


def _infer_assert(op):
    if op.inputs[0].dtype != dtypes.bool_ or not op.inputs[0].shape.is_compatible_with(()):
        raise ValueError(f"{who(op)}: the condition must be a bool scalar, got {op.inputs[0].dtype.name} of shape "
                         f"{op.inputs[0].shape}")
    return []


register_op("CountUpTo", _infer_count_up_to, stateful=True)
register_op("Assert", _infer_assert, stateful=True)


def count_up_to(ref, limit, name=None):
    """Add 1 to an int variable and give its old value, until it reached ``limit``: then OutOfRangeError."""
    ref = state_ops.ref_tensor(ref)
    with name_scope(name, "CountUpTo", [ref]) as scope, colocate_with(ref.op, ignore_existing=True):
        attrs = {"T": ref.dtype, "limit": int(limit), "_class": state_ops.colocation(ref)}
        return make_op("CountUpTo", [ref], attrs, scope).outputs[0]


def _assert(condition, data, name):
    with name_scope(name, "Assert", [condition]) as scope:
        data = [convert_to_tensor(d) for d in data]
        return make_op("Assert", [condition] + data, {"T": [d.dtype for d in data], "summarize": 3}, scope)


# ---------------------------------------------------------------------- producers
def match_filenames_once(pattern, name=None):
    """A LOCAL variable holding the sorted file names matching ``pattern``, found once, when the local variables
    are initialized."""
    with name_scope(name, "matching_filenames", [pattern] if hasattr(pattern, "op") else None) as name:
        return Variable(name=name, initial_value=io_ops.matching_files(pattern), trainable=False,
                        validate_shape=False, collections=[GraphKeys.LOCAL_VARIABLES])


def limit_epochs(tensor, num_epochs=None, name=None):
    """``tensor``, each run counting an epoch in a LOCAL variable ``epochs``; OutOfRangeError after ``num_epochs``
    runs (None: no limit, ``tensor`` itself)."""
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError(f"num_epochs must be > 0 not {num_epochs}.")
    with name_scope(name, "limit_epochs", [tensor]) as name:
        zero64 = constant(0, dtype=dtypes.int64)
        epochs = Variable(zero64, name="epochs", trainable=False, collections=[GraphKeys.LOCAL_VARIABLES])
        counter = count_up_to(epochs, num_epochs)
        with control_dependencies([counter]):
            return array_ops.identity(tensor, name=name)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None, capacity=32,
                   shared_name=None, summary_name=None, name=None, cancel_op=None):
    """A FIFOQueue fed with the rows of ``input_tensor`` (shuffled within each epoch when ``shuffle``), by a
    QueueRunner added to the graph; ``num_epochs`` as ``limit_epochs``. ``summary_name`` is accepted (TF writes
    a summary of the queue's fill; there is no tf.summary here)."""
    with name_scope(name, "input_producer", [input_tensor]):
        input_tensor = convert_to_tensor(input_tensor, name="input_tensor")
        element_shape = input_tensor.shape[1:].merge_with(TensorShape(element_shape))
        if not element_shape.is_fully_defined():
            raise ValueError("Either `input_tensor` must have a fully defined shape or `element_shape` must be "
                             "specified")
        if shuffle:
            input_tensor = random_ops.random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        queue = FIFOQueue(capacity=capacity, dtypes=[input_tensor.dtype], shapes=[element_shape],
                          shared_name=shared_name, name=name)
        enqueue = queue.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(queue, [enqueue], cancel_op=cancel_op))
        return queue


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                          name=None, cancel_op=None):
    """A queue of the strings of a 1-D string tensor (e.g. file names for a reader), cycled ``num_epochs`` times
    (None: forever), shuffled within each epoch when ``shuffle``; an empty tensor fails (InvalidArgumentError)."""
    not_null_err = "string_input_producer requires a non-null input tensor"
    if not hasattr(string_tensor, "dtype") and not isinstance(string_tensor, (str, bytes)) and not len(string_tensor):
        raise ValueError(not_null_err)
    with name_scope(name, "input_producer", [string_tensor]) as name:
        string_tensor = convert_to_tensor(string_tensor, dtype=dtypes.string)
        check = _assert(math_ops.greater(array_ops.size(string_tensor), 0), [not_null_err], None)
        with control_dependencies([check]):
            string_tensor = array_ops.identity(string_tensor)
        return input_producer(string_tensor, element_shape=[], num_epochs=num_epochs, shuffle=shuffle, seed=seed,
                              capacity=capacity, shared_name=shared_name, name=name,
                              summary_name=f"fraction_of_{capacity}_full", cancel_op=cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """A queue of the integers ``0 .. limit-1``, as ``input_producer``."""
    with name_scope(name, "input_producer", [limit]) as name:
        return input_producer(math_ops.range(limit), [], num_epochs, shuffle, seed, capacity, shared_name,
                              f"fraction_of_{capacity}_full", name)


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """One row of each tensor of ``tensor_list`` (rows of the same index together), from a queue of row indices
    (``range_input_producer``); each tensor of shape ``[N, a, b]`` gives a tensor of shape ``[a, b]``."""
    with name_scope(name, "input_producer", _tensors(tensor_list)):
        tensor_list = [convert_to_tensor(t) for t in tensor_list]
        if not tensor_list:
            raise ValueError("Expected at least one tensor in slice_input_producer().")
        range_size = array_ops.shape(tensor_list[0])[0]
        queue = range_input_producer(range_size, num_epochs=num_epochs, shuffle=shuffle, seed=seed,
                                     capacity=capacity, shared_name=shared_name)
        index = queue.dequeue()
        return [slicing_ops.gather(t, index) for t in tensor_list]


def _tensors(values):
    return [v for v in values if hasattr(v, "op")] or None


# ---------------------------------------------------------------------- batching
def _as_tensor_list(tensors):
    if isinstance(tensors, dict):
        return [tensors[k] for k in sorted(tensors, key=str)]
    return tensors


def _as_tensor_list_list(tensors_list):
    if not tensors_list:
        raise ValueError("Expected at least one set of tensors")
    if isinstance(tensors_list[0], dict):
        keys = set(tensors_list[0])
        if any(set(t) != keys for t in tensors_list[1:]):
            raise ValueError("All dictionaries in tensors_list must have the same keys")
        return [_as_tensor_list(t) for t in tensors_list]
    return tensors_list


def _as_original_type(original, tensor_list):
    if isinstance(original, dict):
        if len(original) == 1:
            tensor_list = [tensor_list]
        return {k: tensor_list[i] for i, k in enumerate(sorted(original, key=str))}
    return tensor_list


def _validate(tensor_list, what="batch()"):
    if isinstance(tensor_list, (list, tuple)):
        tensor_list = [convert_to_tensor(t) for t in tensor_list]
    else:
        tensor_list = [convert_to_tensor(tensor_list)]  # TF iterates a bare tensor; one row per element is rare
    if not tensor_list:
        raise ValueError(f"Expected at least one tensor in {what}.")
    return tensor_list


def _dtypes(tensor_list_list):
    types = [t.dtype for t in tensor_list_list[0]]
    for other in tensor_list_list[1:]:
        other_types = [t.dtype for t in other]
        if other_types != types:
            raise TypeError(f"Expected types to be consistent: {', '.join(x.name for x in types)} vs. "
                            f"{', '.join(x.name for x in other_types)}.")
    return types


def _merge_shapes(shape_list, enqueue_many):
    shape_list = [TensorShape(s) for s in shape_list]
    if enqueue_many:
        shape_list = [_without_batch_dim(s) for s in shape_list]
    merged = shape_list[0]
    for s in shape_list[1:]:
        merged = merged.merge_with(s)
    return merged.as_list()


def _without_batch_dim(shape):
    if shape.ndims is not None and shape.ndims < 1:
        raise ValueError(f"Shape {shape} must have rank at least 1")
    return shape[1:]


def _shapes(tensor_list_list, shapes, enqueue_many):
    if shapes is not None:
        return shapes
    for tl in tensor_list_list:
        for t in tl:
            if t.shape.ndims is None:
                raise ValueError(f"Cannot infer Tensor's rank: {t}")
    return [_merge_shapes([tl[i].shape.as_list() for tl in tensor_list_list], enqueue_many)
            for i in range(len(tensor_list_list[0]))]


def _enqueue_ops(queue, tensor_lists, enqueue_many):
    enqueue = queue.enqueue_many if enqueue_many else queue.enqueue
    return [enqueue(tl) for tl in tensor_lists]


def _dequeue(queue, batch_size, allow_smaller_final_batch, name):
    if allow_smaller_final_batch:
        return queue.dequeue_up_to(batch_size, name=name)
    return queue.dequeue_many(batch_size, name=name)


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
          allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches of ``batch_size`` of ``tensors`` (a list or a dict of tensors; each one element, or a batch of
    them with ``enqueue_many``), gathered through a FIFOQueue (a PaddingFIFOQueue with ``dynamic_pad``, which pads
    unknown dims per batch) that ``num_threads`` QueueRunner threads fill. A list of one tensor gives a tensor."""
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "batch", _tensors(tensor_list if isinstance(tensor_list, (list, tuple)) else [])) as name:
        tensor_list = _validate(tensor_list)
        types = _dtypes([tensor_list])
        shapes = _shapes([tensor_list], shapes, enqueue_many)
        queue_cls = PaddingFIFOQueue if dynamic_pad else FIFOQueue
        queue = queue_cls(capacity=capacity, dtypes=types, shapes=shapes, shared_name=shared_name)
        add_queue_runner(QueueRunner(queue, _enqueue_ops(queue, [tensor_list], enqueue_many) * num_threads))
        return _as_original_type(tensors, _dequeue(queue, batch_size, allow_smaller_final_batch, name))


def batch_join(tensors_list, batch_size, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
               allow_smaller_final_batch=False, shared_name=None, name=None):
    """As ``batch``, from several lists of tensors (one QueueRunner thread each), e.g. one reader per file."""
    tensor_list_list = _as_tensor_list_list(tensors_list)
    with name_scope(name, "batch_join", _tensors([t for tl in tensor_list_list for t in tl])) as name:
        tensor_list_list = [_validate(tl, "batch_join()") for tl in tensor_list_list]
        types = _dtypes(tensor_list_list)
        shapes = _shapes(tensor_list_list, shapes, enqueue_many)
        queue_cls = PaddingFIFOQueue if dynamic_pad else FIFOQueue
        queue = queue_cls(capacity=capacity, dtypes=types, shapes=shapes, shared_name=shared_name)
        add_queue_runner(QueueRunner(queue, _enqueue_ops(queue, tensor_list_list, enqueue_many)))
        return _as_original_type(tensors_list[0], _dequeue(queue, batch_size, allow_smaller_final_batch, name))


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None, enqueue_many=False,
                  shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    """As ``batch``, through a RandomShuffleQueue that keeps ``min_after_dequeue`` elements to draw from (so the
    batches are shuffled); ``capacity`` must be larger than ``min_after_dequeue``."""
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "shuffle_batch",
                    _tensors(tensor_list if isinstance(tensor_list, (list, tuple)) else [])) as name:
        if capacity <= min_after_dequeue:
            raise ValueError(f"capacity {capacity} must be bigger than min_after_dequeue {min_after_dequeue}.")
        tensor_list = _validate(tensor_list)
        types = _dtypes([tensor_list])
        shapes = _shapes([tensor_list], shapes, enqueue_many)
        queue = RandomShuffleQueue(capacity=capacity, min_after_dequeue=min_after_dequeue, seed=seed, dtypes=types,
                                   shapes=shapes, shared_name=shared_name)
        add_queue_runner(QueueRunner(queue, _enqueue_ops(queue, [tensor_list], enqueue_many) * num_threads))
        return _as_original_type(tensors, _dequeue(queue, batch_size, allow_smaller_final_batch, name))


def shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, seed=None, enqueue_many=False,
                       shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    """As ``shuffle_batch``, from several lists of tensors (one QueueRunner thread each)."""
    tensor_list_list = _as_tensor_list_list(tensors_list)
    with name_scope(name, "shuffle_batch_join", _tensors([t for tl in tensor_list_list for t in tl])) as name:
        if capacity <= min_after_dequeue:
            raise ValueError(f"capacity {capacity} must be bigger than min_after_dequeue {min_after_dequeue}.")
        tensor_list_list = [_validate(tl, "batch_join()") for tl in tensor_list_list]
        types = _dtypes(tensor_list_list)
        shapes = _shapes(tensor_list_list, shapes, enqueue_many)
        queue = RandomShuffleQueue(capacity=capacity, min_after_dequeue=min_after_dequeue, seed=seed, dtypes=types,
                                   shapes=shapes, shared_name=shared_name)
        add_queue_runner(QueueRunner(queue, _enqueue_ops(queue, tensor_list_list, enqueue_many)))
        return _as_original_type(tensors_list[0], _dequeue(queue, batch_size, allow_smaller_final_batch, name))
