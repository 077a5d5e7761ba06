"""Field parsers of the executor: each checks one value and returns its normal form.

Pure Python (no ``sky`` import). Every parser has the signature ``parse(value, field) -> value``
and raises :class:`~skyexec_nb.model.errors.FieldError` naming the field, what is allowed and what
was found. The constants mirror SkyPilot 0.14 (tests compare them with SkyPilot's own registries).
"""
from __future__ import annotations

import copy
import math
import re
from typing import Any, Callable, Mapping

from skyexec_nb.model.errors import FieldError

Parser = Callable[[Any, str], Any]

NONE = "none"
"""In a list field, the placeholder meaning "unset for this candidate"."""

CLOUDS: tuple[str, ...] = (
    "aws", "azure", "cudo", "do", "fluidstack", "gcp", "hyperbolic", "ibm", "kubernetes", "lambda",
    "mithril", "nebius", "oci", "paperspace", "primeintellect", "runpod", "scp", "seeweb",
    "shadeform", "slurm", "ssh", "vast", "verda", "vsphere", "yotta",
)
"""SkyPilot's cloud registry names (sky.utils.registry.CLOUD_REGISTRY)."""
CLOUD_ALIASES: dict[str, str] = {"k8s": "kubernetes", "digitalocean": "do"}
DISK_TIERS: tuple[str, ...] = ("low", "medium", "high", "ultra", "best")
NETWORK_TIERS: tuple[str, ...] = ("standard", "best")
JOB_RECOVERY_STRATEGIES: tuple[str, ...] = ("FAILOVER", "EAGER_NEXT_REGION")
JOB_RECOVERY_KEYS: tuple[str, ...] = ("strategy", "max_restarts_on_errors", "recover_on_exit_codes")

_MEMORY_UNITS = "kb|ki|mb|mi|gb|gi|tb|ti|pb|pi"
_CPUS_RE = re.compile(r"^\d+(\.\d+)?\+?$")
_MEMORY_RE = re.compile(rf"^\d+(\.\d+)?({_MEMORY_UNITS})?\+?$", re.IGNORECASE)
_DISK_RE = re.compile(rf"^\d+({_MEMORY_UNITS})?$", re.IGNORECASE)
_GPU_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_.+-]*)(?::(.*))?$")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLUSTER_RE = re.compile(r"^[a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")
_INFRA_RE = re.compile(
    r"^(?:(?i:kubernetes|k8s)(?:/.+)?|(?P<cloud>[A-Za-z0-9]+)(?:/[^/]+(?:/[^/]+)?)?"
    r"|\*(?:/[^/]+(?:/[^/]+)?)?)$"
)
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_none(value: Any) -> bool:
    """True for None and the string ``"none"`` (any case)."""
    return value is None or (isinstance(value, str) and value.strip().lower() == NONE)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)



def parse_cloud(value: Any, field: str = "cloud") -> str:
    """A SkyPilot cloud name (case-insensitive; aliases such as ``k8s`` are resolved)."""
    name = value.strip().lower() if isinstance(value, str) else None
    name = CLOUD_ALIASES.get(name, name)
    if name not in CLOUDS:
        raise FieldError(field, f"one of {', '.join(CLOUDS)}", value)
    return name


def parse_token(value: Any, field: str) -> str:
    """A non-empty string without whitespace (region, zone, instance type)."""
    if not isinstance(value, str) or not value.strip() or re.search(r"\s", value.strip()):
        raise FieldError(field, "a non-empty name without spaces", value)
    return value.strip()


def split_gpu(item: str) -> tuple[str, int | float | None]:
    """Split a parsed gpus item ``"A100:8"`` into ``("A100", 8)`` (count None when absent)."""
    name, _, count = item.partition(":")
    if not count:
        return name, None
    number = float(count)
    return name, int(number) if number.is_integer() else number


def parse_gpu(value: Any, field: str = "gpus") -> str:
    """An accelerator ``NAME`` or ``NAME:COUNT`` with a positive count (``"A100:8"``)."""
    allowed = "an accelerator NAME or NAME:COUNT with a positive count, e.g. 'A100:8'"
    match = _GPU_RE.match(value.replace(" ", "")) if isinstance(value, str) else None
    if match is None:
        raise FieldError(field, allowed, value)
    name, count = match.group(1), match.group(2)
    if count is None:
        return name
    try:
        number = float(count)
    except ValueError:
        number = 0.0
    if not (number > 0 and math.isfinite(number)):
        raise FieldError(field, allowed, value)
    return f"{name}:{int(number) if number.is_integer() else number}"


def _positive_amount(pattern: re.Pattern[str], what: str) -> Parser:
    def parse(value: Any, field: str) -> int | float | str:
        allowed = f"a positive number or a string of the form {what}"
        if _is_number(value):
            if value > 0:
                return value
        elif isinstance(value, str) and pattern.match(value.strip()):
            digits = re.match(r"^\d+(\.\d+)?", value.strip())
            if digits and float(digits.group(0)) > 0:
                return value.strip()
        raise FieldError(field, allowed, value)

    return parse


parse_cpus = _positive_amount(_CPUS_RE, "'8', '8+' or '8.5'")
parse_memory = _positive_amount(_MEMORY_RE, "'32', '32+', '32GB' or '32GB+'")


def parse_disk_size(value: Any, field: str = "disk_size") -> int | str:
    """A positive size in GB (int) or a SkyPilot size string (``"512GB"``, ``"1TB"``)."""
    if _is_int(value) and value > 0:
        return value
    text = value.strip() if isinstance(value, str) else ""
    if _DISK_RE.match(text) and int(re.match(r"\d+", text).group()) > 0:
        return text
    raise FieldError(field, "a positive size in GB (int) or a size string such as '512GB'", value)


def parse_bool(value: Any, field: str) -> bool:
    """True or False (no strings, no numbers)."""
    if not isinstance(value, bool):
        raise FieldError(field, "True or False", value)
    return value


def parse_count(minimum: int) -> Parser:
    """A parser of integers >= ``minimum`` (bools refused)."""

    def parse(value: Any, field: str) -> int:
        if not _is_int(value) or value < minimum:
            raise FieldError(field, f"an integer >= {minimum}", value)
        return value

    return parse


def parse_choice(choices: tuple[str, ...]) -> Parser:
    """A parser of one of ``choices`` (case-insensitive, returned lower-case)."""

    def parse(value: Any, field: str) -> str:
        name = value.strip().lower() if isinstance(value, str) else None
        if name not in choices:
            raise FieldError(field, f"one of {', '.join(choices)}", value)
        return name

    return parse


def parse_text(value: Any, field: str) -> str | None:
    """Any string (setup script), kept byte for byte; the empty string means unset."""
    if not isinstance(value, str):
        raise FieldError(field, "a string", value)
    return value or None


def parse_cluster_name(value: Any, field: str = "cluster_name") -> str:
    """A SkyPilot cluster name: letters, digits, ``-_.``, starting with a letter."""
    if not isinstance(value, str) or not _CLUSTER_RE.match(value):
        raise FieldError(field, "a name of letters, digits and -_. that starts with a letter", value)
    return value


def parse_container_image(value: Any, field: str = "container_image") -> str:
    """A docker image (an optional ``docker:`` prefix is dropped; it is added in the YAML)."""
    image = value.strip() if isinstance(value, str) else ""
    image = image[len("docker:"):] if image.startswith("docker:") else image
    if not image or re.search(r"\s", image):
        raise FieldError(field, "a docker image name such as 'nvcr.io/nvidia/pytorch:24.01-py3'", value)
    return image


def parse_infra(value: Any, field: str = "infra") -> str:
    """SkyPilot's ``cloud[/region[/zone]]``, ``*/region`` or ``k8s[/context]``."""
    allowed = "cloud[/region[/zone]] with a SkyPilot cloud, '*' wildcards or k8s/<context>"
    match = _INFRA_RE.match(value.strip()) if isinstance(value, str) else None
    cloud = match.group("cloud") if match else None
    if match is None or (cloud is not None and cloud.lower() not in CLOUDS):
        raise FieldError(field, allowed, value)
    return value.strip()


def infra_cloud(infra: str) -> str | None:
    """The cloud part of an infra string (None for a ``*`` wildcard)."""
    head = infra.split("/", 1)[0].lower()
    return None if head == "*" else CLOUD_ALIASES.get(head, head)



def _parse_port(item: Any, field: str) -> int | str:
    allowed = "ports 1-65535 or ranges 'LOW-HIGH' (a list, or a comma-separated string)"
    if _is_int(item) and 1 <= item <= 65535:
        return item
    text = item.strip() if isinstance(item, str) else ""
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    low, dash, high = text.partition("-")
    if dash and low.strip().isdigit() and high.strip().isdigit():
        a, b = int(low), int(high)
        if 1 <= a <= b <= 65535:
            return f"{a}-{b}"
    raise FieldError(field, allowed, item)


def parse_ports(value: Any, field: str = "ports") -> list[int | str] | None:
    """Ports opened on every candidate: ``8888``, ``"8888, 8000-8010"`` or a list/tuple."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    elif _is_int(value):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise FieldError(field, "a port, a 'LOW-HIGH' range, or a list of them", value)
    ports: list[int | str] = []
    for item in value:
        port = _parse_port(item, field)
        if port not in ports:
            ports.append(port)
    return ports or None


def _str_keyed_dict(value: Any, field: str, allowed: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
        raise FieldError(field, allowed, value)
    return copy.deepcopy(dict(value))


def parse_file_mounts(value: Any, field: str = "file_mounts") -> dict[str, Any] | None:
    """``{remote_path: local path | cloud URI | storage dict}``."""
    allowed = "a dict {remote path: local path, cloud URI or SkyPilot storage dict}"
    mounts = _str_keyed_dict(value, field, allowed)
    for src in mounts.values():
        if not ((isinstance(src, str) and src.strip()) or isinstance(src, dict)):
            raise FieldError(field, allowed, value)
    return mounts or None


def parse_mapping(value: Any, field: str) -> dict[str, Any] | None:
    """A dict with string keys (cluster_config_overrides); empty means unset."""
    return _str_keyed_dict(value, field, "a dict with string keys") or None


def is_env_name(name: Any) -> bool:
    """True for a valid environment variable name (letters, digits, '_'; not starting with a digit)."""
    return isinstance(name, str) and _ENV_RE.fullmatch(name) is not None


def parse_env_vars(value: Any, field: str = "env_vars") -> dict[str, str]:
    """``{NAME: value}``: names as in the shell, values strings (numbers are converted)."""
    if value is None:
        return {}
    envs = _str_keyed_dict(value, field, "a dict {NAME: string value}")
    for name, val in envs.items():
        if not is_env_name(name):
            raise FieldError(field, "names of letters, digits and _, not starting with a digit", name)
        if not (isinstance(val, str) or _is_number(val)):
            raise FieldError(field, f"a string value for {name}", val)
        envs[name] = str(val)
    return envs


def _exit_codes(value: Any) -> bool:
    codes = value if isinstance(value, list) else [value]
    return len(set(map(repr, codes))) == len(codes) and all(_is_int(c) and 0 <= c <= 255 for c in codes)


def parse_job_recovery(value: Any, field: str = "job_recovery") -> str | dict[str, Any]:
    """A strategy name or ``{strategy, max_restarts_on_errors, recover_on_exit_codes}``."""
    allowed = (f"a strategy ({', '.join(JOB_RECOVERY_STRATEGIES)}) or a dict with keys "
               f"{', '.join(JOB_RECOVERY_KEYS)}")
    known = {s.lower(): s for s in JOB_RECOVERY_STRATEGIES}
    if isinstance(value, str):
        if value.strip().lower() not in known:
            raise FieldError(field, allowed, value)
        return known[value.strip().lower()]
    spec = _str_keyed_dict(value, field, allowed)
    strategy = spec.get("strategy")
    restarts = spec.get("max_restarts_on_errors", 0)
    ok = (set(spec) <= set(JOB_RECOVERY_KEYS) and _is_int(restarts) and restarts >= 0
          and (strategy is None or (isinstance(strategy, str) and strategy.strip().lower() in known))
          and ("recover_on_exit_codes" not in spec or _exit_codes(spec["recover_on_exit_codes"])))
    if not ok:
        raise FieldError(field, allowed, value)
    if strategy is not None:
        spec["strategy"] = known[strategy.strip().lower()]
    return spec



def alternatives(parse_one: Parser) -> Parser:
    """Lift a scalar parser to a list field: a list means ordered candidates.

    ``"none"`` (or None) inside a list means "unset for that candidate"; a scalar ``"none"`` is
    None; a one-item list is its item; a list of nothing but ``"none"`` is None.
    """

    def parse(value: Any, field: str) -> Any:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            return None if is_none(value) else parse_one(value, field)
        items = [NONE if is_none(item) else parse_one(item, field) for item in value]
        if all(item == NONE for item in items):
            return None
        return items[0] if len(items) == 1 else items

    return parse


def as_list(value: Any) -> list[Any]:
    """The items of a field value (a scalar is a one-item list; None is empty)."""
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def optional(parse_one: Parser) -> Parser:
    """Lift a parser so that None (unset) is accepted."""

    def parse(value: Any, field: str) -> Any:
        return None if value is None else parse_one(value, field)

    return parse


def is_local_path(src: Any) -> bool:
    """True when a file_mounts source is a local path (not a cloud URI or storage dict)."""
    return isinstance(src, str) and not _URI_RE.match(src)


LIST_FIELDS: tuple[str, ...] = ("cloud", "region", "zone", "gpus", "cpus", "memory", "instance_type",
                                "use_spot", "disk_size", "disk_tier")
"""Fields whose list value means ordered alternatives (zipped into SkyPilot ``any_of``)."""

FIELD_PARSERS: dict[str, Parser] = {
    "cloud": alternatives(parse_cloud),
    "region": alternatives(parse_token),
    "zone": alternatives(parse_token),
    "gpus": alternatives(parse_gpu),
    "gpus_per_node": optional(parse_count(1)),
    "cpus": alternatives(parse_cpus),
    "memory": alternatives(parse_memory),
    "instance_type": alternatives(parse_token),
    "num_nodes": parse_count(1),
    "use_spot": alternatives(parse_bool),
    "disk_size": alternatives(parse_disk_size),
    "disk_tier": alternatives(parse_choice(DISK_TIERS)),
    "ports": optional(parse_ports),
    "file_mounts": optional(parse_file_mounts),
    "cluster_name": optional(parse_cluster_name),
    "setup": optional(parse_text),
    "autodown": parse_bool,
    "idle_minutes_to_autostop": optional(parse_count(0)),
    "torchrun_nproc_per_node": optional(parse_count(1)),
    "container_image": optional(parse_container_image),
    "cluster_config_overrides": optional(parse_mapping),
    "infra": optional(parse_infra),
    "network_tier": optional(parse_choice(NETWORK_TIERS)),
    "retry_until_up": parse_bool,
    "env_vars": parse_env_vars,
    "job_recovery": optional(parse_job_recovery),
}
"""Every executor field and its parser, in declaration order."""

CROSS_FIELDS: tuple[str, ...] = ("cloud", "region", "zone", "infra", "gpus", "gpus_per_node")
_LOCATION = ("cloud", "region", "zone")


def parse_field(name: str, value: Any) -> Any:
    """Parse ``value`` for the field ``name`` (FieldError when it is not allowed)."""
    return FIELD_PARSERS[name](value, name)


def cross_check(values: Mapping[str, Any], changed: str | None = None) -> None:
    """Rules between fields: infra excludes cloud/region/zone; GPU counts must agree.

    Args:
        values: parsed field values (missing keys count as unset).
        changed: the field being assigned, named in the error when it is one of the pair.
    """
    infra = values.get("infra")
    located = [f for f in _LOCATION if values.get(f) is not None]
    if infra is not None and located:
        field = changed if changed in _LOCATION else "infra"
        raise FieldError(field, f"either infra or {'/'.join(_LOCATION)}, not both "
                                f"(infra={infra!r}, {located[0]}={values[located[0]]!r})",
                         found=False)
    per_node = values.get("gpus_per_node")
    for item in as_list(values.get("gpus")) if per_node is not None else []:
        count = None if item == NONE else split_gpu(item)[1]
        if count is not None and count != per_node:
            field = "gpus_per_node" if changed == "gpus_per_node" else "gpus"
            raise FieldError(field, f"a GPU count that agrees with the other field "
                                    f"(gpus item {item!r}, gpus_per_node={per_node})",
                             values.get(field))


def candidate_count(values: Mapping[str, Any]) -> int:
    """The number of resource candidates: the common length of the list fields (1 if none)."""
    lengths = {f: len(values[f]) for f in LIST_FIELDS if isinstance(values.get(f), list)}
    if len(set(lengths.values())) > 1:
        raise FieldError("alternatives", "list fields of one length (one item per candidate, "
                                         "'none' where a candidate leaves the field unset)", lengths)
    return next(iter(lengths.values()), 1)
