"""``tf.data.Dataset``: a dataset is a description in the graph (a chain of dataset ops ending in a ``variant``
tensor); nothing is read until an iterator (``iterator_ops``) pulls elements on the task that runs it.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     ds = tf.data.Dataset.range(10).map(lambda x: x * 2).filter(lambda x: x > 4).batch(3)
...     batch = ds.make_one_shot_iterator().get_next()
...     with tf.Session() as sess:
...         print(sess.run(batch), sess.run(batch))
[ 6  8 10] [12 14 16]
"""

import numpy as np

from tasklayer import dtypes
from tasklayer.data import functions, iterator_ops, structure
from tasklayer.grad_rules import not_differentiable
from tasklayer.graph import get_default_graph, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import random_ops, static_value
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.shapes import TensorShape, as_shape

AUTOTUNE = -1


def _infer_dataset(op):
    return [(structure.variant, TensorShape([]))]


def register_dataset_op(op_type):
    """Register a dataset op type: one scalar ``variant`` output; stateful, so no pass folds or merges it; no
    gradient flows through it (as in TF)."""
    register_op(op_type, _infer_dataset, stateful=True)
    not_differentiable(op_type)


for _op in ("TensorSliceDataset", "TensorDataset", "RangeDataset", "ZipDataset", "ConcatenateDataset", "MapDataset",
            "FilterDataset", "BatchDatasetV2", "PaddedBatchDatasetV2", "ShuffleDataset", "RepeatDataset",
            "TakeDataset", "SkipDataset", "PrefetchDataset", "CacheDataset"):
    register_dataset_op(_op)


def _scalar(value, dtype, name):
    """A scalar tensor of ``dtype`` (TF converts these arguments with ``dtype=tf.int64`` or ``tf.bool``)."""
    t = convert_to_tensor(value, dtype=dtype, name=name)
    if t.shape.ndims not in (None, 0):
        raise ValueError(f"'{name}' must be a scalar, got shape {t.shape}")
    return t


def _int64(value, name):
    return _scalar(value, dtypes.int64, name)


def _components(tensors):
    """The components of an element structure as Tensors (lists and arrays become one tensor each)."""
    return [convert_to_tensor(v, name=f"component_{i}") for i, v in enumerate(structure.flatten(tensors))]


class Dataset:
    """A TF1 ``tf.data.Dataset``: a sequence of elements, each a (nested) tuple or dict of tensors.

    >>> import tasklayer as tf, numpy as np
    >>> with tf.Graph().as_default():
    ...     ds = tf.data.Dataset.from_tensor_slices((np.zeros([6, 2], np.float32), np.arange(6))).batch(4)
    ...     ds
    <BatchDataset shapes: ((?, 2), (?,)), types: (tf.float32, tf.int64)>
    """

    def __init__(self, variant_tensor, output_types, output_shapes):
        self._variant_tensor = variant_tensor
        self._types = output_types
        self._shapes = output_shapes

    # ---------------------------------------------------------------- structure
    @property
    def output_types(self):
        """The dtype of each component, in the element's structure."""
        return self._types

    @property
    def output_shapes(self):
        """The static shape of each component (TensorShape), in the element's structure."""
        return self._shapes

    @property
    def output_classes(self):
        """The class of each component (``tf.Tensor``), in the element's structure."""
        return structure.tensor_classes(self._types)

    def _derive(self, op_type, inputs, name, types=None, shapes=None, attrs=None):
        """A dataset made by op ``op_type`` from this one and ``inputs``."""
        types = self._types if types is None else types
        shapes = self._shapes if shapes is None else shapes
        return _make(op_type, [self._variant_tensor] + list(inputs), types, shapes, name, attrs)

    def __repr__(self):
        op_type = self._variant_tensor.op.type
        kind = type(self).__name__ if type(self) is not Dataset else _KIND.get(op_type, op_type)
        return (f"<{kind} shapes: {structure.describe(self._shapes, str_shape)}, "
                f"types: {structure.describe(self._types, repr)}>")

    def __iter__(self):
        raise RuntimeError("dataset.__iter__() is only supported when eager execution is enabled.")

    # ---------------------------------------------------------------- sources
    @staticmethod
    def from_tensor_slices(tensors):
        """A dataset whose element i is row i of every component of ``tensors`` (a tensor, array, or a tuple or
        dict of them); the components must agree in their first dimension.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     tf.data.Dataset.from_tensor_slices({"x": [[1, 2], [3, 4]], "y": ["a", "b"]}).output_shapes
        {'x': TensorShape([2]), 'y': TensorShape([])}
        """
        with name_scope(None, "TensorSliceDataset"):
            flat = _components(tensors)
            rows = None  # the first known length of dimension 0: every component must have it
            for t in flat:
                if t.shape.ndims == 0:
                    raise ValueError("Unbatching a tensor is only supported for rank >= 1")
                dim = t.shape[0].value if t.shape.ndims is not None else None
                if dim is not None and rows is not None and dim != rows:
                    raise ValueError(f"Dimensions {rows} and {dim} are not compatible")
                rows = dim if rows is None else rows
            types = structure.pack_as(tensors, [t.dtype for t in flat])
            shapes = structure.pack_as(tensors, [t.shape[1:] for t in flat])
            return _make("TensorSliceDataset", flat, types, shapes, "TensorSliceDataset", types_attr="Toutput_types")

    @staticmethod
    def from_tensors(tensors):
        """A dataset of one element: ``tensors`` (a tensor, array, or a tuple or dict of them).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     tf.data.Dataset.from_tensors(([1, 2], 3.0)).output_types
        (tf.int32, tf.float32)
        """
        with name_scope(None, "TensorDataset"):
            flat = _components(tensors)
            types = structure.pack_as(tensors, [t.dtype for t in flat])
            shapes = structure.pack_as(tensors, [t.shape for t in flat])
            return _make("TensorDataset", flat, types, shapes, "TensorDataset", types_attr="Toutput_types")

    @staticmethod
    def range(*args):
        """``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)`` as int64 elements.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.data.Dataset.range(2, 10, 3).batch(5).make_one_shot_iterator().get_next()
        ...     tf.Session().run(x).tolist()
        [2, 5, 8]
        """
        if not 1 <= len(args) <= 3:
            raise ValueError(f"Invalid arguments to RangeDataset: {args!r}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], 1) if len(args) == 2 \
            else args
        with name_scope(None, "RangeDataset"):
            inputs = [_int64(start, "start"), _int64(stop, "stop"), _int64(step, "step")]
            return _make("RangeDataset", inputs, dtypes.int64, TensorShape([]), "RangeDataset")

    @staticmethod
    def zip(datasets):
        """A dataset whose elements pair up the elements of ``datasets`` (a tuple or dict of datasets); it ends
        with the shortest.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     a = tf.data.Dataset.range(3)
        ...     tf.data.Dataset.zip((a, a.map(lambda x: tf.cast(x, tf.float32)))).output_types
        (tf.int64, tf.float32)
        """
        if isinstance(datasets, list):
            raise TypeError("Invalid input to `zip`. Inputs are expected to be (nested) structures of "
                            "`tf.data.Dataset` objects. Python `list` is not supported and you should use `tuple` "
                            "instead.")
        flat = structure.flatten(datasets)
        for d in flat:
            if not isinstance(d, Dataset):
                raise TypeError(f"Invalid input to `zip`. Inputs are expected to be (nested) structures of "
                                f"`tf.data.Dataset` objects, got {type(d).__name__}")
        # The structure of the result nests each input's element structure inside ``datasets``' structure.
        types = structure.pack_as(datasets, [d.output_types for d in flat])
        shapes = structure.pack_as(datasets, [d.output_shapes for d in flat])
        return _make("ZipDataset", [d._variant_tensor for d in flat], types, shapes, "ZipDataset",
                     {"N": len(flat)})

    # ---------------------------------------------------------------- transformations
    def concatenate(self, dataset):
        """This dataset's elements followed by ``dataset``'s (same types and structure).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.data.Dataset.range(3).concatenate(tf.data.Dataset.range(2)).batch(9)
        ...     tf.Session().run(x.make_one_shot_iterator().get_next()).tolist()
        [0, 1, 2, 0, 1]
        """
        if not structure.same_structure(self._types, dataset.output_types) or \
                structure.flatten(self._types) != structure.flatten(dataset.output_types):
            raise TypeError(f"Two datasets to concatenate have different types {self._types} and "
                            f"{dataset.output_types}")
        shapes = structure.map_structure(_most_specific_compatible, self._shapes, dataset.output_shapes)
        return self._derive("ConcatenateDataset", [dataset._variant_tensor], "ConcatenateDataset", shapes=shapes)

    def map(self, map_func, num_parallel_calls=None):
        """A dataset of ``map_func(element)``; a tuple element is passed as separate arguments, a dict as one.

        ``map_func`` is traced once into a graph of its own, which the iterator's task runs per element (per
        block of elements when it is elementwise). ``num_parallel_calls`` is accepted; elements are mapped in
        order by one thread.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     ds = tf.data.Dataset.range(3).map(lambda x: {"x": x, "y": tf.cast(x, tf.float32) / 2})
        ...     ds.output_types
        {'x': tf.int64, 'y': tf.float32}
        """
        if num_parallel_calls is not None:
            _int64(num_parallel_calls, "num_parallel_calls")  # checked as TF checks it; one thread maps
        fn = functions.trace(map_func, self._types, self._shapes, "map_func")
        return self._derive("MapDataset", [], "MapDataset", fn.output_types, fn.output_shapes,
                            {**fn.attrs("f"), **structure.op_attrs(fn.output_types, fn.output_shapes)})

    def filter(self, predicate):
        """The elements for which ``predicate`` (a function returning a scalar tf.bool) is true.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.data.Dataset.range(10).filter(lambda x: tf.equal(x % 3, 0)).batch(9)
        ...     tf.Session().run(x.make_one_shot_iterator().get_next()).tolist()
        [0, 3, 6, 9]
        """
        fn = functions.trace(predicate, self._types, self._shapes, "predicate")
        if structure.is_structure(fn.output_types) or fn.output_types != dtypes.bool_ or \
                not fn.output_shapes.is_compatible_with([]):
            spec = structure.describe(structure.map_structure(
                lambda t, s: f"TensorSpec(shape={s}, dtype={t!r}, name=None)", fn.output_types, fn.output_shapes),
                str)
            raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar tensor, but its "
                             f"return type is {spec}.")
        return self._derive("FilterDataset", [], "FilterDataset", attrs={**fn.attrs("predicate")})

    def batch(self, batch_size, drop_remainder=False):
        """Stack ``batch_size`` consecutive elements; the last batch is smaller unless ``drop_remainder``.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     tf.data.Dataset.range(10).batch(3, drop_remainder=True).output_shapes
        TensorShape([3])
        """
        with name_scope(None, "BatchDataset"):
            size, drop = _int64(batch_size, "batch_size"), _scalar(drop_remainder, dtypes.bool_, "drop_remainder")
            lead = _static_int(size) if _static_bool(drop) else None
            shapes = structure.map_structure(lambda s: TensorShape([lead]).concatenate(s), self._shapes)
            return self._derive("BatchDatasetV2", [size, drop], "BatchDatasetV2", shapes=shapes)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False):
        """Stack ``batch_size`` elements padded to ``padded_shapes`` (None dims: the batch's longest; default:
        every dim) with ``padding_values`` (default 0, or b"" for strings).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     ds = tf.data.Dataset.range(4).map(lambda x: tf.fill([x], x)).padded_batch(2, [None])
        ...     it = ds.make_one_shot_iterator().get_next()
        ...     with tf.Session() as sess:
        ...         sess.run(it).tolist(), sess.run(it).tolist()
        ([[0], [1]], [[2, 2, 0], [3, 3, 3]])
        """
        with name_scope(None, "PaddedBatchDataset"):
            flat_types = structure.flatten(self._types)
            flat_shapes = structure.flatten(self._shapes)
            if padded_shapes is None:
                padded = [TensorShape([None] * s.ndims) if s.ndims is not None else None for s in flat_shapes]
                if any(p is None for p in padded):
                    raise ValueError("You must provide `padded_shapes` argument because component has unknown rank.")
            else:
                padded = [as_shape(p) for p in structure.flatten(structure.normalize_shapes(padded_shapes,
                                                                                            self._types))]
            for p, s in zip(padded, flat_shapes):
                if not p.is_compatible_with(TensorShape([None] * p.ndims)) or (
                        s.ndims is not None and s.ndims != p.ndims):
                    raise ValueError(f"The padded shape {p} is not compatible with the corresponding input "
                                     f"component shape {s}.")
            shape_inputs = [convert_to_tensor(np.array([-1 if d is None else d for d in p.as_list()], np.int64),
                                              name="padded_shapes") for p in padded]
            if padding_values is None:
                values = [convert_to_tensor(b"" if t == dtypes.string else np.zeros((), t.as_numpy_dtype),
                                            dtype=t, name="padding_value") for t in flat_types]
            else:
                values = [convert_to_tensor(v, dtype=t, name="padding_value")
                          for v, t in zip(structure.flatten(padding_values), flat_types)]
            size, drop = _int64(batch_size, "batch_size"), _scalar(drop_remainder, dtypes.bool_, "drop_remainder")
            lead = _static_int(size) if _static_bool(drop) else None
            shapes = structure.pack_as(self._types, [TensorShape([lead]).concatenate(p) for p in padded])
            return self._derive("PaddedBatchDatasetV2", [size] + shape_inputs + values + [drop],
                                "PaddedBatchDatasetV2", shapes=shapes,
                                attrs={"N": len(padded), "Toutput_types": list(flat_types)})

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None):
        """Elements drawn at random from a buffer of ``buffer_size``; ``seed`` as TF1 derives op seeds;
        every pass (``repeat`` epoch) reshuffles unless ``reshuffle_each_iteration=False``.

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.data.Dataset.range(5).shuffle(5, seed=1).batch(5).make_one_shot_iterator().get_next()
        ...     sorted(tf.Session().run(x).tolist())
        [0, 1, 2, 3, 4]
        """
        with name_scope(None, "ShuffleDataset"):
            seed1, seed2 = random_ops.get_seed(seed)
            inputs = [_int64(buffer_size, "buffer_size"), _int64(seed1, "seed"), _int64(seed2, "seed2")]
            reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
            return self._derive("ShuffleDataset", inputs, "ShuffleDataset",
                                attrs={"reshuffle_each_iteration": reshuffle})

    def repeat(self, count=None):
        """``count`` passes over this dataset (None or -1: forever).

        >>> import tasklayer as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.data.Dataset.range(2).repeat(2).batch(9).make_one_shot_iterator().get_next()
        ...     tf.Session().run(x).tolist()
        [0, 1, 0, 1]
        """
        with name_scope(None, "RepeatDataset"):
            return self._derive("RepeatDataset", [_int64(-1 if count is None else count, "count")], "RepeatDataset")

    def take(self, count):
        """The first ``count`` elements (-1: all)."""
        with name_scope(None, "TakeDataset"):
            return self._derive("TakeDataset", [_int64(count, "count")], "TakeDataset")

    def skip(self, count):
        """All but the first ``count`` elements (-1: none)."""
        with name_scope(None, "SkipDataset"):
            return self._derive("SkipDataset", [_int64(count, "count")], "SkipDataset")

    def prefetch(self, buffer_size):
        """Elements made ahead by a background thread, up to ``buffer_size`` (``AUTOTUNE``: a few)."""
        with name_scope(None, "PrefetchDataset"):
            return self._derive("PrefetchDataset", [_int64(buffer_size, "buffer_size")], "PrefetchDataset")

    def cache(self, filename=""):
        """The elements, kept in memory after the first complete pass (later passes replay them)."""
        with name_scope(None, "CacheDataset"):
            name = convert_to_tensor(filename, dtype=dtypes.string, name="filename")
            return self._derive("CacheDataset", [name], "CacheDataset")

    def apply(self, transformation_func):
        """``transformation_func(self)``, which must return a Dataset."""
        out = transformation_func(self)
        if not isinstance(out, Dataset):
            raise TypeError("`transformation_func` must return a Dataset.")
        return out

    # ---------------------------------------------------------------- iterators
    def make_one_shot_iterator(self):
        """An iterator over this dataset that initializes itself on first use (the dataset is captured by value,
        so it may not use placeholders or variables: use ``make_initializable_iterator`` then)."""
        return iterator_ops.make_one_shot_iterator(self)

    def make_initializable_iterator(self, shared_name=None):
        """An iterator over this dataset; run its ``initializer`` (again to restart) before ``get_next()``."""
        return iterator_ops.make_initializable_iterator(self, shared_name)


# What a dataset's repr calls it, by its op (TF1 names the Python class: BatchDataset for BatchDatasetV2).
_KIND = {"BatchDatasetV2": "BatchDataset", "PaddedBatchDatasetV2": "PaddedBatchDataset"}


def str_shape(shape):
    """A shape as TF1's dataset repr prints it: ``(?, 2)``."""
    return str(shape)


def _make(op_type, inputs, types, shapes, name, attrs=None, types_attr="output_types"):
    """Create dataset op ``op_type`` in the default graph; the Dataset of its variant output."""
    all_attrs = structure.op_attrs(types, shapes, types_attr)
    all_attrs.update(attrs or {})
    op = get_default_graph().create_op(op_type, inputs, all_attrs, name=name)
    return Dataset(op.outputs[0], types, shapes)


def _static_int(t):
    return static_value.constant_int(t)


def _static_bool(t):
    v = static_value.constant_value(t)
    return bool(v) if v is not None else False


def _most_specific_compatible(a, b):
    """The most specific shape both ``a`` and ``b`` fit (unknown where they differ)."""
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])
