"""``engine.daemon_pool.DaemonPool``: futures, daemon threads, a bound on threads, and waiting work that never
blocks other work while a thread is free."""

import threading

import pytest

from engine.daemon_pool import DaemonPool
from tests.polling import wait_until


def test_results_and_errors_come_back_through_futures():
    pool = DaemonPool(2, "t")
    assert pool.submit(lambda a, b=1: a + b, 2, b=5).result(5) == 7
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(5)
    pool.shutdown()


def test_threads_are_daemons_and_bounded():
    pool = DaemonPool(2, "bounded")
    release = threading.Event()
    started = []

    def block():
        started.append(threading.current_thread())
        release.wait(10)
    futures = [pool.submit(block) for _ in range(3)]
    wait_until(lambda: len(started) == 2, 5, "two threads to start")
    assert all(t.daemon and t.name.startswith("bounded_") for t in started)
    assert not futures[2].running()  # the third waits for a free thread
    release.set()
    for f in futures:
        f.result(5)
    assert len(started) == 3
    pool.shutdown()


def test_an_idle_thread_takes_new_work_while_another_blocks():
    pool = DaemonPool(4, "idle")
    pool.submit(lambda: None).result(5)  # one thread, now idle
    release = threading.Event()
    blocked = pool.submit(release.wait, 10)
    # The idle thread is claimed by the blocking work, so the next item gets a thread of its own, not a wait.
    assert pool.submit(lambda: "free").result(5) == "free"
    release.set()
    assert blocked.result(5) is True
    pool.shutdown()


def test_no_work_after_shutdown():
    pool = DaemonPool(1)
    pool.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(print)
