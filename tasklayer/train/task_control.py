"""Stopping other tasks' servers from a program: how a chief ends a job whose ps tasks never exit."""

import time

from tasklayer.distributed.worker_client import RemoteWorker


def shutdown_tasks(cluster, tasks, timeout=10.0):
    """Ask each ``(job, index)`` of ``cluster`` to stop its server and wait (within ``timeout`` s) until it no
    longer answers; returns ``{task: error}`` for those that could not be reached (best effort: a task may be
    gone already).

    >>> from tasklayer.train import ClusterSpec
    >>> shutdown_tasks(ClusterSpec({"ps": ["localhost:1"]}), [("ps", 0)], timeout=0.1)  # doctest: +ELLIPSIS
    {('ps', 0): ...}
    """
    errors = {}
    asked = []
    for job, index in tasks:
        client = RemoteWorker(f"/job:{job}/task:{index}", cluster.task_address(job, index))
        try:
            client.shutdown(timeout=timeout)
            asked.append((job, index))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, never fatal
            errors[(job, index)] = exc
        finally:
            client.close()
    # Stopped servers stop answering: wait for that, so a caller that exits next never outruns them (a cluster
    # layer that sees the job's workers done stops the tasks still running).
    deadline = time.monotonic() + timeout
    while asked and time.monotonic() < deadline:
        down = set(unreachable_tasks(cluster, asked, timeout=0.2))
        asked = [task for task in asked if task not in down]
        if asked:
            time.sleep(0.05)
    return errors



def unreachable_tasks(cluster, tasks, timeout=2.0):
    """The ``(job, index)`` of ``tasks`` whose server does not answer a status probe within ``timeout`` s."""
    down = []
    for job, index in tasks:
        client = RemoteWorker(f"/job:{job}/task:{index}", cluster.task_address(job, index))
        try:
            client.get_status(timeout=timeout)
        except Exception:  # noqa: BLE001 - not serving (yet)
            down.append((job, index))
        finally:
            client.close()
    return down


def wait_for_tasks(cluster, tasks, timeout=120.0):
    """Wait until every ``(job, index)`` of ``tasks`` serves (tasks of an app start in any order);
    TimeoutError naming those that never did."""
    deadline = time.monotonic() + timeout
    while True:
        down = unreachable_tasks(cluster, tasks)
        if not down:
            return
        if time.monotonic() > deadline:
            names = ", ".join(f"/job:{j}/task:{i}" for j, i in down)
            raise TimeoutError(f"{names} did not serve within {timeout:g} s")
        time.sleep(0.2)
