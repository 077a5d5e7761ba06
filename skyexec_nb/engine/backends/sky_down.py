"""Tearing down a SkyPilot job's cluster: on request from the kernel, or when a limit stops the job.

* ``start_down(job)`` (kernel side, ``Job.down()``) records the request and starts a short
  detached process, ``python -m skyexec_nb.engine.backends.sky_down down JOB_ID``, which runs
  :func:`run_down`: the kernel never imports ``sky``.
* :func:`down_cluster` runs ``sky.down`` and waits; the outcome goes to ``extra['down']``,
  ``extra['cluster_down_at']`` (once the cluster is gone) and the job's log.
* A limit (``engine/jobs/limit_watch.py``) tears down only a cluster *launched for the job*:
  :func:`record_cluster_new` writes ``extra['cluster_new']`` before the launch (an unnamed
  ``skx-<id>`` cluster is new; a named one is new when ``sky.status`` does not list it), and
  :func:`limit_words` leaves up a cluster that existed before, or that runs our other live jobs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Callable

from skyexec_nb.engine.skyapi.sdk import one_line_error, sdk

TAG = "[skyexec_nb]"


def limit_words(ctx: Any, backend: str) -> tuple[str, bool]:
    """What a limit stop does to the job's cluster, in words, and whether to tear it down."""
    row = ctx.registry.get(ctx.job_id) or {}
    named = bool(ctx.launch_options.get("cluster_name"))
    new = (row.get("extra") or {}).get("cluster_new", None if named else True)
    if new is None:  # stopped before the check: nothing was launched on it by this job
        return f"cancelling the job (cluster {ctx.cluster} was named for it: left up)", False
    if not new:
        return f"cancelling the job (cluster {ctx.cluster} existed before the job: left up)", False
    others = [r["id"] for r in ctx.registry.rows("cluster = ? AND backend = ? AND id != ?",
                                                (ctx.cluster, backend, ctx.job_id))
              if not r["status"].is_terminal]
    if others:
        listed = ", ".join(map(str, others[:5])) + ("…" if len(others) > 5 else "")
        return f"cancelling the job (cluster {ctx.cluster} also runs job {listed}: left up)", False
    return f"cancelling the job and tearing down cluster {ctx.cluster}", True


def record_cluster_new(run: Any) -> None:
    """Record whether the job's cluster is launched for it (``extra['cluster_new']``), before the launch.

    ``run`` is the job's ``SkyRun``. When SkyPilot cannot say, the cluster counts as existing
    (a limit leaves it up) and the log says so.
    """
    ctx = run.ctx
    if not ctx.launch_options.get("cluster_name"):
        ctx.update(cluster_new=True)
        return
    try:
        found = run.get(run.sky.status([ctx.cluster]))
    except Exception as exc:  # noqa: BLE001 - unknown: treat as existing
        run.note(f"cannot tell whether cluster {ctx.cluster} exists ({one_line_error(exc)}): "
                 "a limit will leave it up")
        ctx.update(cluster_new=False)
        return
    ctx.update(cluster_new=not any(getattr(r, "name", None) == ctx.cluster for r in found or []))


def down_cluster(registry: Any, job_id: int, cluster: str, write_line: Callable[[str], Any]) -> bool:
    """``sky.down(cluster)``, waited for; the outcome goes to ``extra['down']`` (and, once the cluster
    is gone, ``extra['cluster_down_at']``) and one log line. True unless it failed."""
    state = "done"
    try:
        sky = sdk()
        try:
            sky.get(sky.down(cluster))
            message = f"cluster {cluster} torn down"
        except sky.exceptions.ClusterDoesNotExist:
            message = f"cluster {cluster} does not exist (nothing to tear down)"
    except Exception as exc:  # noqa: BLE001 - recorded for the user
        state, message = "failed", f"down failed: {one_line_error(exc)}"
    now = time.time()
    registry.update(job_id, down={"state": state, "message": message, "at": now},
                    **({"cluster_down_at": now} if state == "done" else {}))
    write_line(f"{TAG} {message}")
    return state == "done"


def start_down(job: Any) -> str:
    """Record the request, then run ``sky.down(job.cluster)`` in a detached helper process."""
    from skyexec_nb.engine.jobs.logfile import LogWriter
    from skyexec_nb.engine.jobs.registry import get_registry

    registry = get_registry()
    registry.update(job.id, down={"state": "requested", "at": time.time()})
    with LogWriter(job.log_path) as log:
        log.write_line(f"{TAG} tearing down cluster {job.cluster} (sky.down, in the background)")
    job.job_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SKYEXEC_NB_HOME=str(registry.path.parent))
    with open(job.job_dir / "down.log", "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "skyexec_nb.engine.backends.sky_down", "down", str(job.id)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=job.job_dir, start_new_session=True, close_fds=True,
        )
    return f"Tearing down cluster {job.cluster} in the background; outcome in job {job.id}'s log"


def run_down(job_id: int) -> int:
    """The helper process: ``sky.down`` the job's cluster, record the outcome; returns an exit code."""
    from skyexec_nb.engine.jobs.logfile import LogWriter
    from skyexec_nb.engine.jobs.registry import get_registry

    registry = get_registry()
    row = registry.get(job_id)
    if row is None:
        print(f"no job {job_id} in {registry.path}", file=sys.stderr)
        return 2
    with LogWriter(row["log_path"]) as log:
        return 0 if down_cluster(registry, job_id, row["cluster"], log.write_line) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m skyexec_nb.engine.backends.sky_down down JOB_ID``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "down" or not args[1].isdigit():
        print("usage: python -m skyexec_nb.engine.backends.sky_down down JOB_ID", file=sys.stderr)
        return 2
    return run_down(int(args[1]))


if __name__ == "__main__":
    sys.exit(main())
