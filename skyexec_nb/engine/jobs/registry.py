"""The durable job registry: one SQLite (WAL) table at ``state_dir/jobs.db``.

Columns of ``jobs`` (JSON columns are decoded by :meth:`Registry.get`):

============== ======= ==========================================================
id             INTEGER user-facing job id (autoincrement)
name           TEXT    job name
backend        TEXT    "local", "skypilot", "jobs"
cluster        TEXT    cluster name
app_id         TEXT    ``skyexec_nb___<cluster>___<name>___<id>``
status         TEXT    a :class:`JobStatus` value; a terminal status is final
created        REAL    epoch seconds; ``started`` / ``ended`` likewise (or NULL)
exit_codes     JSON    {rank: code}, negative for signals
error          TEXT    one line, or NULL
log_path       TEXT    the job's log file
job_dir        TEXT    the job's directory
supervisor_pid INTEGER pid of the job's supervisor process
node_pgids     JSON    [pgid, ...] of node process groups (local backend)
config         JSON    the SkyPilot task dict
launch_options JSON    cluster_name, autodown, idle_minutes, retry_until_up, extras
extra          JSON    free dict for backends/views (sky request id, endpoints, cost, ...)
updated        REAL    epoch seconds of the last write (the monitor watches it)
============== ======= ==========================================================

Safe from many threads (a connection per thread) and processes (WAL, busy timeout).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

from skyexec_nb.engine.jobs.status import TERMINAL, JobStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, backend TEXT NOT NULL, cluster TEXT, app_id TEXT,
    status TEXT NOT NULL, created REAL NOT NULL, started REAL, ended REAL,
    exit_codes TEXT, error TEXT, log_path TEXT, job_dir TEXT,
    supervisor_pid INTEGER, node_pgids TEXT, config TEXT, launch_options TEXT,
    extra TEXT, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_name ON jobs(name);
"""
JSON_COLUMNS = frozenset({"exit_codes", "node_pgids", "config", "launch_options", "extra"})
COLUMNS = (
    "id", "name", "backend", "cluster", "app_id", "status", "created", "started", "ended",
    "exit_codes", "error", "log_path", "job_dir", "supervisor_pid", "node_pgids", "config",
    "launch_options", "extra", "updated",
)
_WRITABLE = frozenset(COLUMNS) - {"id", "extra"}
_TERMINAL_VALUES = tuple(s.value for s in TERMINAL)
_STARTED_ON = frozenset({JobStatus.SETTING_UP, JobStatus.RUNNING})


def _encode(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS and value is not None:
        return json.dumps(value, default=str)
    if isinstance(value, JobStatus):
        return value.value
    return value


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for column in JSON_COLUMNS:
        out[column] = json.loads(out[column]) if out[column] else None
    out["status"] = JobStatus(out["status"])
    out["exit_codes"] = {int(k): v for k, v in (out["exit_codes"] or {}).items()}
    out["extra"] = out["extra"] or {}
    out["node_pgids"] = out["node_pgids"] or []
    return out


class Registry:
    """Read and write job rows; every write is one transaction that stamps ``updated``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connect()  # creates the schema

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connect())

    def insert(self, derive: Callable[[int], dict[str, Any]] | None = None, **fields: Any) -> int:
        """Write a new row (``created``/``updated`` stamped) and return its id.

        ``derive(id) -> fields`` adds fields that need the id (app_id, paths) in the same transaction.
        """
        now = time.time()
        fields.setdefault("created", now)
        fields["updated"] = now
        fields.setdefault("extra", {})
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown registry columns: {sorted(unknown)}")
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self._transaction() as conn:
            cur = conn.execute(
                f"INSERT INTO jobs ({names}) VALUES ({marks})", [_encode(k, v) for k, v in fields.items()]
            )
            job_id = int(cur.lastrowid)
            if derive is not None:
                self._apply(conn, job_id, derive(job_id))
            return job_id

    def get(self, job_id: int) -> dict[str, Any] | None:
        """The decoded row of ``job_id`` or None."""
        row = self._connect().execute("SELECT * FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        return _decode(row) if row is not None else None

    def rows(self, where: str = "", params: tuple = (), order: str = "id") -> list[dict[str, Any]]:
        """Decoded rows matching an SQL ``where`` clause (trusted, internal use), ordered by id."""
        sql = "SELECT * FROM jobs" + (f" WHERE {where}" if where else "") + f" ORDER BY {order}"
        return [_decode(r) for r in self._connect().execute(sql, params).fetchall()]

    def active(self) -> list[dict[str, Any]]:
        """Rows of every non-terminal job."""
        marks = ", ".join("?" for _ in _TERMINAL_VALUES)
        return self.rows(f"status NOT IN ({marks})", _TERMINAL_VALUES)

    def versions(self, ids: list[int]) -> dict[int, tuple[str, float]]:
        """{id: (status, updated)} of the given jobs: a cheap change probe for the monitor."""
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        cur = self._connect().execute(f"SELECT id, status, updated FROM jobs WHERE id IN ({marks})", tuple(ids))
        return {r["id"]: (r["status"], r["updated"]) for r in cur.fetchall()}

    def find(self, name: str) -> dict[str, Any] | None:
        """The newest job named ``name``, or None."""
        found = self.rows("name = ?", (name,), order="id DESC LIMIT 1")
        return found[0] if found else None

    def last(self) -> dict[str, Any] | None:
        """The newest job, or None."""
        found = self.rows(order="id DESC LIMIT 1")
        return found[0] if found else None

    def update(self, job_id: int, **fields: Any) -> None:
        """Set columns; keys that are not columns (and ``extra=``) merge into ``extra``."""
        with self._transaction() as conn:
            self._apply(conn, job_id, fields)

    def set_status(self, job_id: int, status: JobStatus | str, **fields: Any) -> bool:
        """Move a job to ``status`` (plus ``fields``) unless it is already terminal.

        Stamps ``started`` on the first SETTING_UP/RUNNING and ``ended`` on a terminal status.
        Returns True if applied, False if the row was terminal (a terminal status is final) or absent.
        """
        status = JobStatus(status)
        with self._transaction() as conn:
            row = conn.execute("SELECT status, started, ended FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
            if row is None or row["status"] in _TERMINAL_VALUES:
                return False
            now = time.time()
            fields = {"status": status, **fields}
            if status in _STARTED_ON and row["started"] is None:
                fields.setdefault("started", now)
            if status in TERMINAL and row["ended"] is None:
                fields.setdefault("ended", now)
            self._apply(conn, job_id, fields)
            return True

    @staticmethod
    def _apply(conn: sqlite3.Connection, job_id: int, fields: dict[str, Any]) -> None:
        columns = {k: v for k, v in fields.items() if k in _WRITABLE}
        extra = {k: v for k, v in fields.items() if k not in _WRITABLE and k != "extra"}
        extra.update(fields.get("extra") or {})
        if extra:
            current = conn.execute("SELECT extra FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
            merged = json.loads(current["extra"] or "{}") if current is not None else {}
            merged.update(extra)
            columns["extra"] = merged
        columns["updated"] = time.time()
        assignments = ", ".join(f"{k} = ?" for k in columns)
        conn.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ?",
            [*(_encode(k, v) for k, v in columns.items()), int(job_id)],
        )

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), nesting-safe."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = not conn.in_transaction

    def __enter__(self) -> sqlite3.Connection:
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.outer:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


_registries: dict[Path, Registry] = {}
_lock = threading.Lock()


def get_registry() -> Registry:
    """The Registry of the current settings' state dir (one object per path per process)."""
    from skyexec_nb.engine.jobs.settings import get_settings

    path = get_settings().state_path / "jobs.db"
    with _lock:
        registry = _registries.get(path)
        if registry is None:
            registry = _registries[path] = Registry(path)
        return registry
