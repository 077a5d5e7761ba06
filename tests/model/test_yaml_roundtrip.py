"""Any task YAML SkyPilot accepts opens as an executor and writes back to a task SkyPilot reads the same.

Each YAML (``tests/model/task_yamls/`` and the task YAMLs inside the installed SkyPilot package) is
parsed by SkyPilot from the original and from what ``SkyExecutor.from_config(...).to_config(...)``
writes; the two ``sky.Task`` objects are compared through SkyPilot's own canonical dump
(``Task.to_yaml_config``): resources with their order (an ``ordered`` list stays a list, a set is
compared as a set), num_nodes, setup, run, envs, secrets, file mounts and storage, workdir,
service, pool and ``config``.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from skyexec_nb.model.executor import SkyExecutor

HERE = Path(__file__).resolve().parent / "task_yamls"


def _sky_recipes() -> list[Path]:
    try:
        import importlib.util

        spec = importlib.util.find_spec("sky")
    except ImportError:  # pragma: no cover - skypilot is a dependency
        return []
    root = Path(spec.origin).parent / "recipes" / "examples"
    return sorted(p for p in root.glob("*.yaml") if "volume" not in p.name)  # volumes are not tasks


YAMLS = sorted(HERE.glob("*.yaml")) + _sky_recipes()


def _required_envs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Values for envs left empty ("set at launch"), as ``sky launch --env NAME=value`` gives them."""
    return [(k, f"given-{k}") for k, v in (config.get("envs") or {}).items() if v is None]


def _canonical(config: dict[str, Any]) -> dict[str, Any]:
    """SkyPilot's own dump of the task it parses from ``config`` (sets of candidates sorted)."""
    import sky

    task = sky.Task.from_yaml_config(copy.deepcopy(config), env_overrides=_required_envs(config) or None)
    out = task.to_yaml_config()
    out.pop("_user_specified_yaml", None)  # the text as given, not its meaning
    resources = out.get("resources") or {}
    if "any_of" in resources:  # a set: order does not matter
        resources["any_of"] = sorted(resources["any_of"], key=lambda r: json.dumps(r, sort_keys=True))
    return json.loads(json.dumps(out, sort_keys=True, default=str))


def _make_local_sources(config: dict[str, Any], home: Path) -> None:
    """Create the local files a YAML mounts (``~/x`` under the test's own HOME), as a user has them."""
    for source in (config.get("file_mounts") or {}).values():
        if isinstance(source, str) and source.startswith("~/"):
            path = home / source[2:]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")


@pytest.mark.parametrize("path", YAMLS, ids=[p.name for p in YAMLS])
def test_yaml_round_trip_is_faithful(path: Path, isolated_home: Path) -> None:
    original = yaml.safe_load(path.read_text())
    _make_local_sources(original, isolated_home)
    executor = SkyExecutor.from_config(copy.deepcopy(original))
    written = executor.to_config(original.get("name") or "task", cmd=original.get("run"))
    if "name" not in original:
        written.pop("name", None)
    assert _canonical(written) == _canonical(original)
    # and writing it again changes nothing
    again = SkyExecutor.from_config(copy.deepcopy(written)).to_config(written.get("name") or "task",
                                                                      cmd=written.get("run"))
    if "name" not in written:
        again.pop("name", None)
    assert again == written
