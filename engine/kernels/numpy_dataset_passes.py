"""Datasets of passes and buffers: ``Repeat``, ``Take``, ``Skip``, ``Cache`` (in memory) and ``Prefetch`` (a
background thread).

>>> from engine.kernels.numpy_dataset_pipeline import IterationContext, Range
>>> it = Take(Repeat(Range(0, 3, 1), 2), 5).iterate(IterationContext())
>>> [int(e[0]) for e in iter(it.next_element, None)]
[0, 1, 2, 0, 1]
"""

import queue
import threading
import weakref

import numpy as np

from engine.errors import CancelledError, InvalidArgumentError
from engine.kernels.numpy_dataset_pipeline import (DatasetValue, ElementIterator, RandomAccess, ChainIterator,
                                                   Sequential, as_block, block_len)

# How often a wait on the prefetch queue looks at the step's cancel event (and its producer at its stop event).
_WAIT_SLICE = 0.05


class Repeat(DatasetValue):
    """``repeat``: ``count`` passes (-1: forever; an empty input ends it)."""

    def __init__(self, input_dataset, count):
        self._input, self._count = input_dataset, int(count)

    def iterate(self, ictx):
        passes = iter(int, 1) if self._count < 0 else range(self._count)  # iter(int, 1): endless
        return ChainIterator((lambda: self._input.iterate(ictx) for _ in passes), until_empty=self._count < 0)


class Take(DatasetValue):
    """``take``: the first ``count`` elements (-1: all)."""

    def __init__(self, input_dataset, count):
        self._input, self._count = input_dataset, int(count)
        ra = input_dataset.random_access
        if ra is not None:
            length = ra.length if self._count < 0 else min(ra.length, self._count)
            self.random_access = RandomAccess(length, ra.take, ra.slice)

    def iterate(self, ictx):
        if self.random_access is not None:
            return Sequential(self.random_access)
        return _TakeIterator(self._input.iterate(ictx), self._count)


class _TakeIterator(ElementIterator):
    def __init__(self, it, count):
        self._it, self._left = it, count

    def next_block(self, n):
        if self._left == 0:
            return None
        block = self._it.next_block(n if self._left < 0 else min(n, self._left))
        if block is not None and self._left > 0:
            self._left -= block_len(block)
        return block

    def next_element(self):
        if self._left == 0:
            return None
        element = self._it.next_element()
        if element is not None and self._left > 0:
            self._left -= 1
        return element

    def close(self):
        self._it.close()


class Skip(DatasetValue):
    """``skip``: all but the first ``count`` elements (-1: skip them all)."""

    def __init__(self, input_dataset, count):
        self._input, self._count = input_dataset, int(count)
        ra = input_dataset.random_access
        if ra is not None:
            first = ra.length if self._count < 0 else min(ra.length, self._count)
            self.random_access = RandomAccess(ra.length - first, lambda idx: ra.take(np.asarray(idx) + first),
                                              lambda s, e: ra.slice(s + first, e + first))

    def iterate(self, ictx):
        if self.random_access is not None:
            return Sequential(self.random_access)
        return _SkipIterator(self._input.iterate(ictx), self._count)


class _SkipIterator(ElementIterator):
    def __init__(self, it, count):
        self._it, self._skip = it, count

    def _skip_now(self):
        while self._skip != 0:
            block = self._it.next_block(1 << 16 if self._skip < 0 else min(self._skip, 1 << 16))
            if block is None:
                self._skip = 0
                return False
            if self._skip > 0:
                self._skip -= block_len(block)
        return True

    def next_block(self, n):
        return self._it.next_block(n) if self._skip_now() else None

    def next_element(self):
        return self._it.next_element() if self._skip_now() else None

    def close(self):
        self._it.close()


class Cache(DatasetValue):
    """``cache`` in memory: the first complete pass is recorded, later passes replay it."""

    def __init__(self, input_dataset):
        self._input = input_dataset
        self._blocks = None
        self._lock = threading.Lock()

    def iterate(self, ictx):
        with self._lock:
            blocks = self._blocks
        if blocks is not None:
            return _ReplayIterator(blocks)
        return _RecordingIterator(self._input.iterate(ictx), self)

    def _commit(self, blocks):
        with self._lock:
            if self._blocks is None:
                self._blocks = blocks


class _ReplayIterator(ElementIterator):
    def __init__(self, blocks):
        self._blocks, self._next, self._pos = blocks, 0, 0

    def next_block(self, n):
        if self._next == len(self._blocks):
            return None
        block = self._blocks[self._next]
        start, stop = self._pos, min(block_len(block), self._pos + n)
        if stop == block_len(block):
            self._next, self._pos = self._next + 1, 0
        else:
            self._pos = stop
        return [c[start:stop] for c in block]


class _RecordingIterator(ElementIterator):
    def __init__(self, it, cache):
        self._it, self._cache, self._blocks = it, cache, []

    def next_block(self, n):
        block = self._it.next_block(n)
        if block is None:
            if self._blocks is not None:
                self._cache._commit(self._blocks)
                self._blocks = None
            return None
        if self._blocks is not None:
            self._blocks.append(block)
        return block

    def close(self):
        self._it.close()


class Prefetch(DatasetValue):
    """``prefetch``: a background thread keeps up to ``buffer_size`` elements ready (-1: a few; 0: none)."""

    AUTOTUNE_SIZE = 4

    def __init__(self, input_dataset, buffer_size):
        if buffer_size < -1:
            raise InvalidArgumentError(None, None, f"buffer_size must be >= -1, got {buffer_size}")
        self._input = input_dataset
        self._size = self.AUTOTUNE_SIZE if buffer_size == -1 else int(buffer_size)
        self.random_access = input_dataset.random_access if self._size == 0 else None

    def iterate(self, ictx):
        if self._size == 0:
            return self._input.iterate(ictx)
        return _PrefetchIterator(self._input.iterate(ictx), self._size, ictx)


_END = object()


class _PrefetchIterator(ElementIterator):
    """Elements made by a daemon thread. The thread holds no reference to this object, only a weak one: when
    the iterator is dropped (its session closed) or closed (re-initialized), the thread ends within a slice."""

    def __init__(self, it, size, ictx):
        self._queue = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._ictx = ictx
        self._finished = False
        threading.Thread(target=_produce, args=(it, self._queue, self._stop, weakref.ref(self)),
                         name="dataset-prefetch", daemon=True).start()

    def next_element(self):
        if self._finished:
            return None
        while True:
            cancel = self._ictx.cancel
            if cancel is not None and cancel.is_set():
                raise CancelledError(None, None, "GetNext: step cancelled while waiting for a prefetched element")
            try:
                item = self._queue.get(timeout=_WAIT_SLICE)
                break
            except queue.Empty:
                continue
        if item is _END:
            self._finished = True
            return None
        if isinstance(item, BaseException):
            self._finished = True
            raise item
        return item

    def next_block(self, n):
        element = self.next_element()
        return None if element is None else as_block(element)

    def close(self):
        self._stop.set()

    def __del__(self):
        self._stop.set()


def _produce(it, out, stop, owner):
    """The prefetch thread: pull elements from ``it`` into ``out`` until the end, an error, or a stop."""
    try:
        while not stop.is_set() and owner() is not None:
            try:
                item = it.next_element()
            except BaseException as e:  # handed to the consumer, who raises it from GetNext
                item = e
            item = _END if item is None else item
            while not stop.is_set() and owner() is not None:
                try:
                    out.put(item, timeout=_WAIT_SLICE)
                    break
                except queue.Full:
                    continue
            if item is _END or isinstance(item, BaseException):
                return
    finally:
        it.close()
