"""``max_parallel`` for sweeps: a cross-process slot claim in the registry's SQLite database.

A sweep's jobs carry their group in the task envs (``SKYEXEC_NB_SWEEP`` = sweep id,
``SKYEXEC_NB_MAX_PARALLEL`` = N), written with the row at launch. Each job's supervisor calls
:func:`wait_for_slot` before running its backend: in one ``BEGIN IMMEDIATE`` transaction it counts
the group's members that hold a slot (``extra.slot``) and are not terminal, plus the members
launched before it that are still waiting (first come, first served), and claims a slot
(``extra.slot = <sweep id>``) when fewer than N are taken. Otherwise the job stays PENDING and
retries every ``poll_interval``. A slot frees itself when its job reaches a terminal state.

Processes stay bounded too: the launching kernel starts supervisors for the first N jobs of a
group only; the others wait PENDING with no supervisor (*queued*). A supervisor owns a job once it
:func:`claim` s it (``supervisor_pid`` set only where it is NULL: never two supervisors for one
job); when its job ends it :func:`claim_next` s its group's lowest waiting job and runs it in the
same process, until none is left.
"""
from __future__ import annotations

import contextlib
import secrets
import sqlite3
import time
from typing import Any, Iterator

from skyexec_nb.engine.jobs.status import TERMINAL, JobStatus
from skyexec_nb.model.limits import check_max_parallel

SWEEP_ENV = "SKYEXEC_NB_SWEEP"
MAX_PARALLEL_ENV = "SKYEXEC_NB_MAX_PARALLEL"
_TERMINAL_VALUES = tuple(s.value for s in TERMINAL)


def slot_group(config: dict[str, Any]) -> tuple[str, int] | None:
    """``(sweep id, max_parallel)`` of a task config, or None when it is not bounded."""
    envs = config.get("envs") or {}
    group, limit = envs.get(SWEEP_ENV), envs.get(MAX_PARALLEL_ENV)
    if not group or not limit or int(limit) <= 0:
        return None
    return str(group), int(limit)


def _connect(db_path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


_CLAIM = (
    "UPDATE jobs SET supervisor_pid = ?, updated = ?, extra = json_set(COALESCE(NULLIF(extra, ''), '{}'),"
    " '$.supervisor_start', ?, '$.job_token', ?) WHERE id = ? AND supervisor_pid IS NULL"
    " AND status NOT IN (" + ", ".join("?" for _ in _TERMINAL_VALUES) + ")"
)


def claim(db_path: str, job_id: int, stamp: list) -> bool:
    """Make the process ``stamp`` (``[pid, start time]``) the job's supervisor, atomically: only
    if the job has none and is not terminal. Also gives the job its process marker token."""
    conn = _connect(db_path)
    try:
        cur = conn.execute(_CLAIM, (stamp[0], time.time(), stamp[1], secrets.token_hex(12), int(job_id),
                                    *_TERMINAL_VALUES))
        return cur.rowcount == 1
    finally:
        conn.close()


def claim_next(db_path: str, group: str, stamp: list) -> int | None:
    """Claim ``group``'s lowest waiting job (no supervisor, not terminal) for ``stamp``; its id or None."""
    conn = _connect(db_path)
    marks = ", ".join("?" for _ in _TERMINAL_VALUES)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT id FROM jobs WHERE json_extract(config, '$.envs." + SWEEP_ENV + "') = ?"
                f" AND supervisor_pid IS NULL AND status NOT IN ({marks}) ORDER BY id LIMIT 1",
                (group, *_TERMINAL_VALUES),
            ).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return None
            conn.execute(_CLAIM, (stamp[0], time.time(), stamp[1], secrets.token_hex(12), row[0],
                                  *_TERMINAL_VALUES))
            conn.execute("COMMIT")
            return int(row[0])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def try_claim(db_path: str, job_id: int, group: str, limit: int) -> bool:
    """Claim a slot of ``group`` for ``job_id`` if one is free (one IMMEDIATE transaction)."""
    conn = _connect(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                "SELECT id, status, json_extract(extra, '$.slot') FROM jobs"
                " WHERE json_extract(config, '$.envs." + SWEEP_ENV + "') = ?",
                (group,),
            ).fetchall()
            live = [(i, slot) for i, status, slot in rows if status not in _TERMINAL_VALUES]
            mine = [slot for i, slot in live if i == job_id]
            if mine and mine[0]:
                conn.execute("COMMIT")
                return True
            taken = sum(1 for i, slot in live if slot)
            ahead = sum(1 for i, slot in live if not slot and i < job_id)
            if taken + ahead >= limit:
                conn.execute("ROLLBACK")
                return False
            conn.execute(
                "UPDATE jobs SET extra = json_set(COALESCE(NULLIF(extra, ''), '{}'), '$.slot', ?),"
                " updated = ? WHERE id = ?",
                (group, time.time(), job_id),
            )
            conn.execute("COMMIT")
            return True
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def wait_for_slot(ctx: Any, poll: float | None = None) -> bool:
    """Block (job PENDING) until the job may run under its sweep's ``max_parallel``.

    Args:
        ctx: The supervisor's :class:`~skyexec_nb.engine.jobs.backend_api.RunContext`.
        poll: Seconds between claims (default ``settings.poll_interval``).

    Returns:
        True when the job holds a slot (or is not bounded); False when it was cancelled while
        waiting (the caller returns; the supervisor ends it CANCELLED).
    """
    group = slot_group(ctx.config)
    if group is None:
        return not ctx.cancelled.is_set()
    if poll is None:
        from skyexec_nb.engine.jobs.settings import get_settings

        poll = get_settings().poll_interval
    db_path = str(ctx.registry.path)
    pending = False
    while not ctx.cancelled.is_set():
        if try_claim(db_path, ctx.job_id, *group):
            return True
        if not pending:
            pending = True
            if ctx.status is not JobStatus.PENDING and not ctx.set_status(JobStatus.PENDING):
                return False
            ctx.log.write_line(f"skyexec_nb: waiting for a slot (max_parallel={group[1]})")
        ctx.cancelled.wait(poll)
    return False


def group_env(group: str, max_parallel: int | None) -> dict[str, str]:
    """The task envs putting a job in sweep ``group`` (bounded by ``max_parallel`` if given)."""
    check_max_parallel(max_parallel)  # FieldError (a ValueError): one line naming the range
    env = {SWEEP_ENV: group}
    if max_parallel:
        env[MAX_PARALLEL_ENV] = str(max_parallel)
    return env


@contextlib.contextmanager
def one_transaction(registry: Any) -> Iterator[None]:
    """Every registry write of this thread inside the block is one ``BEGIN IMMEDIATE`` transaction
    (the registry's own transactions nest into it): a sweep's rows all appear at once, or none."""
    conn = registry._connect()
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
