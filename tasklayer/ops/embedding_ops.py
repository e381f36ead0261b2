"""Embedding lookups over one table or a list of shards, and the ops they split and stitch ids with:
``dynamic_partition`` and ``dynamic_stitch`` (kernels in ``engine/kernels/numpy_partition.py``)."""

from tasklayer import dtypes, shapes
from tasklayer.graph import colocate_with, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, clip_ops, math_ops, reduction_ops, slicing_ops
from tasklayer.ops._build import check_dtype, make_op, shape_of, who
from tasklayer.ops.constant_op import constant, convert_to_tensor


def _infer_partition(op):
    data, partitions = op.inputs
    ds, ps = shape_of(data), shape_of(partitions)
    if ds is not None and ps is not None:
        if len(ds) < len(ps) or any(None not in (a, b) and a != b for a, b in zip(ds, ps)):
            raise ValueError(f"{who(op)}: data.shape must start with partitions.shape, got data shape "
                             f"{shapes.fmt(ds)} and partitions shape {shapes.fmt(ps)}")
    tail = None if ds is None or ps is None else (None,) + tuple(ds[len(ps):])
    return [(data.dtype, tail)] * op.get_attr("num_partitions")


def _infer_stitch(op):
    n = op.get_attr("N")
    indices, data = op.inputs[:n], op.inputs[n:]
    tail = None
    for idx, d in zip(indices, data):
        ds, is_ = shape_of(d), shape_of(idx)
        if ds is None or is_ is None:
            continue
        piece = tuple(ds[len(is_):])
        tail = piece if tail is None else shapes.same_shape(who(op), tail, piece)
    return [(data[0].dtype, None if tail is None else (None,) + tail)]


register_op("DynamicPartition", _infer_partition)
register_op("DynamicStitch", _infer_stitch)


def dynamic_partition(data, partitions, num_partitions, name=None):
    """``num_partitions`` tensors: the ``i``-th holds the slices of ``data`` whose ``partitions`` entry is ``i``,
    in their order (``partitions``: int32 of a leading part of ``data``'s shape, each in [0, num_partitions)).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     [p.tolist() for p in sess.run(tf.dynamic_partition([10, 20, 30, 40], [1, 0, 1, 1], 2))]
    [[20], [10, 30, 40]]
    """
    with name_scope(name, "DynamicPartition", [data, partitions]) as scope:
        data = convert_to_tensor(data, name="data")
        partitions = convert_to_tensor(partitions, name="partitions")
        check_dtype("DynamicPartition", "partitions", partitions, (dtypes.int32,))
        num = int(num_partitions)
        if num < 1:
            raise ValueError(f"num_partitions must be at least 1, got {num}")
        attrs = {"T": data.dtype, "num_partitions": num}
        return list(make_op("DynamicPartition", [data, partitions], attrs, scope).outputs)


def dynamic_stitch(indices, data, name=None):
    """One tensor with ``merged[indices[m][i]] = data[m][i]`` (int32 indices; where an index repeats, the
    later piece wins).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.dynamic_stitch([[1, 3], [0, 2]], [[10, 30], [0, 20]])).tolist()
    [0, 10, 20, 30]
    """
    if len(indices) != len(data) or not indices:
        raise ValueError(f"dynamic_stitch needs as many data tensors as index tensors (at least one), got "
                         f"{len(indices)} and {len(data)}")
    with name_scope(name, "DynamicStitch", list(indices) + list(data)) as scope:
        indices = [convert_to_tensor(t, name="indices") for t in indices]
        for t in indices:
            check_dtype("DynamicStitch", "indices", t, (dtypes.int32,))
        data = [convert_to_tensor(t, name="data") for t in data]
        if len({t.dtype for t in data}) > 1:
            raise TypeError(f"DynamicStitch: every data tensor must have one dtype, got "
                            f"{sorted({t.dtype.name for t in data})}")
        attrs = {"T": data[0].dtype, "N": len(indices)}
        return make_op("DynamicStitch", indices + data, attrs, scope).outputs[0]


def _clip(params, ids, max_norm):
    """Each embedding (the axes after the ids' own) rescaled to L2 norm at most ``max_norm``."""
    if max_norm is None:
        return params
    ids_rank, params_rank = ids.shape.ndims, params.shape.ndims
    if ids_rank and params_rank:
        axes = list(range(ids_rank, params_rank))
    else:
        axes = math_ops.range(array_ops.rank(ids), array_ops.rank(params))
    return clip_ops.clip_by_norm(params, max_norm, axes=axes)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    """The rows of ``params`` at ``ids`` (result shape ``ids.shape + params.shape[1:]``). ``params`` is a
    tensor or variable, or a list of shards of one table split along axis 0: with ``"mod"`` id ``i`` lives in
    shard ``i % n`` at row ``i // n``; with ``"div"`` the ids are split into contiguous runs, the first shards
    taking one more when the count does not divide. ``max_norm`` clips each embedding's L2 norm.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     shards = [tf.constant([[0.0], [2.0]]), tf.constant([[1.0], [3.0]])]  # ids 0..3, "mod" split
    ...     sess.run(tf.nn.embedding_lookup(shards, [[3, 0], [1, 1]])).tolist()
    [[[3.0], [0.0]], [[1.0], [1.0]]]
    """
    if params is None or isinstance(params, (list, tuple)) and not params:
        raise ValueError("Need at least one param")
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    shards = list(params) if isinstance(params, (list, tuple)) else [params]
    with name_scope(name, "embedding_lookup", shards + [ids]) as scope:
        np_ = len(shards)
        shards = [convert_to_tensor(p, name="params") for p in shards]
        ids = convert_to_tensor(ids, name="ids")
        check_dtype("embedding_lookup", "ids", ids, (dtypes.int32, dtypes.int64))
        if np_ == 1:
            with colocate_with(shards[0]):
                result = _clip(slicing_ops.gather(shards[0], ids, name=scope), ids, max_norm)
            # The result itself carries no colocation with the table (as with several shards).
            return array_ops.identity(result)
        flat_ids = array_ops.reshape(ids, [-1])
        original_indices = math_ops.range(array_ops.size(flat_ids))
        p_assignments, new_ids = _assign(shards, flat_ids, partition_strategy)
        gather_ids = dynamic_partition(new_ids, p_assignments, np_)
        pindices = dynamic_partition(original_indices, p_assignments, np_)
        pieces = []
        for shard, pids in zip(shards, gather_ids):
            with colocate_with(shard):
                pieces.append(slicing_ops.gather(shard, pids))
        ret = dynamic_stitch(pindices, pieces, name=scope)
        element_shape = shards[0].shape[1:]
        for p in shards[1:]:
            element_shape = element_shape.merge_with(p.shape[1:])
        if element_shape.is_fully_defined():
            element_dims = element_shape.as_list()
        else:
            with colocate_with(shards[0]):
                element_dims = array_ops.shape(shards[0])[1:]
        ret = array_ops.reshape(ret, array_ops.concat([array_ops.shape(ids), element_dims], 0))
        ret.set_shape(ids.shape.concatenate(element_shape))
        return _clip(ret, ids, max_norm)


def _assign(shards, flat_ids, strategy):
    """``(shard of each id (int32), its row in that shard)`` under ``strategy``."""
    n = len(shards)
    if strategy == "mod":
        return math_ops.cast(flat_ids % n, dtypes.int32), flat_ids // n
    # "div": ids_per_partition = total // n, the first `extras` shards one more.
    rows = [p.shape.as_list()[0] if p.shape.ndims else None for p in shards]
    if None not in rows:
        total = constant(sum(rows), dtype=flat_ids.dtype)
    else:
        sizes = []
        for p, r in zip(shards, rows):
            if r is not None:
                sizes.append(constant(r, dtype=flat_ids.dtype))
            else:
                with colocate_with(p):
                    sizes.append(math_ops.cast(array_ops.shape(p)[0], flat_ids.dtype))
        total = reduction_ops.reduce_sum(array_ops.stack(sizes))
    ids_per_partition = total // n
    extras = total % n
    assignments = math_ops.maximum(flat_ids // (ids_per_partition + 1), (flat_ids - extras) // ids_per_partition)
    new_ids = array_ops.where(assignments < extras, flat_ids % (ids_per_partition + 1),
                              (flat_ids - extras) % ids_per_partition)
    return math_ops.cast(assignments, dtypes.int32), new_ids
