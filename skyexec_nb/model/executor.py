"""``SkyExecutor``: a traitlets model of SkyPilot compute that builds real SkyPilot tasks.

Importing this module imports neither ``sky`` nor ipywidgets/IPython: ``to_config``/``to_yaml``
are pure Python; ``to_resources``/``to_task`` import ``sky`` when called.
"""
from __future__ import annotations

import copy
import html
import os
from typing import Any, Mapping, Sequence

from traitlets import Any as AnyTrait
from traitlets import HasTraits, default, validate

from skyexec_nb.model import config as cfg
from skyexec_nb.model import app_ids, masking, view_registry, yaml_import
from skyexec_nb.model import validation as v
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.macros import ExecutorMacros
from skyexec_nb.model.sdk_calls import SdkMethods


def _field(help: str, default_value: Any = None, required: bool = False) -> AnyTrait:
    trait = AnyTrait(default_value, help=help)
    trait.allow_none = not required  # traitlets skips validators for None when allow_none
    return trait


_LIST_HELP = " A list means ordered alternatives (zipped into SkyPilot any_of); 'none' unsets one."


class SkyExecutor(SdkMethods, HasTraits):
    """Where and on what a task runs, as SkyPilot resources.

    Example:
        >>> ex = SkyExecutor(gpus="A100:8", use_spot=True, ports="8888, 6006")
        >>> ex.to_config("train", cmd=["python", "train.py"])["resources"]["accelerators"]
        'A100:8'
    """

    HEAD_NODE_IP_VAR = "head_node_ip"
    HET_GROUP_HOST_VAR = "het_group_host"
    NODE_RANK_VAR = "SKYPILOT_NODE_RANK"
    NPROC_PER_NODE_VAR = "SKYPILOT_NUM_GPUS_PER_NODE"
    NUM_NODES_VAR = "num_nodes"

    cloud = _field("SkyPilot cloud name, e.g. 'aws', 'gcp', 'kubernetes'." + _LIST_HELP)
    region = _field("Cloud region, e.g. 'us-east-1'." + _LIST_HELP)
    zone = _field("Availability zone, e.g. 'us-east-1a'." + _LIST_HELP)
    gpus = _field("Accelerator NAME or NAME:COUNT per node, e.g. 'A100:8'." + _LIST_HELP)
    gpus_per_node = _field("Accelerators per node when gpus has no ':COUNT' (positive int).")
    cpus = _field("vCPUs per node: 8, 8.5, '8' or '8+' (at least 8)." + _LIST_HELP)
    memory = _field("Memory per node in GB: 32, '32+', '32GB+'." + _LIST_HELP)
    instance_type = _field("Cloud instance type, e.g. 'p4d.24xlarge'." + _LIST_HELP)
    num_nodes = _field("Number of nodes (positive int).", 1, required=True)
    use_spot = _field("Use spot/preemptible instances (True/False)." + _LIST_HELP)
    disk_size = _field("OS disk size in GB (positive int or '512GB')." + _LIST_HELP)
    disk_tier = _field("OS disk tier: low, medium, high, ultra, best." + _LIST_HELP)
    ports = _field("Ports opened on every node: 8888, '8888, 8000-8010' or a list.")
    file_mounts = _field("{remote path: local path, cloud URI (s3://, gs://...) or storage dict}.")
    cluster_name = _field("Cluster to launch on or reuse (SkyPilot cluster name).")
    setup = _field("Bash script run once when the cluster is provisioned.")
    autodown = _field("Tear the cluster down (not just stop it) when idle.", False, required=True)
    idle_minutes_to_autostop = _field("Idle minutes before the cluster stops (int >= 0).")
    torchrun_nproc_per_node = _field("Processes per node for torchrun (default: GPUs per node).")
    container_image = _field("Docker image the task runs in, on every cloud.")
    cluster_config_overrides = _field("SkyPilot config overrides (task YAML 'config:').")
    infra = _field("cloud[/region[/zone]] in one string, e.g. 'aws/us-east-1' (excludes cloud).")
    network_tier = _field("Network tier: standard or best.")
    retry_until_up = _field("Keep retrying the launch until resources are available.", False,
                            required=True)
    env_vars = _field("Environment variables of the task {NAME: value}.", required=True)
    job_recovery = _field("Managed-job recovery: 'FAILOVER', 'EAGER_NEXT_REGION' or "
                          "{strategy, max_restarts_on_errors, recover_on_exit_codes}.")
    secrets = _field("SkyPilot task secrets {NAME: value, or None to set at launch} (redacted by SkyPilot).")
    storage_mounts = _field("NeMo-Run's {remote path: SkyPilot storage dict}, written as file_mounts.")
    retries = _field("NeMo-Run's retries: restarts of a managed job on errors (job_recovery "
                     "max_restarts_on_errors).", 0, required=True)

    def __init__(self, **fields: Any) -> None:
        unknown = sorted(set(fields) - set(v.FIELD_PARSERS))
        if unknown:
            raise TypeError(f"SkyExecutor got unknown field(s) {', '.join(map(repr, unknown))}; "
                            f"known fields: {', '.join(v.FIELD_PARSERS)}")
        self.experiment_id: str | None = None
        self.experiment_dir: str | None = None
        self.job_name: str | None = None
        self.job_dir: str | None = None
        self._workdir: str | None = None
        self.kept: dict[str, Any] = {}
        """Parts of a task YAML no field represents, written back unchanged (see ``yaml_import``)."""
        super().__init__()
        # One assignment at a time, in declaration order (traitlets' keyword init cross-validates
        # in the order of a set, which changes between processes): a conflict is always reported
        # on the later field of the pair (infra, not cloud; gpus_per_node, not gpus).
        for name in v.FIELD_PARSERS:
            if name in fields:
                setattr(self, name, fields[name])

    @default("env_vars")
    def _default_env_vars(self) -> dict[str, str]:
        return {}

    @validate(*v.FIELD_PARSERS)
    def _validate_field(self, proposal: Any) -> Any:
        name = proposal["trait"].name
        value = v.parse_field(name, proposal["value"])
        if name in v.CROSS_FIELDS:
            v.cross_check({**self._parsed(v.CROSS_FIELDS), name: value}, changed=name)
        return value

    def _parsed(self, names: Sequence[str]) -> dict[str, Any]:
        """Current values of ``names``, parsed (a value that does not parse counts as unset)."""
        out = {}
        for name in names:
            try:
                out[name] = v.parse_field(name, getattr(self, name))
            except FieldError:
                out[name] = None
        return out

    # --- fields ------------------------------------------------------------------------------

    def fields_set(self) -> dict[str, Any]:
        """The fields that differ from their defaults, in declaration order (copies)."""
        defaults = {"num_nodes": 1, "autodown": False, "retry_until_up": False, "env_vars": {}, "retries": 0}
        return {name: copy.deepcopy(getattr(self, name)) for name in v.FIELD_PARSERS
                if getattr(self, name) != defaults.get(name)}

    def copy(self, **overrides: Any) -> "SkyExecutor":
        """A new validated executor with this one's fields and ``overrides`` (self untouched)."""
        new = type(self)(**{**self.fields_set(), **overrides})
        new._workdir = self._workdir
        new.kept = copy.deepcopy(self.kept)
        return new

    def validate_all(self) -> None:
        """Check every field again, the rules between fields, and what needs the file system.

        Raises:
            FieldError: a field (possibly mutated in place) is invalid, list fields differ in
                length, or a local file_mounts source or the workdir does not exist.
        """
        fields = self._checked_fields()
        for dst, src in (fields["file_mounts"] or {}).items():
            source = src.get("source") if isinstance(src, dict) else src
            if not v.is_local_path(source) or "$" in source:  # URIs; paths SkyPilot fills from envs
                continue
            if not os.path.exists(os.path.expanduser(source)):
                raise FieldError("file_mounts", f"an existing local source for {dst!r}", source)
        if self._workdir is not None and not os.path.isdir(os.path.expanduser(self._workdir)):
            raise FieldError("workdir", "an existing local directory", self._workdir)

    def _checked_fields(self) -> dict[str, Any]:
        """All fields parsed again (catches in-place mutation) and checked together."""
        fields = {name: v.parse_field(name, getattr(self, name)) for name in v.FIELD_PARSERS}
        v.cross_check(fields)
        v.candidate_count(fields)
        return fields

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in v.FIELD_PARSERS) and \
            self._workdir == other._workdir and self.job_dir == other.job_dir and self.kept == other.kept

    __hash__ = HasTraits.__hash__  # identity hash: executors stay usable as dict keys

    # --- SkyPilot config -----------------------------------------------------------------------

    def to_config(self, name: str, cmd: str | Sequence[str] | None = None,
                  env_vars: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The SkyPilot task YAML dict (pure Python; no ``sky`` import).

        Args:
            name: task name.
            cmd: run script (str, kept byte for byte) or argument list (shell-quoted).
            env_vars: environment added to (and overriding) the executor's ``env_vars``.

        Returns:
            ``{name, setup?, run?, envs?, num_nodes, file_mounts?, workdir?, resources?, config?}``.

        Raises:
            FieldError: see :meth:`validate_all`; or a bad name, cmd or env_vars argument.
        """
        self.validate_all()
        fields = self._checked_fields()
        envs = {**fields["env_vars"], **v.parse_env_vars(env_vars, "env_vars")}
        config = cfg.task_config(fields, name, cfg.run_script(cmd), envs, self.job_dir,
                                 self._config_workdir())
        return yaml_import.merge_kept(config, self.kept)

    def to_yaml(self, name: str, cmd: str | Sequence[str] | None = None,
                env_vars: Mapping[str, Any] | None = None) -> str:
        """:meth:`to_config` as safe YAML (``sky launch`` reads it)."""
        return cfg.dump_yaml(self.to_config(name, cmd, env_vars))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SkyExecutor":
        """An executor from a SkyPilot task YAML dict (the inverse of :meth:`to_config`).

        Whatever SkyPilot accepts opens: parts no field represents are kept in ``kept`` and
        written back unchanged by :meth:`to_config` (``name`` and ``run`` are given to it).

        Raises:
            FieldError: ``config`` is not a mapping.
        """
        fields, extras, kept = yaml_import.task_split(config)
        try:
            executor = cls(**fields)
        except FieldError:  # fields that do not agree with each other: keep the resources whole
            fields, extras, kept = yaml_import.task_split({**config, "resources": {}})
            executor = cls(**fields)
            if config.get("resources"):
                kept["resources"] = copy.deepcopy(dict(config["resources"]))
        executor.kept = kept
        executor.job_dir = extras["job_dir"]
        if extras["workdir"] is not None and extras["workdir"] != executor.workdir:
            executor.workdir = extras["workdir"]
        return executor

    @classmethod
    def from_yaml(cls, text: str) -> "SkyExecutor":
        """An executor from SkyPilot task YAML text."""
        return cls.from_config(cfg.load_yaml(text))

    @classmethod
    def from_yaml_file(cls, path: str | os.PathLike) -> "SkyExecutor":
        """An executor from a SkyPilot task YAML file (``sky launch task.yaml``'s file).

        The task's ``name`` and ``run`` are not executor fields: read them with
        :func:`skyexec_nb.model.config.load_yaml_file` (``%%skylaunch --task`` does).

        Raises:
            FieldError: the file cannot be read or does not hold a task mapping (one line).
        """
        return cls.from_config(cfg.load_yaml_file(path))

    def to_resources(self) -> set[Any]:
        """The ``sky.Resources`` candidates (imports sky; checks cloud names with its registry)."""
        fields = self._checked_fields()
        self._check_sky_clouds()
        resources = cfg.resources_config(fields)
        if self.cluster_config_overrides:
            resources["_cluster_config_overrides"] = copy.deepcopy(self.cluster_config_overrides)
        import sky

        return set(_sky_call(sky.Resources.from_yaml_config, resources, "resources"))

    def to_task(self, name: str, cmd: str | Sequence[str] | None = None,
                env_vars: Mapping[str, Any] | None = None) -> Any:
        """The ``sky.Task``: exactly ``sky.Task.from_yaml_config(to_config(...))`` (imports sky)."""
        config = self.to_config(name, cmd, env_vars)
        self._check_sky_clouds()
        import sky

        return _sky_call(sky.Task.from_yaml_config, config, "task")

    def _check_sky_clouds(self) -> None:
        from sky.utils import registry

        names = [("cloud", c) for c in v.as_list(self.cloud) if c != v.NONE]
        if self.infra is not None and v.infra_cloud(self.infra) is not None:
            names.append(("infra", v.infra_cloud(self.infra)))
        for field, name in names:
            try:
                registry.CLOUD_REGISTRY.from_str(name)
            except ValueError:
                raise FieldError(field, f"a cloud of SkyPilot's registry "
                                        f"({', '.join(sorted(registry.CLOUD_REGISTRY))})", name) from None

    # --- NeMo-Run's executor API ---------------------------------------------------------------

    def nnodes(self) -> int:
        """Number of nodes."""
        return self.num_nodes

    def nproc_per_node(self) -> int:
        """torchrun_nproc_per_node, else GPUs per node (when every candidate agrees), else 1."""
        if self.torchrun_nproc_per_node:
            return self.torchrun_nproc_per_node
        if self.gpus_per_node:
            return self.gpus_per_node
        counts = {v.split_gpu(g)[1] or 1 for g in v.as_list(self.gpus) if g != v.NONE}
        return int(counts.pop()) if len(counts) == 1 and counts != {0} else 1

    def macro_values(self) -> ExecutorMacros:
        """The shell variable names a launcher substitutes (head node IP, ranks, counts)."""
        return ExecutorMacros(
            head_node_ip_var=self.HEAD_NODE_IP_VAR, nproc_per_node_var=self.NPROC_PER_NODE_VAR,
            num_nodes_var=self.NUM_NODES_VAR, node_rank_var=self.NODE_RANK_VAR,
            het_group_host_var=self.HET_GROUP_HOST_VAR)

    @classmethod
    def parse_app(cls, app_id: str) -> tuple[str, str, int]:
        """``experiment___cluster___task___jobid`` -> ``(cluster, task, job_id)``.

        Raises:
            AppIdError: (a ValueError) the id is not of that form; the message names it.
        """
        return app_ids.parse_app(app_id)

    @property
    def workdir(self) -> str | None:
        """The local directory synced to the nodes: set explicitly, or ``<job_dir>/workdir``."""
        if self._workdir is not None:
            return self._workdir
        return os.path.join(self.job_dir, "workdir") if self.job_dir else None

    @workdir.setter
    def workdir(self, path: str | None) -> None:
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise FieldError("workdir", "a local directory path", path)
        self._workdir = path

    def _config_workdir(self) -> str | None:
        """The workdir put in the task YAML: explicit, or the job's when it exists on disk."""
        if self._workdir is not None:
            return self._workdir
        return self.workdir if self.workdir and os.path.isdir(self.workdir) else None

    def assign(self, exp_id: str, exp_dir: str, task_id: str, task_dir: str) -> None:
        """Attach to an experiment: the job directory ``exp_dir/task_dir`` is created and mounted
        at ``/skyexec_nb`` on the nodes."""
        self.experiment_id, self.experiment_dir, self.job_name = exp_id, exp_dir, task_id
        self.job_dir = os.path.join(exp_dir, task_dir)
        os.makedirs(self.job_dir, exist_ok=True)

    def package_configs(self, *cfgs: tuple[str, str]) -> list[str]:
        """Write ``(name, text)`` files under ``job_dir/configs``; return their paths on the nodes."""
        if not self.job_dir:
            raise RuntimeError("package_configs needs a job directory: call assign(...) first")
        paths = []
        for name, text in cfgs:
            local = os.path.join(self.job_dir, "configs", name)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "w", encoding="utf-8") as f:
                f.write(text)
            paths.append(f"{cfg.REMOTE_RUN_DIR}/configs/{name}")
        return paths

    # --- display -----------------------------------------------------------------------------

    def _display_fields(self) -> dict[str, Any]:
        fields = self.fields_set()
        if "env_vars" in fields:
            fields["env_vars"] = masking.mask_env(fields["env_vars"])
        if "secrets" in fields:  # every secret value, whatever its name
            fields["secrets"] = {k: None if x is None else masking.MASK for k, x in fields["secrets"].items()}
        return fields

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={val!r}" for k, val in self._display_fields().items())
        return f"{type(self).__name__}({body})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'><code>{html.escape(repr(val))}</code></td></tr>"
                       for k, val in self._display_fields().items())
        rows = rows or "<tr><td><i>all defaults</i></td></tr>"
        return f"<table class='skyexec-executor'><caption>{type(self).__name__}</caption>{rows}</table>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return view_registry.mimebundle(self, repr(self), self._repr_html_())

    def edit(self) -> Any:
        """The resource picker widget bound to this executor.

        Raises:
            RuntimeError: no view is available (views not registered or ipywidgets missing).
        """
        widget = view_registry.editor_for(self)
        if widget is None:
            raise RuntimeError("No editor view for SkyExecutor: `import skyexec_nb` registers it, "
                               "and it needs ipywidgets (pip install 'ipywidgets>=8.1')")
        return widget


def _sky_call(function: Any, config: dict[str, Any], field: str) -> Any:
    """Call a SkyPilot parser on a copy of ``config``; its errors become one-line FieldErrors."""
    try:
        return function(copy.deepcopy(config))
    except (ValueError, AssertionError) as e:
        if isinstance(e, FieldError):
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise FieldError(field, f"SkyPilot rejected it: {first}", found=False) from e

