"""Datasets as the engine runs them: immutable descriptions (``DatasetValue``) and the iterators that walk them.

A dataset kernel outputs a ``DatasetValue``; ``MakeIterator`` asks it for an ``ElementIterator``. Iterators hand
out *blocks*: a block is a list of arrays, one per component, all with the same leading length k >= 1 (k
consecutive elements). ``next_block(n)`` returns a block of at most ``n`` elements, ``next_element()`` one element
(a list of arrays); both return None at the end of the data, and keep returning None after it.

Working in blocks is what makes a pipeline fast in Python: a batch of a shuffled array dataset is one fancy index
per component, not 128 Python steps. A dataset with *random access* (slices of arrays, ranges, zips and
elementwise maps of them, take/skip of them) also answers ``take(indices)``, so a shuffle over it keeps a buffer
of indices and gathers the rows it emits straight from the source arrays.

This module holds the interfaces, sources and element-wise transformations; ``numpy_dataset_batching``,
``numpy_dataset_shuffle`` and ``numpy_dataset_passes`` hold the rest.

>>> it = Zip([Range(0, 3, 1), Range(10, 20, 5)]).iterate(IterationContext())
>>> [(int(a), int(b)) for a, b in iter(it.next_element, None)]
[(0, 10), (1, 15)]
"""

import numpy as np

from engine.errors import InvalidArgumentError


# ---------------------------------------------------------------------- blocks and elements
def block_len(block):
    """How many elements ``block`` holds."""
    return len(block[0])


def row(block, i):
    """Element ``i`` of ``block``: one array per component (0-d arrays for scalars, strings included)."""
    return [c[i] if c.ndim > 1 else c[i:i + 1].reshape(()) for c in block]


def as_block(element):
    """One element as a block of length 1."""
    return [np.expand_dims(np.asarray(c), 0) for c in element]


def same_shapes(a, b):
    """Whether two elements (or blocks' rows) have equal component shapes."""
    return all(x.shape == y.shape for x, y in zip(a, b))


def stack(elements):
    """Elements of equal shapes as one block."""
    return [np.stack([e[j] for e in elements]) for j in range(len(elements[0]))]


class IterationContext:
    """What the iterators of one iterator resource share: the cancel event of the step now pulling from them."""

    __slots__ = ("cancel",)

    def __init__(self, cancel=None):
        self.cancel = cancel


# ---------------------------------------------------------------------- the two interfaces
class RandomAccess:
    """Element access by index: ``length``, ``take(indices)`` (an int array) and ``slice(start, stop)``."""

    def __init__(self, length, take, slice_=None):
        self.length = int(length)
        self.take = take
        self.slice = slice_ if slice_ is not None else (lambda a, b: take(np.arange(a, b, dtype=np.int64)))


class DatasetValue:
    """An immutable description of a dataset; ``iterate`` starts a new pass over it."""

    random_access = None  # a RandomAccess when elements can be read by index

    def iterate(self, ictx):
        """A new ``ElementIterator`` over this dataset."""
        if self.random_access is not None:
            return Sequential(self.random_access)
        raise NotImplementedError(type(self).__name__)


class ElementIterator:
    """One pass over a dataset: ``next_block(n)`` / ``next_element()``; None at the end."""

    def next_block(self, n):
        """Up to ``n`` next elements as a block, or None at the end."""
        raise NotImplementedError

    def next_element(self):
        """The next element (a list of arrays), or None at the end."""
        block = self.next_block(1)
        return None if block is None else row(block, 0)

    def close(self):
        """Stop background work (prefetch threads) of this pass."""


class Sequential(ElementIterator):
    """A random-access dataset read in order."""

    def __init__(self, ra):
        self._ra, self._pos = ra, 0

    def next_block(self, n):
        start, length = self._pos, self._ra.length
        if start >= length:
            return None
        self._pos = stop = min(length, start + n)
        return self._ra.slice(start, stop)


class _Reader:
    """An iterator that can be given back the unread tail of a block (for zips of unequal blocks)."""

    def __init__(self, it):
        self.it = it
        self.pending = None

    def read(self, n):
        if self.pending is not None:
            block, self.pending = self.pending, None
            if block_len(block) > n:
                block, self.pending = [c[:n] for c in block], [c[n:] for c in block]
            return block
        return self.it.next_block(n)

    def unread(self, block):
        self.pending = block


# ---------------------------------------------------------------------- sources
class TensorSlices(DatasetValue):
    """``from_tensor_slices``: element i is row i of every component."""

    def __init__(self, arrays):
        arrays = [np.asarray(a) for a in arrays]
        self.random_access = RandomAccess(len(arrays[0]), lambda idx: [np.take(a, idx, axis=0) for a in arrays],
                                          lambda s, e: [a[s:e] for a in arrays])


class Tensors(DatasetValue):
    """``from_tensors``: one element."""

    def __init__(self, arrays):
        rows = [np.expand_dims(np.asarray(a), 0) for a in arrays]
        self.random_access = RandomAccess(1, lambda idx: [r[idx] for r in rows], lambda s, e: [r[s:e] for r in rows])


class Range(DatasetValue):
    """``range(start, stop, step)`` as int64."""

    def __init__(self, start, stop, step):
        if step == 0:
            raise InvalidArgumentError(None, None, "step must be a non-zero integer.")
        length = max(0, -((start - stop) // step)) if step > 0 else max(0, -((stop - start) // -step))
        self.random_access = RandomAccess(length, lambda idx: [start + np.asarray(idx, np.int64) * step],
                                          lambda s, e: [np.arange(start + s * step, start + e * step, step,
                                                                  dtype=np.int64)])


# ---------------------------------------------------------------------- combining datasets
class Zip(DatasetValue):
    """``zip``: element i is the components of element i of every input; ends with the shortest."""

    def __init__(self, inputs):
        self._inputs = list(inputs)
        ras = [d.random_access for d in self._inputs]
        if all(ra is not None for ra in ras):
            self.random_access = RandomAccess(
                min(ra.length for ra in ras), lambda idx: [c for ra in ras for c in ra.take(idx)],
                lambda s, e: [c for ra in ras for c in ra.slice(s, e)])

    def iterate(self, ictx):
        if self.random_access is not None:
            return Sequential(self.random_access)
        return _ZipIterator([d.iterate(ictx) for d in self._inputs])


class _ZipIterator(ElementIterator):
    def __init__(self, its):
        self._readers = [_Reader(it) for it in its]
        self._done = False

    def next_block(self, n):
        if self._done:
            return None
        blocks = []
        for reader in self._readers:
            block = reader.read(n)
            if block is None:
                self._done = True
                return None
            blocks.append(block)
        k = min(block_len(b) for b in blocks)
        for reader, block in zip(self._readers, blocks):
            if block_len(block) > k:
                reader.unread([c[k:] for c in block])
        return [c[:k] for b in blocks for c in b]

    def close(self):
        for reader in self._readers:
            reader.it.close()


class Concatenate(DatasetValue):
    """``concatenate``: the elements of the first dataset, then those of the second."""

    def __init__(self, first, second):
        self._parts = (first, second)

    def iterate(self, ictx):
        return ChainIterator([lambda d=d: d.iterate(ictx) for d in self._parts])


class ChainIterator(ElementIterator):
    """The passes made by ``starts`` (callables), one after another."""

    def __init__(self, starts, until_empty=False):
        self._starts = iter(starts)
        self._current = None
        self._until_empty = until_empty  # a repeat: an input that gave nothing ends it (it would loop forever)
        self._gave = False

    def _pull(self, method, *args):
        while True:
            if self._current is None:
                start = next(self._starts, None)
                if start is None:
                    return None
                self._current, self._gave = start(), False
            out = getattr(self._current, method)(*args)
            if out is not None:
                self._gave = True
                return out
            self._current.close()
            self._current = None
            if self._until_empty and not self._gave:
                self._starts = iter(())
                return None

    def next_block(self, n):
        return self._pull("next_block", n)

    def next_element(self):
        return self._pull("next_element")

    def close(self):
        if self._current is not None:
            self._current.close()


# ---------------------------------------------------------------------- functions of elements
class Map(DatasetValue):
    """``map``: ``fn`` (a DatasetFunction) of every element, a block at a time when it is elementwise."""

    def __init__(self, input_dataset, fn):
        self._input, self._fn = input_dataset, fn
        ra = input_dataset.random_access
        if ra is not None and fn.elementwise:
            self.random_access = RandomAccess(ra.length, lambda idx: fn.call_block(ra.take(idx)),
                                              lambda s, e: fn.call_block(ra.slice(s, e)))

    def iterate(self, ictx):
        if self.random_access is not None:
            return Sequential(self.random_access)
        return _MapIterator(self._input.iterate(ictx), self._fn)


class _MapIterator(ElementIterator):
    def __init__(self, it, fn):
        self._it, self._fn = it, fn
        self._pending = []  # computed elements not handed out yet

    def next_element(self):
        if self._pending:
            return self._pending.pop(0)
        element = self._it.next_element()
        return None if element is None else self._fn(element)

    def next_block(self, n):
        if not self._pending:
            block = self._it.next_block(n)
            if block is None:
                return None
            if self._fn.elementwise:
                return self._fn.call_block(block)
            self._pending = [self._fn(row(block, i)) for i in range(block_len(block))]
        # Results may differ in shape from one element to the next: hand out the run of equal shapes first.
        first = self._pending[0]
        k = 1
        while k < len(self._pending) and k < n and same_shapes(self._pending[k], first):
            k += 1
        out, self._pending = self._pending[:k], self._pending[k:]
        return stack(out)

    def close(self):
        self._it.close()


class Filter(DatasetValue):
    """``filter``: the elements for which ``predicate`` (a DatasetFunction giving a bool scalar) is true."""

    def __init__(self, input_dataset, predicate):
        self._input, self._predicate = input_dataset, predicate

    def iterate(self, ictx):
        return _FilterIterator(self._input.iterate(ictx), self._predicate)


class _FilterIterator(ElementIterator):
    def __init__(self, it, predicate):
        self._it, self._predicate = it, predicate

    def next_element(self):
        while True:
            element = self._it.next_element()
            if element is None or bool(self._predicate(element)[0]):
                return element

    def next_block(self, n):
        while True:
            block = self._it.next_block(n)
            if block is None:
                return None
            if self._predicate.elementwise:
                keep = np.asarray(self._predicate.call_block(block)[0], dtype=bool)
            else:
                keep = np.array([bool(self._predicate(row(block, i))[0]) for i in range(block_len(block))])
            if keep.all():
                return block
            if keep.any():
                return [c[keep] for c in block]

    def close(self):
        self._it.close()
