"""The picker's YAML parts: open a task YAML file, show what is kept from it, and the workdir field.

- :class:`YamlOpener` a path box and "Open YAML" (CSS ``skx-open-yaml-path``, ``skx-open-yaml-button``,
  ``skx-open-yaml-message``: the one-line error, or what was opened).
- :func:`read_task` the file as ``(executor, run, name)``, as ``%%skylaunch --task`` reads it.
- :func:`replace_fields` puts an opened executor's fields, kept parts and workdir into the one the
  form edits (all or nothing).
- :class:`KeptView` "Kept from the YAML": the parts no field represents, read-only (``skx-kept``,
  one ``skx-kept-item`` per key: ``service``, ``resources.labels``...).
- :class:`WorkdirField` a local directory synced as SkyPilot's workdir (``skx-field-workdir``);
  a path that is not an existing directory is an error at the field, the executor keeps its last one.
"""
from __future__ import annotations

import copy
import html
import os
import re
from typing import Any, Callable

import ipywidgets as widgets
import yaml

from skyexec_nb.model.masking import mask_config
from skyexec_nb.views.picker_fields import error_html, error_label

#: Field defaults an opened YAML starts from (None for the rest).
_DEFAULTS = {"num_nodes": 1, "autodown": False, "retry_until_up": False, "env_vars": {}, "retries": 0}


def read_task(path: str) -> tuple[Any, str | None, str | None]:
    """``(executor, run, name)`` of a task YAML file; the name made a valid job name.

    Raises:
        FieldError: the file cannot be read, is not YAML or not a task mapping (one line).
    """
    from skyexec_nb.model.config import load_yaml_file
    from skyexec_nb.model.executor import SkyExecutor

    config = load_yaml_file(os.path.expanduser(path))
    executor = SkyExecutor.from_config(config)
    name, run = config.get("name"), config.get("run")
    if isinstance(name, str):
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:200] or None
    return executor, run if isinstance(run, str) else None, name if isinstance(name, str) else None


def replace_fields(target: Any, source: Any) -> None:
    """Give ``target`` every field, kept part, workdir and job dir of ``source`` (in place).

    The fields change together (traitlets validates them once, at the end; a refusal undoes them all).
    """
    from skyexec_nb.model import validation as v

    with target.hold_trait_notifications():
        for name in v.FIELD_PARSERS:
            value = copy.deepcopy(getattr(source, name))
            if getattr(target, name) != value:
                setattr(target, name, value if value is not None or name not in _DEFAULTS else _DEFAULTS[name])
    target.kept = copy.deepcopy(source.kept)
    target.workdir = source._workdir
    target.job_dir = source.job_dir


def open_into(picker: Any, path: str) -> str:
    """Open ``path`` into ``picker``: the YAML's fields replace the form's, what no field represents
    is kept (shown read-only), its ``run`` fills the command and its ``name`` the job name (as
    ``%%skylaunch --task`` uses them). Returns what was opened, in words.

    Raises:
        FieldError: the file cannot be read or is not a task (nothing in the form changed).
    """
    source, run, name = read_task(path)
    replace_fields(picker.executor, source)
    for binding in (*picker.bindings.values(), picker.env_vars, picker.file_mounts):
        binding.reset()  # the YAML's values, not text the form refused before
    picker.task_run, picker.task_name = run, name
    if run is not None:
        picker.command.value = run
    picker.name.value = name or ""
    picker.workdir.show()
    picker.kept.refresh()
    picker.required.refresh()
    picker.yaml.refresh()
    picker._form_changed()
    kept = ", ".join(k for k, _ in picker.kept.lines)
    return f"Opened {path}" + (f" (kept from the YAML: {kept})" if kept else "")


def kept_lines(kept: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``[(key, value as one-line YAML), ...]``: task keys, then ``resources.<key>`` (secrets masked)."""
    kept = mask_config(kept or {})
    resources = kept.pop("resources", None) or {}
    items = [*kept.items(), *((f"resources.{k}", x) for k, x in resources.items())]
    return [(key, yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()
             .removesuffix("\n...").removesuffix("...").strip()) for key, value in items]


class KeptView(widgets.HTML):
    """The executor's ``kept`` parts, read-only (empty when nothing is kept)."""

    def __init__(self, executor: Any) -> None:
        super().__init__(layout=widgets.Layout(width="auto", min_width="0"))
        self.executor = executor
        self.add_class("skx-kept")
        self.refresh()

    @property
    def lines(self) -> list[tuple[str, str]]:
        """What is shown: ``(key, value)`` per kept key."""
        return kept_lines(getattr(self.executor, "kept", None))

    def refresh(self) -> None:
        """Re-render from ``executor.kept``."""
        items = "".join(f'<div class="skx-kept-item"><code><b>{html.escape(k)}</b>: {html.escape(x)}</code></div>'
                        for k, x in self.lines)
        self.value = (f'<div style="white-space:pre-wrap;overflow-wrap:anywhere">{items}'
                      '<div class="skx-muted">Read-only: written back to the task unchanged (see the YAML).</div>'
                      "</div>" if items else "")


class YamlOpener(widgets.VBox):
    """A path box and "Open YAML"; ``on_open(path)`` opens it (raising gives the one-line error)."""

    def __init__(self, on_open: Callable[[str], str]) -> None:
        self.on_open = on_open
        self.path = widgets.Text(placeholder="path/to/task.yaml", continuous_update=True,
                                 layout=widgets.Layout(width="auto", flex="1 1 12em", min_width="0", max_width="24em"))
        self.path.add_class("skx-open-yaml-path")
        self.button = widgets.Button(description="Open YAML", icon="folder-open", layout=widgets.Layout(width="auto"),
                                     tooltip="Replace the form with a SkyPilot task YAML file's fields")
        self.button.add_class("skx-open-yaml-button")
        self.button.on_click(lambda _: self.open_path())
        self.message = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.message.add_class("skx-open-yaml-message")
        self.error = ""
        row = widgets.HBox([self.path, self.button], layout=widgets.Layout(width="auto", min_width="0"))
        row.add_class("skx-wrap-row")
        super().__init__([row, self.message], layout=widgets.Layout(width="auto", min_width="0", max_width="48em"))
        self.add_class("skx-open-yaml")

    def open_path(self) -> bool:
        """Open the path typed; True when it opened."""
        path = self.path.value.strip()
        try:
            if not path:
                raise ValueError("Invalid task: a SkyPilot task YAML file path. Found: ''")
            done = self.on_open(path)
        except Exception as exc:  # FieldError, a refusal of the fields: one line, the form unchanged
            self.error = " ".join(str(exc).split())
            self.message.value = error_html(self.error)
            return False
        self.error = ""
        self.message.value = f'<span class="skx-muted">{html.escape(done)}</span>'
        return True


class WorkdirField(widgets.VBox):
    """The workdir path box bound to ``executor.workdir`` (a property: set through here or :meth:`show`)."""

    def __init__(self, executor: Any, on_change: Callable[[], None] = lambda: None) -> None:
        self.executor, self.on_change = executor, on_change
        self.text = widgets.Text(placeholder="local directory synced to the nodes (your code)", continuous_update=False,
                                 layout=widgets.Layout(width="auto", max_width="32em"))
        self.text.add_class("skx-field-workdir")
        self.label = error_label()
        self.error = ""
        self._writing = False
        super().__init__([self.text, self.label], layout=widgets.Layout(width="auto", min_width="0", max_width="48em"))
        self.show()
        self.text.observe(self._typed, "value")

    def show(self) -> None:
        """Show the executor's explicit workdir (after a YAML is opened) and clear the error."""
        self._writing = True
        self.text.value = getattr(self.executor, "_workdir", None) or ""
        self._writing = False
        self._set_error("")

    def _typed(self, change: dict) -> None:
        if self._writing:
            return
        path = change["new"].strip()
        if path and not os.path.isdir(os.path.expanduser(path)):
            self._set_error(f"Invalid workdir: an existing local directory. Found: {path!r}")
            return
        try:
            self.executor.workdir = os.path.expanduser(path) if path else None
        except Exception as exc:  # FieldError
            self._set_error(str(exc))
            return
        self._set_error("")
        self.on_change()

    def _set_error(self, message: str) -> None:
        if message != self.error:
            self.error = message
            self.label.value = error_html(message)
            self.on_change()
