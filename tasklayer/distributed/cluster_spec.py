"""``tf.train.ClusterSpec``: the jobs of a cluster and the ``host:port`` of each of their tasks (here, below
``tf.train``, because the runtime that serves a task needs it too)."""

import ipaddress
import json
import os
import re

_HOST_PORT = re.compile(r"^(\[[^\]]*\]|[^:\[\]]*):([0-9]*)$")
# RFC 1123: letters, digits and inner hyphens, 1-63 characters a label, 253 in all; underscores too, as in the
# names Docker Compose gives containers (resolvable on their network, and what ``socket.getfqdn()`` may answer)
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_PORT = re.compile(r"^(0|[1-9][0-9]{0,4})$")  # no leading zeros; 0 = a free port (create_local_server)


def _host_problem(host):
    """Why ``host`` is no hostname, IPv4 address or bracketed IPv6 address; None when it is one."""
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    if not host:
        return "the host is empty"
    labels = host.split(".")
    if labels[-1].isdigit():  # all-numeric: must be a whole IPv4 address, not a hostname
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"{host} is not an IPv4 address"
        return None
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"{host} is not a hostname (RFC 1123: labels of letters, digits, '_' and inner '-', joined by '.')"
    return None


def task_name(job, index):
    """``/job:J/task:I``, how errors name a task.

    >>> task_name("ps", 0)
    '/job:ps/task:0'
    """
    return f"/job:{job}/task:{index}"


def validate_address(address, job="?", index="?"):
    """Return ``address`` if it is ``host:port``, else ValueError naming the job, task and address.

    >>> validate_address("[::1]:2222"), validate_address("10.0.0.1:80")
    ('[::1]:2222', '10.0.0.1:80')
    >>> validate_address("a..b:1", "ps", 0)
    Traceback (most recent call last):
    ValueError: malformed address 'a..b:1' for /job:ps/task:0: a..b is not a hostname (RFC 1123: ...
    """
    m = _HOST_PORT.match(address) if isinstance(address, str) else None
    if not m:
        problem = "expected HOST:PORT (an IPv6 host in brackets: [::1]:2222)"
    elif not _PORT.match(m.group(2)) or int(m.group(2)) > 65535:
        problem = f"port {m.group(2)!r} is not a number in 1-65535 without leading zeros (or 0: any free port)"
    else:
        problem = _host_problem(m.group(1))
    if problem:
        raise ValueError(f"malformed address {address!r} for /job:{job}/task:{index}: {problem}")
    return address


class ClusterSpec:
    """Jobs mapped to task addresses; a job is a list (tasks 0..n-1) or a dict of sparse task indices.

    >>> c = ClusterSpec({"ps": ["ps0:2222"], "worker": {0: "w0:2222", 3: "w3:2222"}})
    >>> c.jobs, c.num_tasks("worker"), c.task_address("worker", 3), c.task_indices("worker")
    (['ps', 'worker'], 2, 'w3:2222', [0, 3])
    """

    def __init__(self, cluster=None):
        if isinstance(cluster, ClusterSpec):
            cluster = cluster.as_dict()
        if cluster is None:
            cluster = {}
        if not isinstance(cluster, dict):
            raise TypeError(f"ClusterSpec takes a dict of job name -> addresses, got {type(cluster).__name__}")
        self._jobs = {}
        for job, tasks in cluster.items():
            if not isinstance(job, str) or not re.match(r"^[A-Za-z0-9_\-]+$", job):
                raise ValueError(f"malformed job name {job!r}: use letters, digits, '_' and '-'")
            if isinstance(tasks, str):
                tasks = [tasks]
            if isinstance(tasks, dict):
                items = {}
                for index, address in tasks.items():
                    try:
                        index = int(index)
                    except (TypeError, ValueError):
                        raise ValueError(f"malformed task index {index!r} of job {job!r}") from None
                    if index < 0:
                        raise ValueError(f"negative task index {index} of job {job!r}")
                    if index in items:  # 0 and "0" (JSON keys are strings): one would silently win
                        raise ValueError(f"duplicate task index {index} of job {job!r}: {items[index]!r} and "
                                         f"{address!r}")
                    items[index] = address
            elif isinstance(tasks, (list, tuple)):
                items = dict(enumerate(tasks))
            else:
                raise TypeError(f"tasks of job {job!r} must be a list or a dict, got {type(tasks).__name__}")
            self._jobs[job] = {i: validate_address(a, job, i) for i, a in sorted(items.items())}

    @classmethod
    def from_env(cls, environ=None):
        """The cluster the cluster layer started this task in: ``YARNFLOW_CLUSTER``, else ``TF_CONFIG``."""
        env = os.environ if environ is None else environ
        if env.get("YARNFLOW_CLUSTER"):
            return cls(_parse_json(env["YARNFLOW_CLUSTER"], "YARNFLOW_CLUSTER"))
        if env.get("TF_CONFIG"):
            config = _parse_json(env["TF_CONFIG"], "TF_CONFIG")
            if "cluster" not in config:
                raise ValueError("TF_CONFIG has no 'cluster' entry")
            return cls(config["cluster"])
        raise ValueError("no cluster in the environment: neither YARNFLOW_CLUSTER nor TF_CONFIG is set "
                         "(is this process running as a task of a yarnflow app?)")

    @property
    def jobs(self):
        """Job names, sorted."""
        return sorted(self._jobs)

    def _job(self, job):
        try:
            return self._jobs[job]
        except KeyError:
            raise ValueError(f"no such job {job!r} in the cluster spec; jobs: {', '.join(self.jobs) or 'none'}") \
                from None

    def num_tasks(self, job):
        """How many tasks ``job`` has."""
        return len(self._job(job))

    def task_indices(self, job):
        """The task indices of ``job``, sorted."""
        return sorted(self._job(job))

    def task_address(self, job, task_index):
        """The ``host:port`` of one task; ValueError naming job and task when it does not exist."""
        tasks = self._job(job)
        try:
            return tasks[int(task_index)]
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"no task {task_index} in job {job!r}; its tasks: "
                             f"{', '.join(map(str, sorted(tasks))) or 'none'}") from None

    def job_tasks(self, job):
        """Addresses of ``job``'s tasks by index (None where a sparse index is missing), as TF returns them."""
        tasks = self._job(job)
        if not tasks:
            return []
        return [tasks.get(i) for i in range(max(tasks) + 1)]

    def has_task(self, job, task_index):
        """Whether ``/job:job/task:task_index`` exists."""
        return job in self._jobs and task_index in self._jobs[job]

    def as_dict(self):
        """``{job: [addresses]}``, or ``{job: {index: address}}`` for a job with sparse indices."""
        out = {}
        for job in self.jobs:
            tasks = self._jobs[job]
            dense = list(tasks) == list(range(len(tasks)))
            out[job] = [tasks[i] for i in range(len(tasks))] if dense else dict(tasks)
        return out

    def as_cluster_def(self):
        """The spec as JSON text (what the cluster layer's ``YARNFLOW_CLUSTER`` holds for dense jobs)."""
        return json.dumps({j: ({str(i): a for i, a in t.items()} if isinstance(t, dict) else t)
                           for j, t in self.as_dict().items()}, sort_keys=True)

    def tasks(self):
        """Every ``(job, index, address)``."""
        return [(j, i, a) for j in self.jobs for i, a in sorted(self._jobs[j].items())]

    def __eq__(self, other):
        return isinstance(other, ClusterSpec) and self._jobs == other._jobs

    def __bool__(self):
        return bool(self._jobs)

    def __repr__(self):
        return f"ClusterSpec({self.as_dict()!r})"


def _parse_json(text, what):
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{what} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def task_from_env(environ=None):
    """``(job_name, task_index)`` of this task: ``YARNFLOW_JOB_NAME``/``YARNFLOW_TASK_INDEX``, else TF_CONFIG."""
    env = os.environ if environ is None else environ
    if env.get("YARNFLOW_JOB_NAME"):
        try:
            return env["YARNFLOW_JOB_NAME"], int(env.get("YARNFLOW_TASK_INDEX", "0"))
        except ValueError:
            raise ValueError(f"YARNFLOW_TASK_INDEX is not an integer: {env.get('YARNFLOW_TASK_INDEX')!r}") \
                from None
    if env.get("TF_CONFIG"):
        task = _parse_json(env["TF_CONFIG"], "TF_CONFIG").get("task") or {}
        if "type" in task:
            return task["type"], int(task.get("index", 0))
    raise ValueError("no task in the environment: neither YARNFLOW_JOB_NAME nor TF_CONFIG's 'task' is set")
