"""A user opens a SkyPilot task YAML in the picker, sees what is kept from it and the value it needs
at launch, fills it in (masked) and launches on the local backend: the job succeeds.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py). Screenshots of the picker
with the YAML opened, in JupyterLab Light and Dark at 1,000 px and 700 px, go to
test-artifacts/picker_yaml_<theme>_<width>.png.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TASK = textwrap.dedent("""\
    name: llm-serve
    resources:
      disk_size: 64
      labels: {team: ml, project: picker-yaml}
    envs:
      HF_TOKEN:
      MODEL: tiny
    service:
      readiness_probe: /health
      replicas: 2
    run: |
      echo "model=$MODEL token-length=${#HF_TOKEN}"
    """)
PICKER = """\
from skyexec_nb import ResourcePicker, SkyExecutor
picker = ResourcePicker(SkyExecutor(), backend="local")
picker"""
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
#: Elements that end right of the output area (a horizontal scrollbar): [] when everything fits.
OVERFLOWS = """root => {
  const out = root.closest('.jp-OutputArea-output') || root.parentElement;
  const limit = out.getBoundingClientRect().right + 1;
  return [...root.querySelectorAll('*')].filter(el => { const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > limit && getComputedStyle(el).display !== 'none'; })
    .map(el => `${el.tagName}.${[...el.classList].join('.')}`).slice(0, 5);
}"""


def set_theme(page, theme: str) -> None:
    page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    light = "true" if "Light" in theme else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute flips


def test_open_a_task_yaml_fill_the_secret_and_launch(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    task = notebook.lab.root / "serve_task.yaml"
    task.write_text(TASK)
    notebook.open(notebook.write("picker_yaml.ipynb", ["%load_ext skyexec_nb", PICKER]))
    notebook.collapse_side_panels()
    notebook.run_all()
    picker = notebook.cell_output(1).locator(".skx-picker").first
    expect(picker).to_be_visible()
    expect(picker.locator(".skx-kept")).to_be_hidden()  # nothing kept before a YAML is opened

    # A path that does not exist: one line at the field, the form as it was.
    path_box = picker.locator(".skx-open-yaml-path input")
    path_box.fill(str(notebook.lab.root / "missing.yaml"))
    picker.locator(".skx-open-yaml-button").click()
    expect(picker.locator(".skx-open-yaml-message")).to_contain_text("Invalid task: a readable SkyPilot task YAML file")

    path_box.fill(str(task))
    picker.locator(".skx-open-yaml-button").click()
    expect(picker.locator(".skx-open-yaml-message")).to_contain_text("Opened")
    kept = picker.locator(".skx-kept")
    expect(kept).to_be_visible()
    expect(kept).to_contain_text("service: {readiness_probe: /health, replicas: 2}")
    expect(kept).to_contain_text("resources.labels: {team: ml, project: picker-yaml}")
    expect(picker.locator(".skx-yaml")).to_contain_text("readiness_probe: /health")
    expect(picker.locator(".skx-field-disk-size input")).to_have_value("64")
    expect(picker.locator(".skx-job-name input")).to_have_value("llm-serve")
    expect(picker.locator(".skx-command textarea")).to_have_value('echo "model=$MODEL token-length=${#HF_TOKEN}"\n')

    secret = picker.locator(".skx-required-HF_TOKEN input")
    expect(secret).to_be_visible()
    assert secret.get_attribute("type") == "password"
    launch = picker.locator(".skx-launch-button")
    expect(launch).to_be_disabled()
    expect(picker.locator(".skx-launch-reason")).to_contain_text("set HF_TOKEN first")

    for theme_key, theme in THEMES.items():
        set_theme(page, theme)
        for width in (1000, 700):
            page.set_viewport_size({"width": width, "height": 2400})
            page.wait_for_timeout(400)  # JupyterLab re-lays out the notebook on resize
            picker.scroll_into_view_if_needed()
            picker.screenshot(path=str(ARTIFACTS / f"picker_yaml_{theme_key}_{width}.png"))
            assert not picker.evaluate(OVERFLOWS), f"{theme_key} {width}px: wider than the output area"
            labels = picker.locator(".skx-form-label:visible")
            xs = {round(labels.nth(i).bounding_box()["x"]) for i in range(labels.count())}
            assert len(xs) == 1, f"{theme_key} {width}px: labels start at several x positions: {xs}"
    set_theme(page, THEMES["light"])

    secret.fill("hf_secret_value_123")
    expect(launch).to_be_enabled()
    expect(picker.locator(".skx-launch-reason")).to_have_text("")
    launch.click()
    panel = picker.locator(".skx-panels .skx-launch")
    expect(panel.locator(".skx-status")).to_contain_text("SUCCEEDED", timeout=90_000)
    expect(panel.locator(".skx-log")).to_contain_text("model=tiny token-length=19")
    assert "hf_secret_value_123" not in picker.locator(".skx-yaml").inner_text()
    assert notebook.kernel_eval("picker.executor.env_vars['HF_TOKEN']") == "None"
