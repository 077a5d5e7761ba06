"""Options of the magics: reusable argument groups and the pure mapping options -> SkyExecutor.

Nothing here launches or displays anything; it needs IPython only for ``magic_arguments`` and
``UsageError``. Every user error is a one-line ``UsageError`` naming the option and what it allows.
"""
from __future__ import annotations

import argparse
import keyword
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, argument_group

from skyexec_nb.engine.jobs.backend_table import BACKEND_NAMES
from skyexec_nb.model.validation import is_env_name

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.model.executor import SkyExecutor

F = TypeVar("F", bound=Callable[..., Any])



def _invalid(option: str, allowed: str, found: Any) -> UsageError:
    from skyexec_nb.model.masking import mask_shown  # never echo a secret (API_KEY sekrit)

    return UsageError(f"Invalid {option}: {allowed}. Found: {mask_shown(found, f'{option} {allowed}')!r}")


def _int_type(text: str) -> int:
    """argparse ``type=``: an integer (argparse prefixes the option name to the message)."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text.strip()) > 18:  # beyond every bound (and int() of 4,300+ digits raises)
        raise argparse.ArgumentTypeError(f"an integer of at most 18 digits. Found: {shown!r}")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an integer. Found: {shown!r}") from None


# --------------------------------------------------------------------------- value parsers


def _number_or_text(text: str) -> int | str:
    """Digits as an int (the field then checks its range), anything else as stripped text."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 18 else text


def alternatives(item: Callable[[str], Any] = str.strip) -> Callable[[str], Any]:
    """A converter of ``a,b,c`` into ordered alternatives ``[a, b, c]`` (one item stays scalar)."""

    def convert(text: str) -> Any:
        items = [item(part) for part in text.split(",")]
        return items[0] if len(items) == 1 else items

    return convert



def parse_env(option: str, text: str, from_kernel: bool = False) -> tuple[str, str]:
    """``K=V`` -> ``(K, V)``; K must be a variable name, V may be empty or contain ``=``.

    With ``from_kernel``, ``K`` alone takes this process's value of ``K`` (``sky launch --env K``).
    """
    key, sep, value = text.partition("=")
    if not sep and from_kernel and is_env_name(key):
        if key not in os.environ:
            raise _invalid(option, f"{key} set in the kernel's environment (or give K=VALUE)", text)
        return key, os.environ[key]
    if not sep or not is_env_name(key):
        raise _invalid(option, "KEY=VALUE with KEY a variable name (e.g. HF_HOME=/data)", text)
    return key, value


def parse_mount(text: str) -> tuple[str, str]:
    """``/remote=./local`` -> ``("/remote", "./local")`` (local: a path or a cloud URI)."""
    remote, sep, local = text.partition("=")
    if not sep or not remote.strip() or not local.strip():
        raise _invalid("--mount", "REMOTE=LOCAL, e.g. /data=./data or /data=s3://bucket", text)
    return remote.strip(), local.strip()


def read_env_file(path: str) -> dict[str, str]:
    """Read a dotenv file: ``KEY=VALUE`` lines, ``#`` comments, optional ``export`` and quotes."""
    try:
        text = Path(path).expanduser().read_text()
    except (OSError, UnicodeDecodeError):
        raise _invalid("--env-file", "a readable KEY=VALUE file", path) from None
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        try:
            key, value = parse_env("--env-file", line)
        except UsageError:
            raise _invalid("--env-file", f"KEY=VALUE lines (line {number} of {path} is not)", raw) from None
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def split_line(line: str) -> list[str]:
    """Split an option line like a POSIX shell (quotes removed); bad quoting is a UsageError."""
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"Invalid options: {exc} in {line!r}") from None


def parse_line(magic_func: Callable[..., Any], line: str, *, cell: bool = False) -> argparse.Namespace:
    """Parse ``line`` with the magic's parser (built by ``magic_arguments``).

    Unlike ``magic_arguments.parse_argstring`` quotes are removed, so ``--setup "pip install x"``
    gives ``pip install x``. Abbreviated option names are refused.
    """
    parser = magic_func.parser
    parser.allow_abbrev = False
    args, extra = parser.parse_known_args(split_line(line))
    if extra:
        kind = "option" if extra[0].startswith("-") else "argument"
        magic = ("%%" if cell else "%") + parser.prog.lstrip("%")
        raise UsageError(f"Unknown {kind} {extra[0]!r}: see {magic}? for what is allowed")
    return args


# --------------------------------------------------------------------------- argument specs


@dataclass(frozen=True)
class FieldOption:
    """One option that sets one executor field (``--no-<flag>`` too when ``tri_state``)."""

    flag: str
    field: str
    help: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    tri_state: bool = False
    convert: Callable[[Any], Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.field

    def decorators(self) -> list[Callable[[F], F]]:
        """The ``magic_arguments.argument`` decorators of this option, in parser order."""
        if self.tri_state:
            return [
                argument(self.flag, dest=self.dest, action="store_const", const=True, default=None,
                         help=f"{self.help} [field {self.field}]"),
                argument("--no-" + self.flag[2:], dest=self.dest, action="store_const", const=False,
                         help=f"{self.field} = False (overrides --executor / default_executor)"),
            ]
        kwargs: dict[str, Any] = {"dest": self.dest, "default": None, "metavar": self.metavar,
                                  "help": f"{self.help} [field {self.field}]", **self.extra}
        if self.type is not None:
            kwargs["type"] = self.type
        return [argument(self.flag, **kwargs)]


#: Options mapped one-to-one onto SkyExecutor fields (env/mount are merged, see executor_from_args).
_ALT = alternatives()

#: Options mapped one-to-one onto SkyExecutor fields; ``a,b`` gives ordered alternatives where
#: the field allows a list (``--gpus A100:8,H100:8``).
RESOURCE_OPTIONS: tuple[FieldOption, ...] = (
    FieldOption("--gpus", "gpus", "accelerators, e.g. A100:8 (A100:8,H100:8 = alternatives)", "ACC[:N]",
                convert=_ALT),
    FieldOption("--gpus-per-node", "gpus_per_node", "GPUs per node (torchrun nproc)", "N", _int_type),
    FieldOption("--cloud", "cloud", "cloud, e.g. aws, gcp, kubernetes (aws,gcp = alternatives)", "CLOUD",
                convert=_ALT),
    FieldOption("--region", "region", "region, e.g. us-east-1", "REGION", convert=_ALT),
    FieldOption("--zone", "zone", "zone, e.g. us-east-1a", "ZONE", convert=_ALT),
    FieldOption("--infra", "infra", "infra shorthand, e.g. aws/us-east-1 or k8s", "INFRA"),
    FieldOption("--cpus", "cpus", "vCPUs per node, e.g. 8 or 8+", "N[+]", convert=_ALT),
    FieldOption("--memory", "memory", "memory (GB) per node, e.g. 32 or 32+", "GB[+]", convert=_ALT),
    FieldOption("--instance-type", "instance_type", "instance type, e.g. p4d.24xlarge", "TYPE",
                convert=_ALT),
    FieldOption("--nodes", "num_nodes", "number of nodes (default 1)", "N", _int_type),
    FieldOption("--spot", "use_spot", "use spot instances (--no-spot: on-demand)", tri_state=True),
    FieldOption("--disk-size", "disk_size", "disk size per node, GB or e.g. 1TB", "SIZE",
                convert=alternatives(_number_or_text)),
    FieldOption("--disk-tier", "disk_tier", "disk tier: low, medium, high, ultra or best", "TIER",
                convert=_ALT),
    FieldOption("--ports", "ports", "ports to open, e.g. 8888,6006 or 8000-8010", "PORTS"),
    FieldOption("--network-tier", "network_tier", "network tier: standard or best", "TIER"),
)

CLUSTER_OPTIONS: tuple[FieldOption, ...] = (
    FieldOption("--cluster", "cluster_name", "cluster name (reused if it exists)", "NAME"),
    FieldOption("--setup", "setup", "setup script run once per cluster before the cell", "SCRIPT"),
    FieldOption("--image", "container_image", "container image, e.g. docker:python:3.11", "IMAGE"),
    FieldOption("--autodown", "autodown", "tear the cluster down when idle (--no-autodown: stop)",
                tri_state=True),
    FieldOption("--idle-minutes", "idle_minutes_to_autostop", "stop/down after N idle minutes", "N",
                _int_type),
    FieldOption("--retry-until-up", "retry_until_up", "retry provisioning until resources are found",
                tri_state=True),
    FieldOption("--torchrun-nproc", "torchrun_nproc_per_node", "torchrun processes per node", "N",
                _int_type),
    FieldOption("--job-recovery", "job_recovery", "managed jobs (--backend jobs) recovery strategy: "
                "FAILOVER or EAGER_NEXT_REGION", "STRATEGY"),
    FieldOption("--retries", "retries", "managed jobs: restarts on errors (NeMo-Run's retries)", "N",
                _int_type),
)

FIELD_OPTIONS: tuple[FieldOption, ...] = RESOURCE_OPTIONS + CLUSTER_OPTIONS

#: Field name -> option flag, to name the option in errors the executor raises.
OPTION_OF_FIELD: dict[str, str] = {
    **{opt.field: opt.flag for opt in FIELD_OPTIONS},
    "file_mounts": "--mount",
    "env_vars": "--env",
    "secrets": "--secret",
}


def _group(title: str, arguments: list[Callable[[F], F]]) -> Callable[[F], F]:
    """A decorator applying ``argument_group(title)`` and then ``arguments`` (in that parser order).

    ``magic_arguments`` builds the parser from the decorators in source order, i.e. the reverse
    of the order they are applied, so they are applied here last-first.
    """

    def decorate(func: F) -> F:
        for deco in reversed([argument_group(title), *arguments]):
            func = deco(func)
        return func

    return decorate


def _field_arguments(options: tuple[FieldOption, ...]) -> list[Callable[[F], F]]:
    return [deco for opt in options for deco in opt.decorators()]


resource_args = _group("Resources (each sets the SkyExecutor field in brackets)",
                       _field_arguments(RESOURCE_OPTIONS))

cluster_args = _group("Cluster", _field_arguments(CLUSTER_OPTIONS))

task_args = _group("Task", [
    argument("-n", "--name", default=None, metavar="NAME", help="job name (default: derived by the engine)"),
    argument("-e", "--env", action="append", default=[], metavar="K=V",
             help="environment variable for the job (K alone: the kernel's value of K, as `sky launch "
                  "--env K`); repeatable [field env_vars]"),
    argument("--secret", action="append", default=[], metavar="K[=V]",
             help="a SkyPilot task secret (redacted by SkyPilot; K alone: the kernel's value of K); "
                  "repeatable [field secrets]"),
    argument("--env-file", default=None, metavar="PATH",
             help="dotenv file of KEY=VALUE lines (applied before --env) [field env_vars]"),
    argument("--mount", action="append", default=[], metavar="REMOTE=LOCAL",
             help="file mount, e.g. /data=./data or /data=s3://bucket; repeatable [field file_mounts]"),
    argument("--workdir", default=None, metavar="DIR",
             help="local directory synced to the nodes as SkyPilot's workdir (your code) [workdir]"),
])

launch_args = _group("Launch", [
    argument("--executor", default=None, metavar="NAME",
             help="start from the SkyExecutor named NAME in the notebook (it is not changed)"),
    argument("--task", default=None, metavar="YAML",
             help="start from a SkyPilot task YAML file (options override its fields; a non-empty "
                  "cell replaces its run; its name is the default job name)"),
    argument("--backend", default=None, choices=BACKEND_NAMES,
             help="backend (default: SkyLaunchMagics.default_backend)"),
    argument("--dryrun", action="store_true", help="show the plan and task YAML; launch nothing"),
    argument("--yaml", action="store_true", help="print the task YAML (secrets masked); launch nothing"),
    argument("-w", "--wait", action="store_true",
             help="block until the job ends, streaming its log; Ctrl-C cancels the job"),
    argument("-o", "--out", default=None, metavar="VAR", help="store the Job (with --dryrun/--yaml: the Plan) in the variable VAR"),
    argument("--metrics", default=None, metavar="NAMES",
             help="metrics the launch panel charts and job.metrics() returns, e.g. loss,acc (default: all found)"),
    argument("--x", dest="metrics_x", default=None, metavar="KEY",
             help="x axis of the metrics: step, epoch, time or any key the job prints (default: inferred)"),
])

job_ref_arg = argument("job", metavar="JOB", help="job id, job name (newest with that name) or -1 (last job)")


# --------------------------------------------------------------------------- metrics to chart

_METRIC_NAME = re.compile(r"[A-Za-z_][\w./-]{0,99}")


def metrics_choice(args: argparse.Namespace) -> dict[str, Any] | None:
    """``{"keys": [...] or None, "x": key or None}`` from ``--metrics``/``--x`` (None when neither);
    a bad name is a one-line UsageError, before anything is launched."""
    text, x = getattr(args, "metrics", None), getattr(args, "metrics_x", None)
    if text is None and x is None:
        return None
    keys = None
    if text is not None:
        keys = [k.strip() for k in text.split(",") if k.strip()]
        if not keys or len(keys) > 50 or not all(_METRIC_NAME.fullmatch(k) for k in keys):
            raise _invalid("--metrics", "comma-separated metric names (letters, digits, _ . / -), e.g. loss,acc", text)
    if x is not None and not _METRIC_NAME.fullmatch(x):
        raise _invalid("--x", "one key the job prints, e.g. step, epoch or time", x)
    return {"keys": keys, "x": x}


def record_metrics(launched: Any, choice: dict[str, Any] | None) -> None:
    """Record ``choice`` in the launched job's (or each sweep job's) ``extra["metrics"]``."""
    if not choice:
        return
    from skyexec_nb.engine.jobs.registry import get_registry
    from skyexec_nb.engine.jobs.slots import one_transaction

    jobs = [job for job in (getattr(launched, "jobs", None) or [launched]) if getattr(job, "id", None) is not None]
    registry = get_registry()
    with one_transaction(registry):
        for job in jobs:
            registry.update(job.id, metrics=choice)


# --------------------------------------------------------------------------- options -> executor


def env_from_args(args: argparse.Namespace, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` env, then ``--env-file``, then each ``--env K=V`` (later wins)."""
    env = dict(base or {})
    if args.env_file:
        env.update(read_env_file(args.env_file))
    env.update(parse_env("--env", item, from_kernel=True) for item in args.env)
    return env


def check_identifier(option: str, name: str | None) -> str | None:
    """Return ``name`` if it is a usable Python variable name (or None)."""
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise _invalid(option, "a Python variable name", name)
    return name


def executor_from_args(args: argparse.Namespace, base: SkyExecutor | None = None) -> SkyExecutor:
    """A new SkyExecutor: ``base`` (copied, never changed) with every given option applied.

    Raises:
        UsageError: a value the executor refuses (one line naming the option).
    """
    from skyexec_nb.model.errors import FieldError
    from skyexec_nb.model.executor import SkyExecutor

    overrides: dict[str, Any] = {}
    for opt in FIELD_OPTIONS:
        value = getattr(args, opt.dest, None)
        if value is not None:
            overrides[opt.field] = opt.convert(value) if opt.convert else value
    base_mounts = dict(base.file_mounts or {}) if base is not None else {}
    mounts = dict(parse_mount(item) for item in args.mount)
    if mounts:
        overrides["file_mounts"] = {**base_mounts, **mounts}
    if args.env or args.env_file:
        overrides["env_vars"] = env_from_args(args, base.env_vars if base is not None else None)
    if getattr(args, "secret", None):
        given = dict(parse_env("--secret", item, from_kernel=True) for item in args.secret)
        overrides["secrets"] = {**((base.secrets or {}) if base is not None else {}), **given}
    try:
        executor = base.copy(**overrides) if base is not None else SkyExecutor(**overrides)
        if getattr(args, "workdir", None) is not None:
            executor.workdir = os.path.expanduser(args.workdir)
        return executor
    except FieldError as exc:
        option = OPTION_OF_FIELD.get(exc.field, exc.field)
        raise UsageError(str(exc).replace(f"Invalid {exc.field}", f"Invalid {option}", 1)) from None


@dataclass
class TaskFile:
    """A SkyPilot task YAML opened for ``--task``: its executor, run script and name."""

    executor: SkyExecutor
    run: str | None
    name: str | None


def task_file(path: str) -> TaskFile:
    """Open ``--task PATH`` (UsageError, one line, when it cannot be read or is not a task)."""
    from skyexec_nb.model.config import load_yaml_file
    from skyexec_nb.model.errors import FieldError
    from skyexec_nb.model.executor import SkyExecutor

    try:
        config = load_yaml_file(path)
        executor = SkyExecutor.from_config(config)
    except FieldError as exc:
        raise UsageError(str(exc).replace(f"Invalid {exc.field}", "Invalid --task", 1)) from None
    name = config.get("name")
    if isinstance(name, str):  # a job name of what SkyPilot's task name allows
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:200] or None
    run = config.get("run")
    return TaskFile(executor, run if isinstance(run, str) else None, name if isinstance(name, str) else None)
