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
