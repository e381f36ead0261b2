"""Iterator kernels (tf.data): an iterator is a resource of the process that runs it, holding the current pass
over a dataset; ``IteratorGetNext`` pulls the next element from it.

The resource lives in the executor's ``ResourceMgr`` (container ``_iterators``), named by the op's
``shared_name`` or else its node name, so the initializer and ``get_next`` (different runs, often different
executors) reach the same one. The task layer colocates every op of an iterator with its resource op.

Ops (inputs -> outputs; attrs):
  IteratorV2() -> resource                               shared_name, container, output_types, output_shapes
  OneShotIterator() -> resource                          dataset_factory (+ _result), output_types, ...
  MakeIterator(dataset: variant, iterator: resource) -> ()
  IteratorGetNext(iterator) -> components                output_types, output_shapes
  IteratorToStringHandle(resource) -> string
  IteratorFromStringHandleV2(string_handle) -> resource  output_types, output_shapes
"""

import threading

import numpy as np

from engine import dtypes, op_defs
from engine.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError
from engine.graph_util import get_attr
from engine.kernels import numpy_dataset_pipeline as pipeline
from engine.kernels.numpy_dataset import dataset_input
from engine.kernels.numpy_dataset_functions import graph_attr
from engine.kernels.registry import register_kernel
from engine.kernels.resources import node_resources
from engine.op_constants import RESOURCE, VARIANT
from engine.resource_mgr import PRIVATE_PREFIX

ITERATOR_CONTAINER = "_iterators"

op_defs.register_op("IteratorV2", RESOURCE, stateful=True, inputs=())
op_defs.register_op("OneShotIterator", RESOURCE, stateful=True, inputs=())
op_defs.register_op("IteratorFromStringHandleV2", RESOURCE, stateful=True, inputs=(dtypes.string,))
op_defs.register_op("MakeIterator", lambda node: [], stateful=True, inputs=(VARIANT, RESOURCE))
op_defs.register_op("IteratorGetNext", lambda node: list(get_attr(node, "output_types")), stateful=True,
                    inputs=(RESOURCE,))
op_defs.register_op("IteratorToStringHandle", dtypes.string, stateful=True, inputs=(RESOURCE,))

NOT_INITIALIZED = ("GetNext() failed because the iterator has not been initialized. Ensure that you have run the "
                   "initializer operation for this iterator before getting the next element.")


class IteratorResource:
    """One iterator: the pass over a dataset that ``get_next`` pulls from (None before initialization)."""

    def __init__(self, handle, output_types, output_shapes):
        self.handle = handle
        self.output_types = list(output_types)
        self.output_shapes = list(output_shapes)
        self._lock = threading.Lock()
        self._ictx = pipeline.IterationContext()
        self._iterator = None
        self._made = False  # a one-shot iterator was made (it is never made again, even when exhausted)

    def initialize(self, dataset):
        """Start a new pass over ``dataset`` (a DatasetValue), dropping the current one."""
        with self._lock:
            old, self._iterator = self._iterator, dataset.iterate(self._ictx)
            self._made = True
        if old is not None:
            old.close()

    def initialize_once(self, make_dataset):
        """Initialize from ``make_dataset()`` unless this iterator was ever initialized (one-shot iterators)."""
        with self._lock:
            if not self._made:
                self._iterator = make_dataset().iterate(self._ictx)
                self._made = True

    def get_next(self, cancel=None):
        """The next element (a list of arrays); FailedPreconditionError before initialization, OutOfRangeError
        at the end."""
        with self._lock:
            it = self._iterator
            if it is None:
                raise FailedPreconditionError(None, None, NOT_INITIALIZED)
            self._ictx.cancel = cancel
            element = it.next_element()
        if element is None:
            raise OutOfRangeError(None, None, "End of sequence")
        return element

    def close(self):
        """Stop the current pass's background work."""
        with self._lock:
            it, self._iterator = self._iterator, None
        if it is not None:
            it.close()

    def __del__(self):
        it = self._iterator
        if it is not None:
            it.close()


def _iterator_resource(node, env):
    """The IteratorResource this node names (created on first use)."""
    resources = node_resources(node, env)
    container = get_attr(node, "container", "") or ""
    shared = get_attr(node, "shared_name", "")
    name = f"{container}/{shared or node.name}" if container else (shared or node.name)
    key = name if shared else PRIVATE_PREFIX + name  # unshared: the session's own, as TF keeps it per session
    return resources.lookup_or_create(ITERATOR_CONTAINER, key, lambda: IteratorResource(
        key, get_attr(node, "output_types"), get_attr(node, "output_shapes", [])))


def _iterator_input(value):
    if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 0:
        value = value[()]
    if not isinstance(value, IteratorResource):
        raise InvalidArgumentError(None, None, f"expected an iterator resource, got {type(value).__name__}")
    return value


@register_kernel("IteratorV2", "CPU")
def iterator_v2(node, env):
    """The iterator resource (created uninitialized the first time)."""
    resource = _iterator_resource(node, env)
    return lambda: resource


@register_kernel("OneShotIterator", "CPU")
def one_shot_iterator(node, env):
    """The iterator resource, initialized on first use from the dataset its ``dataset_factory`` graph makes."""
    resource = _iterator_resource(node, env)

    def make_dataset():
        factory = env.functions.instantiate(graph_attr(node, "dataset_factory"))
        [value] = factory.run(fetches=[get_attr(node, "dataset_factory_result")])
        return dataset_input(value, "dataset_factory")

    def fn():
        resource.initialize_once(make_dataset)
        return resource
    return fn


@register_kernel("MakeIterator", "CPU")
def make_iterator(node, env):
    """Start a new pass of ``iterator`` over ``dataset``."""
    return lambda dataset, iterator: _iterator_input(iterator).initialize(dataset_input(dataset, "dataset"))


@register_kernel("IteratorGetNext", "CPU", needs_context=True)
def iterator_get_next(node, env):
    """The next element's components; OutOfRangeError ("End of sequence") after the last."""
    if len(get_attr(node, "output_types")) == 1:
        return lambda ctx, iterator: _iterator_input(iterator).get_next(ctx.cancel)[0]
    return lambda ctx, iterator: _iterator_input(iterator).get_next(ctx.cancel)


@register_kernel("IteratorToStringHandle", "CPU")
def iterator_to_string_handle(node, env):
    """The iterator's name in its process, as a string scalar (``Iterator.from_string_handle`` takes it)."""
    return lambda iterator: np.array(_iterator_input(iterator).handle.encode(), dtype=object)


@register_kernel("IteratorFromStringHandleV2", "CPU")
def iterator_from_string_handle(node, env):
    """The iterator a string handle names; its types must be those this op expects."""
    resources = node_resources(node, env)
    want = list(get_attr(node, "output_types"))

    def fn(string_handle):
        handle = np.asarray(string_handle).reshape(-1)[0]
        handle = handle.decode() if isinstance(handle, bytes) else str(handle)
        try:
            resource = resources.lookup(ITERATOR_CONTAINER, handle)
        except NotFoundError:
            raise NotFoundError(None, None, f"no iterator with handle {handle!r} in this process") from None
        if [t.name for t in resource.output_types] != [t.name for t in want]:
            raise InvalidArgumentError(None, None, "The iterator's output types "
                                       f"({', '.join(t.name for t in resource.output_types)}) do not match the "
                                       f"expected types ({', '.join(t.name for t in want)})")
        return resource
    return fn
