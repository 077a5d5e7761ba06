"""Secret values at rest: a 0600 file in the job's directory, read once by the job, then removed.

At launch, :func:`split` takes the secret values out of the task config (see
:func:`skyexec_nb.model.masking.split_secrets`): the registry keeps the config with each secret
value replaced by ``'********'`` and the list of secret names (``launch_options['secret_names']``);
:func:`write` puts the values in ``<job_dir>/secrets.json``, created with ``O_CREAT|O_EXCL`` and
mode 0600 (only the user can read it). In the supervisor, the backend calls :func:`take` (read,
then remove) before it starts the job's processes or submits its SkyPilot request, and keeps
the values in memory only; :func:`remove` drops a file no backend took (a job that ended before
it ran).

* local backend: :func:`fill_envs` gives the node processes the real values;
* SkyPilot backends: :func:`sky_task_config` moves the secret names from ``envs`` into the task's
  ``secrets:`` section (SkyPilot redacts those in its dashboard and logs).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from skyexec_nb.model.masking import MASK, is_secret_name, split_secrets

FILENAME = "secrets.json"
NAMES_OPTION = "secret_names"


def path_in(job_dir: Path | str) -> Path:
    """The secrets file of a job directory."""
    return Path(job_dir) / FILENAME


def split(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(config to store, {name: secret value})``; see the module docstring."""
    return split_secrets(config)


def write(job_dir: Path | str, values: Mapping[str, str]) -> Path | None:
    """Write ``values`` to the job's 0600 secrets file; nothing (None) when there are none.

    The file is created exclusively (``O_CREAT|O_EXCL``, mode 0600): a file or symlink already
    at that path is removed first, never written through.
    """
    if not values:
        return None
    path = path_in(job_dir)
    data = json.dumps(dict(values)).encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        path.unlink()
        fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return path


def read(job_dir: Path | str) -> dict[str, str]:
    """The job's secret values ({} when it has no secrets file)."""
    try:
        return {str(k): str(v) for k, v in json.loads(path_in(job_dir).read_bytes()).items()}
    except FileNotFoundError:
        return {}


def remove(job_dir: Path | str) -> None:
    """Remove the job's secrets file if it is there."""
    try:
        path_in(job_dir).unlink()
    except FileNotFoundError:
        pass


def take(job_dir: Path | str) -> dict[str, str]:
    """Read the job's secret values and remove the file (the caller keeps them in memory)."""
    values = read(job_dir)
    remove(job_dir)
    return values


def check_complete(config: Mapping[str, Any], values: Mapping[str, str]) -> None:
    """Raise RuntimeError (one line) when a masked secret of ``config`` has no value in ``values``.

    The job must not run with ``********`` in place of a key (e.g. its secrets file was deleted).
    """
    envs = config.get("envs") if isinstance(config.get("envs"), Mapping) else {}
    section = config.get("secrets") if isinstance(config.get("secrets"), Mapping) else {}
    lost = sorted({k for k, v in envs.items() if v == MASK and is_secret_name(k) and k not in values}
                  | {k for k, v in section.items() if v == MASK and k not in values})
    if lost:
        raise RuntimeError(f"the value of secret {', '.join(lost)} is no longer available (the job's "
                           f"{FILENAME} is gone): launch the job again")


def fill_envs(envs: Mapping[str, Any] | None, values: Mapping[str, str]) -> dict[str, Any]:
    """``envs`` with each secret's real value (a secret absent from ``envs`` is added)."""
    check_complete({"envs": dict(envs or {})}, values)
    return {**dict(envs or {}), **dict(values)}


def sky_task_config(config: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The task dict for ``sky.Task.from_yaml_config``: secrets in ``secrets:``, not in ``envs``.

    Every name in ``values`` leaves ``envs`` and goes into ``secrets`` with its value; a masked
    value whose secret is missing (its file was lost) is refused rather than sent as ``********``.
    """
    check_complete(config, values)
    task = json.loads(json.dumps(dict(config)))  # a deep copy SkyPilot may fill in
    envs = {k: v for k, v in (task.get("envs") or {}).items() if k not in values}
    section = task.get("secrets") if isinstance(task.get("secrets"), dict) else {}
    section = {k: v for k, v in section.items() if k not in values}
    section.update(values)
    if envs:
        task["envs"] = envs
    else:
        task.pop("envs", None)
    if section:
        task["secrets"] = section
    else:
        task.pop("secrets", None)
    return task
