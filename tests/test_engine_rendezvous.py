"""LocalRendezvous: send before/after recv, timeouts, abort, keys."""

import threading
import time

import pytest

from engine.errors import AbortedError, CancelledError, DeadlineExceededError, InvalidArgumentError
from engine.rendezvous import LocalRendezvous, make_key, parse_key


def test_key_round_trip():
    key = make_key("/job:a/replica:0/task:0/device:CPU:0", 7, "/job:b/replica:0/task:1/device:CPU:0", "x:0")
    assert parse_key(key) == ("/job:a/replica:0/task:0/device:CPU:0", 7, "/job:b/replica:0/task:1/device:CPU:0",
                              "x:0")
    with pytest.raises(InvalidArgumentError, match="malformed"):
        parse_key("nope")


def test_send_before_and_after_recv():
    r = LocalRendezvous()
    r.send("a", 1)
    assert r.recv("a", timeout=1) == 1
    got = []
    t = threading.Thread(target=lambda: got.append(r.recv("b", timeout=5)))
    t.start()
    r.send("b", 2)
    t.join(5)
    assert got == [2] and r.pending_keys() == []


def test_duplicate_send_is_an_error():
    r = LocalRendezvous()
    r.send("a", 1)
    with pytest.raises(InvalidArgumentError, match="duplicate send"):
        r.send("a", 2)


def test_recv_timeout_names_the_key():
    r = LocalRendezvous()
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceededError, match="'k'"):
        r.recv("k", timeout=0.05)
    assert time.monotonic() - t0 < 2


def test_abort_wakes_pending_and_fails_future_recvs():
    r = LocalRendezvous()
    errors = []

    def wait():
        try:
            r.recv("k")
        except CancelledError as e:
            errors.append(e)
    t = threading.Thread(target=wait)
    t.start()
    r.abort(CancelledError(None, None, "stop"))
    t.join(5)
    assert not t.is_alive() and len(errors) == 1
    with pytest.raises(CancelledError):
        r.recv("other", timeout=1)
    with pytest.raises(CancelledError):
        r.send("x", 1)
    r2 = LocalRendezvous()
    r2.abort(RuntimeError("plain"))
    with pytest.raises(AbortedError, match="plain"):
        r2.recv("k")


def test_recv_async_before_and_after_send_and_on_abort():
    from engine.errors import AbortedError
    r = LocalRendezvous()
    got = []
    r.send("early", 1)
    r.recv_async("early", lambda v, e: got.append(("early", v, e)))
    r.recv_async("late", lambda v, e: got.append(("late", v, e)))
    assert got == [("early", 1, None)]
    r.send("late", 2)
    assert got[-1] == ("late", 2, None) and r.pending_keys() == []
    r.recv_async("never", lambda v, e: got.append(("never", v, e)))
    r.abort(AbortedError(None, None, "stop"))
    assert got[-1][0] == "never" and isinstance(got[-1][2], AbortedError)
    r.recv_async("after", lambda v, e: got.append(("after", v, e)))
    assert isinstance(got[-1][2], AbortedError)
