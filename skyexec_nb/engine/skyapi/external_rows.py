"""Rows of what a SkyPilot API server knows (clusters, their jobs, managed jobs) and references.

:class:`ExternalRow` is one cluster (``ref`` = ``CLUSTER``), job on a cluster (``CLUSTER:JOB_ID``) or
managed job (``jobs:ID``), built from SkyPilot's own records (``sky.status``, ``sky.queue``,
``sky.jobs.queue``) with SkyPilot's state names (this package sits below the job core).
:func:`check_server` asks ``sky.api_info()`` who is logged in; :func:`server_problem` says in one
line why a server could not be asked (unreachable, or not logged in: ``sky api login``).
"""
from __future__ import annotations

import dataclasses
import importlib
import re
import time
from typing import Any

from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.sky_module import one_line_error, sdk

#: SkyPilot states after which a job changes no more (cluster jobs and managed jobs).
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "FAILED_SETUP", "FAILED_PRECHECKS", "FAILED_NO_RESOURCE",
                             "FAILED_CONTROLLER", "FAILED_DRIVER", "CANCELLED"})
#: Cluster states whose job queue can be read.
QUEUE_READABLE = frozenset({"UP", "AUTOSTOPPING"})
MANAGED_PREFIX = "jobs"
_CONTROLLER_PREFIXES = ("sky-jobs-controller-", "sky-serve-controller-")


REF_FORMS = "CLUSTER:JOB_ID (a job on a cluster) or jobs:ID (a managed job)"
_REF = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*):(\d{1,12})\s*$")


def parse_ref(text: Any) -> tuple[str, str | None, int]:
    """``("job", cluster, id)`` for ``CLUSTER:JOB_ID``, ``("managed", None, id)`` for ``jobs:ID``.

    Raises:
        FieldError: (one line) anything else.
    """
    found = _REF.match(text) if isinstance(text, str) else None
    if found is None:
        raise FieldError("job", REF_FORMS, text)
    name, job_id = found.group(1), int(found.group(2))
    return ("managed", None, job_id) if name == MANAGED_PREFIX else ("job", name, job_id)


def ref_text(kind: str, cluster: str | None, job_id: int) -> str:
    """The reference of a job: ``jobs:ID`` or ``CLUSTER:ID``."""
    return f"{MANAGED_PREFIX}:{job_id}" if kind == "managed" else f"{cluster}:{job_id}"


def _get(record: Any, key: str, default: Any = None) -> Any:
    """A field of a SkyPilot record (pydantic response or dict)."""
    if isinstance(record, dict):
        return record.get(key, default)
    value = getattr(record, key, default)
    return default if value is None else value


def _state(value: Any) -> str:
    return str(getattr(value, "value", value) or "UNKNOWN")


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "", "-") else None
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class ExternalRow:
    """One cluster, job on a cluster, or managed job, as SkyPilot reports it.

    ``ref`` names it for ``%skylogs`` / ``%skystatus`` (``CLUSTER``, ``CLUSTER:ID``, ``jobs:ID``);
    ``status`` is SkyPilot's state name; times are epoch seconds; ``duration`` is SkyPilot's own
    figure when it reports one (managed jobs, the cost report), else None (see :meth:`duration_at`);
    ``cost`` (USD) only where SkyPilot reports it (clusters, from ``sky.cost_report``).
    """

    kind: str  # "cluster", "job" or "managed"
    ref: str
    name: str
    cluster: str | None
    job_id: int | None
    user: str
    user_hash: str
    status: str
    resources: str
    started: float | None
    ended: float | None = None
    duration: float | None = None
    cost: float | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    mine: bool = False

    @property
    def terminal(self) -> bool:
        """True once a job can change no more (clusters never are)."""
        return self.kind != "cluster" and self.status in TERMINAL_STATES

    @property
    def active(self) -> bool:
        """A running cluster or a job not yet ended."""
        return self.status in ("UP", "INIT", "AUTOSTOPPING") if self.kind == "cluster" else not self.terminal

    def duration_at(self, now: float | None = None) -> float | None:
        """Seconds run: SkyPilot's figure, else start to end (or to ``now`` while active)."""
        if self.duration is not None:
            return self.duration
        if self.started is None:
            return None
        if self.ended is not None:
            return max(0.0, self.ended - self.started)
        return max(0.0, (time.time() if now is None else now) - self.started) if self.active else None


@dataclasses.dataclass(frozen=True)
class Batch:
    """One piece of the listing as it arrives: rows to merge (replacing ``replaces``), or a note."""

    rows: tuple[ExternalRow, ...] = ()
    replaces: str | None = None  # a key whose earlier rows these replace ("clusters", "managed", "queue:NAME")
    note: str | None = None
    user: str | None = None  # api_info's user (first batch)
    extends: bool = False  # more rows of the same ``replaces`` key (a big answer sent in chunks)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What a :class:`Listing` knows now."""

    rows: tuple[ExternalRow, ...]
    state: str  # "connecting", "loading", "complete", "failed", "stopped"
    error: str | None  # one line when the server could not be asked at all
    notes: tuple[str, ...]  # one line per part that could not be read
    user: str | None
    version: int
    answered: float | None  # time.monotonic() when the API server first answered (api_info)
    listed: float | None = None  # ... and when its list of clusters arrived


class ServerProblem(RuntimeError):
    """The API server could not be asked (unreachable, not logged in): one line for the user."""


def server_url(sky: Any) -> str | None:
    """The API server SkyPilot's client talks to (its ``sky api login`` / endpoint config), if known."""
    try:
        return importlib.import_module(f"{sky.__name__}.server.common").get_server_url()
    except Exception:  # noqa: BLE001 - a convenience for messages (the stand-in has none)
        return None


def server_problem(exc: BaseException, url: str | None = None) -> str:
    """One line saying why the API server could not be asked, and what to do."""
    at = f" at {url}" if url else ""
    text = one_line_error(exc)
    text = text if len(text) <= 240 else text[:239] + "…"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if type(exc).__name__ == "ApiServerAuthenticationError" or status in (401, 403):
        return (f"Not logged in to the SkyPilot API server{at}: run `sky api login"
                f"{' -e ' + url if url else ''}` ({text})")
    if type(exc).__name__ in ("ApiServerConnectionError", "ConnectionError", "Timeout") or isinstance(exc, OSError):
        return f"SkyPilot API server{at} is unreachable: {text}"
    return f"SkyPilot API server{at} could not answer: {text}"


def check_server(sky: Any | None = None) -> tuple[str | None, str | None]:
    """``sky.api_info()``: (user name, user hash) of who is logged in (None when the server has no users).

    Raises:
        ServerProblem: one line (:func:`server_problem`).
    """
    sky = sky or sdk()
    try:
        info = sky.api_info()
    except Exception as exc:  # noqa: BLE001 - every transport/auth error is one line
        raise ServerProblem(server_problem(exc, server_url(sky))) from None
    status = _state(_get(info, "status")).lower()
    if status not in ("healthy", "apiserverstatus.healthy"):
        at = f" at {server_url(sky)}" if server_url(sky) else ""
        raise ServerProblem(f"SkyPilot API server{at} is not healthy ({status})")
    user = _get(info, "user")
    return (_get(user, "name"), _get(user, "id")) if user is not None else (None, None)


# -- records -> rows ------------------------------------------------------------------------------

def cluster_row(record: Any, me: str | None) -> ExternalRow:
    """The row of one ``sky.status`` record."""
    name = str(_get(record, "name"))
    nodes = _get(record, "nodes")
    resources = _get(record, "resources_str") or " ".join(filter(None, [f"{nodes}x" if nodes else "",
                                                                        _get(record, "cloud")]))
    user_hash = str(_get(record, "user_hash", ""))
    details = {"autostop": _get(record, "autostop", -1), "to_down": bool(_get(record, "to_down", False)),
               "nodes": nodes, "workspace": _get(record, "workspace"), "cloud": _get(record, "cloud"),
               "region": _get(record, "region"), "accelerators": _get(record, "accelerators"),
               "last_use": _get(record, "last_use"), "resources_full": _get(record, "resources_str_full"),
               "controller": bool(_get(record, "is_managed", False)) or name.startswith(_CONTROLLER_PREFIXES)}
    return ExternalRow(kind="cluster", ref=name, name=name, cluster=name, job_id=None,
                       user=str(_get(record, "user_name", "") or user_hash or "?"), user_hash=user_hash,
                       status=_state(_get(record, "status")), resources=str(resources or "-"),
                       started=_number(_get(record, "launched_at")), details=details,
                       mine=bool(me) and user_hash == me)


def job_row(cluster: str, record: Any, me: str | None) -> ExternalRow:
    """The row of one ``sky.queue(cluster)`` record."""
    job_id = int(_get(record, "job_id"))
    user_hash = str(_get(record, "user_hash", ""))
    return ExternalRow(kind="job", ref=f"{cluster}:{job_id}", name=str(_get(record, "job_name", "") or "-"),
                       cluster=cluster, job_id=job_id, user=str(_get(record, "username", "") or user_hash or "?"),
                       user_hash=user_hash, status=_state(_get(record, "status")),
                       resources=str(_get(record, "resources", "") or "-"),
                       started=_number(_get(record, "start_at")) or _number(_get(record, "submitted_at")),
                       ended=_number(_get(record, "end_at")), mine=bool(me) and user_hash == me,
                       details={"submitted": _number(_get(record, "submitted_at"))})


def managed_rows(records: Any, me: str | None) -> list[ExternalRow]:
    """Rows of a ``sky.jobs.queue`` result (v1 list or v2 tuple): one per managed job (a pipeline's
    first task not ended stands for it, else its last)."""
    records = records[0] if isinstance(records, tuple) else records
    chosen: dict[int, Any] = {}
    for record in records or []:
        job_id = _get(record, "job_id")
        if job_id is None:
            continue
        held = chosen.get(int(job_id))
        if held is None or _state(_get(held, "status")) in TERMINAL_STATES:
            chosen[int(job_id)] = record
    rows = []
    for job_id, record in chosen.items():
        user_hash = str(_get(record, "user_hash", ""))
        details = {"recovery_count": int(_get(record, "recovery_count", 0) or 0),
                   "failure_reason": _get(record, "failure_reason"), "cloud": _get(record, "cloud"),
                   "region": _get(record, "region"), "workspace": _get(record, "workspace"),
                   "cluster_name": _get(record, "current_cluster_name")}
        rows.append(ExternalRow(kind="managed", ref=f"{MANAGED_PREFIX}:{job_id}",
                                name=str(_get(record, "job_name", "") or _get(record, "task_name", "") or "-"),
                                cluster=None, job_id=job_id, user=str(_get(record, "user_name", "") or user_hash or "?"),
                                user_hash=user_hash, status=_state(_get(record, "status")),
                                resources=str(_get(record, "resources", "") or _get(record, "cluster_resources", "")
                                              or "-"),
                                started=_number(_get(record, "start_at")) or _number(_get(record, "submitted_at")),
                                ended=_number(_get(record, "end_at")), duration=_number(_get(record, "job_duration")),
                                details=details, mine=bool(me) and user_hash == me))
    return rows
