"""The training example on a real test cluster: with 1 ps and 4 workers it reaches the accuracy bar, and it
survives the SIGKILL of a worker (task retry rejoins), of the ps (restarted; the chief's recovered session
restores the last checkpoint) and of the chief (retried; the restarted chief restores the last checkpoint).
With ``--sync`` (SyncReplicasOptimizer) every step is one averaged update, and the same three kills are survived."""

import pathlib
import re
import signal

import pytest

from tasklayer.train import cluster_refresh
from tasklayer.training import saver as saver_lib
from tests.cluster import LocalTestCluster, app_processes, wait_until
from yarnflow import client as yc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

APP = pathlib.Path(__file__).resolve().parent.parent / "examples" / "train_mlp.py"
ASK = yc.RoleAsk(memory="1g", vcores=1)
EXIT_NEVER_RAN = -1000  # the node agent's code for a container that never ran


def _submit(cluster, client, checkpoint_dir, steps, save_steps=20, workers=2, sync=False):
    spec = yc.build_spec(APP.name, workers=workers, ps=1, worker=ASK, ps_ask=ASK, max_task_attempts=3,
                         args=["--checkpoint-dir", str(checkpoint_dir), "--steps", str(steps),
                               "--save-steps", str(save_steps), "--timeout", "60"] + (["--sync"] if sync else []))
    return client.submit(APP, spec)


def _task_process(app_id, job, index):
    """The live process of task ``job:index`` (its env names the role and index)."""
    for proc in app_processes(app_id):
        env = proc.environ()
        if env.get("YARNFLOW_JOB_NAME") == job and env.get("YARNFLOW_TASK_INDEX") == str(index):
            return proc
    return None


def _checkpoint_step(directory):
    """The global step of the latest checkpoint in ``directory``, or 0."""
    latest = saver_lib.latest_checkpoint(str(directory))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def _logs(client, app_id, task):
    """Both log streams of a task's latest attempt, for a failure's message."""
    name = f"{task[0]}:{task[1]}"
    return "\n".join(f"--- {name} {stream}:\n{client.log_text(app_id, name, stream)[-3000:]}"
                     for stream in ("stdout", "stderr"))


def _wait(cluster, client, app_id, timeout=100):
    """The app's final report; on a timeout, an AssertionError carrying every task's logs."""
    try:
        return client.wait(app_id, timeout=timeout)
    except yc.YarnflowError as e:
        tasks = sorted({(c.role, c.task_index) for c in client.report(app_id).containers if c.role != "appmaster"})
        logs = "\n".join(_logs(client, app_id, task) for task in tasks)
        raise AssertionError(f"{e}\n{logs}\n{cluster.log_tails()}") from None


def _accuracy(text):
    match = re.search(r"accuracy ([\d.]+) after (\d+) steps OK", text)
    assert match, text
    return float(match.group(1)), int(match.group(2))


@pytest.fixture
def cluster(tmp_path):
    with LocalTestCluster(tmp_path / "cluster") as c:
        c.add_node(vcores=8, memory="8g")
        c.wait_for_nodes(1)
        yield c


def test_train_mlp_with_four_workers_reaches_the_accuracy_bar(cluster, tmp_path):
    with cluster.client() as client:
        app_id = _submit(cluster, client, tmp_path / "ckpt", steps=150, workers=4)
        report = _wait(cluster, client, app_id)
        assert yc.succeeded(report), f"{report.diagnostics}\n{cluster.log_tails()}"
        accuracy, steps = _accuracy(client.log_text(app_id, "worker:0"))
        codes = {(c.role, c.task_index, c.attempt): c.status.exit_code for c in report.containers
                 if c.role != "appmaster"}
        # every task's last attempt exited 0; an earlier one may have never run (its port was taken by another
        # process of this shared machine: the node agent refuses the launch and the appmaster retries)
        last = {}
        for role, index, attempt in sorted(codes):
            last[role, index] = codes[role, index, attempt]
        assert set(last) == {("ps", 0)} | {("worker", i) for i in range(4)}, codes
        # the ps exits 0 once the chief stops it, unless the app master, seeing every worker done, stopped it
        # first (SIGTERM): the chief waits for the ps to stop serving, not for its process to end
        assert last.pop(("ps", 0)) in (0, -signal.SIGTERM), codes
        workers = {key: code for key, code in codes.items() if key[0] == "worker"}
        assert set(last.values()) == {0} and set(workers.values()) <= {0, EXIT_NEVER_RAN}, codes
    assert accuracy >= 0.95 and steps >= 150
    assert _checkpoint_step(tmp_path / "ckpt") >= 150  # the chief's final checkpoint


def test_train_mlp_sync_applies_one_averaged_update_per_step(cluster, tmp_path):
    with cluster.client() as client:
        app_id = _submit(cluster, client, tmp_path / "ckpt", steps=150, workers=3, sync=True)
        report = _wait(cluster, client, app_id)
        assert yc.succeeded(report), f"{report.diagnostics}\n{cluster.log_tails()}"
        chief_log = client.log_text(app_id, "worker:0")
    accuracy, steps = _accuracy(chief_log)
    assert accuracy >= 0.95 and steps == 150, chief_log  # every step one update: no worker ran past the last
    assert "sync: 150 averaged updates applied by this session" in chief_log, chief_log


@pytest.mark.parametrize("victim,sync", [(("worker", 1), False), (("ps", 0), False), (("worker", 0), False),
                                         (("worker", 1), True), (("ps", 0), True), (("worker", 0), True)],
                         ids=["worker", "ps", "chief", "sync-worker", "sync-ps", "sync-chief"])
def test_train_mlp_survives_a_killed_task(cluster, tmp_path, victim, sync):
    checkpoints = tmp_path / "ckpt"
    with cluster.client() as client:
        app_id = _submit(cluster, client, checkpoints, steps=400, sync=sync)
        try:
            wait_until(lambda: _checkpoint_step(checkpoints) >= 40, 60, "a checkpoint at step 40 or more", 0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{_logs(client, app_id, ('worker', 0))}\n{cluster.log_tails()}") from None
        proc = wait_until(lambda: _task_process(app_id, *victim), 10, f"the process of {victim}")
        proc.send_signal(signal.SIGKILL)
        report = _wait(cluster, client, app_id)
        assert yc.succeeded(report), f"{report.diagnostics}\n{cluster.log_tails()}"
        attempts = sorted((c.attempt, c.status.exit_code) for c in report.containers
                          if (c.role, c.task_index) == victim)
        # the killed attempt, then a later one (a fresh container) that ended well; a launch that failed on a
        # port taken by another process of this machine may add an attempt, hence no exact count
        killed = [a for a, code in attempts if code == -signal.SIGKILL]
        assert killed and attempts[-1][0] > killed[0] and attempts[-1][1] == 0, (
            f"{attempts}\n{_logs(client, app_id, victim)}\n{_logs(client, app_id, ('worker', 0))}")
        chief_log = client.log_text(app_id, "worker:0")  # the latest attempt's
        session_log = client.log_text(app_id, "worker:0", stream="stderr")
    accuracy, steps = _accuracy(chief_log)
    assert accuracy >= 0.95 and steps >= 400
    if victim != ("worker", 1):  # the chief (its recovered session, or its new attempt) restored
        restored = re.search(r"restored from step (\d+)", session_log)
        assert restored, session_log
        assert int(restored.group(1)) >= 40  # resumed from the checkpoint, not from scratch


def test_cluster_from_report_takes_the_latest_attempt():
    from protos import resmgr_pb2
    report = resmgr_pb2.ApplicationReport()
    report.containers.add(role="appmaster", host="h", port=0)
    report.containers.add(role="ps", task_index=0, attempt=2, host="h", port=2002)
    report.containers.add(role="ps", task_index=0, attempt=1, host="h", port=2001)
    report.containers.add(role="worker", task_index=1, attempt=1, host="h", port=3001)
    report.containers.add(role="worker", task_index=0, attempt=1, host="h", port=3000)
    assert cluster_refresh.cluster_from_report(report).as_dict() == {"ps": ["h:2002"],
                                                                     "worker": ["h:3000", "h:3001"]}


def test_current_cluster_needs_the_app_environment():
    with pytest.raises(ValueError, match="YARNFLOW_APP_TOKEN"):
        cluster_refresh.current_cluster({"YARNFLOW_RESMGR": "h:1", "YARNFLOW_APP_ID": "app_1_0001"})
