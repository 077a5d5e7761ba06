"""A SkyPilot task YAML dict -> executor fields, plus what the fields cannot represent, kept.

Nothing SkyPilot accepts is refused: each part of the YAML becomes an executor field when a field
can say exactly the same thing, and is otherwise *kept* unchanged (``SkyExecutor.kept``) and
written back as it was by ``to_config``. Order and set semantics are SkyPilot's: an
``accelerators`` dict is a set (becomes a ``gpus`` list), an ``accelerators`` list is an order of
preference and ``ordered:`` a list of candidates (both kept), ``any_of:`` a set of candidates
(becomes list fields when every candidate only sets list fields, else kept).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

from skyexec_nb.model import validation as v
from skyexec_nb.model.errors import FieldError

#: Task keys given to ``to_config`` separately (the task's name and run script).
PASSED_KEYS = ("name", "run")
#: Resources key -> executor field, for keys that map one to one.
_SIMPLE_RESOURCES: dict[str, str] = {
    "cloud": "cloud", "region": "region", "zone": "zone", "cpus": "cpus", "memory": "memory",
    "instance_type": "instance_type", "use_spot": "use_spot", "disk_size": "disk_size",
    "disk_tier": "disk_tier", "infra": "infra", "network_tier": "network_tier", "ports": "ports",
    "job_recovery": "job_recovery", "_cluster_config_overrides": "cluster_config_overrides",
}
_COLUMN_KEYS = {key: field for key, field in _SIMPLE_RESOURCES.items() if field in v.LIST_FIELDS}
_TIME_UNITS = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}


def _parses(field: str, value: Any) -> bool:
    try:
        v.parse_field(field, value)
    except (FieldError, TypeError, ValueError):
        return False
    return True


def _gpu_item(name: Any, count: Any) -> str | None:
    """``"A100:8"`` for a name and count SkyPilot wrote as a dict entry, or None."""
    if count is None:
        return str(name)
    if isinstance(count, bool) or not isinstance(count, (int, float)):
        return None
    return f"{name}:{int(count) if float(count).is_integer() else count}"


def _accelerator_fields(acc: Any) -> dict[str, Any] | None:
    """``gpus`` (and ``gpus_per_node``) for an accelerators value, or None to keep it as is.

    A string or a one-entry dict is one accelerator; a dict of several is a set of alternatives
    (a ``gpus`` list without 'none'); a list is an order of preference, which no field states.
    """
    if isinstance(acc, str):
        return {"gpus": acc} if _parses("gpus", acc) else None
    if not isinstance(acc, dict) or not acc:
        return None
    items = [_gpu_item(name, count) for name, count in acc.items()]
    if any(item is None for item in items):
        return None
    counts = {c for c in acc.values()}
    if len(counts) == 1 and isinstance(next(iter(counts)), int) and not isinstance(next(iter(counts)), bool):
        names = [str(name) for name in acc]
        fields = {"gpus": names[0] if len(names) == 1 else names, "gpus_per_node": next(iter(counts))}
    else:
        fields = {"gpus": items[0] if len(items) == 1 else items}
    if len(items) > 1 and v.NONE in fields["gpus"]:
        return None
    return fields if all(_parses(f, x) for f, x in fields.items()) else None


def _autostop_fields(autostop: Any) -> dict[str, Any] | None:
    if autostop is False:
        return {}
    if autostop is True:
        return {"idle_minutes_to_autostop": 0}
    if isinstance(autostop, int) and not isinstance(autostop, bool):
        return {"idle_minutes_to_autostop": autostop}
    if isinstance(autostop, str) and autostop[:-1].isdigit() and autostop[-1].lower() in _TIME_UNITS:
        return {"idle_minutes_to_autostop": int(autostop[:-1]) * _TIME_UNITS[autostop[-1].lower()]}
    if isinstance(autostop, str) and autostop.isdigit():
        return {"idle_minutes_to_autostop": int(autostop)}
    if isinstance(autostop, dict) and set(autostop) <= {"idle_minutes", "down"} and autostop:
        down = autostop.get("down", False)
        if not isinstance(down, bool):
            return None
        idle = autostop.get("idle_minutes", None if down else 0)
        return {"autodown": down, **({} if idle is None else {"idle_minutes_to_autostop": idle})}
    return None


def _image_fields(image: Any) -> dict[str, Any] | None:
    """A docker image (``docker:IMAGE``) is ``container_image``; an AMI or a per-region map is kept."""
    if isinstance(image, str) and image.startswith("docker:") and len(image) > len("docker:"):
        return {"container_image": image[len("docker:"):]}
    return None


def _candidate_gpu(acc: Any) -> str | None:
    """One candidate's accelerators as a ``gpus`` item (``"A100:8"``), or None if not one."""
    if isinstance(acc, str):
        return acc
    if isinstance(acc, dict) and len(acc) == 1:
        return _gpu_item(*next(iter(acc.items())))
    return None


def _columns(candidates: Any, fields: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, list[Any]] | None:
    """List fields of ``any_of`` candidates that only set list fields, else None (kept).

    ``fields``/``kept`` are what the common part already gave: a key set there and in a candidate
    stays in the YAML's own form. A candidate's accelerators become a ``gpus`` column only when
    some candidate has none (``'none'`` keeps the column zipped; without one it would read as a
    set crossing every candidate).
    """
    if not isinstance(candidates, list) or not candidates or not all(isinstance(c, dict) for c in candidates):
        return None
    keys = {k for c in candidates for k in c}
    column_fields = {"gpus" if k == "accelerators" else _COLUMN_KEYS.get(k) for k in keys}
    if None in column_fields or keys & set(kept) or column_fields & set(fields):
        return None
    columns = {_COLUMN_KEYS[k]: [c.get(k, v.NONE) for c in candidates] for k in keys if k != "accelerators"}
    if "accelerators" in keys:
        gpus = [v.NONE if "accelerators" not in c else _candidate_gpu(c["accelerators"]) for c in candidates]
        if None in gpus or v.NONE not in gpus:
            return None
        columns["gpus"] = gpus
    if any(not _parses(field, column) for field, column in columns.items()):
        return None
    return columns


def resources_split(resources: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(fields, kept)`` of a SkyPilot resources dict: field values, and resources keys kept as is."""
    res = copy.deepcopy(dict(resources or {}))
    fields: dict[str, Any] = {}
    kept: dict[str, Any] = {}

    def take(key: str, convert: Callable[[Any], dict[str, Any] | None]) -> None:
        if key in res:
            value = res.pop(key)
            found = convert(value)
            if found is None:
                kept[key] = value
            else:
                fields.update(found)

    take("accelerators", _accelerator_fields)
    take("autostop", _autostop_fields)
    take("image_id", _image_fields)
    for key, field in _SIMPLE_RESOURCES.items():
        take(key, lambda value, f=field: {f: value} if _parses(f, value) else None)
    for key in ("any_of", "ordered"):
        if key not in res:
            continue
        candidates = res.pop(key)
        columns = _columns(candidates, fields, kept) if key == "any_of" else None
        if columns is None:
            kept[key] = candidates
        else:
            fields.update(columns)
    kept.update(res)  # anything else SkyPilot knows (labels, max_hourly_cost, volumes, ...)
    return fields, kept


def task_split(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(fields, extras, kept)`` of a SkyPilot task dict.

    ``extras`` holds ``job_dir`` and ``workdir`` (a local path); ``kept`` the task keys no field
    represents, with their resources part under ``kept['resources']``.
    """
    if not isinstance(config, Mapping):
        raise FieldError("config", "a SkyPilot task YAML mapping", config)
    from skyexec_nb.model.config import REMOTE_RUN_DIR

    fields, kept_resources = resources_split(config.get("resources"))
    kept = {k: copy.deepcopy(x) for k, x in config.items()
            if k not in (*PASSED_KEYS, "resources", "setup", "envs", "num_nodes", "file_mounts",
                         "workdir", "config", "secrets")}
    if kept_resources:
        kept["resources"] = kept_resources
    mounts = copy.deepcopy(dict(config.get("file_mounts") or {}))
    job_dir = mounts.pop(REMOTE_RUN_DIR, None)
    workdir = config.get("workdir")
    if workdir is not None and not isinstance(workdir, str):
        kept["workdir"], workdir = copy.deepcopy(workdir), None
    candidates = {"setup": config.get("setup"), "env_vars": config.get("envs"),
                  "secrets": config.get("secrets"), "file_mounts": mounts or None,
                  "num_nodes": config.get("num_nodes"), "cluster_config_overrides": config.get("config")}
    yaml_key = {"env_vars": "envs", "cluster_config_overrides": "config"}
    for field, value in candidates.items():
        if value is None:
            continue
        if field in ("num_nodes", "setup"):  # SkyPilot refuses what these refuse
            v.parse_field(field, value)
        if field in v.FIELD_PARSERS and _parses(field, value):
            fields[field] = copy.deepcopy(value)
        else:
            kept[yaml_key.get(field, field)] = copy.deepcopy(value)
    if "cluster_config_overrides" in fields and "_cluster_config_overrides" in (config.get("resources") or {}):
        kept["config"] = fields.pop("cluster_config_overrides")
    return fields, {"job_dir": job_dir, "workdir": workdir}, kept


def merge_kept(config: dict[str, Any], kept: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` (from the fields) with the kept YAML parts put back; a field's own key wins.

    Raises:
        FieldError: the fields make ``any_of`` candidates while the YAML's own ``any_of`` or
            ``ordered`` candidates are kept (one of the two must go).
    """
    if not kept:
        return config
    kept = copy.deepcopy(dict(kept))
    kept_resources = kept.pop("resources", None) or {}
    for key, value in kept.items():
        config.setdefault(key, value)
    if kept_resources:
        resources = config.setdefault("resources", {})
        alternatives = [k for k in ("any_of", "ordered") if k in kept_resources]
        if alternatives and "any_of" in resources:
            raise FieldError("alternatives", f"list fields or the YAML's own {alternatives[0]} "
                                             "candidates (kept from the YAML), not both", found=False)
        for key, value in kept_resources.items():
            resources.setdefault(key, value)
    return config
