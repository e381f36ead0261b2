"""The node's containers end to end: record, localize, launch, stop; glue of table, localizer and launcher.

No auth and no protobuf translation here: ``nodeagent.service`` does those.
"""

import logging
import pathlib
import re
import threading

from nodeagent import containers, logs
from nodeagent.containers import COMPLETE, LOCALIZING, RUNNING, ContainerTable
from nodeagent.launcher import Launcher, LaunchError, STOP_GRACE_S
from nodeagent.localizer import LocalizationError

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def check_id(kind, value):
    """Raise ValueError unless ``value`` is a safe id (it becomes a directory name)."""
    if not _SAFE_ID.match(value or "") or value == "files":
        raise ValueError(f"invalid {kind} {value!r}: expected letters, digits, '_', '.', '-'")
    return value


class ContainerManager:
    """Starts and stops this node's containers and keeps their table.

    ``on_complete(container)`` is called when a container ends (the daemon heartbeats at once)."""

    def __init__(self, work_root, localizer, on_complete=None, launcher=None):
        self.work_root = pathlib.Path(work_root)
        self.table = ContainerTable(on_change=self._changed)
        self.localizer = localizer
        self.launcher = launcher or Launcher(on_exit=self._exited)
        self._on_complete = on_complete
        self._launch_lock = threading.Lock()   # a stop cannot slip between its check and a launch

    def work_dir(self, app_id, container_id):
        """``W/apps/<app_id>/<container_id>/``."""
        return self.work_root / "apps" / app_id / container_id

    def log_dir(self, app_id, container_id):
        """``W/logs/<app_id>/<container_id>/``."""
        return logs.log_dir(self.work_root, app_id, container_id)

    def start(self, launch):
        """Start one container; return None when it runs, else why it failed (it is then COMPLETE).

        Raises ValueError, recording nothing, when the id is already taken."""
        cid, app_id = launch.container_id, launch.app_id
        self.table.add(cid, app_id, launch)
        work_dir = self.work_dir(app_id, cid)
        try:
            work_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir(app_id, cid).mkdir(parents=True, exist_ok=True)
            if launch.localize:
                self.table.transition(cid, LOCALIZING, reason="localize")
                self.localizer.localize(app_id, work_dir)
            with self._launch_lock:
                if self.table.get(cid).stop_requested:
                    self.table.complete(cid, containers.EXIT_INVALID, "stopped by request before it started",
                                        reason="stopped")
                    return "stopped by request before it started"
                self.launcher.start(launch, work_dir, self.log_dir(app_id, cid),
                                     on_started=lambda pid: self.table.transition(cid, RUNNING, "launched",
                                                                                  pid=pid))
        except (LaunchError, LocalizationError, OSError) as exc:
            why = str(exc)
            log.info("container %s failed to start: %s", cid, why)
            self.table.complete(cid, containers.EXIT_INVALID, f"failed to start: {why}", reason="start failed")
            return why
        log.info("container %s of %s started", cid, app_id)
        return None

    def stop(self, container_ids, wait=True, reason="stopped by request"):
        """Stop these containers (SIGTERM, SIGKILL after the grace); return the ids that were live.

        With ``wait`` it returns once they have ended (or the grace and a little more passed)."""
        stopped = []
        with self._launch_lock:
            for cid in container_ids:
                c = self.table.mark_stop_requested(cid)
                if c is None or c.done:
                    continue
                stopped.append(cid)
                if c.state == RUNNING:
                    self.launcher.stop(cid, reason)
        if wait:
            for cid in stopped:
                self.table.wait_done(cid, STOP_GRACE_S + 2.0)
        return stopped

    def stop_app(self, app_id, wait=True):
        """Stop every live container of ``app_id``."""
        return self.stop([c.container_id for c in self.table.all(app_id) if not c.done], wait=wait)

    def stop_everything(self):
        """Stop all containers and wait until their process groups are gone (shutdown)."""
        with self._launch_lock:
            for c in self.table.live():
                self.table.mark_stop_requested(c.container_id)
        self.launcher.stop_all()

    def app_finished(self, app_id):
        """resmgr says ``app_id`` is over: drop its work dirs and file cache (logs stay)."""
        if any(not c.done for c in self.table.all(app_id)):
            return
        self.localizer.forget(app_id)
        self.table.forget_app(app_id)

    def _exited(self, container_id, exit_code, diagnostics):
        log.info("container %s ended: %s", container_id, diagnostics.splitlines()[0] if diagnostics else exit_code)
        self.table.complete(container_id, exit_code, diagnostics, reason="exited")

    def _changed(self, container):
        if container.state == COMPLETE and self._on_complete is not None:
            self._on_complete(container)
