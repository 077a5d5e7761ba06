"""Field parsers of the executor: each checks one value and returns its normal form.

Pure Python (no ``sky`` import). Every parser has the signature ``parse(value, field) -> value``
and raises :class:`~skyexec_nb.model.errors.FieldError` naming the field, what is allowed and what
was found. The constants mirror SkyPilot 0.14 (tests compare them with SkyPilot's own registries).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from skyexec_nb.model import limits
from skyexec_nb.model.compound_fields import (  # noqa: F401  (re-exported: one module of parsers)
    JOB_RECOVERY_KEYS,
    JOB_RECOVERY_STRATEGIES,
    is_env_name,
    parse_env_vars,
    parse_file_mounts,
    parse_job_recovery,
    parse_mapping,
    parse_ports,
    parse_secrets,
    parse_storage_mounts,
    parse_task_env_vars,
)
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.limits import is_int as _is_int
from skyexec_nb.model.limits import is_number as _is_number

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

_MEMORY_UNITS = "kb|ki|mb|mi|gb|gi|tb|ti|pb|pi"
_CPUS_RE = re.compile(r"^\d+(\.\d+)?\+?$")
_MEMORY_RE = re.compile(rf"^\d+(\.\d+)?({_MEMORY_UNITS})?\+?$", re.IGNORECASE)
_DISK_RE = re.compile(rf"^\d+({_MEMORY_UNITS})?$", re.IGNORECASE)
_GPU_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_.+-]*)(?::(.*))?$")
_CLUSTER_RE = re.compile(r"^[a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")
_INFRA_RE = re.compile(
    r"^(?:(?i:kubernetes|k8s)(?:/.+)?|(?P<cloud>[A-Za-z0-9]+)(?:/[^/]+(?:/[^/]+)?)?"
    r"|\*(?:/[^/]+(?:/[^/]+)?)?)$"
)
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_none(value: Any) -> bool:
    """True for None and the string ``"none"`` (any case)."""
    return value is None or (isinstance(value, str) and value.strip().lower() == NONE)


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
    allowed = (f"an accelerator NAME or NAME:COUNT with a count in (0, {limits.MAX_GPUS_PER_NODE}] "
               f"per node, e.g. 'A100:8'")
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
    if not limits.within(number, 0, limits.MAX_GPUS_PER_NODE, low_open=True):
        raise FieldError(field, allowed, value)
    return f"{name}:{int(number) if number.is_integer() else number}"


def _positive_amount(pattern: re.Pattern[str], what: str, maximum: int, unit: str) -> Parser:
    def parse(value: Any, field: str) -> int | float | str:
        allowed = f"a number in (0, {maximum}] {unit} or a string of the form {what}"
        if _is_number(value):
            if limits.within(value, 0, maximum, low_open=True):
                return value
        elif isinstance(value, str) and pattern.match(value.strip()):
            amount = limits.size_in_gb(value)
            if amount is not None and limits.within(amount, 0, maximum, low_open=True):
                return value.strip()
        raise FieldError(field, allowed, value)

    return parse


parse_cpus = _positive_amount(_CPUS_RE, "'8', '8+' or '8.5'", limits.MAX_CPUS, "vCPUs")
parse_memory = _positive_amount(_MEMORY_RE, "'32', '32+', '32GB' or '32GB+'", limits.MAX_MEMORY_GB, "GB")


def parse_disk_size(value: Any, field: str = "disk_size") -> int | str:
    """A positive size in GB (int) or a SkyPilot size string (``"512GB"``, ``"1TB"``)."""
    if _is_int(value) and 0 < value <= limits.MAX_DISK_GB:
        return value
    text = value.strip() if isinstance(value, str) else ""
    amount = limits.size_in_gb(text) if _DISK_RE.match(text) else None
    if amount is not None and limits.within(amount, 0, limits.MAX_DISK_GB, low_open=True):
        return text
    raise FieldError(field, f"a size in GB in 1..{limits.MAX_DISK_GB} (int) or a size string such as "
                            f"'512GB' (at most {limits.MAX_DISK_GB // 1024}TB)", value)


def parse_bool(value: Any, field: str) -> bool:
    """True or False (no strings, no numbers)."""
    if not isinstance(value, bool):
        raise FieldError(field, "True or False", value)
    return value


def parse_count(minimum: int, maximum: int) -> Parser:
    """A parser of integers in ``minimum..maximum`` (bools refused)."""

    def parse(value: Any, field: str) -> int:
        if not _is_int(value) or not minimum <= value <= maximum:
            raise FieldError(field, f"an integer in {minimum}..{maximum}", value)
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
    "gpus_per_node": optional(parse_count(1, limits.MAX_GPUS_PER_NODE)),
    "cpus": alternatives(parse_cpus),
    "memory": alternatives(parse_memory),
    "instance_type": alternatives(parse_token),
    "num_nodes": parse_count(1, limits.MAX_NODES),
    "use_spot": alternatives(parse_bool),
    "disk_size": alternatives(parse_disk_size),
    "disk_tier": alternatives(parse_choice(DISK_TIERS)),
    "ports": optional(parse_ports),
    "file_mounts": optional(parse_file_mounts),
    "cluster_name": optional(parse_cluster_name),
    "setup": optional(parse_text),
    "autodown": parse_bool,
    "idle_minutes_to_autostop": optional(parse_count(0, limits.MAX_IDLE_MINUTES)),
    "torchrun_nproc_per_node": optional(parse_count(1, limits.MAX_NPROC_PER_NODE)),
    "container_image": optional(parse_container_image),
    "cluster_config_overrides": optional(parse_mapping),
    "infra": optional(parse_infra),
    "network_tier": optional(parse_choice(NETWORK_TIERS)),
    "retry_until_up": parse_bool,
    "env_vars": parse_task_env_vars,
    "job_recovery": optional(parse_job_recovery),
    "secrets": optional(parse_secrets),
    "storage_mounts": optional(parse_storage_mounts),
    "retries": parse_count(0, limits.MAX_RESTARTS),
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


def gpus_is_set(gpus: Any) -> bool:
    """A ``gpus`` list without 'none' is a set of alternatives valid on every candidate (NeMo-Run's
    and SkyPilot's meaning: ``accelerators: {A100: 8, H100: 8}``), not a column of ``any_of``."""
    return isinstance(gpus, list) and NONE not in gpus


def candidate_count(values: Mapping[str, Any]) -> int:
    """The number of resource candidates: the common length of the list fields (1 if none).

    A ``gpus`` set (see :func:`gpus_is_set`) crosses every candidate instead of counting as one.
    """
    lengths = {f: len(values[f]) for f in LIST_FIELDS if isinstance(values.get(f), list)
               and not (f == "gpus" and gpus_is_set(values[f]))}
    if len(set(lengths.values())) > 1:
        raise FieldError("alternatives", "list fields of one length (one item per candidate, "
                                         "'none' where a candidate leaves the field unset)", lengths)
    return next(iter(lengths.values()), 1)
