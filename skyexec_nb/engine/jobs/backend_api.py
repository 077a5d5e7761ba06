"""The backend interface: what runs a job, inside its supervisor process.

A backend module (``backends/local.py``, ``backends/skypilot.py``, ``backends/managed.py``)
defines a module-level ``BACKEND`` object satisfying :class:`Backend` (usually a
:class:`BaseBackend` subclass). The supervisor (``python -m skyexec_nb.engine.jobs.supervisor``)
builds a :class:`RunContext` and calls ``BACKEND.run(ctx)``, which blocks until the job ends.

Contract for ``run(ctx)``:

* write every line of output to ``ctx.log`` (appended to the job's log file, flushed promptly);
* report transitions with ``ctx.set_status(JobStatus.X, **fields)`` and extra facts with
  ``ctx.update(**fields)`` (registry columns, or keys merged into the row's ``extra`` dict);
* end the job in a terminal state; when ``ctx.cancelled`` is set (SIGTERM to the supervisor, or
  the job was ended from outside), stop the work and end CANCELLED;
* an exception escaping ``run`` ends the job FAILED with a one-line error (the supervisor writes
  the traceback to the job log), so raise with a message fit for a user;
* when a spend limit stops the job (the supervisor's ``limit_watch``), ``ctx.stop_reason`` holds
  why (a CANCELLED status gets it as its ``error``) and ``ctx.teardown`` says the backend should
  tear down the cluster it launched for the job once the job has ended (``limit_action`` decides).

Kernel-side hooks (called in the notebook's process, never in the supervisor):
``precheck(config, launch_options)`` at launch time (raise ValueError to refuse the launch
before anything is recorded), ``down(job) -> str`` to tear the job's cluster down.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.sky_module import one_line_error, strip_ansi

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.engine.jobs.job import Job
    from skyexec_nb.engine.jobs.logfile import LogWriter
    from skyexec_nb.engine.jobs.registry import Registry


@runtime_checkable
class Backend(Protocol):
    """What a backend module's ``BACKEND`` object provides."""

    name: str
    #: Status of the row written at launch, before the supervisor starts.
    initial_status: JobStatus

    def run(self, ctx: RunContext) -> None:
        """Run the job to a terminal state (blocking, in the supervisor process)."""

    def precheck(self, config: dict[str, Any], launch_options: dict[str, Any]) -> None:
        """Kernel side, at launch: raise ValueError (one line) to refuse the launch."""

    def down(self, job: Job) -> str:
        """Kernel side: tear down the job's cluster; return a one-line message."""

    def limit_action(self, ctx: RunContext) -> tuple[str, bool]:
        """Supervisor side, when a limit stops the job: (what happens, in words; tear down after?)."""

    def prepare(self) -> None:
        """Supervisor side, before the limits' clock starts: slow local set-up (imports) only."""


class BaseBackend:
    """Defaults for the optional parts of :class:`Backend`; subclasses implement ``run``."""

    name: str = "base"
    initial_status: JobStatus = JobStatus.PROVISIONING

    def run(self, ctx: RunContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def precheck(self, config: dict[str, Any], launch_options: dict[str, Any]) -> None:
        """Accept every config (the executor already validated it)."""

    def down(self, job: Job) -> str:
        """Nothing to tear down by default."""
        return f"{self.name} backend: nothing to tear down for job {job.id}"

    def limit_action(self, ctx: RunContext) -> tuple[str, bool]:
        """Cancel the job; no cluster to tear down by default."""
        return "cancelling the job", False

    def prepare(self) -> None:
        """Nothing to prepare by default."""


@dataclass
class RunContext:
    """Everything a backend's ``run`` needs; built by the supervisor from the job's row.

    Attributes:
        job_id: The registry id (user-facing, e.g. ``%skylogs 3``).
        name: The job's name.
        cluster: The cluster name (``executor.cluster_name`` or ``skx-<id>``).
        app_id: ``skyexec_nb___<cluster>___<name>___<id>``.
        config: The SkyPilot task dict (``executor.to_config``): name, setup, run, envs,
            num_nodes, file_mounts, workdir, resources.
        launch_options: cluster_name, autodown, idle_minutes, retry_until_up (+ backend extras).
        job_dir: The job's own directory (log file, scripts, work dir).
        log: Line writer appending to the job's log file (``write_line``, ``write``).
        registry: The registry (prefer ``set_status``/``update``).
        cancelled: Set on SIGTERM to the supervisor, or when the row was ended from outside.
        stop_reason: Set when a spend limit stopped the job: the ``error`` of its CANCELLED status.
        teardown: Set with ``stop_reason`` when the cluster launched for the job is to be torn down.
    """

    job_id: int
    name: str
    cluster: str
    app_id: str
    config: dict[str, Any]
    launch_options: dict[str, Any]
    job_dir: Path
    log: LogWriter
    registry: Registry
    cancelled: threading.Event = field(default_factory=threading.Event)
    stop_reason: str | None = None
    teardown: bool = False

    def set_status(self, status: JobStatus, **fields: Any) -> bool:
        """Record a transition (plus row/extra fields) in one transaction.

        ``started`` is stamped on the first SETTING_UP/RUNNING, ``ended`` on a terminal state.
        Returns False (and sets ``cancelled``) when the row is already terminal: a terminal
        status is final, so the job was ended from outside and the backend must stop.
        A job a limit stopped ends CANCELLED with ``stop_reason`` as its error.
        """
        if status == JobStatus.CANCELLED and self.stop_reason:
            fields["error"] = self.stop_reason
        applied = self.registry.set_status(self.job_id, status, **fields)
        if not applied:
            self.cancelled.set()
        return applied

    def update(self, **fields: Any) -> None:
        """Merge fields into the row: registry columns are set, other keys go into ``extra``."""
        self.registry.update(self.job_id, **fields)

    @property
    def status(self) -> JobStatus:
        """The job's current status, read from the registry."""
        return JobStatus(self.registry.get(self.job_id)["status"])

    def is_cancelled(self, timeout: float = 0.0) -> bool:
        """Wait up to ``timeout`` seconds for cancellation; True if cancelled."""
        return self.cancelled.wait(timeout) if timeout > 0 else self.cancelled.is_set()


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """A one-line, length-capped message for the registry's ``error`` column.

    An exception gives ``"<TypeName>: <message>"`` (see ``one_line_error``); whitespace
    (newlines) is collapsed and colour codes are dropped.
    """
    text = one_line_error(exc) if isinstance(exc, BaseException) else " ".join(strip_ansi(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
