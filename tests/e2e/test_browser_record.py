"""The notebook is the record: what a saved, exported or restarted notebook shows (real Chromium).

1. A notebook executed by ``jupyter nbconvert --execute --to notebook`` then exported with
   ``--to html`` (offline: the widget placeholders stay empty) shows every view's final state
   from its record output: SUCCEEDED/FAILED/CANCELLED with exit codes, no INIT, no raw widget repr.
2. In JupyterLab the live views hide their records (one view on the page); after a kernel restart
   each view says "Live view not connected … re-attach" and its buttons are dimmed.
Screenshots (test-artifacts/record_*.png): launch panel and picker at 1,000 and 700 px, Light and Dark.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"'
EXECUTED_CELLS = [
    SETUP,
    '%%skylaunch --name ok --out ok\necho "hello"; sleep 1; echo "all done"',
    '%%skylaunch --name bad --out bad\necho "about to fail"; exit 3',
    '%%skylaunch --name sleeper --out sleeper\necho "sleeping"; sleep 600',
    "import skyexec_nb\n"
    'picker = skyexec_nb.ResourcePicker(command="echo from picker", backend="local", price_service=False)\n'
    "display(picker)\npicker.launch_button.click()",
    "%skyjobs",
    # The last cell waits for every job: the records' final updates arrive while it runs.
    "for line in sleeper.follow():\n    break\nsleeper.cancel()\n"
    "for j in (ok, bad, sleeper, picker.job):\n    j.wait(timeout=60)",
]


def _write(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)


def test_nbconvert_executed_notebook_and_its_html_show_final_states(lab, page, tmp_path):
    source = tmp_path / "record.ipynb"
    _write(source, EXECUTED_CELLS)
    for args in (["--execute", "--to", "notebook", "--output", "executed.ipynb", str(source)],
                 ["--to", "html", str(tmp_path / "executed.ipynb")]):
        done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", *args], env=lab.env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto((tmp_path / "executed.html").as_uri())
    records = page.locator(".skx-record")
    assert records.count() == 5  # 3 launch panels, the picker, the jobs table
    texts = [records.nth(i).inner_text() for i in range(5)]
    assert "SUCCEEDED" in texts[0] and "rank 0: 0" in texts[0] and "all done" in texts[0]
    assert "FAILED" in texts[1] and "rank 0: 3" in texts[1] and "about to fail" in texts[1]
    assert "CANCELLED" in texts[2] and "Ended" in texts[2]
    assert "echo from picker" in texts[3] and "SUCCEEDED" in texts[3]
    assert all(state in texts[4] for state in ("SUCCEEDED", "FAILED", "CANCELLED"))
    assert all("Live view not connected" in t for t in texts)
    body = page.locator("body").inner_text()
    assert "INIT" not in body and "children=" not in body and "VBox(" not in body
    records.nth(0).screenshot(path=str(ARTIFACTS / "record_html_export_launch_panel.png"))
    records.nth(3).screenshot(path=str(ARTIFACTS / "record_html_export_picker.png"))


LIVE_CELLS = [
    SETUP,
    '%%skylaunch --name live --out live --gpus A100:8\necho "step 1"; sleep 600',
    "import skyexec_nb\n"
    'picker = skyexec_nb.ResourcePicker(command="python train.py", backend="local", price_service=False)\n'
    "picker",
]

DARK, LIGHT = "JupyterLab Dark", "JupyterLab Light"


def _theme(page, name: str) -> None:
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", name)
    page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=name, timeout=30_000)


def test_live_views_hide_records_and_say_stale_after_restart(notebook):
    page = notebook.page
    notebook.open(notebook.write("record_live.ipynb", LIVE_CELLS))
    notebook.run_all()
    panel = notebook.cell_output(1).locator(".skx-launch")
    picker = notebook.cell_output(2).locator(".skx-picker")
    panel.wait_for(timeout=60_000)
    picker.wait_for(timeout=60_000)
    panel.locator(".skx-status", has_text="RUNNING").wait_for(timeout=60_000)
    # Live: the record outputs exist but are hidden; the stale line is not shown.
    assert notebook.cell_output(1).locator(".skx-record").count() == 1
    assert not notebook.cell_output(1).locator(".skx-record").is_visible()
    assert not panel.locator(".skx-stale-msg").is_visible()
    assert "A100:8" in panel.locator(".skx-facts").inner_text()
    for theme in (LIGHT, DARK):
        _theme(page, theme)
        for width in (1000, 700):
            page.set_viewport_size({"width": width, "height": 1000})
            tag = f"{'dark' if theme == DARK else 'light'}_{width}"
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(ARTIFACTS / f"record_launch_panel_{tag}.png"))
            picker.screenshot(path=str(ARTIFACTS / f"record_picker_{tag}.png"))
    _theme(page, LIGHT)
    page.set_viewport_size({"width": 1000, "height": 1000})
    # The kernel restarts: every view says so and how to re-attach; its buttons are dimmed.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    stale = panel.locator(".skx-stale-msg")
    stale.wait_for(state="visible", timeout=60_000)
    assert "run %skyjobs or %skylogs" in stale.inner_text() and "Live view not connected" in stale.inner_text()
    assert picker.locator(".skx-stale-msg").is_visible()
    opacity = panel.locator("button.skx-cancel-button").evaluate("b => getComputedStyle(b).opacity")
    assert float(opacity) < 0.6
    panel.screenshot(path=str(ARTIFACTS / "record_launch_panel_after_restart.png"))
    code = "import skyexec_nb\nfor j in skyexec_nb.jobs():\n    j.done() or j.cancel()"
    subprocess.run([sys.executable, "-c", code], env=notebook.lab.env, timeout=60, check=True)
