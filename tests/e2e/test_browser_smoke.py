"""The harness itself: JupyterLab starts, a notebook runs, a widget renders and answers a click."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_widget_renders_and_clicks(notebook) -> None:
    from playwright.sync_api import expect

    name = notebook.write("smoke.ipynb", [
        "import ipywidgets as w\n"
        "clicks = []\n"
        "b = w.Button(description='Press me')\n"
        "b.add_class('skx-smoke')\n"
        "b.on_click(lambda _: clicks.append(1))\n"
        "b",
        "print('hello from the kernel')",
    ])
    notebook.open(name)
    notebook.run_all()
    expect(notebook.cell_output(1)).to_contain_text("hello from the kernel")
    button = notebook.page.locator(".skx-smoke")
    expect(button).to_be_visible()
    button.click()
    notebook.wait_kernel("len(clicks)", "1")
