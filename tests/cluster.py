"""A real cluster as a test fixture: resmgr and node agents on 127.0.0.1, always torn down.

In the spirit of ray's ``cluster_utils.Cluster`` and dask's ``gen_cluster``:

    with LocalTestCluster(tmp_path) as cluster:
        cluster.add_node(vcores=4, memory="4g")
        cluster.wait_for_nodes(1)
        with cluster.client() as client: ...

Every wait polls with a deadline (``wait_until``); ``shutdown`` stops every process it started and every
container under its directory, then checks with psutil that none is left.
"""

import os
import pathlib
import random
import signal

import psutil

from yarnflow import auth, client as yc, local_cluster
from tests.polling import wait_until  # noqa: F401 - re-exported for the tests

NODE_EXPIRY_S = 3.0
HEARTBEAT_INTERVAL_S = 0.5
PORTS_PER_NODE = 100
TASK_PORT_FLOOR = 20000
TASK_PORT_CEILING = 32000  # below Linux's ephemeral range, where servers bound to port 0 land


def app_processes(app_id):
    """Live processes of an app's containers (their env names the app), on any node of this machine."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("YARNFLOW_APP_ID") == app_id and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


class LocalTestCluster:
    """A resmgr and node agents started as real processes under ``root``, for integration tests."""

    def __init__(self, root, node_expiry=NODE_EXPIRY_S, heartbeat_interval=HEARTBEAT_INTERVAL_S,
                 resmgr_args=()):
        self.root = pathlib.Path(root)
        self.data_dir = self.root / "resmgr"
        self.node_expiry = node_expiry
        self.heartbeat_interval = heartbeat_interval
        self.resmgr_args = tuple(resmgr_args)
        self.resmgr = None
        self.nodes = {}            # node name -> Daemon (address = node id)
        self.port_ranges = {}      # node name -> (first, end) of its task ports
        self._all_started = []     # every Daemon ever started, for the final check
        self._node_seq = 0
        # distinct task-port ranges per cluster and node, so parallel clusters rarely collide
        slots = (TASK_PORT_CEILING - TASK_PORT_FLOOR) // (PORTS_PER_NODE * 8)
        self._port_base = TASK_PORT_FLOOR + random.randrange(slots) * PORTS_PER_NODE * 8

    # -- lifecycle
    def start(self):
        """Start resmgr on a free port and wait until it listens."""
        self._start_resmgr(port=0)
        return self

    def _start_resmgr(self, port):
        self.resmgr = local_cluster.start_resmgr(
            self.data_dir, self.root / "logs" / "resmgr.log", port=port, node_expiry=self.node_expiry,
            extra_args=self.resmgr_args)
        self._all_started.append(self.resmgr)

    @property
    def address(self):
        """resmgr's HOST:PORT."""
        return self.resmgr.address

    @property
    def secret_file(self):
        """The cluster secret's file (created by resmgr on first start)."""
        return self.data_dir / auth.SECRET_FILE_NAME

    @property
    def secret(self):
        """The cluster secret."""
        return self.secret_file.read_text().strip()

    def client(self, secret=None):
        """A ``yarnflow.client.Client`` for this cluster (the real secret unless told otherwise)."""
        return yc.Client(self.address, secret=self.secret if secret is None else secret)

    def add_node(self, vcores=4, memory="4g", gpus=0):
        """Start a node agent with these resources and wait until it registered; returns its Daemon."""
        self._node_seq += 1
        name = f"node{self._node_seq}"
        low = self._port_base + (self._node_seq - 1) % 8 * PORTS_PER_NODE
        daemon = local_cluster.start_nodeagent(
            name, self.address, self.root / name, self.root / "logs" / f"{name}.log", self.secret_file,
            vcores=vcores, memory=memory, gpus=gpus, port_range=(low, low + PORTS_PER_NODE),
            heartbeat_interval=self.heartbeat_interval)
        self.nodes[name] = daemon
        self.port_ranges[name] = (low, low + PORTS_PER_NODE)
        self._all_started.append(daemon)
        return daemon

    def remove_node(self, node):
        """Stop a node agent gracefully (SIGTERM: it stops its containers)."""
        daemon = self._pop_node(node)
        local_cluster.stop([daemon])
        return daemon

    def kill_node(self, node):
        """SIGKILL a node agent, as a machine crash would; its node should go LOST."""
        daemon = self._pop_node(node)
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
        return daemon

    def _pop_node(self, node):
        name = node if isinstance(node, str) else next(n for n, d in self.nodes.items() if d is node)
        return self.nodes.pop(name)

    def restart_resmgr(self):
        """Stop resmgr (SIGTERM) and start it again on the same port and data dir."""
        port = int(self.address.rpartition(":")[2])
        local_cluster.stop([self.resmgr])
        self._start_resmgr(port=port)

    # -- waiting
    def node_reports(self):
        """resmgr's ``NodeReport`` of every node, by node id."""
        with self.client() as client:
            return {n.node_id: n for n in client.nodes()}

    def wait_for_nodes(self, n, timeout=15.0):
        """Wait until resmgr counts ``n`` RUNNING nodes."""
        def running():
            reports = self.node_reports().values()
            return sum(r.state == yc.common_pb2.NODE_RUNNING for r in reports) == n
        wait_until(running, timeout, f"{n} running node(s)", interval=0.1)

    # -- teardown
    def leftover_processes(self):
        """Processes of this cluster still alive: daemons and containers (run in a node's apps/ dir)."""
        alive = [psutil.Process(d.pid) for d in self._all_started if local_cluster.pid_alive(d.pid)]
        return alive + local_cluster.container_processes(self.root)

    def shutdown(self):
        """Stop every node agent, resmgr and container; raise if any process survives."""
        daemons = [d for d in self._all_started if d.alive()]
        daemons.sort(key=lambda d: d.name == "resmgr")  # node agents first: they stop their containers
        local_cluster.stop(daemons)
        local_cluster.terminate(local_cluster.container_processes(self.root))
        for daemon in self._all_started:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait(timeout=5)
        leftovers = self.leftover_processes()
        if leftovers:
            local_cluster.terminate(leftovers, grace=1.0)
            raise AssertionError(f"processes outlived the test cluster: {[p.pid for p in leftovers]}")

    def log_tails(self, lines=20):
        """The end of every daemon's log, for a failing test's message."""
        return "\n".join(f"--- {d.name}: {local_cluster.log_tail(d.log, lines=lines)}"
                         for d in self._all_started)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.shutdown()


def write_app(directory, name, source):
    """Write an app script for a test and return its path."""
    path = pathlib.Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    os.chmod(path, 0o644)
    return path
