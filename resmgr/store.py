"""The state store: every accepted app in SQLite (WAL) under the data dir, so no submission is lost.

Only state changes are written (submit, AM attempts, the end of an app), never heartbeats.
"""

import sqlite3
import threading

from resmgr.apps import AppRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    app_id        TEXT PRIMARY KEY,
    spec          BLOB NOT NULL,
    name          TEXT NOT NULL,
    queue         TEXT NOT NULL,
    state         INTEGER NOT NULL,
    final_status  INTEGER NOT NULL,
    diagnostics   TEXT NOT NULL,
    submitted_at  REAL NOT NULL,
    started_at    REAL NOT NULL,
    finished_at   REAL NOT NULL,
    am_attempt    INTEGER NOT NULL,
    am_failures   INTEGER NOT NULL
)
"""
_COLUMNS = ("app_id", "spec", "name", "queue", "state", "final_status", "diagnostics", "submitted_at",
            "started_at", "finished_at", "am_attempt", "am_failures")


class StateStore:
    """Apps saved in ``path`` (SQLite, WAL); safe to call from any thread."""

    def __init__(self, path):
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a submission acknowledged to the client is on disk, even across a power cut.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def save_app(self, app):
        """Insert or update one app's record; returns once it is durable."""
        row = (app.app_id, app.spec_bytes, app.name, app.queue, app.state, app.final_status,
               app.diagnostics, app.submitted_at, app.started_at, app.finished_at, app.am_attempt,
               app.am_failures)
        sql = (f"INSERT OR REPLACE INTO apps ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_COLUMNS))})")
        with self._lock:
            self._db.execute(sql, row)

    def load_apps(self, parse_spec):
        """Every stored app as an AppRecord, oldest submission first; ``parse_spec(bytes)`` rebuilds specs."""
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM apps "
                                    "ORDER BY submitted_at, app_id").fetchall()
        apps = []
        for row in rows:
            fields = dict(zip(_COLUMNS, row))
            spec_bytes = bytes(fields.pop("spec"))
            apps.append(AppRecord(spec=parse_spec(spec_bytes), spec_bytes=spec_bytes, **fields))
        return apps

    def close(self):
        """Close the database."""
        with self._lock:
            self._db.close()
