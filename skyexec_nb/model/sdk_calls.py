"""The executor's seed SDK methods, through SkyPilot's API server (client SDK, never ``sky.core``).

``SkyExecutor.launch/status/cancel/logs/cleanup`` delegate here. Every function imports the SDK
lazily (``skyexec_nb.model.sky_module.sdk()``: ``sky``, or the module named by
``$SKYEXEC_NB_SKY_SDK``), so importing the model never imports ``sky``. NeMo-Run's versions call
``sky.core`` directly and break with a remote API server (its issue #482); these do not.
"""
from __future__ import annotations

import os
import sys
from typing import Any, TextIO


def _sky() -> Any:
    from skyexec_nb.model.sky_module import sdk  # imports no sky itself

    return sdk()


def _parse(app_id: str) -> tuple[str, str, int]:
    from skyexec_nb.model.app_ids import parse_app

    return parse_app(app_id)


def _plain(record: Any) -> dict[str, Any]:
    """A SkyPilot response record (dict-like pydantic model or dict) as a plain dict."""
    return dict(record) if isinstance(record, dict) else dict(record.items())


def launch(executor: Any, task: Any, cluster_name: str | None = None, num_nodes: int | None = None,
           dryrun: bool = False) -> tuple[int | None, Any]:
    """Submit ``task`` with ``sky.launch`` and wait for SkyPilot's answer (the request's log is shown).

    Args:
        executor: The SkyExecutor (cluster_name, autodown, idle_minutes_to_autostop, retry_until_up,
            job_dir: the task YAML is written to ``job_dir/skypilot_task.yml`` when set).
        task: A ``sky.Task`` (e.g. ``executor.to_task(name, cmd)``).
        cluster_name: Overrides ``executor.cluster_name`` (then the experiment id, then SkyPilot's).
        num_nodes: Overrides the task's node count.
        dryrun: Let SkyPilot plan without launching.

    Returns:
        ``(job_id, handle)`` as SkyPilot returns them (``(None, None)`` for a dry run).

    Raises:
        Exception: SkyPilot's own errors (``sky.exceptions``), e.g. NoCloudAccessError.
    """
    sky = _sky()
    if num_nodes:
        task.num_nodes = num_nodes
    job_dir = getattr(executor, "job_dir", None)
    if job_dir:
        import yaml

        os.makedirs(job_dir, exist_ok=True)
        with open(os.path.join(job_dir, "skypilot_task.yml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(task.to_yaml_config(), f, sort_keys=False)
    name = cluster_name or executor.cluster_name or getattr(executor, "experiment_id", None)
    request_id = sky.launch(task, cluster_name=name, dryrun=dryrun, down=bool(executor.autodown),
                            idle_minutes_to_autostop=executor.idle_minutes_to_autostop,
                            retry_until_up=bool(executor.retry_until_up))
    return sky.stream_and_get(request_id)


def status(app_id: str) -> tuple[Any, dict[str, Any] | None]:
    """``(cluster status, job record)`` of ``app_id`` via ``sky.status`` and ``sky.queue`` requests.

    Returns:
        ``(None, None)`` when the cluster does not exist; ``(ClusterStatus, None)`` when it is not
        up or the job is not in its queue; else ``(ClusterStatus, job dict)`` (job_id, job_name,
        status: ``sky.JobStatus``, submitted_at, ...).

    Raises:
        AppIdError: malformed ``app_id``.
        Exception: API server errors (e.g. ApiServerConnectionError), not swallowed.
    """
    cluster, _, job_id = _parse(app_id)
    sky = _sky()
    records = sky.get(sky.status([cluster], all_users=True))
    if not records:
        return None, None
    cluster_status = _plain(records[0])["status"]
    try:
        jobs = sky.get(sky.queue(cluster, all_users=True))
    except (sky.exceptions.ClusterNotUpError, sky.exceptions.ClusterDoesNotExist):
        return cluster_status, None
    job = next((_plain(j) for j in jobs if _plain(j)["job_id"] == job_id), None)
    return cluster_status, job


def cancel(app_id: str) -> bool:
    """Cancel ``app_id``'s job with ``sky.cancel``; returns False if there is no such job."""
    cluster, _, job_id = _parse(app_id)
    _, job = status(app_id)
    if not job:
        return False
    sky = _sky()
    sky.get(sky.cancel(cluster, job_ids=[job_id]))
    return True


def logs(app_id: str, fallback_path: str | None, *, follow: bool = False,
         out: TextIO | None = None) -> None:
    """Print ``app_id``'s log: from ``fallback_path/run.log`` once the job is over (or gone) and
    that file exists, else from ``sky.tail_logs`` (the log so far; ``follow=True`` waits for the end).
    """
    out = out or sys.stdout
    cluster, _, job_id = _parse(app_id)
    _, job = status(app_id)
    finished = job is None or str(getattr(job["status"], "value", job["status"])) in _TERMINAL
    local = os.path.expanduser(os.path.join(fallback_path, "run.log")) if fallback_path else None
    if finished and local and os.path.isfile(local):
        with open(local, encoding="utf-8", errors="replace") as f:
            for line in f:
                out.write(line)
        out.flush()
        return
    for chunk in _sky().tail_logs(cluster, job_id, follow=follow, preload_content=False):
        if chunk:
            out.write(chunk)
    out.flush()


def cleanup(executor: Any, handle: str) -> dict[str, str]:
    """Download the job's logs with ``sky.download_logs``; returns ``{job_id: local path}``.

    ``handle`` is an app handle (``scheme://runner/app_id``) or a bare app id. A cluster that no
    longer exists has nothing to download (``{}``).
    """
    _, _, path = handle.partition("://")
    app_id = path.split("/", 1)[1] if path else handle
    cluster, _, job_id = _parse(app_id)
    sky = _sky()
    try:
        return dict(sky.download_logs(cluster, job_ids=[str(job_id)]))
    except (sky.exceptions.ClusterDoesNotExist, sky.exceptions.ClusterNotUpError):
        return {}


_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "FAILED_SETUP", "FAILED_DRIVER", "CANCELLED"})


class SdkMethods:
    """NeMo-Run's SDK methods of the executor (``launch``, ``status``, ``cancel``, ``logs``,
    ``cleanup``), through SkyPilot's API server; mixed into ``SkyExecutor``."""

    def launch(self, task: Any, cluster_name: str | None = None, num_nodes: int | None = None,
               dryrun: bool = False) -> Any:
        """Launch ``task`` through the SkyPilot API server (see :func:`launch`)."""
        return launch(self, task, cluster_name, num_nodes, dryrun)

    @classmethod
    def status(cls, app_id: str) -> Any:
        """Cluster status and job details of ``app_id`` (see :func:`status`)."""
        return status(app_id)

    @classmethod
    def cancel(cls, app_id: str) -> Any:
        """Cancel the job ``app_id`` (see :func:`cancel`)."""
        return cancel(app_id)

    @classmethod
    def logs(cls, app_id: str, fallback_path: str | None) -> Any:
        """Logs of ``app_id`` (see :func:`logs`)."""
        return logs(app_id, fallback_path)

    def cleanup(self, handle: str) -> Any:
        """Fetch logs / release what the job left (see :func:`cleanup`)."""
        return cleanup(self, handle)
