"""The SkyPilot backend: launch on a cluster through SkyPilot's API server (client SDK).

In the supervisor, ``run(ctx)``:

1. builds ``sky.Task.from_yaml_config`` from a copy of the job's config (secret values, from
   the job's 0600 file, in the task's ``secrets`` section, never in ``envs``) and submits
   ``sky.launch(task, cluster_name, down=autodown, idle_minutes_to_autostop, retry_until_up)``;
   the job is PROVISIONING while that request runs (its log, e.g. provisioning progress, goes to
   the job's log; its id and state go to ``extra['sky_requests']``/``extra['sky_request_state']``);
2. once SkyPilot returns the job id, records it (``extra['sky_job_id']``; the registry's
   ``app_id`` ends with it, so ``SkyExecutor.status(job.app_id)`` works) and what was launched
   (``extra['launched']``: cloud, region, instance type, spot, nodes; priced by the panel), copies
   ``sky.tail_logs(cluster, job_id, follow=True, preload_content=False)`` into the job's log and
   polls ``sky.job_status`` every ``$SKYEXEC_NB_SKY_POLL`` seconds (default 2), mapping SkyPilot's
   job states to ours (same names); ``extra['endpoints']`` gets ``sky.endpoints(cluster)`` once the
   job runs if the task opens ports;
3. on cancel: ``sky.api_cancel`` while the launch request is in flight, ``sky.cancel(cluster,
   job_ids=[id])`` once the job exists; the job ends CANCELLED.

SkyPilot's own errors (no cloud access, unavailable resources, quota, API server unreachable)
end the job FAILED with SkyPilot's message on one line in the log and the ``error`` column.

Spend limits (see ``engine/jobs/limit_watch.py``): before launching on a cluster the user named,
``sky.status`` tells whether it exists already (``extra['cluster_new']``; an unnamed ``skx-<id>``
cluster is always new). When a limit stops the job, a cluster launched for it (new, and running
none of our other live jobs) is torn down with ``sky.down`` once the job has ended
(``extra['down']``, ``extra['cluster_down_at']``); one that existed before is left up, and the
log says so.

Kernel side, ``down(job)`` starts a short detached process (``python -m
skyexec_nb.engine.backends.sky_down down JOB_ID``) that runs ``sky.down(cluster)`` and records the
outcome in ``extra['down']`` and the job's log: the kernel never imports ``sky``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
from typing import Any, Callable

from skyexec_nb.engine.backends.sky_down import (  # noqa: F401  (start_down, run_down: re-exported)
    TAG,
    down_cluster,
    limit_words,
    main,
    record_cluster_new,
    run_down,
    start_down,
)
from skyexec_nb.engine.jobs.backend_api import BaseBackend, RunContext
from skyexec_nb.engine.jobs import secrets
from skyexec_nb.engine.skyapi.sdk import SDK_ENV, RequestAborted, await_request, call, one_line_error, pump_lines, sdk
from skyexec_nb.engine.jobs.status import JobStatus

POLL_ENV = "SKYEXEC_NB_SKY_POLL"
CANCEL_TIMEOUT = 120.0  # seconds to wait for SkyPilot to confirm a cancellation
MAX_PROBE_ERRORS = 10  # consecutive failed state polls before the job is declared FAILED

#: A state probe: the job's status now and fields to record with it.
Probe = Callable[[], "tuple[JobStatus, dict[str, Any]]"]


def poll_interval() -> float:
    """Seconds between state polls (``$SKYEXEC_NB_SKY_POLL``, default 2: each poll is a request).

    A value that is not a number in [0.05, 600] (NaN, inf, text) is ignored: 2 seconds."""
    try:
        value = float(os.environ.get(POLL_ENV) or 2.0)
    except ValueError:
        return 2.0
    return value if 0.05 <= value <= 600 else 2.0


def to_status(value: Any, overrides: dict[str, JobStatus] | None = None) -> JobStatus:
    """Our JobStatus for a SkyPilot state (an enum member or its name)."""
    name = str(getattr(value, "value", value))
    if overrides and name in overrides:
        return overrides[name]
    try:
        return JobStatus(name)
    except ValueError:
        return JobStatus.FAILED if name.startswith("FAILED") else JobStatus.RUNNING


def with_job_id(app_id: str, job_id: Any) -> str:
    """``app_id`` with its last ``___`` field replaced by SkyPilot's job id."""
    head, sep, _ = app_id.rpartition("___")
    return f"{head}{sep}{job_id}" if sep else app_id


def has_ports(config: dict[str, Any]) -> bool:
    """True if the task's resources (or any alternative) open ports."""
    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return bool(node.get("ports")) or any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False
    return walk(config.get("resources") or {})


def launched_of(handle: Any) -> dict[str, Any] | None:
    """What the cluster handle says was launched (for the cost estimate), or None.

    ``{cloud, region, zone, instance_type, accelerators, use_spot, num_nodes}`` read from
    ``handle.launched_resources`` / ``handle.launched_nodes`` (SkyPilot 0.14's resource handle).
    """
    res = getattr(handle, "launched_resources", None)
    cloud = getattr(res, "cloud", None)
    if res is None or cloud is None:
        return None
    accelerators = getattr(res, "accelerators", None)
    return {"cloud": str(cloud).lower(), "region": getattr(res, "region", None), "zone": getattr(res, "zone", None),
            "instance_type": getattr(res, "instance_type", None),
            "accelerators": dict(accelerators) if accelerators else None,
            "use_spot": bool(getattr(res, "use_spot", False)), "num_nodes": getattr(handle, "launched_nodes", None)}


def check_installed(module: str = "sky") -> None:
    """Kernel side: raise ValueError if the SkyPilot SDK cannot be imported (without importing it)."""
    name = os.environ.get(SDK_ENV) or module
    if importlib.util.find_spec(name) is None:
        raise ValueError(f"Invalid backend: SkyPilot is not installed ({name!r} not found). "
                         f"To fix: pip install 'skypilot>=0.14.1,<0.15'")


class SkyRun:
    """One job's conversation with SkyPilot, in the supervisor (shared by both sky backends)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.sky = sdk()
        self.poll = poll_interval()
        self.requests: dict[str, str] = {}
        self.cancelling = False

    def get(self, request_id: str) -> Any:
        """The result of a short request; gives way to cancellation unless we are cancelling."""
        return call(request_id, None if self.cancelling else self.ctx.cancelled)

    def note(self, message: str) -> None:
        """A line of ours in the job's log."""
        self.ctx.log.write_line(f"{TAG} {message}")

    def task(self) -> Any:
        """``sky.Task`` from a copy of the config (SkyPilot fills the dict it is given).

        The job's secret values (its 0600 file, read and removed here; kept in memory only) go
        into the task's ``secrets`` section, not ``envs``: SkyPilot redacts them in its dashboard
        and logs (see :mod:`skyexec_nb.engine.jobs.secrets`).
        """
        config = secrets.sky_task_config(self.ctx.config, secrets.take(self.ctx.job_dir))
        return self.sky.Task.from_yaml_config(config)

    def submit(self, kind: str, request_id: str) -> Any:
        """Record request ``kind``'s id, stream its log and wait for it (cancellable)."""
        self.requests[kind] = str(request_id)
        self.ctx.update(sky_requests=dict(self.requests))
        self.note(f"SkyPilot {kind} request {request_id}")
        final = "FAILED"
        try:
            result = await_request(request_id, cancelled=self.ctx.cancelled, output=self.ctx.log.write,
                                   poll=self.poll, on_state=lambda s: self.ctx.update(sky_request_state=s))
            final = "SUCCEEDED"
            return result
        except RequestAborted:
            final = "CANCELLED"
            raise
        finally:
            self.ctx.update(sky_request_state=final)

    def fail(self, exc: BaseException) -> None:
        """End FAILED with SkyPilot's message on one line (no traceback)."""
        message = one_line_error(exc)
        self.note(f"ERROR: {message}")
        self.ctx.set_status(JobStatus.FAILED, error=message)

    def abort_launch(self, what: str) -> None:
        """The launch request was cancelled in flight (``sky.api_cancel``): end CANCELLED."""
        self.note(f"cancelled while {what} was in flight (sky.api_cancel)")
        self.ctx.set_status(JobStatus.CANCELLED)

    def down_requested(self) -> bool:
        """True once ``down()`` was called for this job (from the kernel)."""
        row = self.ctx.registry.get(self.ctx.job_id) or {}
        return bool((row.get("extra") or {}).get("down"))

    def watch(self, probe: Probe, cancel: Callable[[], None], pump: Any,
              on_change: Callable[[JobStatus], None] | None = None) -> None:
        """Poll ``probe`` until a terminal state; ``cancel`` once ``ctx.cancelled`` is set.

        After ``cancel`` the job ends in the state SkyPilot reports, or CANCELLED when SkyPilot
        does not confirm within CANCEL_TIMEOUT. MAX_PROBE_ERRORS failed polls in a row end it
        FAILED. The log pump is joined (briefly) before the terminal state is recorded, so the
        log is complete when the job turns terminal.
        """
        last, errors, deadline = None, 0, None
        while True:
            if self.ctx.cancelled.is_set() and deadline is None:
                deadline = self._start_cancel(cancel)
            if deadline is not None and time.monotonic() > deadline:
                self._finish(pump, JobStatus.CANCELLED, {}, join=1.0)
                return
            try:
                status, fields = probe()
                errors = 0
            except RequestAborted:
                continue  # cancelled meanwhile: the top of the loop cancels the job
            except Exception as exc:  # noqa: BLE001 - SkyPilot or transport errors
                errors += 1
                if errors == 1 or errors >= MAX_PROBE_ERRORS:
                    self.note(f"state poll failed ({errors}): {one_line_error(exc)}")
                if errors >= MAX_PROBE_ERRORS:
                    status, fields = ((JobStatus.CANCELLED, {}) if self.cancelling
                                      else (JobStatus.FAILED, {"error": one_line_error(exc)}))
                else:
                    status, fields = last or self.ctx.status, {}
            if status.is_terminal:
                self._finish(pump, status, fields)
                return
            if status != last:
                self.ctx.set_status(status, **fields)
                last = status
                if on_change is not None:
                    on_change(status)
            elif fields:
                self.ctx.update(**fields)
            if self.cancelling:
                time.sleep(self.poll)
            else:
                self.ctx.cancelled.wait(self.poll)

    def _start_cancel(self, cancel: Callable[[], None]) -> float:
        """Run ``cancel``; returns the deadline for SkyPilot to confirm (now, if it failed)."""
        self.cancelling = True
        try:
            cancel()
        except Exception as exc:  # noqa: BLE001 - report, and end CANCELLED anyway
            self.note(f"cancel failed: {one_line_error(exc)}")
            return 0.0
        return time.monotonic() + CANCEL_TIMEOUT

    def _finish(self, pump: Any, status: JobStatus, fields: dict[str, Any], join: float = 10.0) -> None:
        if pump is not None:  # SkyPilot's log stream trails the state a little
            pump.join(timeout=join)
        self.note(f"job ended: {status.value}" + (f" ({fields['error']})" if fields.get("error") else ""))
        self.ctx.set_status(status, **fields)


class SkyBackend(BaseBackend):
    """What both SkyPilot backends share: the precheck, and ``run`` ending every error FAILED.

    Subclasses set ``launch_call`` (the SDK call that submits, named when it is aborted) and
    implement ``_run(run)``.
    """

    initial_status = JobStatus.PROVISIONING
    launch_call = "sky.launch"

    def precheck(self, config: dict[str, Any], launch_options: dict[str, Any]) -> None:
        check_installed()

    def prepare(self) -> None:
        """Import the SDK (seconds) before the limits' clock starts: nothing is billed yet."""
        try:
            sdk()
        except Exception:  # noqa: BLE001 - run() meets the same error and ends the job FAILED with it
            pass

    def run(self, ctx: RunContext) -> None:
        run = SkyRun(ctx)
        try:
            self._run(run)
        except RequestAborted:
            run.abort_launch(self.launch_call)
        except Exception as exc:  # noqa: BLE001 - every SkyPilot error ends the job FAILED
            run.fail(exc)

    def _run(self, run: SkyRun) -> None:
        raise NotImplementedError


class SkyPilotBackend(SkyBackend):
    """Runs a job on a SkyPilot cluster (see the module docstring)."""

    name = "skypilot"

    def run(self, ctx: RunContext) -> None:
        """Run the job; then, when a limit stopped it, tear down the cluster launched for it."""
        super().run(ctx)
        if not ctx.teardown:
            return
        if not ((ctx.registry.get(ctx.job_id) or {}).get("extra") or {}).get("sky_requests", {}).get("launch"):
            ctx.log.write_line(f"{TAG} nothing was launched on cluster {ctx.cluster}: nothing to tear down")
            return
        ctx.log.write_line(f"{TAG} tearing down cluster {ctx.cluster} (sky.down): a limit stopped job {ctx.job_id}")
        down_cluster(ctx.registry, ctx.job_id, ctx.cluster, ctx.log.write_line)

    def limit_action(self, ctx: RunContext) -> tuple[str, bool]:
        """Tear down the cluster when it was launched for this job, else leave it up (and say so)."""
        return limit_words(ctx, self.name)

    def _run(self, run: SkyRun) -> None:
        ctx, sky, opts = run.ctx, run.sky, run.ctx.launch_options
        record_cluster_new(run)
        if ctx.cancelled.is_set():
            ctx.set_status(JobStatus.CANCELLED)
            return
        run.note(f"launching on cluster {ctx.cluster} through SkyPilot's API server")
        request_id = sky.launch(run.task(), cluster_name=ctx.cluster,
                                retry_until_up=bool(opts.get("retry_until_up")),
                                idle_minutes_to_autostop=opts.get("idle_minutes"),
                                down=bool(opts.get("autodown")))
        job_id, handle = run.submit("launch", request_id)
        if job_id is None:
            raise RuntimeError(f"SkyPilot launched cluster {ctx.cluster} but returned no job id")
        resources, launched = getattr(handle, "launched_resources", None), launched_of(handle)
        ctx.update(sky_job_id=job_id, app_id=with_job_id(ctx.app_id, job_id),
                   **({"sky_resources": str(resources)} if resources is not None else {}),
                   **({"launched": launched} if launched else {}))
        run.note(f"SkyPilot job {job_id} on cluster {ctx.cluster}")
        pump = pump_lines(sky.tail_logs(ctx.cluster, job_id, follow=True, preload_content=False),
                          ctx.log.write, name=f"sky-logs-{ctx.job_id}")
        run.watch(lambda: self._probe(run, job_id), lambda: self._cancel(run, job_id), pump,
                  on_change=lambda status: self._endpoints(run, status))

    @staticmethod
    def _probe(run: SkyRun, job_id: int) -> tuple[JobStatus, dict[str, Any]]:
        sky = run.sky
        try:
            found = run.get(sky.job_status(run.ctx.cluster, [job_id]))
        except sky.exceptions.ClusterDoesNotExist as exc:
            if run.cancelling or run.down_requested():
                return JobStatus.CANCELLED, {"error": f"cluster {run.ctx.cluster} was torn down (down())"}
            return JobStatus.FAILED, {"error": one_line_error(exc)}
        state = found.get(job_id, found.get(str(job_id)))
        if state is None:
            return JobStatus.FAILED, {"error": f"SkyPilot job {job_id} not found on cluster {run.ctx.cluster}"}
        status = to_status(state)
        return status, ({"error": f"SkyPilot job {job_id} ended {status.value}"} if status.is_failure else {})

    @staticmethod
    def _cancel(run: SkyRun, job_id: int) -> None:
        run.note(f"cancelling SkyPilot job {job_id} on cluster {run.ctx.cluster} (sky.cancel)")
        request_id = run.sky.cancel(run.ctx.cluster, job_ids=[job_id])
        run.requests["cancel"] = str(request_id)
        run.ctx.update(sky_requests=dict(run.requests))
        run.get(request_id)

    @staticmethod
    def _endpoints(run: SkyRun, status: JobStatus) -> None:
        """Once the job runs, record ``sky.endpoints(cluster)`` if the task opens ports."""
        if status != JobStatus.RUNNING or not has_ports(run.ctx.config):
            return
        try:
            found = run.get(run.sky.endpoints(run.ctx.cluster))
        except Exception as exc:  # noqa: BLE001 - links are a convenience
            run.note(f"endpoints unavailable: {one_line_error(exc)}")
            return
        urls = {str(port): url if "://" in url else f"http://{url}" for port, url in (found or {}).items()}
        run.ctx.update(endpoints=urls)
        for port, url in sorted(urls.items()):
            run.note(f"endpoint {port}: {url}")

    def down(self, job: Any) -> str:
        """Kernel side: tear the job's cluster down in a short detached process; returns at once."""
        return start_down(job)


BACKEND = SkyPilotBackend()

if __name__ == "__main__":  # the helper of older launches (now ``python -m ...sky_down``)
    sys.exit(main())
