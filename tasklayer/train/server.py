"""``tf.train.Server``: one task of a cluster, serving a master and a worker on its port."""

from tasklayer.distributed.cluster_spec import ClusterSpec, task_from_env
from tasklayer.distributed.server import TaskServer


class Server:
    """An in-process server for one task of ``cluster``; ``target`` is what ``tf.Session`` connects to.

    >>> server = Server.create_local_server()
    >>> server.target.startswith("grpc://localhost:")
    True
    >>> server.stop()
    """

    def __init__(self, server_or_cluster_def, job_name=None, task_index=None, protocol=None, config=None,
                 start=True):
        cluster = ClusterSpec(server_or_cluster_def)
        if job_name is None:
            if len(cluster.jobs) != 1:
                raise ValueError(f"job_name must be given for a cluster with several jobs ({cluster.jobs})")
            job_name = cluster.jobs[0]
        if task_index is None:
            indices = cluster.task_indices(job_name)
            if len(indices) != 1:
                raise ValueError(f"task_index must be given: job {job_name!r} has {len(indices)} tasks")
            task_index = indices[0]
        if protocol not in (None, "grpc"):
            raise ValueError(f"unsupported protocol {protocol!r}: only 'grpc'")
        optimize = True
        if config is not None:
            optimize = bool(config.get("optimize", True) if isinstance(config, dict)
                            else getattr(config, "optimize", True))
        self._server = TaskServer(cluster, job_name, int(task_index), optimize=optimize)
        self.job_name, self.task_index = job_name, int(task_index)
        if start:
            self.start()

    @classmethod
    def from_env(cls, start=True, environ=None):
        """The server of this task, from the cluster layer's environment (YARNFLOW_* or TF_CONFIG)."""
        cluster = ClusterSpec.from_env(environ)
        job, index = task_from_env(environ)
        return cls(cluster, job, index, start=start)

    @staticmethod
    def create_local_server(config=None, start=True):
        """A single-task server on a free local port (``/job:local/task:0``)."""
        return Server({"local": ["localhost:0"]}, "local", 0, config=config, start=start)

    @property
    def target(self):
        """``grpc://host:port``, for ``tf.Session(server.target)``."""
        return f"grpc://{self._server.address}"

    @property
    def server_def(self):
        """The cluster this server runs in, with its job and task."""
        return {"cluster": self._server.cluster.as_dict(), "job_name": self.job_name,
                "task_index": self.task_index}

    @property
    def cluster_spec(self):
        """The cluster (with this server's real port if it was started on port 0)."""
        return self._server.cluster

    def update_cluster(self, cluster):
        """Follow tasks that moved (a restarted container has a new port): point this server at the
        addresses of ``cluster``; returns the ``(job, index)`` that moved. Not in TF, which has no restarts."""
        return self._server.update_cluster(cluster)

    def start(self):
        """Start serving (servers start at construction unless ``start=False``)."""
        self._server.start()

    def join(self, timeout=None):
        """Block until the server is stopped (by ``stop`` or a Shutdown RPC); True if it was."""
        return self._server.join(timeout)

    def stop(self):
        """Stop serving."""
        self._server.stop()

    @property
    def worker(self):
        """The worker of this server (tests inspect its caches)."""
        return self._server.worker
