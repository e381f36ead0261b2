"""``tf.train.Coordinator``: threads of one program stop together, and the first error among them is re-raised.

>>> import threading
>>> coord = Coordinator()
>>> def work():
...     with coord.stop_on_exception():
...         raise ValueError("bad record")
>>> threads = [threading.Thread(target=work)]
>>> for t in threads: t.start()
>>> try:
...     coord.join(threads)
... except ValueError as e:
...     print("re-raised:", e)
re-raised: bad record
"""

import contextlib
import logging
import sys
import threading
import time

from engine import errors

log = logging.getLogger(__name__)


class Coordinator:
    """``Coordinator(clean_stop_exception_types=None)``: ``request_stop(ex)`` asks every thread to stop (an
    exception of a clean-stop type, by default OutOfRangeError, is not an error); ``join`` waits for the threads
    and re-raises the first error reported."""

    def __init__(self, clean_stop_exception_types=None):
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (errors.OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info_to_raise = None
        self._joined = False
        self._registered_threads = set()

    def _filter_exception(self, ex):
        error = ex[1] if isinstance(ex, tuple) else ex
        return None if isinstance(error, self._clean_stop_exception_types) else ex

    def request_stop(self, ex=None):
        """Ask the threads to stop; ``ex`` (an exception or an ``exc_info`` tuple) is kept to be re-raised by
        ``join`` if it is the first one. After ``join``, an error reported here is raised at once."""
        with self._lock:
            ex = self._filter_exception(ex)
            if self._joined:
                if isinstance(ex, tuple):
                    raise ex[1]
                if ex is not None:
                    raise ex
            if self._stop_event.is_set():
                return
            if ex is not None and self._exc_info_to_raise is None:
                if isinstance(ex, tuple):
                    info = ex
                elif sys.exc_info()[1] is ex:
                    info = sys.exc_info()
                else:
                    info = (type(ex), ex, ex.__traceback__)
                if len(info) != 3 or not info[0] or not info[1]:
                    info = (ValueError, ValueError(f"ex must be a tuple or sys.exc_info must return the current "
                                                   f"exception: {info}"), None)
                log.info("Error reported to Coordinator: %s", info[1])
                self._exc_info_to_raise = info
            self._stop_event.set()

    def clear_stop(self):
        """Forget the stop request and its error, so the coordinator (and its threads) can be used again."""
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            self._stop_event.clear()

    def should_stop(self):
        """Whether a stop was requested."""
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        """A context in which any exception requests a stop (and is kept for ``join``) instead of propagating."""
        try:
            yield
        except:  # noqa: E722 - TF's contract: every exception, even KeyboardInterrupt, stops the threads
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None):
        """Wait until a stop is requested (at most ``timeout`` seconds); whether one was."""
        return self._stop_event.wait(timeout)

    def register_thread(self, thread):
        """Have ``join`` wait for ``thread`` too."""
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
        """Wait until the threads (and the registered ones) end, or until a stop is requested and then at most
        ``stop_grace_period_secs`` more; re-raise the first error reported, else RuntimeError naming the threads
        still alive (unless ``ignore_live_threads``)."""
        with self._lock:
            threads = list(self._registered_threads.union(threads or ()))
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(1.0):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stragglers = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                raise self._exc_info_to_raise[1]
            if stragglers:
                if not ignore_live_threads:
                    raise RuntimeError(f"Coordinator stopped with threads still running: {' '.join(stragglers)}")
                log.info("Coordinator stopped with threads still running: %s", " ".join(stragglers))

    @property
    def joined(self):
        """Whether ``join`` returned (or raised)."""
        return self._joined

    def raise_requested_exception(self):
        """Raise the error reported to ``request_stop``, if any."""
        with self._lock:
            if self._exc_info_to_raise:
                raise self._exc_info_to_raise[1]


class LooperThread(threading.Thread):
    """A daemon thread calling ``target`` every ``timer_interval_secs`` (or in a tight loop when None) until the
    coordinator stops; an exception stops the coordinator."""

    def __init__(self, coord, timer_interval_secs, target=None, args=None, kwargs=None):
        if not isinstance(coord, Coordinator):
            raise ValueError(f"'coord' argument must be a Coordinator: {coord}")
        super().__init__(daemon=True)
        self._coord = coord
        self._timer_interval_secs = timer_interval_secs
        self._target_fn = target
        if target is None and (args or kwargs):
            raise ValueError("'args' and 'kwargs' argument require that you also pass 'target'")
        self._args, self._kwargs = args or (), kwargs or {}
        coord.register_thread(self)

    @staticmethod
    def loop(coord, timer_interval_secs, target, args=None, kwargs=None):
        """Start a LooperThread calling ``target``; the thread."""
        looper = LooperThread(coord, timer_interval_secs, target=target, args=args, kwargs=kwargs)
        looper.start()
        return looper

    def run(self):
        with self._coord.stop_on_exception():
            self.start_loop()
            if self._timer_interval_secs is None:
                while not self._coord.should_stop():
                    self.run_loop()
            else:
                next_time = time.monotonic()
                while not self._coord.wait_for_stop(next_time - time.monotonic()):
                    next_time += self._timer_interval_secs
                    self.run_loop()
            self.stop_loop()

    def start_loop(self):
        """Called once before the loop (subclasses override)."""

    def stop_loop(self):
        """Called once after the loop (subclasses override)."""

    def run_loop(self):
        """One iteration: calls ``target``."""
        if self._target_fn is not None:
            self._target_fn(*self._args, **self._kwargs)
