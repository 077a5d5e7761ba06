"""Remote Python: cells and functions run on the job's nodes, with their variables.

A Python job gets a *bundle*, a directory under ``<state_dir>/bundles/<key>/`` holding
``body.py`` (the cell, byte for byte), ``spec.json`` (names to pull), ``push.pkl`` (pushed
variables) and ``runner.py`` (a copy of :mod:`~skyexec_nb.engine.remote.runner`); see
:func:`~skyexec_nb.engine.remote.payload.make_bundle`, and :func:`~skyexec_nb.engine.remote.payload.prune_bundles`
for when bundles are deleted (every remote launch prunes first). The bundle reaches the nodes through the task's
``file_mounts`` at ``~/.skyexec_nb_bundles/<key>`` and the task's ``run`` is one line starting the
runner there. Pulled values come back:

* local backend: the runner writes ``skx_result.pkl`` into the bundle's ``out/`` (through the
  mount's symlink);
* skypilot backend: the runner writes it into the SkyPilot job's log directory on the head node
  (``~/sky_logs/<job id>-<name>/``) and :func:`result` fetches it with ``sky.download_logs``.
  It needs the job's SkyPilot job id in ``job.extra`` (see :func:`_sky_job_id`), a cluster still
  UP, and ``cloudpickle`` importable by the node's ``python3`` (setup installs it if missing).

The registry row's ``extra["remote"]`` records ``{"bundle", "pull", "kind"}``. While the kernel
that launched a job lives, a remote exception (or a ``--pull`` that failed) becomes the job's
one-line ``error``, shown by the launch panel above the log that holds the remote traceback.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import sqlite3
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from skyexec_nb.engine.remote import runner as remote_runner
from skyexec_nb.engine.remote.payload import (PayloadError, bundle_root, check_pull, make_bundle, prune_bundles,
                                       read_payload)
from skyexec_nb.engine.jobs.job import Job as CoreJob
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError, SkyExecError

MOUNT_ROOT = "~/.skyexec_nb_bundles"
FUNCTION_BODY = "__skx_return__ = __skx_fn__(*__skx_args__, **__skx_kwargs__)\n"
FUNCTION_PUSH = ("__skx_fn__", "__skx_args__", "__skx_kwargs__")
ENSURE_CLOUDPICKLE = ('python3 -c "import cloudpickle" 2>/dev/null || '
                      'python3 -m pip install -q "cloudpickle>=2.1" || true')


class Job(CoreJob):
    """The public job handle: the core's verbs, plus :meth:`result` for remote Python jobs."""

    def result(self, timeout: float | None = None) -> Any:
        """Wait and return what a remote Python job sends back (see :func:`result`).

        Returns a cell's pulled variables as ``{name: value}``, or a remote function's return
        value; raises ``RemoteError`` with the remote traceback when the code raised.
        """
        return result(self, timeout)

    def metrics(self, metrics: str | Iterable[str] | None = None, *, x: str | None = None,
                rank: int | str | None = 0, as_frame: bool = False) -> Any:
        """The training metrics the job printed so far, read from its log (no SDK needed).

        Args:
            metrics: Names to keep (``"loss,acc"`` or a list); default: what ``--metrics``
                recorded, else every metric found.
            x: The x column (``step``, ``epoch``, ``time``, any key); default: ``--x``, else inferred.
            rank: Node rank whose lines count (0: the head; ``"all"``: every node, with ``rank``).
            as_frame: A pandas DataFrame instead of the list of rows.

        Returns:
            One dict per metric line: ``x``, the metrics it has, ``line`` (its line in the log).
            The full series, however long; read incrementally (each byte of the log once).
        """
        from skyexec_nb.engine.metrics.series import job_metrics

        return job_metrics(self, metrics, x=x, rank=rank, as_frame=as_frame)


class RemoteError(SkyExecError, RuntimeError):
    """The remote code raised; the message holds the remote traceback.

    Attributes: ``job_id``, ``ename``, ``evalue``, ``remote_traceback``, and ``exception`` (the
    original exception when it could be brought back, else None).
    """

    def __init__(self, job_id: int, meta: Mapping[str, Any], exception: BaseException | None) -> None:
        self.job_id, self.exception = job_id, exception
        self.ename, self.evalue = meta.get("ename", "Exception"), meta.get("evalue", "")
        self.remote_traceback = meta.get("traceback", "")
        super().__init__(f"{self.ename}: {self.evalue} (job {job_id}, remote traceback below)\n"
                         f"{self.remote_traceback.rstrip()}")


class ResultError(SkyExecError, RuntimeError):
    """The job gave no result: it was cancelled, failed outside the code, or a pull failed."""


class PullError(ResultError):
    """The code ran, but a ``--pull`` variable was never set or cannot be serialized."""


def prune_quietly() -> None:
    """:func:`~skyexec_nb.engine.remote.payload.prune_bundles`; a failure never stops a launch."""
    try:
        prune_bundles()
    except (OSError, sqlite3.Error):
        pass


def run_command(bundle: Path, backend: str) -> str:
    """The task's ``run``: start the runner on the bundle (as mounted for ``backend``)."""
    mount = f"{MOUNT_ROOT}/{bundle.name}"
    if backend == "local":
        where = f'"$SKYEXEC_NB_MOUNTS/home/{mount[2:]}"'
        return f'B={where}; exec {shlex.quote(sys.executable)} -u "$B/runner.py" "$B" --out "$B/out"\n'
    return f'B={mount}; exec python3 -u "$B/runner.py" "$B" --out sky_logs\n'


def launch_bundle(executor: Any, bundle: Path, *, name: str, backend: str | None = None,
                  env: Mapping[str, str] | None = None, dryrun: bool = False,
                  extra: Mapping[str, Any] | None = None,
                  on_values: Callable[[Any], None] | None = None, limits: Any = None) -> Any:
    """Launch a job running ``bundle`` on ``executor``; returns the Job (a Plan when dryrun).

    The bundle is removed if the launch is refused (nothing recorded) or a dry run. The job is
    watched with :func:`on_result` (``on_values`` gets its result when it succeeds). ``limits``
    (``jobs.spend.Limits``, see ``budget.launching.prepare_launch``) are recorded with the job.
    """
    from skyexec_nb.engine.jobs.launcher import launch
    from skyexec_nb.engine.jobs.registry import get_registry

    backend = resolve_backend(backend)
    overrides: dict[str, Any] = {"file_mounts": {**(executor.file_mounts or {}),
                                                 f"{MOUNT_ROOT}/{bundle.name}": str(bundle)}}
    if backend != "local":
        overrides["setup"] = "\n".join(filter(None, [ENSURE_CLOUDPICKLE, executor.setup]))
    try:
        job = launch(executor.copy(**overrides), run_command(bundle, backend), name=name,
                     backend=backend, env=dict(env) if env else None, dryrun=dryrun, job_class=Job,
                     **({"limits": limits} if limits is not None else {}))
    except BaseException:
        shutil.rmtree(bundle, ignore_errors=True)
        raise
    if dryrun:
        shutil.rmtree(bundle, ignore_errors=True)
        return job
    spec = json.loads((bundle / "spec.json").read_text())
    get_registry().update(job.id, remote={"bundle": str(bundle), **spec}, **(extra or {}))
    on_result(job, on_values)
    return job


def launch_python(executor: Any, body: str | bytes, *, push: Mapping[str, Any] | None = None,
                  pull: Iterable[str] = (), name: str = "python", backend: str | None = None,
                  env: Mapping[str, str] | None = None, dryrun: bool = False,
                  on_values: Callable[[dict[str, Any]], None] | None = None, timeout: Any = None,
                  max_cost: Any = None, expected_duration: Any = None, yes: bool = False) -> Any:
    """Run a Python cell body on ``executor``'s nodes; returns its Job at once.

    ``on_values({name: value})`` is called (off the kernel's thread) when the job succeeds.
    ``timeout``, ``max_cost``, ``expected_duration`` and ``yes``: spend limits and the budget
    check, as for ``api.launch``.

    Raises:
        PayloadError: a bad ``pull`` name or one the body never sets, ``pull`` with managed jobs,
            or a push variable refused (nothing launched or recorded).
        FieldError: bad executor, name, backend or limit (nothing launched or recorded).
        BudgetConfirmationNeeded: over the budget and not ``yes`` (nothing launched or recorded).
    """
    pull = check_pull(body, pull, push or ())
    check_backend_pulls(backend, pull)
    limits = spend_limits(executor, backend, timeout=timeout, max_cost=max_cost,
                          expected_duration=expected_duration, yes=yes, dryrun=dryrun)
    prune_quietly()
    bundle = make_bundle(body, push, pull)
    return launch_bundle(executor, bundle, name=name, backend=backend, env=env, dryrun=dryrun,
                         on_values=on_values, limits=limits)


def spend_limits(executor: Any, backend: str | None, **spend: Any) -> Any:
    """``budget.launching.prepare_launch(...).limits`` for a remote launch (None: nothing to record)."""
    from skyexec_nb.engine.budget.launching import prepare_launch

    return prepare_launch(executor, resolve_backend(backend), **spend).limits


def resolve_backend(backend: str | None) -> str:
    """The backend a launch will use: ``backend`` or the default, with "auto" resolved."""
    from skyexec_nb.engine.jobs.settings import AUTO, get_settings

    backend = backend or get_settings().default_backend
    if backend == AUTO:
        from skyexec_nb.engine.skyapi.local_state import auto_backend

        return auto_backend()
    return backend


def check_backend_pulls(backend: str | None, pull: Iterable[str]) -> None:
    """Refuse ``pull`` names with managed jobs (``jobs``), which cannot send variables back."""
    names = list(pull)
    if names and resolve_backend(backend) == "jobs":
        raise PayloadError(f"--pull {names[0]}: managed jobs (--backend jobs) cannot send variables back; "
                           "write results to a bucket in file_mounts, or use --backend skypilot")


# -- results -------------------------------------------------------------------------------------
def _sky_job_id(job: Any) -> Any:
    """The SkyPilot job id the skypilot backend recorded in ``job.extra``."""
    sky_id = job.extra.get("sky_job_id")
    if sky_id is not None:
        return sky_id
    raise ResultError(f"Job {job.id}: no SkyPilot job id recorded; cannot fetch its results")


def _result_file(job: Any, info: Mapping[str, Any]) -> Path:
    if job.backend == "local":
        return Path(info["bundle"]) / "out" / remote_runner.RESULT_FILE
    if job.backend != "skypilot":
        raise ResultError(f"Job {job.id}: results of {job.backend!r} jobs do not come back; "
                          "write them to a bucket in file_mounts")
    from skyexec_nb.engine.skyapi.sdk import one_line_error, sdk

    sky_id = _sky_job_id(job)
    try:
        paths = sdk().download_logs(job.cluster, [str(sky_id)])
    except Exception as exc:  # noqa: BLE001 - SkyPilot's own errors, one line
        raise ResultError(f"Job {job.id}: cannot download its results: {one_line_error(exc)}") from None
    folder = paths.get(str(sky_id)) or paths.get(sky_id) or next(iter(paths.values()), None)
    if folder is None:
        raise ResultError(f"Job {job.id}: SkyPilot returned no log directory for job {sky_id}")
    return Path(os.path.expanduser(folder)) / remote_runner.RESULT_FILE


def result(job: Any, timeout: float | None = None) -> Any:
    """Wait for a Python job and return what it sends back.

    Returns:
        A cell's pulled variables as ``{name: value}``; a remote function's return value.

    Raises:
        RemoteError: the code raised (its remote traceback in the message).
        ResultError: not a Python job, cancelled, failed before the code ran, a ``--pull`` name
            the code never set, or the results cannot be fetched.
        TimeoutError: still running after ``timeout`` seconds.
    """
    info = job.extra.get("remote")
    if not info:
        raise ResultError(f"Job {job.id} is not a remote Python job: it has no result")
    status = job.wait(timeout)
    if status is JobStatus.CANCELLED:
        raise ResultError(f"Job {job.id} was cancelled: no result")
    path = _result_file(job, info)
    if not path.exists():
        why = job.error or f"ended {status.value}"
        raise ResultError(f"Job {job.id} left no result ({why}); see job.logs()")
    meta, values = read_payload(path)
    if meta.get("kind") == "exception":
        raise RemoteError(job.id, meta, values.get("__exception__"))
    if not meta.get("ok"):
        raise PullError(f"Job {job.id}: {meta.get('error')}")
    if info.get("kind") == "function":
        return values.get("__skx_return__")
    return values


def on_result(job: Any, callback: Callable[[Any], None] | None = None) -> Callable[[], None]:
    """When ``job`` ends, call ``callback(result)`` if it succeeded, and record why it failed.

    The result is fetched off the monitor thread (a SkyPilot download takes seconds), only when
    the job FAILED or a ``callback`` waits for it. A remote exception, a ``--pull`` the code
    never set, or a pull that failed becomes the job's one-line ``error``, which the launch panel
    shows (the remote traceback is in the log below it). Returns the unsubscribe function.
    """
    from skyexec_nb.engine.jobs.backend_api import one_line
    from skyexec_nb.engine.jobs.registry import get_registry

    fired = threading.Lock()
    unsubscribe: Callable[[], None] = lambda: None  # noqa: E731 - replaced below

    def fetch(status: JobStatus) -> None:
        try:
            value = result(job, 0)
        except RemoteError as exc:
            get_registry().update(job.id, error=one_line(f"{exc.ename}: {exc.evalue}"))
        except ResultError as exc:  # keep the backend's own error unless the code ran
            if isinstance(exc, PullError) or status is JobStatus.SUCCEEDED:
                get_registry().update(job.id, error=one_line(str(exc)))
        else:
            if callback is not None:
                callback(value)

    def changed(_job: Any = None) -> None:
        status = job.status
        if not status.is_terminal or not fired.acquire(blocking=False):
            return
        unsubscribe()
        if status is JobStatus.FAILED or (status is JobStatus.SUCCEEDED and callback is not None):
            threading.Thread(target=fetch, args=(status,), name=f"skyexec-nb-result-{job.id}",
                             daemon=True).start()

    unsubscribe = job.on_change(changed)
    changed()
    return unsubscribe


# -- remote functions ----------------------------------------------------------------------------
class RemoteFunction:
    """A function that runs as a job: calling it returns its Job at once (see :func:`remote`)."""

    def __init__(self, fn: Callable[..., Any], executor: Any, max_parallel: int | None = None,
                 **launch_options: Any) -> None:
        from skyexec_nb.engine.jobs.slots import group_env

        group_env("check", max_parallel)  # a bad max_parallel is refused at decoration
        functools.update_wrapper(self, fn)
        self.fn, self.executor, self.max_parallel = fn, executor, max_parallel
        self.launch_options = launch_options

    def _bundle(self, args: tuple, kwargs: dict, shared: Path | None = None) -> Path:
        fname = getattr(self.fn, "__name__", "function")
        labels = {"__skx_fn__": f"remote function {fname}", "__skx_args__": f"arguments of {fname}",
                  "__skx_kwargs__": f"keyword arguments of {fname}"}
        push = {"__skx_args__": args, "__skx_kwargs__": kwargs}
        if shared is None:
            push = {"__skx_fn__": self.fn, **push}
        return make_bundle(FUNCTION_BODY, push, ["__skx_return__"], kind="function",
                           shared_push=shared, labels=labels)

    def _name(self) -> str:
        return self.launch_options.get("name") or _job_name(getattr(self.fn, "__name__", "fn"))

    def _launch(self, bundle: Path, env: Mapping[str, str] | None = None, extra: Any = None,
                limits: Any = None) -> Any:
        options = {k: v for k, v in self.launch_options.items() if k not in ("name", *SPEND_OPTIONS)}
        env = {**(options.pop("env", None) or {}), **(env or {})}
        return launch_bundle(self.executor, bundle, name=self._name(), env=env, extra=extra, limits=limits,
                             **options)

    def _limits(self, count: int = 1, group: str | None = None) -> Any:
        """The spend limits of ``count`` calls (priced once; ``max_cost`` per call), budget-checked."""
        spend = {k: self.launch_options[k] for k in SPEND_OPTIONS if k in self.launch_options}
        return spend_limits(self.executor, self.launch_options.get("backend"), count=count, group=group, **spend)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Launch one job running ``fn(*args, **kwargs)``; returns its Job."""
        limits = self._limits()
        prune_quietly()
        return self._launch(self._bundle(args, kwargs), limits=limits)

    def map(self, iterable: Iterable[Any], max_parallel: int | None = None) -> list[Any]:
        """Launch one job per item (``fn(item)``), at most ``max_parallel`` running at once
        (default: the decorator's ``max_parallel``); returns the Jobs in item order."""
        from skyexec_nb.engine.jobs.slots import group_env
        from skyexec_nb.engine.remote.batches import build_all, launch_all, shared_payload

        items = list(iterable)
        max_parallel = self.max_parallel if max_parallel is None else max_parallel
        group = uuid.uuid4().hex[:12]
        env = group_env(group, max_parallel)
        limits = self._limits(len(items), group)
        prune_quietly()
        shared = shared_payload({"__skx_fn__": self.fn},
                                {"__skx_fn__": f"remote function {self._name()}"})
        try:  # the bundles hold hard links (or copies) of the shared function payload
            bundles = build_all(items, lambda item: self._bundle((item,), {}, shared))
        finally:
            shutil.rmtree(shared.parent, ignore_errors=True)
        info = {"id": group, "size": len(items), "max_parallel": max_parallel}
        return launch_all(bundles, lambda i, b: self._launch(b, env, {"sweep": {**info, "index": i}}, limits))

    def __repr__(self) -> str:
        return f"<RemoteFunction {getattr(self.fn, '__qualname__', self.fn)!r}>"


SPEND_OPTIONS = ("timeout", "max_cost", "expected_duration", "yes")
"""Spend options of ``remote(executor, ...)``: limits per call, and the budget check's confirmation."""
REMOTE_OPTIONS = ("backend", "name", "env", "max_parallel", *SPEND_OPTIONS)
"""Keyword options ``remote(executor, ...)`` takes."""


def remote(executor: Any, **launch_options: Any) -> Callable[[Callable[..., Any]], RemoteFunction]:
    """Decorator: ``@remote(executor, backend=..., name=..., env=..., max_parallel=..., timeout=...,
    max_cost=..., yes=...)`` makes ``fn(...)`` launch a job.

    Calling the decorated function returns a Job at once; ``result(job)`` (``job.result()``)
    gives its return value or raises its exception. ``fn.map(items)`` launches one job per item,
    at most ``max_parallel`` running at once. Arguments and the return value travel with
    cloudpickle (functions defined in the notebook travel by value).
    """
    if callable(executor) and not hasattr(executor, "to_config"):
        raise TypeError("remote(executor, ...) needs an executor: use @remote(executor), not @remote")
    if not hasattr(executor, "to_config"):
        raise FieldError("executor", "a SkyExecutor", executor)
    unknown = sorted(set(launch_options) - set(REMOTE_OPTIONS))
    if unknown:
        raise FieldError("option", f"one of {', '.join(REMOTE_OPTIONS)}", unknown[0])

    def decorate(fn: Callable[..., Any]) -> RemoteFunction:
        if not callable(fn):
            raise FieldError("function", "a function to run remotely", fn)
        return RemoteFunction(fn, executor, **launch_options)

    return decorate


def _job_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.") or "fn"
    return name if name[0].isalnum() else f"fn-{name}"


__all__ = ["remote", "RemoteFunction", "result", "on_result", "launch_python", "RemoteError",
           "ResultError", "PullError", "PayloadError", "bundle_root", "make_bundle", "launch_bundle",
           "prune_bundles"]
