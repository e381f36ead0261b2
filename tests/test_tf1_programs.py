"""Well-known public TF1 programs (``examples/tf1/``, verbatim but for the import line), run the way a user runs
them: ``python examples/tf1/x.py --flags``, on a small learnable MNIST look-alike (``tests/mnist_fixture.py``)
read through the real ``input_data`` path. Distributed ones run as real ps and worker processes on loopback
ports with their own ``--ps_hosts/--worker_hosts/--job_name/--task_index`` flags (or the environment their
launcher sets), or through ``submit`` on a test cluster where the program reads TF_CONFIG.

Each test checks the exit status and a printed result: an accuracy well above chance (0.1), a cross entropy
well below chance's, a fitted line near the least-squares one. A program that cannot run yet is marked
``xfail(strict=True)`` with the first TF1 name it lacks, so the test fails (and the marker must go) the day it
runs. Programs with no flag to shorten them are watched until their printout shows learning, then stopped.

The first tests here cover the MNIST reader itself (``tasklayer.examples.tutorials.mnist.input_data``).
"""

import doctest
import gzip
import math
import os
import pathlib
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tasklayer.examples.tutorials.mnist import input_data
from tests import mnist_fixture
from tests.distributed_helpers import free_ports, wait_until

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "tf1"
ACCURACY_BAR = 0.8  # chance is 0.1; TensorFlow reaches 1.0 with every program here on the synthetic set
EARLY_BAR = 0.5  # for a watched program's training accuracy, read early in its run
RUN_TIMEOUT_S = 120
WATCH_TIMEOUT_S = 180
FLOAT = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"


def xfail(first_missing):
    """The marker of a program that stops at ``first_missing`` today; strict, so it must go once it runs."""
    return pytest.mark.xfail(strict=True, reason=f"needs {first_missing}")


# ---- the MNIST reader ------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    """A directory holding the synthetic MNIST files (18,000 training and 1,000 test images)."""
    return mnist_fixture.write_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session")
def default_mnist_dir():
    """``/tmp/data/`` holding the synthetic set, for the programs that hard-code it; skip where a user's own
    MNIST files are there (they are never overwritten)."""
    directory = mnist_fixture.install_default()
    if directory is None:
        pytest.skip(f"{mnist_fixture.DEFAULT_DIR} holds MNIST files the test fixture did not write")
    return directory


@pytest.fixture(scope="session")
def small_mnist_dir(tmp_path_factory):
    """The same kind of files, 1,200 training and 100 test images, for the reader's own tests."""
    return mnist_fixture.write_mnist(tmp_path_factory.mktemp("small_mnist"), train=1200, test=100)


def test_input_data_docstring_example_runs():
    result = doctest.testmod(input_data, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_read_data_sets_splits_scales_and_one_hots_as_tf(small_mnist_dir, capsys):
    data = input_data.read_data_sets(str(small_mnist_dir), one_hot=True, validation_size=200)
    assert [d.num_examples for d in data] == [1000, 200, 100]
    assert data.train.images.shape == (1000, 784) and data.train.images.dtype == np.float32
    assert 0.0 <= data.train.images.min() and data.train.images.max() <= 1.0
    assert data.test.labels.shape == (100, 10) and set(data.test.labels.sum(axis=1)) == {1.0}
    assert capsys.readouterr().out.count("Extracting ") == 4  # TF's printout, one line per file
    raw = input_data.read_data_sets(str(small_mnist_dir), dtype="uint8", reshape=False, validation_size=0)
    assert raw.train.images.shape == (1200, 28, 28, 1) and raw.train.images.dtype == np.uint8
    assert raw.train.labels.dtype == np.uint8 and raw.train.labels.max() == 9 and raw.validation.num_examples == 0
    # the validation set is the first training images, in file order
    np.testing.assert_array_equal(data.validation.images,
                                  raw.train.images[:200].reshape(200, 784).astype(np.float32) * (1.0 / 255.0))


def test_next_batch_walks_epochs_and_joins_their_ends(small_mnist_dir):
    train = input_data.read_data_sets(str(small_mnist_dir), validation_size=200, seed=5).train  # 1000 images
    every_image = sorted(row.tobytes() for row in train.images)
    batches = [train.next_batch(300) for _ in range(3)]
    assert train.epochs_completed == 0
    images, labels = train.next_batch(300)  # 100 from the first epoch's end, 200 from the next one's start
    assert images.shape == (300, 784) and labels.shape == (300,) and train.epochs_completed == 1
    first_epoch = np.concatenate([b[0] for b in batches] + [images[:100]])
    assert sorted(row.tobytes() for row in first_epoch) == every_image  # each image once, in a shuffled order
    assert not np.array_equal(first_epoch[:10], np.frombuffer(b"".join(every_image[:10]), np.float32))
    in_order = input_data.read_data_sets(str(small_mnist_dir), validation_size=200).train
    file_order = in_order.images.copy()
    np.testing.assert_array_equal(in_order.next_batch(10, shuffle=False)[0], file_order[:10])
    np.testing.assert_array_equal(in_order.next_batch(10, shuffle=False)[0], file_order[10:20])


def test_the_same_seed_gives_the_same_batches(small_mnist_dir):
    def batches(seed):
        train = input_data.read_data_sets(str(small_mnist_dir), validation_size=200, seed=seed).train
        return [train.next_batch(50)[1] for _ in range(3)]
    for a, b in zip(batches(3), batches(3)):
        np.testing.assert_array_equal(a, b)
    assert any((a != b).any() for a, b in zip(batches(3), batches(4)))


def test_missing_files_are_named_with_where_to_put_them(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as err:
        input_data.read_data_sets(str(tmp_path), one_hot=True)
    message = str(err.value)
    assert "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz missing" in message
    assert str(tmp_path) in message and "does not download" in message


def test_bad_files_and_arguments_get_tf_errors(small_mnist_dir, tmp_path):
    with pytest.raises(ValueError, match=r"Validation size should be between 0 and 1200\. Received: 5000\."):
        input_data.read_data_sets(str(small_mnist_dir))  # the default validation_size, 5000, is too many here
    with pytest.raises(TypeError, match="Invalid image dtype .*expected uint8 or float32"):
        input_data.read_data_sets(str(small_mnist_dir), dtype="int32", validation_size=0)
    for name in mnist_fixture.FILES:
        (tmp_path / name).write_bytes((small_mnist_dir / name).read_bytes())
    with gzip.GzipFile(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2051, 3) + bytes(3))
    with pytest.raises(ValueError, match="Invalid magic number 2051 in MNIST label file: .*t10k-labels"):
        input_data.read_data_sets(str(tmp_path), validation_size=0)
    with gzip.GzipFile(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, 1000) + bytes(10))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is truncated: .*1000 bytes.* holds 10"):
        input_data.read_data_sets(str(tmp_path), validation_size=0)


# ---- running programs -----------------------------------------------------------------------------------------

def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    env.update(extra)
    return env


class Program:
    """One ``python examples/tf1/NAME.py ARGS`` process, its output (stdout and stderr) collected line by line."""

    def __init__(self, name, *args, env=None, cwd=None):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, str(EXAMPLES / f"{name}.py"), *args], cwd=cwd or ROOT,
                                     env=env or _env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self._new = queue.SimpleQueue()
        self._eof = False  # the pump's end-of-output mark was taken from the queue
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self._new.put(line)
        self._new.put(None)

    @property
    def output(self):
        """Everything printed so far."""
        return "".join(self.lines)

    def failure(self, what):
        """An AssertionError saying ``what`` went wrong, with the end of the output."""
        return AssertionError(f"{self.name}: {what}\n--- output (end):\n{self.output[-4000:]}")

    def _next_line(self, deadline):
        """The next printed line (kept in ``lines``); None at the end of the output; queue.Empty at ``deadline``."""
        if self._eof:
            return None
        line = self._new.get(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
        if line is None:
            self._eof = True
        else:
            self.lines.append(line)
        return line

    def drain(self):
        """Collect what was printed since the last look, without waiting; the exit code, or None while it runs."""
        try:
            while self._next_line(0) is not None:
                pass
        except queue.Empty:
            pass
        return self.proc.poll()

    def watch(self, pattern, accept=lambda match: True, timeout=WATCH_TIMEOUT_S):
        """Read output until a line matches ``pattern`` and ``accept(match)``; that match, or AssertionError when
        the program ends or the time runs out first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._next_line(deadline)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise self.failure(f"no line matching {pattern!r} (accepted) within {timeout} s") from None
                continue
            if line is None:
                self.proc.wait()
                raise self.failure(f"exited {self.proc.returncode} before a line matching {pattern!r} (accepted)")
            match = regex.search(line)
            if match and accept(match):
                return match

    def finish(self, timeout=RUN_TIMEOUT_S):
        """Wait for the program's end; its whole output, or AssertionError unless it exited 0."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._next_line(deadline)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self.stop()
                    raise self.failure(f"still running after {timeout} s") from None
                continue
            if line is None:
                break
        if self.proc.wait() != 0:
            raise self.failure(f"exited {self.proc.returncode}")
        return self.output

    def stop(self):
        """Terminate the program if it still runs (SIGTERM, then SIGKILL after a grace)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run_program(name, *args, timeout=RUN_TIMEOUT_S, **kwargs):
    """Run a program to its end; its output (AssertionError unless it exited 0)."""
    program = Program(name, *args, **kwargs)
    try:
        return program.finish(timeout)
    finally:
        program.stop()


def watch_program(name, pattern, accept, *args, timeout=WATCH_TIMEOUT_S, **kwargs):
    """Run a long program until a printed line matches ``pattern`` and ``accept``s, then stop it; the match."""
    program = Program(name, *args, **kwargs)
    try:
        return program.watch(pattern, accept, timeout)
    finally:
        program.stop()


def last_float(pattern, text):
    """The number in the last match of ``pattern`` (which holds one FLOAT group) in ``text``."""
    found = re.findall(pattern, text)
    assert found, f"no line matching {pattern!r} in:\n{text[-3000:]}"
    return float(found[-1])


# ---- TensorFlow's MNIST tutorials (tensorflow/examples/tutorials/mnist) ---------------------------------------

def test_mnist_softmax(mnist_dir):
    out = run_program("mnist_softmax", "--data_dir", str(mnist_dir))
    assert last_float(r"(?m)^" + FLOAT + r"\s*$", out) >= ACCURACY_BAR


def test_mnist_deep(mnist_dir):
    # 20,000 steps and no flag to shorten them: watched until the printout at step 100 or later shows learning
    watch_program("mnist_deep", r"step (\d+), training accuracy " + FLOAT,
                  lambda m: int(m.group(1)) >= 100 and float(m.group(2)) >= EARLY_BAR, "--data_dir", str(mnist_dir))


def test_fully_connected_feed(mnist_dir, tmp_path):
    out = run_program("fully_connected_feed", "--input_data_dir", str(mnist_dir), "--log_dir", str(tmp_path / "log"),
                      "--max_steps", "300", "--learning_rate", "0.1")
    test_eval = out.rsplit("Test Data Eval:", 1)[-1]
    assert last_float(r"Precision @ 1: " + FLOAT, test_eval) >= ACCURACY_BAR
    assert list((tmp_path / "log").glob("model.ckpt-299*")), "no checkpoint of the last step"


def test_mnist_with_summaries(mnist_dir, tmp_path):
    out = run_program("mnist_with_summaries", "--data_dir", str(mnist_dir), "--log_dir", str(tmp_path / "log"),
                      "--max_steps", "30")
    assert last_float(r"Accuracy at step 20: " + FLOAT, out) >= ACCURACY_BAR


# ---- aymericdamien/TensorFlow-Examples (they read MNIST from /tmp/data/, with no flag) -------------------------

LINEAR_TRAIN = ([3.3, 4.4, 5.5, 6.71, 6.93, 4.168, 9.779, 6.182, 7.59, 2.167, 7.042, 10.791, 5.313, 7.997, 5.654, 9.27,
                 3.1], [1.7, 2.76, 2.09, 3.19, 1.694, 1.573, 3.366, 2.596, 2.53, 1.221, 2.827, 3.465, 1.65, 2.904, 2.42,
                        2.94, 1.3])
LINEAR_TEST = ([6.83, 4.668, 8.9, 7.91, 5.7, 8.7, 3.1, 2.1], [1.84, 2.273, 3.2, 2.831, 2.92, 3.24, 1.35, 1.03])


def _half_mse(w, b, data):
    x, y = (np.asarray(v) for v in data)
    return float(((w * x + b - y) ** 2).sum() / (2 * len(x)))


def test_linear_regression():
    pytest.importorskip("matplotlib")  # the program plots its fit (headless here: MPLBACKEND=Agg)
    out = run_program("linear_regression")
    cost, w, b = (float(v) for v in re.search(r"Training cost= " + FLOAT + r" W= " + FLOAT + r" b= " + FLOAT,
                                              out).groups())
    # The program's own numbers agree with each other: its costs are those of the line it prints.
    assert cost == pytest.approx(_half_mse(w, b, LINEAR_TRAIN), rel=1e-4), out[-1500:]
    assert last_float(r"Testing cost= " + FLOAT, out) == pytest.approx(_half_mse(w, b, LINEAR_TEST), rel=1e-4)
    # From a random start (up to ~200), 17,000 SGD steps end between the least-squares cost, 0.0770 (nothing does
    # better), and about 0.144: the slow direction of this ill-conditioned fit is never quite finished.
    assert 0.0769 < cost < 0.15, out[-1500:]


def test_logistic_regression(default_mnist_dir):
    out = run_program("logistic_regression")
    assert last_float(r"Accuracy: " + FLOAT, out) >= ACCURACY_BAR


def test_neural_network_raw(default_mnist_dir):
    out = run_program("neural_network_raw")
    assert last_float(r"Testing Accuracy: " + FLOAT, out) >= ACCURACY_BAR


def test_convolutional_network_raw(default_mnist_dir):
    # 200 steps of a CNN on batches of 128, no flag to shorten them: watched until a printout from step 20 on
    watch_program("convolutional_network_raw", r"Step (\d+), Minibatch Loss= " + FLOAT + r", Training Accuracy= "
                  + FLOAT, lambda m: int(m.group(1)) >= 20 and float(m.group(3)) >= EARLY_BAR)


def test_neural_network_estimator(default_mnist_dir):
    out = run_program("neural_network")
    assert last_float(r"Testing Accuracy: " + FLOAT, out) >= ACCURACY_BAR


def test_tensorflow_dataset_api(default_mnist_dir):
    watch_program("tensorflow_dataset_api", r"Step (\d+), Minibatch Loss= " + FLOAT + r", Training Accuracy= "
                  + FLOAT, lambda m: int(m.group(1)) >= 20 and float(m.group(3)) >= EARLY_BAR)


# ---- distributed trainers ---------------------------------------------------------------------------------------

VALIDATION_CHANCE_XENT = 5000 * math.log(10)  # the summed cross entropy of a uniform guess on 5000 images


def _cluster_hosts(ps, workers):
    ports = free_ports(ps + workers)
    hosts = [f"localhost:{p}" for p in ports]
    return hosts[:ps], hosts[ps:]


def _serving(program, address):
    """Whether ``address`` accepts connections; AssertionError if ``program`` (serving it) has exited."""
    if program.proc.poll() is not None:
        raise program.failure(f"exited {program.proc.returncode} before serving {address}")
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False


def _run_replicas(name, flags_for, ps_hosts, worker_hosts, env_for=None, timeout=90, ps_first=True,
                  session_line=r"Worker \d+: (Initializing session|Waiting for session)"):
    """Start every task of a between-graph program; the workers' outputs once each exited 0 (the ps tasks serve
    until stopped, as in TF). ``ps_first``: the ps tasks first, the workers once they serve; else the workers
    first, the ps tasks once every worker printed ``session_line`` (it waits for the ps to create its session)."""
    def start(job, index):
        return Program(name, *flags_for(job, index), env=env_for(job, index) if env_for else None)
    ps = [("ps", i) for i in range(len(ps_hosts))]
    workers = [("worker", i) for i in range(len(worker_hosts))]
    programs = {}
    try:
        if ps_first:
            programs.update((task, start(*task)) for task in ps)
            for (_, i), address in zip(ps, ps_hosts):
                wait_until(lambda: _serving(programs["ps", i], address), 60, f"ps {i} to serve at {address}", 0.1)
        programs.update((task, start(*task)) for task in workers)
        if not ps_first:
            def all_waiting():
                for task in workers:
                    if programs[task].drain() is not None:
                        raise programs[task].failure("exited before the ps started")
                return all(re.search(session_line, programs[task].output) for task in workers)
            wait_until(all_waiting, 60, "every worker to wait for its session", 0.1)
            programs.update((task, start(*task)) for task in ps)

        def all_done():  # fails at the first worker that exits badly: the others may wait on it forever
            codes = {task: programs[task].drain() for task in workers}
            for task, code in codes.items():
                if code not in (None, 0):
                    raise programs[task].failure(f"{task[0]} {task[1]} exited {code}")
            return all(code == 0 for code in codes.values())
        try:
            wait_until(all_done, timeout, f"every worker of {name} to exit", 0.1)
        except AssertionError as e:
            running = [programs[task] for task in workers if programs[task].proc.poll() is None]
            raise running[0].failure(str(e)) if running else e from None
        return [programs[task].finish(10) for task in workers]
    finally:
        for program in programs.values():
            program.stop()


def _replica_flags(mnist_dir, ps_hosts, worker_hosts, *extra):
    def flags(job, index):
        return [f"--ps_hosts={','.join(ps_hosts)}", f"--worker_hosts={','.join(worker_hosts)}", f"--job_name={job}",
                f"--task_index={index}", "--num_gpus=0", "--train_steps=100", f"--data_dir={mnist_dir}", *extra]
    return flags


@pytest.mark.integration
@pytest.mark.parametrize("sync,ps_first", [(False, True), (True, True), (False, False)],
                         ids=["async", "sync_replicas", "workers_started_first"])
def test_mnist_replica_with_ps_and_two_workers(mnist_dir, sync, ps_first):
    ps_hosts, worker_hosts = _cluster_hosts(1, 2)
    extra = ["--sync_replicas"] if sync else []
    outputs = _run_replicas("mnist_replica", _replica_flags(mnist_dir, ps_hosts, worker_hosts, *extra),
                            ps_hosts, worker_hosts, timeout=60 if ps_first else 30, ps_first=ps_first)
    for out in outputs:
        xent = last_float(r"After 100 training step\(s\), validation cross entropy = " + FLOAT, out)
        assert xent < 0.2 * VALIDATION_CHANCE_XENT, out[-2000:]


@pytest.mark.integration
def test_tony_mnist_distributed(mnist_dir, tmp_path):
    ps_hosts, worker_hosts = _cluster_hosts(1, 2)
    spec = '{"ps": %s, "worker": %s}' % (str(ps_hosts).replace("'", '"'), str(worker_hosts).replace("'", '"'))

    def env_for(job, index):  # what TonY's task executor sets for each task
        return _env(CLUSTER_SPEC=spec, JOB_NAME=job, TASK_INDEX=str(index), TB_PORT=str(free_ports(1)[0]))

    def flags(job, index):
        return [f"--data_dir={mnist_dir}", f"--working_dir={tmp_path / 'work'}", "--steps=150"]

    # It prints accuracy only every 100 of a worker's own steps (so, here, at its first): the check is that every
    # worker trained to the end and the chief's MonitoredTrainingSession wrote its summaries for TensorBoard.
    for out in _run_replicas("tony_mnist_distributed", flags, ps_hosts, worker_hosts, env_for=env_for):
        assert "Done training!" in out, out[-2000:]
    assert list((tmp_path / "work").glob("events.out.tfevents.*")), "the chief wrote no event file"


def _app_logs(client, app_id):
    """The end of both log streams of every task of an app, for a failure's message."""
    tasks = sorted({(c.role, c.task_index) for c in client.report(app_id).containers if c.role != "appmaster"})
    return "\n".join(f"--- {role}:{index} {stream}:\n{client.log_text(app_id, f'{role}:{index}', stream)[-2500:]}"
                     for role, index in tasks for stream in ("stdout", "stderr"))


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_kubeflow_dist_mnist_submitted_to_a_cluster(cluster, mnist_dir):
    from yarnflow import client as yc
    ask = yc.RoleAsk(memory="1g", vcores=1)
    cluster.add_node(vcores=8, memory="8g")
    cluster.wait_for_nodes(1)
    spec = yc.build_spec("dist_mnist.py", workers=2, ps=1, worker=ask, ps_ask=ask, max_task_attempts=1,
                         args=["--num_gpus=0", "--train_steps=100", f"--data_dir={mnist_dir}"])
    with cluster.client() as client:
        app_id = client.submit(EXAMPLES / "dist_mnist.py", spec)
        try:
            report = client.wait(app_id, timeout=150)
        except yc.YarnflowError as e:
            raise AssertionError(f"{e}\n{_app_logs(client, app_id)}\n{cluster.log_tails()}") from None
        logs = {task: client.log_text(app_id, task) for task in ("worker:0", "worker:1")}
        assert yc.succeeded(report), f"{report.diagnostics}\n{_app_logs(client, app_id)}\n{cluster.log_tails()}"
    for out in logs.values():
        xent = last_float(r"After 100 training step\(s\), validation cross entropy = " + FLOAT, out)
        assert xent < 0.2 * VALIDATION_CHANCE_XENT, out[-2000:]
