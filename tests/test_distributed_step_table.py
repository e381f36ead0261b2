"""The per-process step table, without sockets: steps meet, are released, and abort before or after arrival."""

import threading

import pytest

from engine.errors import AbortedError, CancelledError
from tasklayer.distributed.step_table import StepTable


def test_send_then_recv_and_release_drops_the_step():
    table = StepTable()
    sender = table.acquire(7)
    sender.rendezvous.send("k", 1)
    table.release(sender)
    assert table.active_steps() == [7]  # a sent tensor waits for its receiver
    receiver = table.acquire(7)
    assert receiver.rendezvous.recv("k", timeout=1) == 1
    table.release(receiver)
    assert table.active_steps() == []


def test_abort_before_the_step_arrives():
    table = StepTable()
    table.abort(9, CancelledError(None, None, "peer failed"))
    step = table.acquire(9)
    with pytest.raises(CancelledError, match="peer failed"):
        step.rendezvous.recv("k", timeout=1)
    assert step.cancel.is_set()
    table.release(step)


def test_abort_wakes_a_waiting_receiver():
    table = StepTable()
    step = table.acquire(3)
    errors = []
    waiter = threading.Thread(target=lambda: errors.append(pytest.raises(AbortedError, step.rendezvous.recv, "k", 30)))
    waiter.start()
    table.abort(3, AbortedError(None, None, "stop"))
    waiter.join(5)
    assert not waiter.is_alive() and errors and step.cancel.is_set()


def test_a_pushed_reference_is_waited_for():
    table = StepTable()
    threading.Timer(0.05, table.store_ref, ("upload/1", "value")).start()
    assert table.take_ref("upload/1", timeout=5) == "value"
    assert table.take_ref("upload/2", timeout=0.01) is None


def test_refs_are_taken_once():
    table = StepTable()
    key = table.put_ref("value")
    assert table.take_ref(key) == "value" and table.take_ref(key) is None


def test_a_step_left_holding_pushed_tensors_is_dropped_after_the_orphan_ttl():
    from tests.polling import wait_until
    table = StepTable(orphan_ttl=0.05)
    pushed = table.acquire(9)  # a client pushed a feed under step 9, then died before asking for the step
    pushed.rendezvous.send("feed", 1)
    table.release(pushed)
    busy = table.acquire(11)  # a step in use is never dropped, however long it runs

    def swept():
        other = table.acquire(13)  # sweeps happen as steps come and go
        table.release(other)
        return 9 not in table.active_steps()
    wait_until(swept, 5, "the orphaned step to be dropped", 0.02)
    assert table.active_steps() == [11]
    late = table.acquire(9)  # a late RunGraph of the dropped step fails at once, saying why
    assert isinstance(late.rendezvous.aborted, AbortedError) and "nothing used it" in str(late.rendezvous.aborted)
    table.release(late)
    table.release(busy)
