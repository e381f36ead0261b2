"""Task servers as separate processes for the distributed tests: start, wait until serving, kill, stop."""

import json
import os
import pathlib
import queue
import random
import socket
import subprocess
import sys
import threading
import time

import grpc

from protos import tasklayer_pb2 as pb
from yarnflow import rpc
from tests.polling import wait_until  # noqa: F401 - used here and re-exported

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _ephemeral_range():
    """The kernel's range for the local ports of outgoing connections (Linux; a common default elsewhere)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(n):
    """``n`` distinct free ports, bindable on every interface, chosen in 12000..19999 (below the kernel's
    ephemeral range, where some process's outgoing connection could take a port before the task that is to
    listen on it binds, and below the test clusters' task ports); held open together while chosen."""
    low, high = _ephemeral_range()
    span = (12000, 20000) if low >= 20000 else (1024, low) if low > 2048 else (high + 1, 65535)
    rng = random.Random()
    socks, ports = [], []
    try:
        for _ in range(50 * n):
            port = rng.randrange(*span)
            s = socket.socket()
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(port)
            if len(ports) == n:
                return ports
        raise RuntimeError(f"found only {len(ports)} of {n} free ports in {span[0]}..{span[1] - 1}")
    finally:
        for s in socks:
            s.close()


class TaskProcesses:
    """A cluster of task servers, one process each, on loopback ports."""

    def __init__(self, jobs):
        ports = iter(free_ports(sum(jobs.values())))
        self.spec = {job: [f"localhost:{next(ports)}" for _ in range(n)] for job, n in jobs.items()}
        self.procs = {}
        self._lines = {}

    def start(self, timeout=30.0):
        """Start every task and wait until each says it serves."""
        for job, addresses in self.spec.items():
            for i in range(len(addresses)):
                self.start_task(job, i)
        for key in list(self.procs):
            self.wait_serving(key, timeout)
        return self

    def start_task(self, job, index):
        """Start one task's server process."""
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "-m", "tasklayer.distributed.serve", "--cluster",
                                 json.dumps(self.spec), "--job", job, "--task", str(index)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = queue.SimpleQueue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        self.procs[(job, index)] = proc
        self._lines[(job, index)] = lines

    def wait_serving(self, key, timeout=30.0):
        """Wait for a task's ``serving`` line; AssertionError with its output if it dies first."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self._lines[key].get(timeout=0.1)
            except queue.Empty:
                if self.procs[key].poll() is not None:
                    break
                continue
            seen.append(line)
            if line.startswith("serving "):
                return
        raise AssertionError(f"task {key} did not start serving: {''.join(seen)}")

    def address(self, job, index):
        """``host:port`` of a task."""
        return self.spec[job][index]

    def target(self, job, index):
        """``grpc://host:port`` of a task."""
        return f"grpc://{self.address(job, index)}"

    def status(self, job, index):
        """The task's GetStatus answer (RecvTensor count, active steps)."""
        with rpc.channel(self.address(job, index)) as ch:
            call = ch.unary_unary("/yarnflow.WorkerService/GetStatus",
                                  request_serializer=pb.GetStatusRequest.SerializeToString,
                                  response_deserializer=pb.GetStatusResponse.FromString)
            return call(pb.GetStatusRequest(), timeout=5.0)

    def kill(self, job, index):
        """SIGKILL one task."""
        proc = self.procs[(job, index)]
        proc.kill()
        proc.wait(10)

    def alive(self, job, index):
        """Whether the task's process still runs."""
        return self.procs[(job, index)].poll() is None

    def stop(self):
        """Stop every task (SIGTERM, then SIGKILL after a grace)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def is_unavailable(exc):
    """Whether a grpc error says the peer is unreachable."""
    return isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.UNAVAILABLE


def raised(fn, *args):
    """The exception ``fn(*args)`` raised, or None (for a test to check from another thread)."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - returned for the test to check
        return e
    return None
