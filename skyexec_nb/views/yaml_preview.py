"""Live preview of the SkyPilot task YAML (secrets masked), "Save as YAML" and a copyable text.

Nothing here imports ``sky``: the YAML comes from ``executor.to_config`` (pure Python). The
saved file is ``executor.to_yaml(name, cmd=...)`` with the REAL values (it is what ``sky launch``
runs); every display masks secret-looking env values. There is no server-side clipboard: the
"Copy" toggle shows the YAML in a read-only text box to select and copy by hand (Ctrl+A, Ctrl+C).
While a form field is invalid the preview still shows the last valid values: :meth:`YamlPreview.set_stale`
dims it (``skx-is-stale``) and says so above it (``skx-yaml-stale``, a ``skx-stale-marker``).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.model.config import dump_yaml
from skyexec_nb.model.masking import mask_config


def masked_yaml(executor: Any, name: str, cmd: str | None) -> str:
    """The task YAML as displayed: secret-looking env values replaced by ``********``."""
    return dump_yaml(mask_config(executor.to_config(name, cmd=cmd or None)))


class YamlPreview(widgets.VBox):
    """The preview (CSS ``skx-yaml``), a save row and a copy box.

    Args:
        executor: the SkyExecutor shown.
        name: a callable returning the task name (the picker's name field).
        command: a callable returning the command (the picker's command field).
    """

    def __init__(self, executor: Any, name: Callable[[], str], command: Callable[[], str]) -> None:
        self.executor, self._name, self._command = executor, name, command
        self.text = ""  # the masked YAML shown
        self.stale_text = ""
        self.stale_note = widgets.HTML(layout=widgets.Layout(display="none"))
        self.stale_note.add_class("skx-yaml-stale")
        self.stale_note.add_class("skx-stale-marker")
        self.preview = widgets.HTML(layout=widgets.Layout(max_height="320px", overflow="auto", width="auto"))
        self.preview.add_class("skx-yaml")
        self.path = widgets.Text(placeholder="save to: task.yaml", tooltip="Where Save as YAML writes the file",
                                 layout=widgets.Layout(width="auto", flex="1 1 10em", min_width="0", max_width="20em"))
        self.path.add_class("skx-yaml-path")
        self.save_button = widgets.Button(description="Save as YAML", icon="save", layout=widgets.Layout(width="auto"),
                                          tooltip="Write the task YAML (real values) for `sky launch`")
        self.save_button.add_class("skx-save-yaml-button")
        self.save_button.on_click(lambda _: self.save())
        self.copy_toggle = widgets.ToggleButton(description="Copy (show as text)", icon="copy",
                                                tooltip="Shows the YAML in a text box: select it and press Ctrl+C",
                                                layout=widgets.Layout(width="auto"))
        self.copy_toggle.add_class("skx-copy-yaml-button")
        self.copy_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self.copy_box.add_class("skx-yaml-copy")
        self.copy_toggle.observe(lambda _: self.refresh(), "value")
        self.message = widgets.HTML()
        self.message.add_class("skx-yaml-message")
        actions = widgets.HBox([self.path, self.save_button, self.copy_toggle], layout=widgets.Layout(width="auto"))
        actions.add_class("skx-wrap-row")
        super().__init__([self.stale_note, self.preview, actions, self.message, self.copy_box],
                         layout=widgets.Layout(width="auto", min_width="0"))
        self.add_class("skx-yaml-preview")
        self.refresh()

    def refresh(self) -> None:
        """Re-render from the executor's current (last valid) fields."""
        try:
            self.text = masked_yaml(self.executor, self._name(), self._command())
        except Exception as exc:  # to_config refused: say so instead of a stale preview
            self.text = f"# cannot build the task YAML: {exc}"
        self.preview.value = f'<pre style="margin:0">{html.escape(self.text)}</pre>'
        if self.copy_toggle.value:
            self.copy_box.layout.display = None
            self.copy_box.value = ('<textarea readonly class="skx-yaml-copy-text" rows="12" style="width:100%;'
                                   f'font-family:monospace">{html.escape(self.text)}</textarea>'
                                   "<div>Select the text and press Ctrl+C (secrets are shown masked).</div>")
        else:
            self.copy_box.layout.display = "none"
            self.copy_box.value = ""

    def set_stale(self, text: str) -> None:
        """Mark the preview out of date with ``text`` (why, what to fix); ``""`` clears the mark."""
        if text == self.stale_text:
            return
        self.stale_text = text
        if text:
            self.stale_note.value = f'<div class="skx-stale-marker-box">{html.escape(text)}</div>'
            self.stale_note.layout.display = None
            self.preview.add_class("skx-is-stale")
        else:
            self.stale_note.value = ""
            self.stale_note.layout.display = "none"
            self.preview.remove_class("skx-is-stale")

    def save(self) -> Path | None:
        """Write ``executor.to_yaml(name, cmd=...)`` to the path field; report where (or why not)."""
        name = self._name()
        target = Path(self.path.value.strip() or f"{name}.yaml").expanduser()
        try:
            text = self.executor.to_yaml(name, cmd=self._command() or None)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        except Exception as exc:  # OSError, FieldError: in words, next to the button
            self.message.value = (f'<span style="color:var(--jp-error-color1, #d32f2f)">Could not save: '
                                  f"{html.escape(str(exc))}</span>")
            return None
        self.message.value = f"Saved to <code>{html.escape(str(target.resolve()))}</code> (run it with <code>sky launch</code>)."
        return target.resolve()
