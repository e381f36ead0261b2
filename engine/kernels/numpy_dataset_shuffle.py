"""``Shuffle``: each element drawn at random from a buffer of the next ``buffer_size`` input elements.

Over a random-access input (arrays, ranges) the buffer holds indices, and the rows an output block needs are
gathered from the source in one fancy index; over any other input it holds the rows themselves, in arrays while
the elements agree in shape, else in a list.

>>> from engine.kernels.numpy_dataset_pipeline import IterationContext, Range
>>> it = Shuffle(Range(0, 10, 1), 4, seed=1, seed2=2, reshuffle=True).iterate(IterationContext())
>>> sorted(int(e[0]) for e in iter(it.next_element, None))
[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""

import threading

import numpy as np

from engine.errors import InvalidArgumentError
from engine.kernels.numpy_dataset_pipeline import (DatasetValue, ElementIterator, RandomAccess, Sequential,
                                                   as_block, block_len, row)

# A buffer of rows starts this large (in elements) and doubles up to its buffer_size.
_FIRST_CAPACITY = 1024


class Shuffle(DatasetValue):
    """``shuffle``: a buffer of ``buffer_size`` elements from which each output is drawn at random.

    Seeds (0, 0) mean fresh random seeds; with ``reshuffle_each_iteration`` every pass (every repeat epoch)
    draws its own order from the dataset's seeds, else every pass repeats the first one's order.
    """

    def __init__(self, input_dataset, buffer_size, seed, seed2, reshuffle):
        if buffer_size <= 0:
            raise InvalidArgumentError(None, None, "buffer_size must be greater than zero.")
        self._input, self._size, self._reshuffle = input_dataset, int(buffer_size), bool(reshuffle)
        self._base = [int(seed), int(seed2)] if (seed or seed2) else np.random.SeedSequence().entropy
        self._seeds = np.random.default_rng(self._base)
        self._lock = threading.Lock()

    def _rng(self):
        if not self._reshuffle:
            return np.random.default_rng(self._base)
        with self._lock:
            return np.random.default_rng(self._seeds.integers(1 << 63))

    def iterate(self, ictx):
        ra = self._input.random_access
        if ra is not None:  # shuffle indices, then gather the emitted rows from the source
            return _ShuffleIterator(Sequential(_indices(ra.length)), self._size, self._rng(),
                                    lambda block: ra.take(block[0]))
        return _ShuffleIterator(self._input.iterate(ictx), self._size, self._rng())


def _indices(length):
    return RandomAccess(length, lambda idx: [np.asarray(idx, np.int64)],
                        lambda s, e: [np.arange(s, e, dtype=np.int64)])


class _ShuffleIterator(ElementIterator):
    """The buffer holds rows in arrays (one per component) while elements agree in shape, else a list."""

    def __init__(self, it, size, rng, finish=None):
        self._it, self._limit, self._rng = it, size, rng
        self._finish = finish
        self._cols = None   # arrays of capacity >= _count, or None
        self._items = None  # list of elements once shapes vary
        self._count = 0
        self._ended = False

    def next_block(self, n):
        self._fill()
        if self._items is not None:
            if not self._items:
                return None
            j = int(self._rng.integers(len(self._items)))
            items = self._items
            element, items[j] = items[j], items[-1]
            items.pop()
            out = as_block(element)
            return out if self._finish is None else self._finish(out)
        size = self._count
        if size == 0:
            return None
        k = min(n, size)
        pos = self._rng.choice(size, k, replace=False) if k < size else self._rng.permutation(size)
        out = [c[pos] for c in self._cols]
        self._replace(pos)
        return out if self._finish is None else self._finish(out)

    def _replace(self, pos):
        """Put the next input elements where the emitted ones were (TF's algorithm, ``len(pos)`` at a time);
        positions left without one at the end of the input are dropped."""
        block = None if self._ended else self._it.next_block(len(pos))
        if block is None:
            self._ended = True
        elif all(c.shape[1:] == b.shape[1:] for c, b in zip(self._cols, block)):
            k = block_len(block)
            for c, b in zip(self._cols, block):
                c[pos[:k]] = b
            pos = pos[k:]
        else:  # another shape: drop the emitted rows, then take the block in (as a list of elements)
            self._remove(pos)
            self._append(block)
            return
        if len(pos):
            self._remove(pos)

    def _fill(self):
        while not self._ended and self._held() < self._limit:
            block = self._it.next_block(self._limit - self._held())
            if block is None:
                self._ended = True
            else:
                self._append(block)

    def _held(self):
        return len(self._items) if self._items is not None else self._count

    def _append(self, block):
        k = block_len(block)
        if self._items is not None:
            self._items.extend(row(block, i) for i in range(k))
            return
        cols, size = self._cols, self._count
        if cols is not None and any(c.shape[1:] != b.shape[1:] for c, b in zip(cols, block)):
            self._items = [row(cols, i) for i in range(size)] + [row(block, i) for i in range(k)]
            self._cols = None
            return
        if cols is None or size + k > len(cols[0]):
            capacity = min(self._limit, max(_FIRST_CAPACITY, size + k, 2 * (len(cols[0]) if cols else 0)))
            grown = [np.empty((capacity,) + b.shape[1:], dtype=b.dtype) for b in block]
            if cols is not None:
                for g, c in zip(grown, cols):
                    g[:size] = c[:size]
            self._cols = cols = grown
        for c, b in zip(cols, block):
            c[size:size + k] = b
        self._count = size + k

    def _remove(self, pos):
        """Drop the rows at ``pos``, moving rows from the end into the holes."""
        size = self._count
        new_size = size - len(pos)
        holes = pos[pos < new_size]
        if len(holes):
            gone_tail = np.zeros(size - new_size, dtype=bool)
            gone_tail[pos[pos >= new_size] - new_size] = True
            tail = np.arange(new_size, size)[~gone_tail]
            for c in self._cols:
                c[holes] = c[tail]
        self._count = new_size

    def close(self):
        self._it.close()
