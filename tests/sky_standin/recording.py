"""The SDK stand-in, recording what each launch's ``sky.Task`` carries in ``envs`` and ``secrets``.

Use ``SKYEXEC_NB_SKY_SDK=sky_standin.recording``. Every attribute is the stand-in's
(``sky_standin``), except ``launch`` and ``jobs.launch``, which first append a record to
``$SKY_STANDIN_DIR/tasks.jsonl``: the task's env names and values, and its secret names with the
SHA-256 of each value (never the value itself) and whether SkyPilot holds it as a ``SecretStr``.
"""
from __future__ import annotations

import hashlib
import json
import os
import types
from pathlib import Path
from typing import Any

import sky_standin
from sky_standin import jobs as _jobs


def tasks_file() -> Path:
    """Where the records go."""
    return Path(os.environ["SKY_STANDIN_DIR"]) / "tasks.jsonl"


def recorded() -> list[dict[str, Any]]:
    """Every record so far, oldest first."""
    path = tasks_file()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _record(call: str, task: Any) -> None:
    secrets = {name: {"sha256": hashlib.sha256(value.get_secret_value().encode()).hexdigest(),
                      "secret_str": type(value).__name__ == "SecretStr"}
               for name, value in task.secrets.items()}
    path = tasks_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as out:
        out.write(json.dumps({"call": call, "envs": dict(task.envs), "secrets": secrets}) + "\n")


def launch(task, *args, **kwargs):
    _record("launch", task)
    return sky_standin.launch(task, *args, **kwargs)


def _jobs_launch(task, *args, **kwargs):
    _record("jobs.launch", task)
    return _jobs.launch(task, *args, **kwargs)


jobs = types.SimpleNamespace(**{name: getattr(_jobs, name) for name in dir(_jobs) if not name.startswith("__")})
jobs.launch = _jobs_launch


def __getattr__(name: str) -> Any:
    return getattr(sky_standin, name)
