"""Task servers as separate processes for the distributed tests: start, wait until serving, kill, stop."""

import json
import os
import pathlib
import queue
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


def free_ports(n):
    """``n`` distinct free loopback ports (held open together while chosen, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
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
