"""Following tasks that moved: under yarnflow a restarted task gets a fresh container and a new port, which the
other tasks learn from resmgr (``tasklayer.distributed.cluster_refresh``). ``follow_cluster`` points a running
``tf.train.Server`` at where every task runs now (``MonitoredTrainingSession(server=...)`` calls it before it
recreates a session); ``join_following_cluster`` is a ps task's ``server.join()`` that keeps doing so;
``wait_for_exit`` lets a chief that stopped the ps tasks end only after they did (the app master stops, with
SIGTERM, any task still running once the workers are done).

>>> import tasklayer as tf
>>> server = tf.train.Server.create_local_server()
>>> follow_cluster(server, environ={})  # not a yarnflow task: the static cluster spec is all there is
[]
>>> join_following_cluster(server, timeout=0.01)
False
>>> wait_for_exit([("ps", 0)], environ={})
[]
>>> server.stop()
"""

import sys
import threading
import time

from protos import common_pb2
from tasklayer.distributed import cluster_refresh

FOLLOW_INTERVAL_S = 1.0


def follow_cluster(server, environ=None):
    """Point ``server`` at where every task of its app runs now; the ``(job, index)`` that moved.

    Best effort: outside a yarnflow app, or while resmgr does not answer, the server keeps its spec.
    """
    try:
        moved = cluster_refresh.update_server_cluster(server, cluster_refresh.current_cluster(environ))
    except ValueError:
        return []  # not a task of a yarnflow app (no app token in the environment)
    except Exception as e:  # noqa: BLE001 - resmgr briefly unreachable: keep the last known spec, try later
        print(f"could not ask resmgr where the tasks run now: {e}", file=sys.stderr, flush=True)
        return []
    for job, index in moved:
        print(f"/job:{job}/task:{index} is now at {server.cluster_spec.task_address(job, index)}",
              file=sys.stderr, flush=True)
    return moved


def join_following_cluster(server, timeout=None, interval=FOLLOW_INTERVAL_S, environ=None):
    """``server.join()`` that follows restarted tasks every ``interval`` s meanwhile (a ps task must reach a
    worker at its new port); True once the server is stopped, False if ``timeout`` s passed first.

    The following runs on a daemon thread: a slow answer of resmgr never delays the return (and so the
    process's exit) once the server is stopped.
    """
    def follow():
        while not server.join(timeout=interval):
            follow_cluster(server, environ)

    threading.Thread(target=follow, name="follow-cluster", daemon=True).start()
    return server.join(timeout=timeout)


def wait_for_exit(tasks, timeout=10.0, environ=None):
    """Wait until the latest attempt of each ``(job, index)`` of this app has ended (its container is
    complete, as resmgr reports it); the tasks still running after ``timeout`` s. Outside an app: [] at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            report = cluster_refresh.application_report(environ)
        except ValueError:
            return []  # not a task of a yarnflow app: nothing to ask
        except Exception as e:  # noqa: BLE001 - resmgr briefly unreachable: ask again
            print(f"could not ask resmgr whether tasks ended: {e}", file=sys.stderr, flush=True)
            report = None
        if report is not None:
            latest = {}
            for c in report.containers:
                key = (c.role, c.task_index)
                if key in set(tasks) and (key not in latest or c.attempt > latest[key].attempt):
                    latest[key] = c
            running = [t for t in tasks if t not in latest
                       or latest[t].status.state != common_pb2.CONTAINER_COMPLETE]
            if not running:
                return []
        if time.monotonic() > deadline:
            return running if report is not None else list(tasks)
        time.sleep(0.1)
