"""Helpers for the distributed benchmarks: task servers (ours and TensorFlow's) in their own processes, tables."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.distributed_helpers import TaskProcesses, free_ports  # noqa: E402,F401


class TFServers:
    """TensorFlow's own ``tf.train.Server`` tasks of job "local" on loopback ports: each its own process,
    except ``in_process`` (a task index) whose server runs in this process, so that a client here is inside
    that task as ours can be. TF servers cannot be stopped in-process: each instance uses fresh ports."""

    def __init__(self, tf1, n, in_process=None, timeout=60.0):
        self.spec = {"local": [f"localhost:{p}" for p in free_ports(n)]}
        self.procs = []
        self.server = None
        try:
            for i in range(n):
                if i != in_process:
                    self.procs.append(subprocess.Popen(
                        [sys.executable, str(ROOT / "bench" / "_tf_server.py"), json.dumps(self.spec), "local",
                         str(i)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            for proc in self.procs:  # blocking readline: the child prints one line, or exits (EOF)
                line = proc.stdout.readline()
                if not line.startswith("serving"):
                    raise RuntimeError(f"a TensorFlow server process did not start (exit {proc.poll()})")
            if in_process is not None:
                self.server = tf1.train.Server(tf1.train.ClusterSpec(self.spec), job_name="local",
                                               task_index=in_process)
        except BaseException:
            self.stop()
            raise

    def target(self, index):
        """``grpc://localhost:port`` of a task (the in-process server's own target for that task)."""
        if self.server is not None and self.server.target.endswith(self.spec["local"][index].split(":")[1]):
            return self.server.target
        return "grpc://" + self.spec["local"][index]

    def stop(self):
        """Kill the server processes."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def table(title, header, rows):
    """Print a fixed-width table."""
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
