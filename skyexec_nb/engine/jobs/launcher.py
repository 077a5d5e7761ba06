"""``launch()``: validate, record, hand off to the monitor, return a Job within milliseconds."""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from typing import Any, Sequence

from skyexec_nb.engine.jobs.backend_table import check_backend_name, get_backend
from skyexec_nb.engine.jobs import launch_inputs, secrets
from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.job_names import default_name  # also imported from here (views/picker.py)
from skyexec_nb.engine.jobs.plan import Plan
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.settings import AUTO, get_settings
from skyexec_nb.engine.jobs.slots import SWEEP_ENV
from skyexec_nb.engine.jobs.spend import Limits, check_limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.skyapi.local_state import auto_backend
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.limits import MAX_NAME_LENGTH, is_int, is_number
from skyexec_nb.model.masking import mask_shown
from skyexec_nb.model.validation import parse_env_vars

APP_PREFIX = "skyexec_nb"
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Brief:
    """Shows a refused value in an error as one short line, whatever its repr."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        shown = mask_shown(self.value)  # never echo a secret
        text = repr(shown) if isinstance(shown, str) else " ".join(repr(shown).split())
        return text if len(text) <= 80 else text[:77] + "..."


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_OK.match(name) or "___" in name or len(name) > MAX_NAME_LENGTH:
        raise FieldError("name", f"up to {MAX_NAME_LENGTH} letters, digits, '.', '_' or '-' (no '___'), "
                                 f"starting alphanumeric", _Brief(name))
    return name


_COMMAND_ALLOWED = "a non-empty bash script (str) or a non-empty list of arguments (str, int, float, path)"


def _check_command(command: Any) -> str | list[str]:
    """The command as launched: a script kept byte for byte, or an argv of strings."""
    if isinstance(command, str):
        if command.strip():
            return command
    elif isinstance(command, (list, tuple)):
        ok = all(isinstance(a, (str, os.PathLike)) or is_int(a)
                 or (is_number(a) and a == a and abs(a) != float("inf")) for a in command)
        argv = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in command] if ok else []
        if argv and argv[0].strip():
            return argv
    raise FieldError("command", _COMMAND_ALLOWED, _Brief(command))


def _check_arguments(executor: Any, env: Any, dryrun: Any) -> dict[str, str] | None:
    """Refuse what ``launch`` cannot use before anything is built (FieldError, one line)."""
    if not callable(getattr(executor, "to_config", None)):
        raise FieldError("executor", "a SkyExecutor", _Brief(executor))
    if not isinstance(dryrun, bool):
        raise FieldError("dryrun", "True or False", _Brief(dryrun))
    if env is None:
        return None
    if not isinstance(env, Mapping):
        raise FieldError("env", "a dict {NAME: string value}", _Brief(env))
    return parse_env_vars(env, "env") or None


def app_id(cluster: str, name: str, job_id: int) -> str:
    """``skyexec_nb___<cluster>___<name>___<id>`` (parseable by ``SkyExecutor.parse_app``)."""
    return f"{APP_PREFIX}___{cluster}___{name}___{job_id}"


def _launch_options(executor: Any) -> dict[str, Any]:
    """What the backend needs besides the task; ``cancel_grace`` carries this kernel's setting."""
    return {
        "cluster_name": getattr(executor, "cluster_name", None) or None,
        "autodown": bool(getattr(executor, "autodown", False)),
        "idle_minutes": getattr(executor, "idle_minutes_to_autostop", None),
        "retry_until_up": bool(getattr(executor, "retry_until_up", False)),
        "cancel_grace": get_settings().cancel_grace,
    }


def launch(
    executor: Any,
    command: str | Sequence[str],
    *,
    name: str | None = None,
    backend: str | None = None,
    env: dict[str, str] | None = None,
    dryrun: bool = False,
    job_class: type[Job] = Job,
    limits: Limits | None = None,
) -> Job | Plan:
    """Launch ``command`` on ``executor``'s resources; returns at once (work runs in background).

    Args:
        executor: A SkyExecutor (anything with ``to_config`` and its launch fields).
        command: A bash script (cell body) or an argv list.
        name: Job name (default: the command's first word, or 'job').
        backend: "local", "skypilot", "jobs", or "auto" ("skypilot" when SkyPilot's ``sky check``
            enabled a cloud, else "local"); default ``settings.default_backend`` (itself "auto"
            unless configured).
        env: Extra environment variables for the task.
        dryrun: Record and start nothing; return a :class:`Plan`.
        job_class: The handle class returned (the public API passes its richer ``Job``).
        limits: Time and cost limits, with the hourly price they are measured by (recorded in
            ``launch_options["limits"]``, enforced by the job's supervisor: see ``spend``).

    Returns:
        A :class:`Job` (or a :class:`Plan` when ``dryrun``).

    Raises:
        FieldError: bad executor (fields), command, name, backend, env, dryrun or limits (a cost
            limit with no hourly price included): one line naming
            it and what is allowed (nothing recorded or started).
        RegistryError: the job registry cannot be written (one line naming the file).
    """
    prepared = _Prepared(executor, command, name, backend, env, dryrun, limits)
    if dryrun:
        return prepared.plan()
    registry = get_registry()
    job_id = prepared.record(registry)
    from skyexec_nb.engine.jobs.monitor import get_monitor

    get_monitor().spawn(job_id, registry)
    return job_class(job_id, registry)


def launch_many(executor: Any, command: str | Sequence[str], items: Sequence[tuple[str, Mapping[str, str],
                Mapping[str, Any]]], *, backend: str | None = None, start: int | None = None,
                job_class: type[Job] = Job, limits: Limits | None = None) -> list[Job]:
    """Launch one job per ``(name, env, extra)`` item, all on ``executor`` running ``command``.

    The executor and command are checked and turned into a task once; each job gets its own name,
    envs (added to the task's) and ``extra`` facts. Every row is written in one transaction (all
    or none), and only the first ``start`` jobs (all when None) get a supervisor now: the rest
    are recorded PENDING for a group's supervisors to take (see :mod:`.slots`). Every job records
    ``limits``; a ``group_max_cost`` without a ``group`` applies to the items' sweep (their
    ``SKYEXEC_NB_SWEEP`` env), else to these jobs together.

    Raises:
        FieldError / RegistryError: as :func:`launch`; nothing is recorded then.
    """
    if not items:
        return []
    first_name, first_env, _ = items[0]
    limits = check_limits(limits)
    if limits is not None and limits.group_max_cost is not None and limits.group is None:
        limits = dataclasses.replace(limits, group=str(first_env.get(SWEEP_ENV) or f"batch-{uuid.uuid4().hex[:12]}"))
    prepared = _Prepared(executor, command, first_name, backend, dict(first_env), False, limits)
    registry = get_registry()
    from skyexec_nb.engine.jobs.monitor import get_monitor, launcher_stamp
    from skyexec_nb.engine.jobs.slots import one_transaction

    stamp = launcher_stamp()
    handles: list[Job] = []
    rows: list[dict[str, Any]] = []
    try:
        with get_monitor().held(), one_transaction(registry):
            for i, (name, env, extra) in enumerate(items):
                queued = start is not None and i >= start
                row = prepared.record(registry, name=_check_name(name), env=_check_arguments(executor, env, False),
                                      extra={**extra, "launcher": stamp}, queued=queued)
                rows.append(row)
            get_monitor().spawn_many([r["id"] for r in rows[:start]], registry)
    except BaseException:
        for row in rows:
            shutil.rmtree(row["job_dir"], ignore_errors=True)
        raise
    for row in rows:
        handles.append(job_class(row["id"], registry, row=row))
    return handles


class _Prepared:
    """A launch checked and turned into a task once; :meth:`record` writes one job of it."""

    def __init__(self, executor: Any, command: Any, name: Any, backend: str | None, env: Any, dryrun: Any,
                 limits: Limits | None = None) -> None:
        env = _check_arguments(executor, env, dryrun)
        limits = check_limits(limits)
        self.cmd = _check_command(command)
        backend = backend or get_settings().default_backend
        if backend == AUTO:
            backend = auto_backend()
        self.backend = check_backend_name(backend)
        self.name = _check_name(default_name(self.cmd) if name is None or name == "" else name)
        self.config = launch_inputs.fill_required(executor.to_config(self.name, cmd=self.cmd, env_vars=env),
                                                  env, self.backend)
        self.base_envs = {k: x for k, x in (self.config.get("envs") or {}).items() if k not in (env or {})}
        self.options = _launch_options(executor)
        if limits is not None and limits.to_options():
            self.options["limits"] = limits.to_options()
        self.impl = get_backend(self.backend)
        self.impl.precheck(self.config, self.options)
        self.state = get_settings().state_path

    def plan(self) -> Plan:
        """What would run, where (a dry run): nothing recorded or started."""
        return Plan(name=self.name, backend=self.backend, cluster=self.options["cluster_name"] or "skx-<id>",
                    config=self.config, launch_options=self.options)

    def record(self, registry: Any, *, name: str | None = None, env: Mapping[str, str] | None = None,
               extra: Mapping[str, Any] | None = None, queued: bool = False) -> Any:
        """Write one job's row (and its secrets file); returns its id, or with ``name`` given (a
        job of a batch) the row's fields a ``Job`` handle is made from."""
        config = self.config
        job_name = name or self.name
        if name is not None:
            config = {**config, "name": job_name}
            envs = {**self.base_envs, **(env or {})}
            config.pop("envs", None)
            if envs:  # same place as to_config puts them
                config = _with_envs(config, envs)
        options = self.options
        config, secret_values = secrets.split(config)  # the registry keeps '********'; values go to a 0600 file
        if secret_values:
            options = {**options, secrets.NAMES_OPTION: sorted(secret_values)}
        jobs_root, cluster_name = os.path.join(self.state, "jobs"), options["cluster_name"]

        def derive(job_id: int) -> dict[str, Any]:
            cluster = cluster_name or f"skx-{job_id}"
            job_dir = os.path.join(jobs_root, str(job_id))
            return {"cluster": cluster, "app_id": app_id(cluster, job_name, job_id),
                    "job_dir": job_dir, "log_path": os.path.join(job_dir, "run.log")}

        # claim_dir: the id's directory is made with the row, and an id whose directory exists (a lost
        # registry's job) is never given out: one job, one directory, one log, forever.
        status = JobStatus.PENDING if queued else self.impl.initial_status
        fields = dict(name=job_name, backend=self.backend, status=status, config=config, created=time.time(),
                      launch_options=options, exit_codes={}, node_pgids=[], extra=dict(extra or {}))
        job_id = registry.insert(derive, claim_dir=True, **fields)
        if secret_values:
            secrets.write(os.path.join(jobs_root, str(job_id)), secret_values)
        if name is None:
            return job_id
        return {**fields, **derive(job_id), "id": job_id}


def _with_envs(config: dict[str, Any], envs: dict[str, str]) -> dict[str, Any]:
    """``config`` with ``envs`` right after ``run`` (or ``setup``/``name``), as to_config orders it."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        out[key] = value
        if key == "run" or (key == "name" and "run" not in config and "setup" not in config) or \
                (key == "setup" and "run" not in config):
            out["envs"] = envs
    out.setdefault("envs", envs)
    return out


def jobs(job_class: type[Job] = Job) -> list[Job]:
    """Every recorded job, newest last."""
    registry = get_registry()
    return [job_class(row["id"], registry) for row in registry.rows()]


def get_job(job_id: int, job_class: type[Job] = Job) -> Job:
    """The job with id ``job_id``.

    Raises:
        FieldError: ``job_id`` is not an integer id (or its digits).
        LookupError: no such job.
    """
    return job_class(_check_job_id(job_id), get_registry())


def _check_job_id(job_id: Any) -> int:
    text = job_id.strip() if isinstance(job_id, str) else None
    if is_int(job_id) or (text and text.isdigit() and len(text) < 100):
        return int(job_id)
    raise FieldError("job_id", "an integer job id (or its digits)", _Brief(job_id))


def find_job(ref: int | str, job_class: type[Job] = Job) -> Job:
    """A job by id (int or digits), ``-1``/``'-1'`` for the newest, or the newest with a name.

    Raises:
        FieldError: ``ref`` is neither an int nor a str.
        LookupError: nothing matches (one line).
    """
    if not (is_int(ref) or isinstance(ref, str)):
        raise FieldError("job", "a job id (int or digits), a job name or -1 (the newest)", _Brief(ref))
    registry = get_registry()
    text = str(ref).strip()
    if text == "-1":
        row = registry.last()
        if row is None:
            raise LookupError("No jobs yet")
        return job_class(row["id"], registry)
    if text.isdigit() and len(text) < 100:
        return job_class(int(text), registry)
    row = registry.find(text)
    if row is None:
        raise LookupError(f"No job named {text!r}")
    return job_class(row["id"], registry)


def shutdown_for_tests() -> None:
    """Stop the monitor and kill every supervisor this process started, with its node groups."""
    import signal

    from skyexec_nb.engine.jobs import monitor
    from skyexec_nb.engine.jobs.procs import kill_groups, signal_groups

    children = monitor.shutdown()
    if not children:
        return
    signal_groups([proc.pid for proc in children.values()], signal.SIGKILL)  # own session: pgid == pid
    registry = get_registry()
    pgids = [pgid for job_id in children for pgid in (registry.get(job_id) or {}).get("node_pgids", [])]
    kill_groups(pgids, grace=0.0)
    for proc in children.values():
        proc.wait(5)
