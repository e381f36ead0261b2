"""A thread pool of daemon threads, for work that may wait without end (a queue op on a full queue, a step waiting
on another task): a process whose program has ended exits even while such work waits, as TF's inter-op threads
never keep a TF1 program alive. ``concurrent.futures.ThreadPoolExecutor`` joins its threads at exit instead, so
one blocked op would hang the interpreter's shutdown.

>>> pool = DaemonPool(2, "doc")
>>> pool.submit(pow, 2, 10).result()
1024
>>> pool.shutdown()
"""

import collections
import concurrent.futures
import threading


class DaemonPool(concurrent.futures.Executor):
    """Up to ``max_workers`` daemon threads named ``thread_name_prefix_N``, started as work arrives; ``submit``
    returns a ``concurrent.futures.Future``. Work beyond ``max_workers`` at once waits for a free thread."""

    def __init__(self, max_workers, thread_name_prefix="daemon-pool"):
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self._max = max_workers
        self._prefix = thread_name_prefix
        self._cond = threading.Condition()
        self._items = collections.deque()
        self._threads = 0
        self._idle = 0  # threads waiting for work that no submit has claimed yet
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` on a pool thread; its Future. RuntimeError after ``shutdown``."""
        future = concurrent.futures.Future()
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._items.append((future, fn, args, kwargs))
            if self._idle:  # claim one waiting thread for this item (a thread that frees meanwhile may take it)
                self._idle -= 1
                self._cond.notify()
                return future
            if self._threads >= self._max:
                return future
            self._threads += 1
            name = f"{self._prefix}_{self._threads}"
        threading.Thread(target=self._serve, name=name, daemon=True).start()
        return future

    def _serve(self):
        while True:
            with self._cond:
                while not self._items:
                    if self._shutdown:
                        self._threads -= 1
                        return
                    self._idle += 1
                    self._cond.wait()  # a submit claims us (and counts us busy), or shutdown wakes everyone
                future, fn, args, kwargs = self._items.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
                    future.set_exception(e)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs  # no reference to the work outlives it while the thread waits

    def shutdown(self, wait=False, *, cancel_futures=False):
        """Take no more work; idle threads end. Threads never are joined (``wait`` is accepted and ignored):
        work in progress finishes on its own, or is abandoned when the process exits."""
        with self._cond:
            self._shutdown = True
            if cancel_futures:
                while self._items:
                    self._items.popleft()[0].cancel()
            self._idle = 0
            self._cond.notify_all()
