"""The map/reduce app script run the way the cluster layer runs it: one process per task, started with the
environment contract (YARNFLOW_CLUSTER, YARNFLOW_JOB_NAME, YARNFLOW_TASK_INDEX, TF_CONFIG). No resmgr here."""

import json
import os
import subprocess
import sys

import pytest

from tests.distributed_helpers import ROOT, free_ports, wait_until

pytestmark = pytest.mark.integration


def _env(cluster, job, index):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               YARNFLOW_CLUSTER=json.dumps(cluster), YARNFLOW_JOB_NAME=job, YARNFLOW_TASK_INDEX=str(index),
               TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": job, "index": index}}))
    return env


def test_mapreduce_app_every_task_exits_zero():
    ports = free_ports(4)
    cluster = {"ps": [f"localhost:{ports[0]}"], "worker": [f"localhost:{p}" for p in ports[1:]]}
    tasks = [("worker", 1), ("ps", 0), ("worker", 2), ("worker", 0)]  # worker 0 need not start last
    procs = [subprocess.Popen([sys.executable, str(ROOT / "examples" / "mapreduce_mean_app.py"), "--values",
                               "300001"], cwd=ROOT, env=_env(cluster, job, i), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for job, i in tasks]
    try:
        wait_until(lambda: all(p.poll() is not None for p in procs), 90, "every task to exit", 0.05)
    except AssertionError as e:
        raise AssertionError(f"{e}; still running: {[t for t, p in zip(tasks, procs) if p.poll() is None]}") from None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        outputs = [f"--- {job}:{i}\n" + p.communicate()[0] for (job, i), p in zip(tasks, procs)]
        print("\n".join(outputs))  # shown by pytest when the test fails
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    chief = outputs[-1]
    assert "mean of 300001 values over 3 workers" in chief and chief.rstrip().endswith("OK"), chief
