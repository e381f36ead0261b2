"""``tf.data.Iterator``: an iterator is a resource of the task that runs it; ``get_next()`` pulls one element
from it per run, and raises ``tf.errors.OutOfRangeError`` after the last one.

The train/validation switch: one iterator built ``from_structure``, one initializer per dataset.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     train, valid = tf.data.Dataset.range(5), tf.data.Dataset.range(100, 102)
...     it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
...     x = it.get_next()
...     to_train, to_valid = it.make_initializer(train), it.make_initializer(valid)
...     with tf.Session() as sess:
...         _ = sess.run(to_valid)
...         print(sess.run(x), sess.run(x))
...         try:
...             sess.run(x)
...         except tf.errors.OutOfRangeError:
...             print("end of validation")
...         _ = sess.run(to_train)
...         print(sess.run(x))
100 101
end of validation
0
"""

import warnings

import numpy as np

from tasklayer import dtypes
from tasklayer.data import functions, structure
from tasklayer.grad_rules import not_differentiable
from tasklayer.graph import get_default_graph
from tasklayer.op_registry import register_op
from tasklayer.shapes import TensorShape
from tasklayer.tensor import Tensor

# TF1 warns when get_next() is called this often on one iterator: usually it was called inside a training loop.
GET_NEXT_CALL_WARNING_THRESHOLD = 32


def _infer_resource(op):
    return [(structure.resource, TensorShape([]))]


def _infer_get_next(op):
    return list(zip(op.get_attr("output_types"), structure.shapes_from_attr(op.get_attr("output_shapes"))))


for _op in ("IteratorV2", "OneShotIterator", "IteratorFromStringHandleV2"):
    register_op(_op, _infer_resource, stateful=True)
register_op("MakeIterator", lambda op: [], stateful=True)
register_op("IteratorGetNext", _infer_get_next, stateful=True)
register_op("IteratorToStringHandle", lambda op: [(dtypes.string, TensorShape([]))], stateful=True)
not_differentiable("IteratorV2", "OneShotIterator", "IteratorFromStringHandleV2", "MakeIterator", "IteratorGetNext",
                   "IteratorToStringHandle")


class Iterator:
    """An iterator over a dataset's elements (TF1's ``tf.data.Iterator``)."""

    def __init__(self, iterator_resource, initializer, output_types, output_shapes, output_classes=None):
        self._iterator_resource = iterator_resource
        self._initializer = initializer
        self._types = output_types
        self._shapes = output_shapes
        self._classes = output_classes if output_classes is not None else structure.tensor_classes(output_types)
        self._get_next_calls = 0

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None, output_classes=None):
        """An uninitialized iterator for elements of the given structure; ``make_initializer(dataset)`` gives
        the op that (re)starts it on a dataset of that structure."""
        output_types = structure.map_structure(dtypes.as_dtype, output_types)
        output_shapes = structure.normalize_shapes(output_shapes, output_types)
        resource = _iterator_op("IteratorV2", [], output_types, output_shapes, shared_name or "", "Iterator")
        return Iterator(resource, None, output_types, output_shapes, output_classes)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None, output_classes=None):
        """The iterator a string handle (``iterator.string_handle()``'s value, often fed) names, run on the
        task that holds it."""
        output_types = structure.map_structure(dtypes.as_dtype, output_types)
        output_shapes = structure.normalize_shapes(output_shapes, output_types)
        if not isinstance(string_handle, Tensor) or string_handle.dtype != dtypes.string:
            raise TypeError(f"string_handle must be a tf.string tensor, got {string_handle!r}")
        attrs = structure.op_attrs(output_types, output_shapes)
        op = get_default_graph().create_op("IteratorFromStringHandleV2", [string_handle], attrs,
                                           name="IteratorFromStringHandleV2")
        return Iterator(op.outputs[0], None, output_types, output_shapes, output_classes)

    @property
    def initializer(self):
        """The op that (re)starts this iterator on its dataset; ValueError for one-shot iterators."""
        if self._initializer is None:
            raise ValueError("The iterator does not have an initializer. This means it was likely created using "
                             "`tf.data.Dataset.make_one_shot_iterator()`. For an initializable iterator, use "
                             "`tf.data.Dataset.make_initializable_iterator()` instead.")
        return self._initializer

    @property
    def output_types(self):
        """The dtype of each component of an element."""
        return self._types

    @property
    def output_shapes(self):
        """The static shape of each component of an element."""
        return self._shapes

    @property
    def output_classes(self):
        """The class of each component of an element (``tf.Tensor``)."""
        return self._classes

    def make_initializer(self, dataset, name=None):
        """The op that starts this iterator on ``dataset``, whose structure, types and shapes must fit."""
        if not structure.same_structure(self._types, dataset.output_types) or \
                structure.flatten(self._types) != structure.flatten(dataset.output_types):
            raise TypeError(f"Expected output types {self._types!r} but got dataset with output types "
                            f"{dataset.output_types!r}.")
        if not all(a.is_compatible_with(b) for a, b in zip(structure.flatten(self._shapes),
                                                            structure.flatten(dataset.output_shapes))):
            raise TypeError(f"Expected output shapes compatible with {self._shapes!r} but got dataset with output "
                            f"shapes {dataset.output_shapes!r}.")
        return _make_iterator(dataset, self._iterator_resource, name or "MakeIterator")

    def get_next(self, name=None):
        """The next element's tensors, in the element's structure; each run of them takes a new element, and
        raises OutOfRangeError after the last."""
        self._get_next_calls += 1
        if self._get_next_calls > GET_NEXT_CALL_WARNING_THRESHOLD:
            warnings.warn("An unusually high number of `Iterator.get_next()` calls was detected. This often "
                          "indicates that `Iterator.get_next()` is being called inside a training loop, which will "
                          "cause gradual slowdown and eventual resource exhaustion. If this is the case, restructure "
                          "your code to call `next_element = iterator.get_next()` once outside the loop, and use "
                          "`next_element` as the input to some computation that is invoked inside the loop.")
        op = _colocated(self._iterator_resource, "IteratorGetNext", [self._iterator_resource],
                        structure.op_attrs(self._types, self._shapes), name or "IteratorGetNext")
        return structure.pack_as(self._types, op.outputs)

    def string_handle(self, name=None):
        """A tf.string scalar naming this iterator in its task (for ``Iterator.from_string_handle``)."""
        op = _colocated(self._iterator_resource, "IteratorToStringHandle", [self._iterator_resource], {},
                        name or "IteratorToStringHandle")
        return op.outputs[0]


def make_one_shot_iterator(dataset):
    """``tf.compat.v1.data.make_one_shot_iterator``: an iterator that initializes itself on first use.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.data.make_one_shot_iterator(tf.data.Dataset.from_tensor_slices([7, 8])).get_next()
    ...     with tf.Session() as sess:
    ...         int(sess.run(x)), int(sess.run(x))
    (7, 8)
    """
    factory = functions.capture_by_value(dataset._variant_tensor)
    attrs = {"dataset_factory": np.array(factory, dtype=object),
             "dataset_factory_result": dataset._variant_tensor.name,
             **structure.op_attrs(dataset.output_types, dataset.output_shapes), "container": "", "shared_name": ""}
    op = get_default_graph().create_op("OneShotIterator", [], attrs, name="OneShotIterator")
    return Iterator(op.outputs[0], None, dataset.output_types, dataset.output_shapes, dataset.output_classes)


def make_initializable_iterator(dataset, shared_name=None):
    """``tf.compat.v1.data.make_initializable_iterator``: an iterator whose ``initializer`` (re)starts it.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     n = tf.placeholder(tf.int64, [])
    ...     it = tf.data.make_initializable_iterator(tf.data.Dataset.range(n))
    ...     x = it.get_next()
    ...     with tf.Session() as sess:
    ...         _ = sess.run(it.initializer, {n: 3})
    ...         [int(sess.run(x)) for _ in range(3)]
    [0, 1, 2]
    """
    resource = _iterator_op("IteratorV2", [], dataset.output_types, dataset.output_shapes, shared_name or "",
                            "IteratorV2")
    initializer = _make_iterator(dataset, resource, "MakeIterator")
    return Iterator(resource, initializer, dataset.output_types, dataset.output_shapes, dataset.output_classes)


def get_output_types(dataset_or_iterator):
    """``tf.compat.v1.data.get_output_types``."""
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    """``tf.compat.v1.data.get_output_shapes``."""
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    """``tf.compat.v1.data.get_output_classes``."""
    return dataset_or_iterator.output_classes


def _iterator_op(op_type, inputs, types, shapes, shared_name, name):
    attrs = {**structure.op_attrs(types, shapes), "shared_name": shared_name, "container": ""}
    return get_default_graph().create_op(op_type, inputs, attrs, name=name).outputs[0]


def _colocated(resource, op_type, inputs, attrs, name):
    """An op placed with the iterator ``resource`` (it must run in the process that holds the resource):
    on its device, and marked ``_class: loc:@<resource op>`` so placement keeps them together."""
    graph = resource.graph
    with graph.colocate_with(resource, ignore_existing=True):
        return graph.create_op(op_type, inputs, {**attrs, "_class": [f"loc:@{resource.op.name}"]}, name=name)


def _make_iterator(dataset, resource, name):
    """The MakeIterator op starting ``resource`` on ``dataset``, with the dataset's ops placed with it too.

    A dataset tensor is a Python object of one process: it cannot travel between tasks as tensors do. So the
    dataset ops (those of ``dataset``'s chain not colocated elsewhere yet) are marked to run where the iterator
    runs, as a one-shot iterator's captured dataset does; their inputs (arrays, fed values) travel as usual.
    """
    loc = f"loc:@{resource.op.name}"
    graph, todo, seen = resource.graph, [dataset._variant_tensor.op], set()
    while todo:
        op = todo.pop()
        if op in seen:
            continue
        seen.add(op)
        if "_class" not in op._attrs:
            op._attrs["_class"] = [loc]
            op._set_device(resource.op.device)
        todo.extend(t.op for t in op.inputs if t.dtype == structure.variant)
    graph._bump_version()  # the ops changed: a cached GraphDef must be built again
    return _colocated(resource, "MakeIterator", [dataset._variant_tensor, resource], {}, name)
