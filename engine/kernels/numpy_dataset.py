"""Dataset kernels (tf.data): each op outputs a ``DatasetValue``, an immutable description of a dataset that an
iterator walks (see ``numpy_dataset_pipeline``); nothing is read until an iterator pulls.

Ops (inputs -> output; attrs), TF's names; every output is a ``variant`` scalar:
  TensorSliceDataset(components...)            Toutput_types, output_shapes
  TensorDataset(components...)                 Toutput_types, output_shapes
  RangeDataset(start, stop, step: int64)       output_types, output_shapes
  ZipDataset(input_datasets...)                N, output_types, output_shapes
  ConcatenateDataset(input_dataset, another_dataset)
  MapDataset(input_dataset)                    f (+ f_arguments, f_results, f_elementwise), output_types, ...
  FilterDataset(input_dataset)                 predicate (+ predicate_arguments, ...)
  BatchDatasetV2(input_dataset, batch_size: int64, drop_remainder: bool)
  PaddedBatchDatasetV2(input_dataset, batch_size, padded_shapes..., padding_values..., drop_remainder)  N
  ShuffleDataset(input_dataset, buffer_size, seed, seed2: int64)   reshuffle_each_iteration
  RepeatDataset / TakeDataset / SkipDataset(input_dataset, count: int64)
  PrefetchDataset(input_dataset, buffer_size: int64)
  CacheDataset(input_dataset, filename: string)  (in memory; a file cache is not implemented)

Dataset ops are registered stateful: constant folding must never try to turn a description into a Const.
"""

import numpy as np

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError, UnimplementedError
from engine.graph_util import get_attr
from engine.kernels import numpy_dataset_batching as batching
from engine.kernels import numpy_dataset_passes as passes
from engine.kernels import numpy_dataset_pipeline as pipeline
from engine.kernels import numpy_dataset_shuffle as shuffle
from engine.kernels.numpy_dataset_functions import DatasetFunction
from engine.kernels.registry import register_kernel
from engine.op_constants import VARIANT

_I64 = dtypes.int64


def _components(node, count):
    return list(get_attr(node, "Toutput_types", [None] * count))


def _padded_batch_inputs(node, count):
    n = int(get_attr(node, "N", (count - 3) // 2))
    return [VARIANT, _I64] + [_I64] * n + list(get_attr(node, "Toutput_types", [None] * n)) + [dtypes.bool_]


# Each op's data inputs, as graph validation checks them.
DATASET_OPS = {
    "TensorSliceDataset": _components, "TensorDataset": _components, "RangeDataset": (_I64, _I64, _I64),
    "ZipDataset": lambda node, count: [VARIANT] * count, "ConcatenateDataset": (VARIANT, VARIANT),
    "MapDataset": (VARIANT,), "FilterDataset": (VARIANT,), "BatchDatasetV2": (VARIANT, _I64, dtypes.bool_),
    "PaddedBatchDatasetV2": _padded_batch_inputs, "ShuffleDataset": (VARIANT, _I64, _I64, _I64),
    "RepeatDataset": (VARIANT, _I64), "TakeDataset": (VARIANT, _I64), "SkipDataset": (VARIANT, _I64),
    "PrefetchDataset": (VARIANT, _I64), "CacheDataset": (VARIANT, dtypes.string)}
for _op, _inputs in DATASET_OPS.items():
    op_defs.register_op(_op, VARIANT, stateful=True, inputs=_inputs)


def scalar(value, what, kind="i"):
    """A scalar input as a Python int (``kind`` "i") or bool ("b"); InvalidArgumentError naming it otherwise."""
    value = np.asarray(value)
    ok = value.dtype.kind in ("iu" if kind == "i" else "b")
    if value.ndim or not ok:
        wanted = "an integer" if kind == "i" else "a bool"
        raise InvalidArgumentError(None, None, f"{what} must be {wanted} scalar, got {value.dtype} of shape "
                                               f"{list(value.shape)}")
    return int(value) if kind == "i" else bool(value)


def dataset_input(value, what="input_dataset"):
    """A dataset input (a DatasetValue, or the 0-d object array a fetch or a feed made of one)."""
    if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 0:
        value = value[()]
    if not isinstance(value, pipeline.DatasetValue):
        raise InvalidArgumentError(None, None, f"{what} must be a dataset, got {type(value).__name__}")
    return value


def _owned(array):
    """A component array the dataset may keep: fed arrays are copied (the caller may change them later)."""
    array = np.asarray(array)
    return array if not array.flags.writeable else array.copy()


@register_kernel("TensorSliceDataset", "CPU")
def tensor_slice_dataset(node, env):
    """Element i is row i of every component."""
    def fn(*components):
        components = [_owned(c) for c in components]
        for i, c in enumerate(components):
            if c.ndim == 0:
                raise InvalidArgumentError(None, None, f"component {i} is a scalar: slicing needs rank >= 1")
        first = len(components[0])
        for i, c in enumerate(components[1:], 1):
            if len(c) != first:
                raise InvalidArgumentError(None, None, "Dimension 0 in both shapes must be equal: component 0 has "
                                                       f"{first} rows and component {i} has {len(c)}")
        return pipeline.TensorSlices(components)
    return fn


@register_kernel("TensorDataset", "CPU")
def tensor_dataset(node, env):
    """One element: the components."""
    return lambda *components: pipeline.Tensors([_owned(c) for c in components])


@register_kernel("RangeDataset", "CPU")
def range_dataset(node, env):
    """int64 values from ``start`` below ``stop`` by ``step``."""
    return lambda start, stop, step: pipeline.Range(scalar(start, "start"), scalar(stop, "stop"),
                                                    scalar(step, "step"))


@register_kernel("ZipDataset", "CPU")
def zip_dataset(node, env):
    """Elements of every input side by side."""
    return lambda *inputs: pipeline.Zip([dataset_input(d, "input_datasets") for d in inputs])


@register_kernel("ConcatenateDataset", "CPU")
def concatenate_dataset(node, env):
    """The first input's elements, then the second's."""
    return lambda first, second: pipeline.Concatenate(dataset_input(first), dataset_input(second, "another_dataset"))


@register_kernel("MapDataset", "CPU")
def map_dataset(node, env):
    """``f`` of every element (its function graph is built once per plan, then run per element or block)."""
    fn = DatasetFunction.from_node(node, "f", env)
    return lambda input_dataset: pipeline.Map(dataset_input(input_dataset), fn)


@register_kernel("FilterDataset", "CPU")
def filter_dataset(node, env):
    """The elements whose ``predicate`` is true."""
    predicate = DatasetFunction.from_node(node, "predicate", env)
    return lambda input_dataset: pipeline.Filter(dataset_input(input_dataset), predicate)


@register_kernel("BatchDatasetV2", "CPU")
def batch_dataset(node, env):
    """Consecutive elements stacked ``batch_size`` at a time."""
    return lambda d, batch_size, drop: batching.Batch(dataset_input(d), scalar(batch_size, "batch_size"),
                                                      scalar(drop, "drop_remainder", "b"))


@register_kernel("PaddedBatchDatasetV2", "CPU")
def padded_batch_dataset(node, env):
    """Consecutive elements padded to common shapes and stacked."""
    def fn(d, batch_size, *rest):
        n = (len(rest) - 1) // 2
        shapes, values, drop = rest[:n], rest[n:2 * n], rest[-1]
        return batching.PaddedBatch(dataset_input(d), scalar(batch_size, "batch_size"), shapes, values,
                                    scalar(drop, "drop_remainder", "b"))
    return fn


@register_kernel("ShuffleDataset", "CPU")
def shuffle_dataset(node, env):
    """Elements drawn at random from a buffer."""
    reshuffle = get_attr(node, "reshuffle_each_iteration", True)
    return lambda d, size, seed, seed2: shuffle.Shuffle(dataset_input(d), scalar(size, "buffer_size"),
                                                         scalar(seed, "seed"), scalar(seed2, "seed2"), reshuffle)


@register_kernel("RepeatDataset", "CPU")
def repeat_dataset(node, env):
    """``count`` passes over the input (-1: forever)."""
    return lambda d, count: passes.Repeat(dataset_input(d), scalar(count, "count"))


@register_kernel("TakeDataset", "CPU")
def take_dataset(node, env):
    """The first ``count`` elements."""
    return lambda d, count: passes.Take(dataset_input(d), scalar(count, "count"))


@register_kernel("SkipDataset", "CPU")
def skip_dataset(node, env):
    """All but the first ``count`` elements."""
    return lambda d, count: passes.Skip(dataset_input(d), scalar(count, "count"))


@register_kernel("PrefetchDataset", "CPU")
def prefetch_dataset(node, env):
    """Elements made ahead by a background thread."""
    return lambda d, size: passes.Prefetch(dataset_input(d), scalar(size, "buffer_size"))


@register_kernel("CacheDataset", "CPU")
def cache_dataset(node, env):
    """The input's elements, kept in memory after the first complete pass."""
    def fn(d, filename):
        name = np.asarray(filename).reshape(-1)[0] if np.size(filename) else b""
        if name:
            raise UnimplementedError(None, None, f"CacheDataset: caching to a file ({name!r}) is not implemented; "
                                                 "use cache() (in memory)")
        return passes.Cache(dataset_input(d))
    return fn
