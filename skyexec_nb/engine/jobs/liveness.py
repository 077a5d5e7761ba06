"""Truth from any process: find jobs whose supervisor is dead or never started, and act.

:func:`check` reads the registry's non-terminal rows (a light query: pids and stamps only) and

* fails a job whose recorded supervisor is gone (pid absent, a zombie, or a recycled pid with
  another start time) and ends its leftover processes (:func:`fail_dead`);
* adopts a job that has no supervisor yet when the process that launched it is gone (or it
  waited more than :data:`ADOPT_AFTER` seconds): its supervisor is started by the caller's
  ``adopt`` (the supervisor's atomic claim makes a double start harmless);
* leaves alone the queued jobs of a bounded sweep group while one of the group's supervisors
  lives (it takes them one by one); a group whose supervisors all died is adopted (up to its
  ``max_parallel`` supervisors);
* fails a job whose adoption did not produce a supervisor within :data:`NEVER_STARTED_AFTER`
  seconds, and (rows written without a launcher record) one that has no supervisor that long.

Every process with a monitor runs it about once a second; reads (``jobs()``, ``Job.status``)
run it at most once a second per process (``monitor.refresh``).
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

from skyexec_nb.engine.jobs.logfile import tail_lines
from skyexec_nb.engine.jobs import secrets
from skyexec_nb.engine.jobs.procs import kill_job_processes, pid_alive, stamp, stamp_alive
from skyexec_nb.engine.jobs.registry import Registry
from skyexec_nb.engine.jobs.slots import MAX_PARALLEL_ENV, SWEEP_ENV
from skyexec_nb.engine.jobs.status import TERMINAL, JobStatus

#: A job with no supervisor this many seconds after its adoption (or, without a launcher record,
#: after its launch) never started.
NEVER_STARTED_AFTER = 60.0
#: A job whose launcher lives but has not started its supervisor after this many seconds is adopted.
ADOPT_AFTER = 5.0
_TERMINAL_VALUES = tuple(s.value for s in TERMINAL)
_QUERY = (
    "SELECT id, created, supervisor_pid, json_extract(extra, '$.supervisor_start'),"
    " json_extract(extra, '$.launcher'), json_extract(extra, '$.adopted'),"
    " json_extract(config, '$.envs." + SWEEP_ENV + "'), json_extract(config, '$.envs." + MAX_PARALLEL_ENV + "')"
    " FROM jobs WHERE status NOT IN (" + ", ".join("?" for _ in _TERMINAL_VALUES) + ") ORDER BY id"
)
Adopt = Callable[[Registry, list[int]], None]


class _Row:
    __slots__ = ("id", "created", "pid", "start", "launcher", "adopted", "group", "limit")

    def __init__(self, raw: tuple) -> None:
        self.id, self.created, self.pid, self.start = raw[0], raw[1], raw[2], raw[3]
        self.launcher = json.loads(raw[4]) if raw[4] else None
        self.adopted = raw[5]
        try:
            self.limit = int(raw[7]) if raw[7] else 0
        except ValueError:
            self.limit = 0
        self.group = raw[6] if raw[6] and self.limit > 0 else None


def check(registry: Registry, alive_children: Iterable[int] = (), adopt: Adopt | None = None) -> list[int]:
    """One pass over the non-terminal jobs (see the module docstring); returns the ids failed.

    Args:
        registry: The registry to check.
        alive_children: Ids of jobs whose supervisor this process started and has not reaped
            (alive, maybe not yet claimed).
        adopt: ``adopt(registry, ids)`` starts supervisors for these jobs; None: adopt nothing.
    """
    rows = [_Row(r) for r in registry._run(lambda conn: conn.execute(_QUERY, _TERMINAL_VALUES).fetchall(),
                                           "read")]
    mine = set(alive_children)
    alive: dict[tuple, bool] = {}

    def supervised(row: _Row) -> bool:
        key = (row.pid, row.start)
        if key not in alive:
            alive[key] = pid_alive(row.pid, row.start)
        return alive[key]

    now, failed, to_adopt = time.time(), [], []
    groups: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.pid:
            if row.id not in mine and not supervised(row):
                full = registry.get(row.id)
                if full is not None and fail_dead(registry, full):
                    failed.append(row.id)
            elif row.group:
                groups[row.group].append(row)
            continue
        if row.group:
            groups[row.group].append(row)
        elif row.id not in mine:
            verdict = _unstarted(row, now)
            if verdict == "adopt":
                to_adopt.append(row.id)
            elif verdict == "fail" and _never_started(registry, row.id):
                failed.append(row.id)
    for group, members in groups.items():
        waiting = [r for r in members if not r.pid and r.id not in mine]
        live = any(r.pid or r.id in mine for r in members)
        if not waiting or live or _recent_supervisor_alive(registry, group, now):
            continue
        head = waiting[0]
        verdict = _unstarted(head, now)
        if verdict == "adopt":
            to_adopt += [r.id for r in waiting[: head.limit]]
        elif verdict == "fail":
            stale = [r for r in waiting if r.adopted and now - float(r.adopted) > NEVER_STARTED_AFTER]
            failed += [r.id for r in stale[: head.limit] if _never_started(registry, r.id)]
    if to_adopt and adopt is not None:
        for job_id in to_adopt:
            registry.update(job_id, adopted=now, adopted_by=stamp())
        adopt(registry, to_adopt)
    return failed


def _unstarted(row: _Row, now: float) -> str:
    """What to do with a job without a supervisor: "adopt", "fail" or "wait"."""
    if row.adopted:
        return "fail" if now - float(row.adopted) > NEVER_STARTED_AFTER else "wait"
    if row.launcher is None:  # written without a launcher record: only the old time limit applies
        return "fail" if now - row.created > NEVER_STARTED_AFTER else "wait"
    if now - row.created > ADOPT_AFTER or not stamp_alive(row.launcher):
        return "adopt"
    return "wait"


def _never_started(registry: Registry, job_id: int) -> bool:
    return registry.set_status(job_id, JobStatus.FAILED, error="supervisor never started")


def _recent_supervisor_alive(registry: Registry, group: str, now: float) -> bool:
    """True if a supervisor of ``group`` that ended a job lately still lives (between two jobs)."""
    sql = ("SELECT DISTINCT supervisor_pid, json_extract(extra, '$.supervisor_start') FROM jobs"
           " WHERE json_extract(config, '$.envs." + SWEEP_ENV + "') = ? AND supervisor_pid IS NOT NULL"
           " AND ended > ?")
    found = registry._run(lambda conn: conn.execute(sql, (group, now - 60.0)).fetchall(), "read")
    return any(pid_alive(pid, start) for pid, start in found)


def fail_dead(registry: Registry, row: dict, detail: str = "") -> bool:
    """End a job whose supervisor is gone and its leftover processes: CANCELLED if the user had
    asked to cancel it, else FAILED (reason: the last line of its ``supervisor.log``)."""
    extra = row.get("extra") or {}
    if extra.get("cancel_requested"):  # it died on the user's cancel
        applied = registry.set_status(row["id"], JobStatus.CANCELLED)
    else:
        last = tail_lines(Path(row["job_dir"]) / "supervisor.log", 1)
        detail = (last[0].strip()[:200] if last and last[0].strip() else "") or detail
        applied = registry.set_status(row["id"], JobStatus.FAILED,
                                      error="supervisor died" + (f": {detail}" if detail else ""))
    if not applied:
        return False
    secrets.remove(row["job_dir"])  # nothing will read it now: never leave a secret behind
    kill_job_processes(row["node_pgids"], extra.get("job_token"), grace=0.5)
    return True
