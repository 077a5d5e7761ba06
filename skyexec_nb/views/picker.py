"""The resource picker: a form two-way bound to a SkyExecutor, a YAML preview and Launch.

Layout: ONE grid (CSS ``skx-form``) of label + field rows, the "Advanced" rows in the same grid, so
every field starts at the same x; labels wrap rather than being cut off, and nothing is wider than
the notebook (no horizontal scrollbar). Colours come from JupyterLab's theme (:mod:`~skyexec_nb.views.theme`).

CSS classes (stable; browser tests rely on them):

- ``skx-picker`` the whole form; ``skx-form`` its grid, ``skx-form-label`` each label;
  ``skx-advanced`` the "Advanced" toggle (``skx-advanced-row`` on the rows it shows)
- ``skx-field-<name>`` each input (``_`` becomes ``-``: ``skx-field-num-nodes``), ``skx-field-error``
  the red message under an invalid field (empty when valid)
- ``skx-gpu-hint`` memory per GPU under the gpus box; ``skx-gpu-warning`` the local backend asked
  for GPUs this machine lacks (what it will do instead); ``skx-backend`` backend dropdown,
  ``skx-job-name`` name text (its placeholder is the default name), ``skx-command`` command textarea
- ``skx-kv`` / ``skx-kv-env-vars`` / ``skx-kv-file-mounts`` key/value editors; ``skx-kv-row``,
  ``skx-kv-key``, ``skx-kv-value``, ``skx-kv-remove``, ``skx-kv-add``
- ``skx-price`` the price line (hidden for the local backend), ``skx-price-note``: "runs here"
  (``skx-price-local``) or "out of date" (``skx-price-stale``) while a field is invalid
- ``skx-yaml`` the YAML preview (``skx-yaml-stale`` marks it out of date), ``skx-yaml-path``,
  ``skx-save-yaml-button``, ``skx-yaml-message``, ``skx-copy-yaml-button``, ``skx-yaml-copy``
- ``skx-launch-button``, ``skx-launch-reason`` (why Launch is disabled, in words, next to it),
  ``skx-launch-message`` (red launch error), ``skx-panels`` (where the new job's launch panel
  appears; see :mod:`skyexec_nb.views.launch_panel` for its classes)
- ``skx-field-timeout``, ``skx-field-max-cost``, ``skx-launch-anyway``: :mod:`~skyexec_nb.views.picker_limits`
- ``skx-plan-button`` shows SkyPilot's optimizer plan in ``skx-plan`` (launches nothing)
- ``skx-open-yaml*`` opens a task YAML, ``skx-kept`` what is kept from it, ``skx-field-workdir``
  (see :mod:`~skyexec_nb.views.picker_yaml`); ``skx-required*`` values set at launch
  (:mod:`~skyexec_nb.views.required_inputs`)

The picker holds no launch logic: "Launch" calls ``skyexec_nb.engine.api.launch`` (see ``picker_limits``).
One click, one job: Launch is disabled from the click until the job is recorded, then reads
"Launched job N" and stays disabled until the form changes or ``RELAUNCH_AFTER`` seconds pass; a
click that arrives meanwhile (the second half of a double click) launches nothing.
An empty name field launches under the default name shown as its placeholder (``train-3fa2``: see
``launcher.default_name``; the tag is kept until a launch, so the preview and the job agree).
Its saved record (see :mod:`skyexec_nb.views.record`) lists the form's fields, then the launched
job's record.
"""
from __future__ import annotations

import html
import threading
import time
import uuid
from typing import Any

import ipywidgets as widgets
import traitlets

from skyexec_nb.engine.jobs.backend_table import BACKEND_NAMES
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.views.kv_rows import KeyValueRows
from skyexec_nb.views.local_gpus import gpu_warning, local_gpu_count, requested_gpus
from skyexec_nb.views.picker_limits import BudgetConfirm, LimitFields, launch_or_explain, warm_price
from skyexec_nb.views.picker_fields import (ADVANCED_FIELDS, MAIN_FIELDS, FieldBinding, FieldSpec, error_label,
                                           form_label, gpu_hint_line, make_widget)
from skyexec_nb.views.picker_notes import (LOCAL_PRICE_TEXT, launch_reason, price_note, show_price_note,  # noqa: F401
                                           yaml_stale)
from skyexec_nb.views.picker_yaml import KeptView, WorkdirField, YamlOpener, open_into
from skyexec_nb.views.plan_button import PlanView
from skyexec_nb.views.price_line import PriceLine
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.required_inputs import RequiredInputs
from skyexec_nb.views.static_repr import picker_record
from skyexec_nb.views.theme import ERROR, theme_style
from skyexec_nb.views.yaml_preview import YamlPreview


#: Seconds after a launch before "Launch" is offered again for an unchanged form.
RELAUNCH_AFTER = 3.0
#: The grid's columns: labels (wrapping beyond 13em), fields (the rest, never wider).
FORM_COLUMNS = "minmax(6em, 13em) minmax(0, 1fr)"


def _auto(max_width: str = "32em") -> widgets.Layout:
    return widgets.Layout(width="auto", max_width=max_width, min_width="0")


class ResourcePicker(RecordedView, widgets.VBox):
    """Edit ``executor`` in a form; launch a command on it.

    Args:
        executor: the SkyExecutor edited in place (default: a new one).
        command: initial command text.
        name: initial job name (default: derived from the command, shown as the placeholder).
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
        self._name_tag = uuid.uuid4().hex[:4]
        self.bindings: dict[str, FieldBinding] = {}
        self.inputs: dict[str, widgets.Widget] = {}
        self.errors: dict[str, widgets.HTML] = {}
        self._advanced_rows: list[widgets.Widget] = []

        self.backend = widgets.Dropdown(options=list(BACKEND_NAMES), value=backend or get_settings().default_backend,
                                        layout=_auto("16em"))
        self.backend.add_class("skx-backend")
        self.name = widgets.Text(value=name, layout=_auto())
        self.name.add_class("skx-job-name")
        self.command = widgets.Textarea(value=command, placeholder="python train.py --epochs 3", rows=4,
                                        layout=_auto("48em"))
        self.command.add_class("skx-command")
        self.gpu_warning = widgets.HTML(layout=widgets.Layout(display="none", width="auto"))
        self.gpu_warning.add_class("skx-gpu-warning")
        self.gpu_warning.add_class("skx-warn")
        self.env_vars = KeyValueRows(executor, "env_vars", "Environment variables", self._validity_changed,
                                     show_title=False)
        self.file_mounts = KeyValueRows(executor, "file_mounts", "File mounts", self._validity_changed,
                                        key_placeholder="/remote/path", value_placeholder="local path or s3://…",
                                        mask_secrets=False, show_title=False)
        self.advanced = widgets.ToggleButton(value=False, description="Advanced", icon="caret-right",
                                             tooltip="Region, disk, setup, autostop, env vars, file mounts…",
                                             layout=widgets.Layout(width="auto"))
        self.advanced.add_class("skx-advanced")
        advanced_row = widgets.HBox([self.advanced], layout=widgets.Layout(grid_column="1 / -1", width="auto"))
        advanced_row.add_class("skx-form-wide")  # spans both columns: the rows after it keep their columns
        self.advanced.observe(lambda _: self._show_advanced(), "value")

        self.price = PriceLine(price_service)
        self.price_note = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.price_note.add_class("skx-price-note")
        self.yaml = YamlPreview(executor, self.job_name, lambda: self.command.value)
        self.launch_button = widgets.Button(description="Launch", icon="rocket", button_style="primary",
                                            layout=widgets.Layout(width="auto"))
        self.launch_button.add_class("skx-launch-button")
        self.launch_button.on_click(lambda _: self.launch())
        self.launch_reason = widgets.HTML(layout=widgets.Layout(width="auto", min_width="0", flex="1 1 12em"))
        self.launch_reason.add_class("skx-launch-reason")
        self.launch_message = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.launch_message.add_class("skx-launch-message")
        self.budget_confirm = BudgetConfirm(self.launch_button, self.launch_message)
        self.limits = LimitFields(self._form_changed, warm=lambda: warm_price(self.executor, self.backend.value))
        self.planner = PlanView(executor, lambda: self.backend.value, price_service)
        self.plan_button, self.plan_output = self.planner.button, self.planner.output
        self.panels = widgets.VBox()
        self.panels.add_class("skx-panels")
        self.opener = YamlOpener(lambda path: open_into(self, path))
        self.workdir = WorkdirField(executor, self._workdir_changed)
        self.kept = KeptView(executor)
        self.required = RequiredInputs(executor, self._validity_changed)
        self.task_run: str | None = None  # the run script and name of the YAML opened last
        self.task_name: str | None = None
        self.stale = StaleNote("skx-picker")

        launch_row = widgets.HBox([self.launch_button, self.plan_button, self.launch_reason],
                                  layout=widgets.Layout(width="auto", min_width="0"))
        launch_row.add_class("skx-wrap-row")
        rows = [("Open a task YAML", self.opener), ("Backend", self.backend), ("Job name", self.name),
                ("Command", self.command), ("Workdir", self.workdir), *self._fields(MAIN_FIELDS),
                ("Set at launch", self.required), ("Kept from the YAML", self.kept)]
        advanced = [*self._fields(ADVANCED_FIELDS), ("Environment variables", self.env_vars),
                    ("File mounts", self.file_mounts)]
        tail = [*self.limits.rows(), ("Price", widgets.VBox([self.price, self.price_note], layout=_auto("48em"))),
                ("Task YAML", self.yaml), ("", widgets.VBox([launch_row, self.launch_message], layout=_auto("48em")))]
        cells: list[widgets.Widget] = []
        for label, field in rows:
            cells += self._row(label, field)
        self._required_cells, self._kept_cells = cells[-4:-2], cells[-2:]
        cells.append(advanced_row)
        for label, field in advanced:
            pair = self._row(label, field)
            for w in pair:
                w.add_class("skx-advanced-row")
                w.layout.display = "none"
            self._advanced_rows += pair
            cells += pair
        for label, field in tail:
            cells += self._row(label, field)
        self.form = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns=FORM_COLUMNS,
                                                                 grid_gap="4px 12px", align_items="flex-start",
                                                                 width="100%"))
        self.form.add_class("skx-form")

        executor.observe(self._executor_changed)
        self.name.observe(self._name_changed, "value")
        self.command.observe(self._command_changed, "value")
        self.backend.observe(self._backend_changed, "value")
        super().__init__([theme_style(), self.stale, self.form, self.plan_output, self.panels],
                         layout=widgets.Layout(width="100%", max_width="100%", overflow="hidden"))
        self.add_class("skx-picker")
        self.stale.set_text("Live view not connected (kernel restarted or notebook reopened): run %skyexec to "
                            "re-attach; %skyjobs shows the jobs launched from here.", self.model_id)
        self._show_name_placeholder()
        self._price_changed(ask=True)
        self._gpu_check()
        self._validity_changed()

    @staticmethod
    def _row(label: str, field: widgets.Widget) -> list[widgets.Widget]:
        field.add_class("skx-form-field")
        return [form_label(label), field]

    def _fields(self, specs: tuple[FieldSpec, ...]) -> list[tuple[str, widgets.Widget]]:
        rows = []
        for spec in specs:
            widget, label = make_widget(spec), error_label()
            self.inputs[spec.name], self.errors[spec.name] = widget, label
            self.bindings[spec.name] = FieldBinding(self.executor, spec, widget, label, self._validity_changed)
            if spec.name == "gpus":
                self.gpu_info = gpu_hint_line(widget)
            extra = [self.gpu_info, self.gpu_warning] if spec.name == "gpus" else []
            rows.append((spec.label, widgets.VBox([widget, *extra, label], layout=_auto("48em"))))
        return rows

    def _show_advanced(self) -> None:
        shown = bool(self.advanced.value)
        self.advanced.icon = "caret-down" if shown else "caret-right"
        for w in self._advanced_rows:
            w.layout.display = None if shown else "none"

    # -- state -------------------------------------------------------------------------------
    @property
    def invalid_fields(self) -> dict[str, str]:
        """``{field: message}`` of every field whose form text the model refused."""
        found = {name: b.error for name, b in self.bindings.items() if b.error}
        found.update({kv.name: kv.error for kv in (self.env_vars, self.file_mounts) if getattr(kv, "error", "")})
        return found | ({"workdir": self.workdir.error} if self.workdir.error else {})

    def default_job_name(self) -> str:
        """The name a launch with an empty name field gets (the engine's default, this form's tag)."""
        from skyexec_nb.engine.jobs.launcher import default_name

        return default_name(self.command.value, tag=self._name_tag)

    def job_name(self) -> str:
        """The name field, else :meth:`default_job_name`."""
        return self.name.value.strip() or self.default_job_name()

    def _show_name_placeholder(self) -> None:
        self.name.placeholder = f"{self.default_job_name()} (default: from the command)"

    @property
    def launch_reason_text(self) -> str:
        """Why Launch is disabled, in words ('' when it is enabled or the job was just launched)."""
        return launch_reason({**self.invalid_fields, **self.limits.invalid}, self.command.value, self.required.missing)

    def _validity_changed(self) -> None:
        if not hasattr(self, "_kept_cells"):
            return  # still building
        for cell in self._required_cells:
            cell.layout.display = None if self.required.inputs else "none"
        for cell in self._kept_cells:
            cell.layout.display = None if self.kept.lines else "none"
        self._mark_stale()
        if self._launching or self._launched_at is not None:  # one click, one job
            self.launch_button.disabled = True
            self.launch_reason.value = ""
            return
        reason = self.launch_reason_text
        self.launch_button.description = "Launch"
        self.launch_button.disabled = bool(reason)
        self.launch_button.tooltip = reason or f"Run the command on the {self.backend.value} backend"
        self.launch_reason.value = (f'<span style="color:{ERROR};font-weight:600">{html.escape(reason)}</span>'
                                    if reason else "")
        self.budget_confirm.show()

    def _mark_stale(self) -> None:
        """While a field is invalid, the preview and the price show the last valid values: say so."""
        self.yaml.set_stale(yaml_stale(self.invalid_fields))
        self._price_note()

    def _price_note(self) -> None:
        show_price_note(self.price, self.price_note, self.backend.value, self.invalid_fields)

    def _price_changed(self, ask: bool) -> None:
        """Ask for the price of the current fields (cloud backends only: the local one bills nothing)."""
        self._price_note()
        if ask and self.backend.value != "local":
            self.price.request(self.executor)

    def _gpu_check(self) -> None:
        """Warn when the local backend is asked for GPUs this machine lacks (and say what it does)."""
        text = ""
        if self.backend.value == "local":
            asked = requested_gpus(self.executor)
            text = gpu_warning(asked, local_gpu_count()) if asked else ""
        self.gpu_warning.value = f'<div class="skx-warn-box">&#9888; {html.escape(text)}</div>' if text else ""
        self.gpu_warning.layout.display = None if text else "none"

    def _executor_changed(self, _change: traitlets.Bunch) -> None:
        self.yaml.refresh()
        self._price_changed(ask=True)
        self._gpu_check()
        self._form_changed()

    def _command_changed(self, _change: traitlets.Bunch) -> None:
        self._show_name_placeholder()
        self.yaml.refresh()
        self._form_changed()

    def _name_changed(self, _change: traitlets.Bunch) -> None:
        self.yaml.refresh()
        self._form_changed()

    def _workdir_changed(self) -> None:
        if hasattr(self, "_kept_cells"):
            self.yaml.refresh()
            self._form_changed()

    def _backend_changed(self, _change: traitlets.Bunch) -> None:
        self._price_changed(ask=True)
        self._gpu_check()
        self._form_changed()

    def _form_changed(self) -> None:
        """An edit after a launch offers Launch again (for the edited form)."""
        if not self._launching:
            self._launched_at = None
            self.budget_confirm.reset()
        self._validity_changed()
        self.record_changed()

    def _offer_relaunch(self, launched_at: float) -> None:
        """``RELAUNCH_AFTER`` seconds after a launch: Launch is offered again for the same form."""
        if self._launched_at == launched_at and not self._launching:
            self._launched_at = None
            self._validity_changed()

    # -- actions -----------------------------------------------------------------------------
    def open_yaml(self, path: str) -> bool:
        """Open a task YAML file into the form, as "Open YAML" does (:func:`.picker_yaml.open_into`).

        True when it opened; else the one-line error is ``self.opener.error`` and the form is unchanged.
        """
        self.opener.path.value = str(path)
        return self.opener.open_path()

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
        from skyexec_nb.views.launch_panel import LaunchPanel

        job = launch_or_explain(self)  # None: refused, and why is shown (over budget: "Launch anyway")
        if job is None:
            self._launching = False
            self._validity_changed()
            return None
        self.job = job
        self.required.forget_secrets()
        if not self.name.value.strip():  # the next launch from here gets a name of its own
            self._name_tag = uuid.uuid4().hex[:4]
            self._show_name_placeholder()
            self.yaml.refresh()
        launched_at = self._launched_at = time.monotonic()
        self._launching = False
        self.launch_button.description = f"Launched job {job.id}"
        self.launch_button.disabled = True
        self.launch_message.value = self.budget_confirm.launched(job)
        self.launch_reason.value = ""
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
        fields = {**fields, **self.limits.record_fields()}
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
        for kv in (self.env_vars, self.file_mounts, self.required):
            kv.unbind()
        self.executor.unobserve(self._executor_changed)
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()))
            child.close()
        super().close()
