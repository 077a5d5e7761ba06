"""The resource picker: a form two-way bound to a SkyExecutor, a YAML preview and Launch.

CSS classes (stable; browser tests rely on them):

- ``skx-picker`` the whole form; ``skx-advanced`` the "Advanced" accordion
- ``skx-field-<name>`` each input (``_`` becomes ``-``: ``skx-field-num-nodes``), ``skx-field-error``
  the red message under an invalid field (empty when valid)
- ``skx-gpu-hint`` memory per GPU under the gpus box; ``skx-backend`` backend dropdown, ``skx-job-name`` name text, ``skx-command`` command textarea
- ``skx-kv`` / ``skx-kv-env-vars`` / ``skx-kv-file-mounts`` key/value editors; ``skx-kv-row``,
  ``skx-kv-key``, ``skx-kv-value``, ``skx-kv-remove``, ``skx-kv-add``
- ``skx-price`` the price line; ``skx-yaml`` the YAML preview, ``skx-yaml-path``,
  ``skx-save-yaml-button``, ``skx-yaml-message``, ``skx-copy-yaml-button``, ``skx-yaml-copy``
- ``skx-launch-button``, ``skx-launch-message`` (red launch error), ``skx-panels`` (where the new
  job's launch panel appears; see :mod:`skyexec_nb.views.launch_panel` for its classes)
- ``skx-plan-button`` shows SkyPilot's optimizer plan in ``skx-plan`` (launches nothing)

The picker holds no launch logic: "Launch" calls ``skyexec_nb.engine.jobs.launcher.launch``.
One click, one job: Launch is disabled from the click until the job is recorded, then reads
"Launched job N" and stays disabled until the form changes or ``RELAUNCH_AFTER`` seconds pass; a
click that arrives meanwhile (the second half of a double click) launches nothing.
Its saved record (see :mod:`skyexec_nb.views.record`) lists the form's fields, then the launched
job's record.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as widgets
import traitlets

from skyexec_nb.engine.jobs.backend_api import BACKEND_NAMES
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.views.kv_rows import KeyValueRows
from skyexec_nb.views.picker_fields import (ADVANCED_FIELDS, MAIN_FIELDS, FieldBinding, FieldSpec, error_label, gpu_hint,
                                           make_widget)
from skyexec_nb.views.plan_button import PlanView
from skyexec_nb.views.price_line import PriceLine
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.static_repr import picker_record
from skyexec_nb.views.yaml_preview import YamlPreview


#: Seconds after a launch before "Launch" is offered again for an unchanged form.
RELAUNCH_AFTER = 3.0


class ResourcePicker(RecordedView, widgets.VBox):
    """Edit ``executor`` in a form; launch a command on it.

    Args:
        executor: the SkyExecutor edited in place (default: a new one).
        command: initial command text.
        name: initial job name (default: derived from the command).
        backend: initial backend (default ``settings.default_backend``).
        price_service: a ``PriceService``; default the shared one; ``False`` for no price line
            (the Plan button then uses the shared one when clicked).
    """

    def __init__(self, executor: Any = None, *, command: str = "", name: str = "", backend: str | None = None,
                 price_service: Any = None) -> None:
        if executor is None:
            from skyexec_nb.model.executor import SkyExecutor

            executor = SkyExecutor()
        self.executor = executor
        self.job: Any = None  # the last job launched from here
        self._init_record()
        self._launch_lock = threading.Lock()
        self._launching = False
        self._launched_at: float | None = None
        self._relaunch_timer: threading.Timer | None = None
        self.bindings: dict[str, FieldBinding] = {}
        self.inputs: dict[str, widgets.Widget] = {}
        self.errors: dict[str, widgets.HTML] = {}

        self.backend = widgets.Dropdown(options=list(BACKEND_NAMES), value=backend or get_settings().default_backend,
                                        description="Backend", style={"description_width": "11em"})
        self.backend.add_class("skx-backend")
        self.name = widgets.Text(value=name, description="Job name", placeholder="(first word of the command)",
                                 style={"description_width": "11em"}, layout=widgets.Layout(width="36em"))
        self.name.add_class("skx-job-name")
        self.command = widgets.Textarea(value=command, description="Command", placeholder="python train.py --epochs 3",
                                        rows=4, style={"description_width": "11em"}, layout=widgets.Layout(width="48em"))
        self.command.add_class("skx-command")

        main = widgets.VBox([self.backend, *self._fields(MAIN_FIELDS)])
        self.env_vars = KeyValueRows(executor, "env_vars", "Environment variables", self._validity_changed)
        self.file_mounts = KeyValueRows(executor, "file_mounts", "File mounts", self._validity_changed,
                                        key_placeholder="/remote/path", value_placeholder="local path or s3://…",
                                        mask_secrets=False)
        self.advanced = widgets.Accordion([widgets.VBox([*self._fields(ADVANCED_FIELDS), self.env_vars, self.file_mounts])],
                                          titles=("Advanced",), selected_index=None)
        self.advanced.add_class("skx-advanced")

        self.price = PriceLine(price_service)
        self.yaml = YamlPreview(executor, self.job_name, lambda: self.command.value)
        self.launch_button = widgets.Button(description="Launch", icon="rocket", button_style="primary")
        self.launch_button.add_class("skx-launch-button")
        self.launch_button.on_click(lambda _: self.launch())
        self.launch_message = widgets.HTML()
        self.launch_message.add_class("skx-launch-message")
        self.planner = PlanView(executor, lambda: self.backend.value, price_service)
        self.plan_button, self.plan_output = self.planner.button, self.planner.output
        self.panels = widgets.VBox()
        self.panels.add_class("skx-panels")
        self.stale = StaleNote("skx-picker")

        executor.observe(self._executor_changed)
        self.name.observe(self._name_changed, "value")
        self.command.observe(self._command_changed, "value")
        self.backend.observe(self._backend_changed, "value")
        super().__init__([self.stale, main, self.advanced, self.name, self.command, self.price, self.yaml,
                          widgets.HBox([self.launch_button, self.plan_button, self.launch_message]),
                          self.plan_output, self.panels])
        self.add_class("skx-picker")
        self.stale.set_text("Live view not connected (kernel restarted or notebook reopened): run %skyexec to "
                            "re-attach; %skyjobs shows the jobs launched from here.", self.model_id)
        self.price.request(executor)
        self._validity_changed()

    def _fields(self, specs: tuple[FieldSpec, ...]) -> list[widgets.Widget]:
        rows = []
        for spec in specs:
            widget, label = make_widget(spec), error_label()
            self.inputs[spec.name], self.errors[spec.name] = widget, label
            self.bindings[spec.name] = FieldBinding(self.executor, spec, widget, label, self._validity_changed)
            extra = [self._gpu_hint(widget)] if spec.name == "gpus" else []
            rows.append(widgets.VBox([widget, *extra, label], layout=widgets.Layout(margin="0 0 2px 0")))
        return rows

    def _gpu_hint(self, gpus: widgets.Widget) -> widgets.HTML:
        """A grey line under the gpus box: memory per GPU of the accelerator typed (CSS ``skx-gpu-hint``)."""
        hint = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12em"))
        hint.add_class("skx-gpu-hint")

        def show(_: Any = None) -> None:
            text = gpu_hint(gpus.value)
            hint.value = f'<span style="color:#6c757d">{html.escape(text)}</span>' if text else ""

        gpus.observe(show, "value")
        show()
        self.gpu_info = hint
        return hint

    # -- state -------------------------------------------------------------------------------
    @property
    def invalid_fields(self) -> dict[str, str]:
        """``{field: message}`` of every field whose form text the model refused."""
        found = {name: b.error for name, b in self.bindings.items() if b.error}
        found.update({kv.name: kv.error for kv in (self.env_vars, self.file_mounts) if getattr(kv, "error", "")})
        return found

    def job_name(self) -> str:
        """The name field, else the engine's default name of the command."""
        from skyexec_nb.engine.jobs.launcher import default_name

        return self.name.value.strip() or default_name(self.command.value)

    def _validity_changed(self) -> None:
        if not hasattr(self, "launch_button"):
            return  # still building
        invalid = self.invalid_fields
        if self._launching or self._launched_at is not None:  # one click, one job
            self.launch_button.disabled = True
            return
        self.launch_button.description = "Launch"
        self.launch_button.disabled = bool(invalid) or not self.command.value.strip()
        if invalid:
            self.launch_button.tooltip = f"Fix {', '.join(invalid)} first"
        elif not self.command.value.strip():
            self.launch_button.tooltip = "Type a command first"
        else:
            self.launch_button.tooltip = f"Run the command on the {self.backend.value} backend"

    def _executor_changed(self, _change: traitlets.Bunch) -> None:
        self.yaml.refresh()
        self.price.request(self.executor)
        self._form_changed()

    def _command_changed(self, _change: traitlets.Bunch) -> None:
        self.yaml.refresh()
        self._form_changed()

    def _name_changed(self, _change: traitlets.Bunch) -> None:
        self.yaml.refresh()
        self._form_changed()

    def _backend_changed(self, _change: traitlets.Bunch) -> None:
        self._form_changed()

    def _form_changed(self) -> None:
        """An edit after a launch offers Launch again (for the edited form)."""
        if not self._launching:
            self._launched_at = None
        self._validity_changed()
        self.record_changed()

    def _offer_relaunch(self, launched_at: float) -> None:
        """``RELAUNCH_AFTER`` seconds after a launch: Launch is offered again for the same form."""
        if self._launched_at == launched_at and not self._launching:
            self._launched_at = None
            self._validity_changed()

    # -- actions -----------------------------------------------------------------------------
    def launch(self) -> Any:
        """Launch the command on the executor; show the job's panel below (or the error, in words).

        Does nothing while a launch is under way or just done (a double click launches once).
        """
        with self._launch_lock:
            if self._launching or self._launched_at is not None or self.launch_button.disabled:
                return None
            self._launching = True
            self.launch_button.disabled = True
            self.launch_button.description = "Launching…"
        from skyexec_nb.engine.jobs import launcher
        from skyexec_nb.views.launch_panel import LaunchPanel

        try:
            job = launcher.launch(self.executor, self.command.value, backend=self.backend.value,
                                  name=self.name.value.strip() or None)
        except Exception as exc:  # FieldError, backend precheck: the user reads why
            self.launch_message.value = (f'<span style="color:#dc3545;font-weight:600">Launch failed: '
                                         f"{html.escape(str(exc))}</span>")
            self._launching = False
            self._validity_changed()
            return None
        self.job = job
        launched_at = self._launched_at = time.monotonic()
        self._launching = False
        self.launch_button.description = f"Launched job {job.id}"
        self.launch_button.disabled = True
        self.launch_message.value = f"Launched job {html.escape(str(job.id))} ({html.escape(job.name)})."
        for old in self.panels.children:
            old.close()
        panel = LaunchPanel(job, price_service=self.price.service or None)
        panel.record_parent = self
        self.panels.children = (panel,)
        timer = self._relaunch_timer = threading.Timer(RELAUNCH_AFTER, self._offer_relaunch, (launched_at,))
        timer.daemon = True
        timer.start()
        self.record_changed(force=True)
        return job

    # -- record ------------------------------------------------------------------------------
    def record_parts(self) -> tuple[str, str, Any]:
        """The form's fields, then the launched job's record (if any)."""
        fields = self.executor._display_fields() if hasattr(self.executor, "_display_fields") else {}
        text, body = picker_record(fields, self.backend.value, self.name.value.strip(), self.command.value)
        panel = self.panels.children[0] if self.panels.children else None
        if panel is not None and hasattr(panel, "record_parts"):
            job_text, job_body, _ = panel.record_parts()
            text, body = f"{text}\n{job_text}", f"{body}<div style='margin-top:6px'>{job_body}</div>"
        return text, body, (self.job.id if self.job is not None else None)

    def sync_state(self) -> None:
        """Bring the launched job's panel up to date (the record keeper calls this after each cell)."""
        for panel in self.panels.children:
            if hasattr(panel, "sync_state"):
                panel.sync_state()

    def close(self) -> None:
        """Unbind from the executor and close every child widget."""
        if getattr(self, "_closed", False):  # close() again from __del__: nothing left to do
            return
        self._closed = True
        if self._relaunch_timer is not None:
            self._relaunch_timer.cancel()
        for binding in self.bindings.values():
            binding.unbind()
        for kv in (self.env_vars, self.file_mounts):
            kv.unbind()
        self.executor.unobserve(self._executor_changed)
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()))
            child.close()
        super().close()
