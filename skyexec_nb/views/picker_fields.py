"""The picker's fields as data: which widget, how text becomes a value and back, and the binding.

A :class:`FieldSpec` says how a SkyExecutor trait is edited. :class:`FieldBinding` keeps one
widget and one trait in sync both ways (traitlets ``observe`` on each side): the form parses the
text and assigns it, so the model's own validation decides; on :class:`FieldError` the model's
message is shown next to the field (CSS ``skx-field-error``) and the executor keeps its last
valid value. Setting the executor from code rewrites the form and clears the error.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Callable

import ipywidgets as widgets
from traitlets import HasTraits, TraitError

CLOUDS = ("aws", "gcp", "azure", "kubernetes", "lambda", "runpod", "oci", "nebius", "paperspace",
          "fluidstack", "cudo", "do", "vast", "ibm", "scp", "vsphere", "ssh")
DISK_TIERS = ("low", "medium", "high", "ultra", "best")
NETWORK_TIERS = ("standard", "best")


#: A dropdown's "unset" choice. Not None: an ipywidgets 8 Dropdown treats value None as "nothing
#: selected" (index None), so the browser showed an empty box instead of "any"/"default".
UNSET = ""

@dataclass(frozen=True)
class FieldSpec:
    """How one executor trait is edited.

    Attributes:
        name: the trait.
        label: what the user reads.
        kind: ``text``, ``number``, ``textarea``, ``checkbox``, ``dropdown``, ``combobox`` or
            ``mapping`` (a name, or a ``{key: value, ...}`` YAML flow mapping).
        advanced: shown in the "Advanced" section.
        listy: comma-separated text becomes a list (SkyPilot alternatives / several ports).
        options: dropdown/combobox choices, or a callable returning them (read lazily).
        placeholder: grey hint text.
    """

    name: str
    label: str
    kind: str = "text"
    advanced: bool = False
    listy: bool = False
    options: tuple | Callable[[], tuple] = field(default=())
    placeholder: str = ""

    def choices(self) -> tuple:
        """The options, resolving a callable."""
        return tuple(self.options()) if callable(self.options) else tuple(self.options)

    def parse(self, raw: Any) -> Any:
        """Form value -> trait value (no validation: the model validates on assignment)."""
        if self.kind == "checkbox":
            return raw
        if self.kind == "dropdown":
            return None if raw == UNSET else raw
        text = str(raw).strip() if raw is not None else ""
        if self.kind == "textarea":
            return str(raw) if text else None
        if not text:
            return None
        if self.kind == "mapping":
            return _flow_mapping(text)
        parts = [p.strip() for p in text.split(",")] if self.listy and "," in text else None
        if parts is not None:
            return [_number(p) if self.kind == "number" else p for p in parts]
        return _number(text) if self.kind == "number" else text

    def format(self, value: Any) -> Any:
        """Trait value -> form value (a checkbox shows a list of alternatives as "any True")."""
        if self.kind == "checkbox":
            return any(v is True for v in value) if isinstance(value, list) else bool(value)
        if self.kind == "dropdown":
            return UNSET if value is None else value
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            import yaml

            return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
        return str(value)


def _flow_mapping(text: str) -> Any:
    """``"{a: 1}"`` -> ``{"a": 1}``; other text (or YAML that does not parse) unchanged for the model to judge."""
    if not text.startswith("{"):
        return text
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _number(text: str) -> Any:
    """``"4"`` -> 4, ``"1.5"`` -> 1.5; anything else unchanged (the model says why it is wrong)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _gpu_options() -> tuple[str, ...]:
    """``NAME:COUNT`` per usual per-node count (from the model's list; never a network fetch)."""
    from skyexec_nb.model.accelerators import accelerator_info, accelerator_names

    options: list[str] = []
    for name in accelerator_names():
        info = accelerator_info(name)
        options.extend(f"{name}:{n}" for n in info.counts) if info and info.counts else options.append(name)
    return tuple(options)


def gpu_hint(text: str) -> str:
    """``'A100: 40 GB per GPU (nvidia)'`` for a known accelerator in the gpus text, else ''."""
    from skyexec_nb.model.accelerators import accelerator_info

    name = str(text).split(",")[0].split(":")[0].strip()
    info = accelerator_info(name) if name else None
    return f"{info.name}: {info.memory_gb:g} GB per GPU ({info.vendor})" if info else ""


MAIN_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("cloud", "Cloud", "dropdown", options=(("any", UNSET), *((c, c) for c in CLOUDS))),
    FieldSpec("gpus", "GPUs", "combobox", options=_gpu_options, placeholder="e.g. A100:8 (empty: none)"),
    FieldSpec("gpus_per_node", "GPUs per node", "number", placeholder="e.g. 8"),
    FieldSpec("num_nodes", "Nodes", "number"),
    FieldSpec("use_spot", "Use spot instances", "checkbox"),
    FieldSpec("ports", "Ports", listy=True, placeholder="8888, 6006, 8000-8010"),
    FieldSpec("cluster_name", "Cluster name", placeholder="(generated)"),
)
ADVANCED_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("region", "Region", advanced=True, listy=True),
    FieldSpec("zone", "Zone", advanced=True, listy=True),
    FieldSpec("infra", "Infra", advanced=True, placeholder="e.g. aws/us-east-1, k8s"),
    FieldSpec("cpus", "CPUs", advanced=True, placeholder="e.g. 8 or 4+"),
    FieldSpec("memory", "Memory (GB)", advanced=True, placeholder="e.g. 32 or 32+"),
    FieldSpec("instance_type", "Instance type", advanced=True, listy=True),
    FieldSpec("disk_size", "Disk size (GB)", "number", advanced=True),
    FieldSpec("disk_tier", "Disk tier", "dropdown", advanced=True, options=(("default", UNSET), *((t, t) for t in DISK_TIERS))),
    FieldSpec("network_tier", "Network tier", "dropdown", advanced=True,
              options=(("default", UNSET), *((t, t) for t in NETWORK_TIERS))),
    FieldSpec("container_image", "Container image", advanced=True, placeholder="e.g. docker:nvcr.io/nvidia/pytorch:24.01-py3"),
    FieldSpec("setup", "Setup script", "textarea", advanced=True, placeholder="commands run once per node"),
    FieldSpec("autodown", "Tear down when idle (autodown)", "checkbox", advanced=True),
    FieldSpec("idle_minutes_to_autostop", "Idle minutes to autostop", "number", advanced=True),
    FieldSpec("retry_until_up", "Retry until up", "checkbox", advanced=True),
    FieldSpec("torchrun_nproc_per_node", "torchrun nproc per node", "number", advanced=True),
    FieldSpec("job_recovery", "Job recovery (managed jobs)", "mapping", advanced=True,
              placeholder="FAILOVER or {strategy: FAILOVER, max_restarts_on_errors: 3}"),
)
ALL_FIELDS = MAIN_FIELDS + ADVANCED_FIELDS


def make_widget(spec: FieldSpec) -> widgets.Widget:
    """The input widget of ``spec`` (every widget carries CSS ``skx-field-<name>``).

    No description: the picker puts ``spec.label`` in its label column (:func:`form_label`), so a
    long label wraps instead of being cut off, and a checkbox sits in the field column.
    """
    common = dict(layout=widgets.Layout(width="auto", max_width="32em"))
    if spec.kind == "checkbox":
        widget = widgets.Checkbox(value=False, description="", indent=False, layout=widgets.Layout(width="auto"))
    elif spec.kind == "dropdown":
        widget = widgets.Dropdown(options=spec.choices(), **common)
    elif spec.kind == "combobox":
        widget = widgets.Combobox(options=spec.choices(), ensure_option=False, placeholder=spec.placeholder, **common)
    elif spec.kind == "textarea":
        widget = widgets.Textarea(placeholder=spec.placeholder, rows=3, **common)
    else:
        widget = widgets.Text(placeholder=spec.placeholder, **common)
    widget.add_class(f"skx-field-{spec.name.replace('_', '-')}")
    return widget


def gpu_hint_line(gpus: widgets.Widget) -> widgets.HTML:
    """A grey line under the gpus box: memory per GPU of the accelerator typed (CSS ``skx-gpu-hint``)."""
    hint = widgets.HTML(layout=widgets.Layout(width="auto"))
    hint.add_class("skx-gpu-hint")
    hint.add_class("skx-muted")

    def show(_: Any = None) -> None:
        text = gpu_hint(gpus.value)
        hint.value = html.escape(text) if text else ""

    gpus.observe(show, "value")
    show()
    return hint


def form_label(text: str, css: str = "") -> widgets.HTML:
    """A label of the picker's label column (CSS ``skx-form-label``): wraps, never cut off."""
    label = widgets.HTML(f"<label>{html.escape(text)}</label>", layout=widgets.Layout(width="auto"))
    label.add_class("skx-form-label")
    if css:
        label.add_class(css)
    return label


def error_label() -> widgets.HTML:
    """The red label shown under an invalid field (CSS ``skx-field-error``); empty when valid."""
    label = widgets.HTML(layout=widgets.Layout(width="auto"))
    label.add_class("skx-field-error")
    return label


def error_html(message: str) -> str:
    """A field's error in the theme's error colour ('' for none)."""
    return f'<span style="color:var(--jp-error-color1, #d32f2f)">{html.escape(message)}</span>' if message else ""


def assign_showing_error(view: Any, assign: Callable[[], None]) -> None:
    """Run ``assign`` (a write to the model) with ``view._writing`` set, so the model's echo is
    ignored; the model's own error words (a FieldError is a TraitError) go to ``view._set_error``,
    and the model keeps its last valid value."""
    view._writing = True
    try:
        assign()
    except TraitError as exc:
        view._set_error(str(exc))
    else:
        view._set_error("")
    finally:
        view._writing = False


class FieldBinding:
    """Two-way sync of one form widget and one trait of ``model``.

    Args:
        model: the SkyExecutor (any HasTraits).
        spec: the field.
        widget: the input (its ``value`` trait is bound).
        label: where the model's error message goes.
        on_validity: called with no argument whenever ``error`` changes.
    """

    def __init__(self, model: HasTraits, spec: FieldSpec, widget: widgets.Widget, label: widgets.HTML,
                 on_validity: Callable[[], None] = lambda: None) -> None:
        self.model, self.spec, self.widget, self.label = model, spec, widget, label
        self.on_validity = on_validity
        self.error = ""
        self._writing = False  # True while this binding assigns the other side
        self._show(getattr(model, spec.name))
        widget.observe(self._from_widget, "value")
        model.observe(self._from_model, spec.name)

    def _from_widget(self, change: dict) -> None:
        if self._writing:
            return
        assign_showing_error(self, lambda: setattr(self.model, self.spec.name, self.spec.parse(change["new"])))

    def _from_model(self, change: dict) -> None:
        if self._writing:
            return
        self._show(change["new"])
        self._set_error("")

    def _show(self, value: Any) -> None:
        self._writing = True
        try:
            shown = self.spec.format(value)
            if self.spec.kind == "dropdown":
                self._ensure_option(shown)
            self.widget.value = shown
        finally:
            self._writing = False

    def _ensure_option(self, value: Any) -> None:
        """A dropdown shows values outside its list too (e.g. a list of clouds set in code)."""
        if all(v != value for _, v in self.widget.options):
            self.widget.options = (*self.widget.options, (_label(value), value))

    def _set_error(self, message: str) -> None:
        if message == self.error:
            return
        self.error = message
        self.label.value = error_html(message)
        self.on_validity()

    def reset(self) -> None:
        """Show the model's value again and clear the error (text the model refused is dropped)."""
        self._show(getattr(self.model, self.spec.name))
        self._set_error("")

    def unbind(self) -> None:
        """Stop syncing (the picker calls this when closed)."""
        self.widget.unobserve(self._from_widget, "value")
        self.model.unobserve(self._from_model, self.spec.name)


def _label(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
