"""The local backend: runs on this machine what SkyPilot would run on a cluster.

Per job, in ``job_dir`` (``<state_dir>/jobs/<id>/``):

* ``work/`` is the working directory of ``setup`` and of every node. With ``workdir`` set it is
  a copy of that local directory's contents (like ``rsync -a workdir/ work/``: symlinks kept,
  ``.skyignore``/``.gitignore`` not applied); otherwise it starts empty.
* ``mounts/`` holds ``file_mounts`` with local sources, each a symlink to its source at the
  target's path under the job dir: ``/data`` -> ``mounts/data``, ``/a/b`` -> ``mounts/a/b``,
  ``~/x`` or ``x`` (SkyPilot: relative to the remote home) -> ``mounts/home/x``. The environment
  variable ``SKYEXEC_NB_MOUNTS`` gives the ``mounts/`` path, so a script can use
  ``$SKYEXEC_NB_MOUNTS/data``. Cloud sources (``s3://`` etc.) are refused at launch.
* ``setup.sh`` / ``run.sh`` hold the task's scripts, run as ``bash <file>`` (no host shell).

``setup`` runs once (prefix ``(setup pid=N)``); a non-zero exit ends the job FAILED_SETUP and
``run`` never starts. Then ``num_nodes`` processes run ``run``, each in its own process group,
with the environment of the supervisor plus the task's envs plus SkyPilot's variables
(SKYPILOT_NODE_RANK, SKYPILOT_NODE_IPS: one 127.0.0.1 line per node, SKYPILOT_NUM_NODES,
SKYPILOT_NUM_GPUS_PER_NODE: the accelerator count asked for, else 0, SKYPILOT_TASK_ID,
SKYPILOT_CLUSTER_INFO). Lines are prefixed as SkyPilot prints them (see ``nodes.node_prefix``).
Any non-zero node exit fails the job; exit codes per rank are recorded. Cancel: SIGTERM to every
node group and every descendant, SIGKILL after ``settings.cancel_grace``, then CANCELLED.

A job's processes end with it: the supervisor is a child subreaper, so descendants that start
their own session stay its descendants and are ended with the job (see ``nodes``). Every process
of the job inherits ``SKYEXEC_NB_JOB_ID`` and ``SKYEXEC_NB_JOB_TOKEN`` (random per job, recorded
in the row's ``extra.job_token``), so another process can find and end the job's leftovers
should the supervisor itself be killed (``procs.marked``).
"""
from __future__ import annotations

import datetime
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from skyexec_nb.engine.jobs.backend_api import BaseBackend, RunContext
from skyexec_nb.engine.jobs.procs import JOB_TOKEN_ENV, become_subreaper
from skyexec_nb.engine.jobs import secrets
from skyexec_nb.engine.backends.nodes import SETUP_PREFIX, NodeResult, NodeSpec, node_prefix, run_nodes
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError


def _mount_source(target: str, source: Any) -> Path:
    """The local source path of a file mount, or FieldError for a cloud/absent source."""
    if isinstance(source, dict):
        source = source.get("source")
    if not isinstance(source, str) or "://" in source:
        raise FieldError("file_mounts", f"a local source for the local backend (target {target})", source)
    path = Path(source).expanduser()
    if not path.exists():
        raise FieldError("file_mounts", f"an existing local path (target {target})", source)
    return path.absolute()


def mount_path(mounts_dir: Path, target: str) -> Path:
    """Where ``target`` appears under ``mounts_dir`` (see the module docstring)."""
    if target.startswith("~"):
        target = "home/" + target[1:].lstrip("/")
    elif not target.startswith("/"):
        target = "home/" + target
    parts = [p for p in Path(target).parts if p not in ("/", "", ".")]
    if ".." in parts or not parts:
        raise FieldError("file_mounts", "a target path without '..'", target)
    return mounts_dir.joinpath(*parts)


def _workdir_source(config: dict[str, Any]) -> Path | None:
    workdir = config.get("workdir")
    if not workdir:
        return None
    if not isinstance(workdir, str) or "://" in workdir or not Path(workdir).expanduser().is_dir():
        raise FieldError("workdir", "an existing local directory for the local backend", workdir)
    return Path(workdir).expanduser().absolute()


def gpus_per_node(config: dict[str, Any]) -> int:
    """The accelerator count asked for per node (first alternative), or 0."""
    resources = config.get("resources") or {}
    options = resources.get("any_of") or resources.get("ordered") or [{}]
    accelerators = resources.get("accelerators") or (options[0] or {}).get("accelerators")
    if isinstance(accelerators, (list, tuple)):
        accelerators = accelerators[0] if accelerators else None
    if isinstance(accelerators, dict):
        count = next(iter(accelerators.values()), 1) if accelerators else 0
    elif isinstance(accelerators, str):
        count = accelerators.split(":", 1)[1] if ":" in accelerators else 1
    else:
        count = 0
    return int(math.ceil(float(count or 0)))


def _task_id(ctx: RunContext, created: float) -> str:
    stamp = datetime.datetime.fromtimestamp(created).strftime("%Y-%m-%d-%H-%M-%S-%f")
    return f"sky-{stamp}_{ctx.cluster}_{ctx.job_id}"


class LocalBackend(BaseBackend):
    """Runs setup and ``num_nodes`` node processes on this machine."""

    name = "local"
    initial_status = JobStatus.INIT

    def precheck(self, config: dict[str, Any], launch_options: dict[str, Any]) -> None:
        """Refuse cloud/absent file_mount sources, a non-local workdir and bad targets."""
        _workdir_source(config)
        for target, source in (config.get("file_mounts") or {}).items():
            _mount_source(target, source)
            mount_path(Path("/"), target)

    def down(self, job: Any) -> str:
        """Nothing to tear down: local jobs run on this machine."""
        return f"Job {job.id} ran locally: no cluster to tear down."

    def run(self, ctx: RunContext) -> None:
        """Prepare the job dir, run setup then the nodes; end in a terminal state."""
        config = ctx.config
        become_subreaper()
        work, mounts = self._prepare(ctx)
        env = self._base_env(ctx, mounts)
        grace = float(ctx.launch_options.get("cancel_grace", get_settings().cancel_grace))
        setup = config.get("setup")
        if setup:
            if not ctx.set_status(JobStatus.SETTING_UP):
                return
            script = self._script(ctx, "setup.sh", setup)
            setup_env = {**env, "SKYPILOT_SETUP_NODE_RANK": "0", "SKYPILOT_SETUP_NODE_IPS": env["SKYPILOT_NODE_IPS"]}
            code = run_nodes(ctx, script, work, [NodeSpec(0, SETUP_PREFIX, setup_env)], grace).codes[0]
            if ctx.cancelled.is_set():
                ctx.set_status(JobStatus.CANCELLED)
                return
            if code != 0:
                ctx.log.write_line(f"ERROR: Job {ctx.job_id}'s setup failed with return code {code}.")
                ctx.set_status(JobStatus.FAILED_SETUP, error=f"setup exited with code {code}")
                return
        if ctx.cancelled.is_set() or not ctx.set_status(JobStatus.RUNNING):
            ctx.set_status(JobStatus.CANCELLED)
            return
        script = self._script(ctx, "run.sh", config.get("run") or "")
        num_nodes = int(config.get("num_nodes") or 1)
        specs = [
            NodeSpec(rank, node_prefix(num_nodes, rank, config.get("name")),
                     {**env, "SKYPILOT_NODE_RANK": str(rank)})
            for rank in range(num_nodes)
        ]
        self._finish(ctx, run_nodes(ctx, script, work, specs, grace))

    @staticmethod
    def _finish(ctx: RunContext, result: NodeResult) -> None:
        codes = result.codes
        exit_codes = {str(rank): code for rank, code in codes.items()}
        if ctx.cancelled.is_set():
            ctx.set_status(JobStatus.CANCELLED, exit_codes=exit_codes)
            return
        if result.first_failure is None:
            ctx.set_status(JobStatus.SUCCEEDED, exit_codes=exit_codes)
            return
        rank = result.first_failure
        code = codes[rank]
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        ctx.log.write_line(f"ERROR: Job {ctx.job_id} failed with return code list: {list(codes.values())}")
        ctx.set_status(JobStatus.FAILED, exit_codes=exit_codes, error=f"node rank {rank} {how}")

    @staticmethod
    def _prepare(ctx: RunContext) -> tuple[Path, Path]:
        """Create ``work/`` (a copy of workdir) and ``mounts/`` (symlinks); returns both."""
        work, mounts = ctx.job_dir / "work", ctx.job_dir / "mounts"
        source = _workdir_source(ctx.config)
        if source is not None:
            shutil.copytree(source, work, symlinks=True, dirs_exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        mounts.mkdir(parents=True, exist_ok=True)
        for target, src in (ctx.config.get("file_mounts") or {}).items():
            link = mount_path(mounts, target)
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(_mount_source(target, src), target_is_directory=True)
        return work, mounts

    @staticmethod
    def _base_env(ctx: RunContext, mounts: Path) -> dict[str, str]:
        config = ctx.config
        num_nodes = int(config.get("num_nodes") or 1)
        row = ctx.registry.get(ctx.job_id)
        envs = {k: str(v) for k, v in (config.get("envs") or {}).items() if v is not None}
        envs = secrets.fill_envs(envs, secrets.take(ctx.job_dir))  # real values, in memory only
        inherited = {k: v for k, v in os.environ.items() if k != JOB_TOKEN_ENV}
        token = (row.get("extra") or {}).get("job_token")
        return {
            **inherited,
            **envs,
            **({JOB_TOKEN_ENV: token} if token else {}),
            "SKYPILOT_NODE_IPS": "\n".join(["127.0.0.1"] * num_nodes),
            "SKYPILOT_NUM_NODES": str(num_nodes),
            "SKYPILOT_NUM_GPUS_PER_NODE": str(gpus_per_node(config)),
            "SKYPILOT_TASK_ID": _task_id(ctx, row["created"]),
            "SKYPILOT_CLUSTER_INFO": json.dumps(
                {"cluster_name": ctx.cluster, "cloud": "local", "region": None, "zone": None}),
            "SKYEXEC_NB_MOUNTS": str(mounts),
            "SKYEXEC_NB_JOB_ID": str(ctx.job_id),
        }

    @staticmethod
    def _script(ctx: RunContext, filename: str, body: str) -> Path:
        path = ctx.job_dir / filename
        path.write_text(body if body.endswith("\n") else body + "\n")
        return path


BACKEND = LocalBackend()
