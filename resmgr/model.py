"""Plain value types the resmgr state machines share (no protobuf, no I/O)."""

import dataclasses

# Exit code of a container whose node was lost (YARN's ContainerExitStatus.ABORTED is -100 too).
EXIT_NODE_LOST = -100
# Exit code of a container resmgr could not start or gave up on before it ran.
EXIT_NOT_STARTED = -101
# Exit code of a container released or stopped by resmgr / its appmaster.
EXIT_STOPPED = -102


@dataclasses.dataclass(frozen=True)
class Res:
    """An amount of compute: vcores, memory in MB, GPUs."""

    vcores: int = 0
    memory_mb: int = 0
    gpus: int = 0

    def fits_in(self, other):
        """True when every dimension is at most that of ``other``."""
        return (self.vcores <= other.vcores and self.memory_mb <= other.memory_mb
                and self.gpus <= other.gpus)

    def __add__(self, other):
        return Res(self.vcores + other.vcores, self.memory_mb + other.memory_mb, self.gpus + other.gpus)

    def __sub__(self, other):
        return Res(self.vcores - other.vcores, self.memory_mb - other.memory_mb, self.gpus - other.gpus)

    def is_negative(self):
        """True when some dimension is below zero."""
        return self.vcores < 0 or self.memory_mb < 0 or self.gpus < 0


# Container states, as the nodeagent reports them (same numbers as common.proto's ContainerState).
CONTAINER_NEW, CONTAINER_LOCALIZING, CONTAINER_RUNNING, CONTAINER_COMPLETE = 1, 2, 3, 4


@dataclasses.dataclass
class ContainerStatus:
    """What is known about one container's process."""

    container_id: str
    app_id: str
    state: int = CONTAINER_NEW
    exit_code: int = 0
    diagnostics: str = ""
    pid: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def complete(self):
        """True once the container has ended."""
        return self.state == CONTAINER_COMPLETE


def completed_status(container_id, app_id, exit_code, diagnostics, now):
    """A COMPLETE status made up by resmgr (node lost, launch failed, stopped)."""
    return ContainerStatus(container_id, app_id, CONTAINER_COMPLETE, exit_code, diagnostics,
                           finished_at=now)


def _format_memory(mb):
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{int(mb)} MiB"


def describe_capability(res):
    """One line for a node's capability: ``23.4 GiB, 2 vcores, 0 GPUs``."""
    return f"{_format_memory(res.memory_mb)}, {res.vcores} vcores, {res.gpus} GPUs"


def largest_capability(capabilities, ask=None):
    """The capability closest to holding ``ask`` (most dimensions fitting, then most memory)."""
    def key(cap):
        fitting = 0 if ask is None else sum((ask.vcores <= cap.vcores, ask.memory_mb <= cap.memory_mb,
                                             ask.gpus <= cap.gpus))
        return (fitting, cap.memory_mb, cap.vcores, cap.gpus)
    return max(capabilities, key=key, default=None)


def too_large_message(what, ask, largest, node_id=""):
    """Why ``what`` (a role or ask id) asking ``ask`` fits no node, naming the ``largest`` node."""
    over = []
    if ask.memory_mb > largest.memory_mb:
        over.append(f"{ask.memory_mb} MB memory")
    if ask.vcores > largest.vcores:
        over.append(f"{ask.vcores} vcores")
    if ask.gpus > largest.gpus:
        over.append(f"{ask.gpus} GPUs")
    node = f" ({node_id})" if node_id else ""
    return f"{what} asks {' and '.join(over)} but the largest node{node} has {describe_capability(largest)}"
