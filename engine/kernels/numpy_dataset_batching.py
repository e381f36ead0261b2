"""Batching datasets: ``Batch`` stacks consecutive elements, ``PaddedBatch`` pads them to common shapes first.

>>> from engine.kernels.numpy_dataset_pipeline import IterationContext, Range
>>> it = Batch(Range(0, 5, 1), 2, drop_remainder=False).iterate(IterationContext())
>>> [e[0].tolist() for e in iter(it.next_element, None)]
[[0, 1], [2, 3], [4]]
"""

import numpy as np

from engine.errors import InvalidArgumentError
from engine.kernels.numpy_dataset_pipeline import (DatasetValue, ElementIterator, block_len, row, same_shapes,
                                                   stack)


def _owned(array):
    """``array``, copied unless it owns its memory (a batch must not alias a source the user may change)."""
    return array if array.flags.owndata and array.flags.writeable else array.copy()


class Batch(DatasetValue):
    """``batch``: ``batch_size`` consecutive elements stacked (the last batch smaller unless dropped)."""

    def __init__(self, input_dataset, batch_size, drop_remainder):
        if batch_size <= 0:
            raise InvalidArgumentError(None, None, "Batch size must be greater than zero.")
        self._input, self._size, self._drop = input_dataset, int(batch_size), bool(drop_remainder)

    def iterate(self, ictx):
        return _BatchIterator(self._input.iterate(ictx), self._size, self._drop)


class _ElementwiseOutput(ElementIterator):
    """An iterator whose unit is the element (a batch): blocks are stacks of equal-shaped elements."""

    _held = None  # an element read while making a block but not of its shape

    def next_block(self, n):
        first = self._held if self._held is not None else self.next_element()
        self._held = None
        if first is None:
            return None
        out = [first]
        while len(out) < n:
            element = self.next_element()
            if element is None:
                break
            if not same_shapes(element, first):
                self._held = element
                break
            out.append(element)
        return stack(out)


class _BatchIterator(_ElementwiseOutput):
    def __init__(self, it, size, drop):
        self._it, self._size, self._drop = it, size, drop

    def next_element(self):
        if self._held is not None:
            element, self._held = self._held, None
            return element
        pieces, got = [], 0
        while got < self._size:
            block = self._it.next_block(self._size - got)
            if block is None:
                break
            pieces.append(block)
            got += block_len(block)
        if got == 0 or (self._drop and got < self._size):
            return None
        if len(pieces) == 1:
            return [_owned(c) for c in pieces[0]]
        out = []
        for j in range(len(pieces[0])):
            parts = [p[j] for p in pieces]
            for part in parts[1:]:
                if part.shape[1:] != parts[0].shape[1:]:
                    raise InvalidArgumentError(None, None, "Cannot add tensor to the batch: number of elements does "
                                               f"not match. Shapes are: [tensor]: {list(part.shape[1:])}, "
                                               f"[batch]: {list(parts[0].shape[1:])}")
            out.append(np.concatenate(parts))
        return out

    def close(self):
        self._it.close()


class PaddedBatch(DatasetValue):
    """``padded_batch``: elements padded (with ``padding_values``) to ``padded_shapes`` (-1: the batch's
    longest) and stacked."""

    def __init__(self, input_dataset, batch_size, padded_shapes, padding_values, drop_remainder):
        if batch_size <= 0:
            raise InvalidArgumentError(None, None, "Batch size must be greater than zero.")
        self._input, self._size, self._drop = input_dataset, int(batch_size), bool(drop_remainder)
        self._shapes = [tuple(int(d) for d in np.ravel(s)) for s in padded_shapes]
        self._values = [np.asarray(v) for v in padding_values]
        for j, v in enumerate(self._values):
            if v.ndim:
                raise InvalidArgumentError(None, None, f"All padding values must be scalars; component {j} has "
                                                       f"shape {list(v.shape)}")

    def iterate(self, ictx):
        return _PaddedBatchIterator(self._input.iterate(ictx), self)


class _PaddedBatchIterator(_ElementwiseOutput):
    def __init__(self, it, spec):
        self._it, self._spec = it, spec

    def next_element(self):
        if self._held is not None:
            element, self._held = self._held, None
            return element
        spec = self._spec
        elements = []
        while len(elements) < spec._size:
            block = self._it.next_block(spec._size - len(elements))
            if block is None:
                break
            elements.extend(row(block, i) for i in range(block_len(block)))
        if not elements or (spec._drop and len(elements) < spec._size):
            return None
        return [self._pad([e[j] for e in elements], j) for j in range(len(elements[0]))]

    def _pad(self, parts, j):
        wanted, value = self._spec._shapes[j], self._spec._values[j]
        for part in parts:
            if part.ndim != len(wanted):
                raise InvalidArgumentError(None, None, f"The padded shape {list(wanted)} of component {j} has rank "
                                                       f"{len(wanted)} but the element has rank {part.ndim}")
        dims = tuple(max(p.shape[d] for p in parts) if w < 0 else w for d, w in enumerate(wanted))
        out = np.full((len(parts),) + dims, value, dtype=parts[0].dtype)
        for i, part in enumerate(parts):
            if any(s > d for s, d in zip(part.shape, dims)):
                raise InvalidArgumentError(None, None, "Attempted to pad to a smaller size than the input element.")
            out[(i,) + tuple(slice(0, s) for s in part.shape)] = part
        return out

    def close(self):
        self._it.close()
