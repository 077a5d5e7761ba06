"""SkyPilot task YAML from executor fields and back, in pure Python (no ``sky`` import).

The output of :func:`task_config` is a dict that ``sky.Task.from_yaml_config`` and
``sky launch task.yaml`` accept. List fields become ``resources.any_of`` candidates (zipped by
index), except a ``gpus`` list without 'none', which is SkyPilot's accelerator set
(``{A100: 8, H100: 8}``) crossed with every candidate, as NeMo-Run means it; everything else is
common to all candidates. The reverse direction is :mod:`~skyexec_nb.model.yaml_import`.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping, Sequence

import yaml

from skyexec_nb.model import macros
from skyexec_nb.model import validation as v
from skyexec_nb.model.errors import FieldError

REMOTE_RUN_DIR = "/skyexec_nb"
"""Where an assigned executor's job directory is mounted on the nodes."""

RESOURCE_KEYS: dict[str, str] = {f: "accelerators" if f == "gpus" else f for f in v.LIST_FIELDS}
"""List field -> its key in a SkyPilot resources dict."""

TASK_KEYS = ("name", "setup", "run", "envs", "num_nodes", "file_mounts", "workdir", "resources", "config")
_COMMON_KEYS = ("infra", "network_tier", "ports", "image_id", "job_recovery", "autostop",
                "_cluster_config_overrides")
_TIME_UNITS = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}


# --- executor -> YAML ------------------------------------------------------------------------


def run_script(cmd: str | Sequence[str] | None) -> str | None:
    """The run script: a string is kept byte for byte, a list is shell-quoted and joined.

    NeMo-Run's macro references (``$num_nodes``, ``$head_node_ip``, ``$SKYPILOT_NODE_RANK``,
    ``$SKYPILOT_NUM_GPUS_PER_NODE``) in a list stay expandable; a script that uses ``$num_nodes``
    or ``$head_node_ip`` gets the two lines defining them first (see ``model/macros.py``).
    """
    if cmd is None:
        return None
    if not isinstance(cmd, str):
        if not isinstance(cmd, (list, tuple)) or not all(isinstance(a, (str, int, float)) for a in cmd):
            raise FieldError("cmd", "a bash script (str) or a list of arguments", cmd)
        cmd = macros.join_args([str(a) for a in cmd])
    return macros.with_preamble(cmd)


def _accelerators(item: str, per_node: int | None) -> str | dict[str, int]:
    """``"A100:8"`` stays a string; a bare name takes gpus_per_node as ``{name: count}``."""
    name, count = v.split_gpu(item)
    return {name: per_node} if count is None and per_node is not None else item


def _accelerator_set(items: list[str], per_node: int | None) -> dict[str, int | float]:
    """A ``gpus`` set as SkyPilot's accelerator set ``{name: count}`` (count 1 when none is given)."""
    out: dict[str, int | float] = {}
    for item in items:
        name, count = v.split_gpu(item)
        out[name] = count if count is not None else (per_node if per_node is not None else 1)
    return out


def _job_recovery(recovery: Any, retries: int) -> Any:
    """``job_recovery`` with NeMo-Run's ``retries`` as ``max_restarts_on_errors`` (unless it sets it)."""
    if not retries:
        return recovery
    if isinstance(recovery, str):
        return {"strategy": recovery, "max_restarts_on_errors": retries}
    return {**(recovery or {}), "max_restarts_on_errors": (recovery or {}).get("max_restarts_on_errors", retries)}


def _autostop(idle: int | None, down: bool) -> dict[str, Any] | None:
    if idle is None and not down:
        return None
    form: dict[str, Any] = {} if idle is None else {"idle_minutes": idle}
    return {**form, "down": True} if down else form


def resources_config(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The ``resources`` dict of parsed executor fields (``any_of`` when several candidates)."""
    n = v.candidate_count(fields)
    common: dict[str, Any] = {}
    columns: dict[str, list[Any]] = {}
    per_node = fields.get("gpus_per_node")
    if fields.get("infra") is not None:
        common["infra"] = fields["infra"]
    for field, key in RESOURCE_KEYS.items():
        value = fields.get(field)
        convert = (lambda x: _accelerators(x, per_node)) if field == "gpus" else (lambda x: x)
        if field == "gpus" and v.gpus_is_set(value):
            common[key] = _accelerator_set(value, per_node)
        elif isinstance(value, list):
            columns[key] = [x if x == v.NONE else convert(x) for x in value]
        elif value is not None:
            common[key] = convert(value)
    extras = {
        "network_tier": fields.get("network_tier"),
        "ports": [str(p) for p in fields["ports"]] if fields.get("ports") else None,
        "image_id": f"docker:{fields['container_image']}" if fields.get("container_image") else None,
        "job_recovery": _job_recovery(fields.get("job_recovery"), fields.get("retries") or 0),
        "autostop": _autostop(fields.get("idle_minutes_to_autostop"), bool(fields.get("autodown"))),
    }
    common.update({k: copy.deepcopy(x) for k, x in extras.items() if x is not None})
    if columns:
        candidates = [{k: col[i] for k, col in columns.items() if col[i] != v.NONE} for i in range(n)]
        common["any_of"] = copy.deepcopy(candidates)
    return common


def task_config(fields: Mapping[str, Any], name: str, run: str | None, envs: Mapping[str, str],
                job_dir: str | None = None, workdir: str | None = None) -> dict[str, Any]:
    """The SkyPilot task YAML dict of parsed executor fields (nothing shared with ``fields``)."""
    if not isinstance(name, str) or not name.strip():
        raise FieldError("name", "a non-empty task name", name)
    config: dict[str, Any] = {"name": name}
    if fields.get("setup"):
        config["setup"] = fields["setup"]
    if run is not None:
        config["run"] = run
    if envs:
        config["envs"] = dict(envs)
    if fields.get("secrets"):
        config["secrets"] = dict(fields["secrets"])
    config["num_nodes"] = fields.get("num_nodes", 1)
    mounts = copy.deepcopy(fields.get("file_mounts") or {})
    for target, spec in (fields.get("storage_mounts") or {}).items():
        if target in mounts:
            raise FieldError("storage_mounts", f"a path file_mounts does not use ({target} is in both)",
                             target)
        mounts[target] = copy.deepcopy(spec)
    if job_dir is not None:
        mounts[REMOTE_RUN_DIR] = job_dir
    if mounts:
        config["file_mounts"] = mounts
    if workdir is not None:
        config["workdir"] = workdir
    resources = resources_config(fields)
    if resources:
        config["resources"] = resources
    if fields.get("cluster_config_overrides"):
        config["config"] = copy.deepcopy(fields["cluster_config_overrides"])
    return config


class _ScriptDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (setup/run scripts) as literal ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value.rstrip("\n") or value.endswith("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ScriptDumper.add_representer(str, _represent_str)


def dump_yaml(config: Mapping[str, Any]) -> str:
    """Safe YAML, keys in the order given; scripts as literal blocks (read back byte for byte).

    PyYAML falls back to a quoted scalar where a block cannot hold the text exactly (e.g.
    trailing spaces on a line), so the round trip is exact either way.
    """
    return yaml.dump(dict(config), Dumper=_ScriptDumper, sort_keys=False, allow_unicode=True)


# --- YAML -> executor fields -----------------------------------------------------------------


def _refuse(key: str, allowed: Sequence[str], value: Any) -> FieldError:
    return FieldError(key, f"keys skyexec_nb can represent ({', '.join(allowed)})", value)


def _gpus_from(column: list[Any]) -> tuple[list[Any], int | None]:
    """Accelerator values back to gpus items and a shared gpus_per_node (or None)."""
    items: list[Any] = []
    dict_counts = set()
    for acc in column:
        if isinstance(acc, dict):
            if len(acc) != 1:
                raise FieldError("accelerators", "one accelerator per candidate", acc)
            (name, count), = acc.items()
            items.append((str(name), count))
            dict_counts.add(count)
        else:
            items.append(acc)
    inline = [v.split_gpu(x)[1] for x in items if isinstance(x, str) and x != v.NONE]
    per_node = next(iter(dict_counts)) if len(dict_counts) == 1 else None
    if per_node is not None and any(c is not None and c != per_node for c in inline):
        per_node = None
    gpus = [x if isinstance(x, str) else (x[0] if x[1] == per_node else f"{x[0]}:{x[1]}")
            for x in items]
    return gpus, per_node


def _split_alternatives(resources: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Common keys and candidate dicts (``any_of``/``ordered``, or several accelerators)."""
    candidates = resources.pop("any_of", None) or resources.pop("ordered", None) or []
    acc = resources.get("accelerators")
    several = isinstance(acc, list) or (isinstance(acc, dict) and len(acc) > 1)
    if several and candidates:
        raise FieldError("accelerators", "one accelerator when any_of/ordered is used", acc)
    if several:
        del resources["accelerators"]
        items = acc if isinstance(acc, list) else [{k: c} for k, c in acc.items()]
        candidates = [{"accelerators": x} for x in items]
    for cand in candidates:
        extra = [k for k in cand if k not in RESOURCE_KEYS.values()]
        if extra:
            raise _refuse("any_of", list(RESOURCE_KEYS.values()), extra[0])
    return resources, candidates


def _autostop_fields(autostop: Any) -> dict[str, Any]:
    if autostop is False or autostop is None:
        return {}
    if autostop is True:
        return {"idle_minutes_to_autostop": 0}
    if isinstance(autostop, int):
        return {"idle_minutes_to_autostop": autostop}
    if isinstance(autostop, str) and re.fullmatch(r"\d+[mhdwMHDW]?", autostop):
        unit = autostop[-1].lower() if autostop[-1].isalpha() else "m"
        return {"idle_minutes_to_autostop": int(autostop.rstrip("mhdwMHDW")) * _TIME_UNITS[unit]}
    if isinstance(autostop, dict) and set(autostop) <= {"idle_minutes", "down"}:
        down = autostop.get("down", False)
        idle = autostop.get("idle_minutes", None if down is True else 0)
        return {"autodown": down, **({} if idle is None else {"idle_minutes_to_autostop": idle})}
    raise FieldError("autostop", "false, minutes, or {idle_minutes, down}", autostop)


def _image_fields(image: Any) -> dict[str, Any]:
    if isinstance(image, dict) and set(image) == {"docker"}:
        image = f"docker:{image['docker']}"
    if not (isinstance(image, str) and image.startswith("docker:")):
        raise FieldError("image_id", "a docker image ('docker:IMAGE')", image)
    return {"container_image": image[len("docker:"):]}


def resources_fields(resources: Mapping[str, Any] | None) -> dict[str, Any]:
    """Executor field values (unparsed) of a SkyPilot resources dict."""
    common, candidates = _split_alternatives(copy.deepcopy(dict(resources or {})))
    allowed = [*RESOURCE_KEYS.values(), *_COMMON_KEYS, "any_of", "ordered"]
    fields: dict[str, Any] = {}
    for key in common:
        if key not in allowed:
            raise _refuse("resources", allowed, key)
    for field, key in RESOURCE_KEYS.items():
        varies = any(key in c for c in candidates)
        if not varies and key not in common:
            continue
        column = [c.get(key, common.get(key, v.NONE)) for c in candidates] if varies else [common[key]]
        if key == "accelerators":
            column, per_node = _gpus_from(column)
            if per_node is not None:
                fields["gpus_per_node"] = per_node
        fields[field] = column if varies else column[0]
    simple = {"infra": "infra", "network_tier": "network_tier", "job_recovery": "job_recovery",
              "_cluster_config_overrides": "cluster_config_overrides"}
    fields.update({f: common[k] for k, f in simple.items() if k in common})
    if common.get("ports") is not None:
        fields["ports"] = common["ports"]
    if common.get("image_id") is not None:
        fields.update(_image_fields(common["image_id"]))
    fields.update(_autostop_fields(common.get("autostop")))
    return fields


def task_fields(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Executor field values and extras (``job_dir``, ``workdir``) of a SkyPilot task dict."""
    if not isinstance(config, Mapping):
        raise FieldError("config", "a SkyPilot task YAML mapping", config)
    unknown = [k for k in config if k not in TASK_KEYS]
    if unknown:
        raise _refuse("task YAML", TASK_KEYS, unknown[0])
    fields = resources_fields(config.get("resources"))
    mounts = copy.deepcopy(dict(config.get("file_mounts") or {}))
    extras = {"job_dir": mounts.pop(REMOTE_RUN_DIR, None), "workdir": config.get("workdir")}
    simple = {"setup": config.get("setup"), "env_vars": config.get("envs"), "file_mounts": mounts or None,
              "num_nodes": config.get("num_nodes"), "cluster_config_overrides": config.get("config")}
    fields.update({k: copy.deepcopy(x) for k, x in simple.items() if x is not None})
    return fields, extras


def load_yaml(text: str) -> dict[str, Any]:
    """Parse YAML text that must hold a mapping."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise FieldError("yaml", "a SkyPilot task YAML mapping", data)
    return data


def load_yaml_file(path: Any) -> dict[str, Any]:
    """Parse a task YAML file that must hold a mapping (FieldError, one line, when it cannot)."""
    import os

    try:
        with open(os.path.expanduser(os.fspath(path)), encoding="utf-8") as f:
            text = f.read()
    except (OSError, TypeError, ValueError) as exc:
        raise FieldError("task", "a readable SkyPilot task YAML file", f"{path} ({type(exc).__name__}: "
                                 f"{getattr(exc, 'strerror', None) or exc})") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:200]
        raise FieldError("task", "valid YAML", f"{path} ({first})") from None
