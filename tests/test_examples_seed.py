"""The seed's example files, run as a user runs them: ``python examples/zcalc_server.py 0`` and ``... 1`` in
the background, then ``python examples/zcalc.py`` (prints -18) and ``python examples/mapreduce_mean.py``.

The examples hard-code ``localhost:2222`` and ``localhost:2223`` and take no port override, so these tests
use those ports and skip when either is already taken (a developer's own seed servers, say).
"""

import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.distributed_helpers import ROOT, wait_until

SEED_PORTS = (2222, 2223)
RUN_TIMEOUT_S = 60


def _port_free(port):
    """Whether a server could listen on ``port`` now (as gRPC binds: SO_REUSEADDR, every interface)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def _run_example(*args):
    """Run ``python examples/...`` from the repository root to its end; the CompletedProcess."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


class _SeedServer:
    """One ``examples/zcalc_server.py TASK`` process, its output collected by a thread."""

    def __init__(self, task):
        self.task = task
        self.proc = subprocess.Popen([sys.executable, "examples/zcalc_server.py", str(task)], cwd=ROOT,
                                     env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

    def wait_started(self):
        """Wait for its ``Starting server #N`` line (printed once the server serves); fail if it dies first."""
        line = f"Starting server #{self.task}"
        wait_until(lambda: any(line in x for x in self.lines) or self.proc.poll() is not None, timeout=30,
                   what=f"zcalc_server.py {self.task} to start")
        assert self.proc.poll() is None, f"zcalc_server.py {self.task} exited: {''.join(self.lines)}"

    def stop(self):
        """SIGTERM (the script has no handler: it dies), SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def seed_servers():
    """Tasks 0 and 1 of the seed's ``local`` job, started from the real example file."""
    taken = [p for p in SEED_PORTS if not _port_free(p)]
    if taken:
        pytest.skip(f"the seed examples need ports {SEED_PORTS}; taken here: {taken}")
    servers = []
    try:
        servers = [_SeedServer(0), _SeedServer(1)]
        for server in servers:
            server.wait_started()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_zcalc_prints_minus_18(seed_servers):
    done = _run_example("examples/zcalc.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "-18"


def test_mapreduce_mean_prints_the_mean_of_the_fed_values(seed_servers):
    done = _run_example("examples/mapreduce_mean.py")
    assert done.returncode == 0, done.stderr
    mean = float(done.stdout.split()[-1])
    # the mean of 100 uniform values: 0.5 with a standard deviation of 0.029 (the example prints no reference)
    assert 0.25 < mean < 0.75


def test_a_second_server_for_a_task_names_the_task_and_its_address(seed_servers):
    done = _run_example("examples/zcalc_server.py", "0")
    assert done.returncode != 0
    assert "cannot start /job:local/task:0: port 2222 of localhost:2222 is in use" in done.stderr, done.stderr
    assert all(s.proc.poll() is None for s in seed_servers)  # the first ones still serve
