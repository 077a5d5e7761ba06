"""Real JupyterLab in headless Chromium (Playwright), following docs/browser-testing.md.

Fixtures:
- ``lab``: one JupyterLab server per session, on a free port, with its own JUPYTER_* dirs, HOME,
  SKY_RUNTIME_DIR and SKYEXEC_NB_HOME (all in a temp dir); ready when ``/api/status`` answers;
  stopped with SIGTERM (then SIGKILL of its process group) at the end.
- ``browser``: Playwright's Chromium on the Debian binary (no browser download).
- ``page``: a fresh page per test; a screenshot is saved under ``test-artifacts/`` when the test
  ends, passed or failed.

Missing Chromium or Playwright makes the tests *skip with the reason and what to install*
(never a silent pass). A Chromium that is installed but does not start is an error, not a skip.

The server's SkyPilot runtime dir holds the small offline catalog of ``tests/catalog_fixture.py``,
so the picker shows real prices (its price worker reads that catalog; nothing is downloaded).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from catalog_fixture import write_catalog  # noqa: E402

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
#: Flags from the recipe, plus the ones that keep Chromium off this machine's closed network.
CHROMIUM_ARGS = [
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60.0


def chromium_path() -> str | None:
    """The Chromium binary to drive: ``$SKX_CHROMIUM`` or Debian's package, else None."""
    override = os.environ.get("SKX_CHROMIUM")
    if override:
        return override if _executable(override) else None
    for candidate in CHROMIUM_CANDIDATES:
        if _executable(candidate):
            return candidate
    return shutil.which("chromium")


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def browser_unavailable() -> str | None:
    """Why the browser test cannot run here, and what to install; None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return (f"the browser test needs Playwright, which is not installed ({exc}); "
                "install it with: pip install -e '.[test]'  (or: pip install playwright)")
    if chromium_path() is None:
        override = os.environ.get("SKX_CHROMIUM")
        where = (f"SKX_CHROMIUM={override} is not an executable file" if override
                 else f"none of {', '.join(CHROMIUM_CANDIDATES)} exists and `chromium` is not on PATH")
        return (f"the browser test needs Chromium: {where}; install Debian's package with: "
                "sudo apt-get update && sudo apt-get install -y chromium  (bash .ci/run does it), "
                "or point SKX_CHROMIUM at a Chromium binary")
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now (the server is started with port_retries=0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab server and the isolated directories it uses."""

    url: str
    token: str
    root: Path
    env: dict[str, str]
    process: subprocess.Popen
    log_path: Path

    def api(self, path: str, timeout: float = 5.0) -> Any:
        """GET ``/api/<path>`` and decode its JSON."""
        sep = "&" if "?" in path else "?"
        with urllib.request.urlopen(f"{self.url}/api/{path}{sep}token={self.token}", timeout=timeout) as resp:
            return json.loads(resp.read().decode())

    def notebook_url(self, relpath: str) -> str:
        """The address that opens ``relpath`` (under the root) in a fresh workspace."""
        return f"{self.url}/lab/tree/{relpath}?reset&token={self.token}"

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log (for failure messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def kernel_client(self):
        """A BlockingKernelClient on the (single) running kernel, to read state back."""
        from jupyter_client import BlockingKernelClient

        sessions = self.api("sessions")
        assert sessions, "no kernel session is running"
        kernel_id = sessions[-1]["kernel"]["id"]
        conn = Path(self.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"
        client = BlockingKernelClient(connection_file=str(conn))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        return client


def _isolated_env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    dirs = {
        "HOME": base / "home",
        "JUPYTER_CONFIG_DIR": base / "jupyter" / "config",
        "JUPYTER_RUNTIME_DIR": base / "jupyter" / "runtime",
        "JUPYTER_DATA_DIR": base / "jupyter" / "data",
        "JUPYTERLAB_SETTINGS_DIR": base / "jupyter" / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "jupyter" / "lab-workspaces",
        "IPYTHONDIR": base / "ipython",
        "SKY_RUNTIME_DIR": base / "home",
        "SKYEXEC_NB_HOME": base / "skyexec_nb",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    # No "notified about Jupyter news?" toast over the widgets in screenshots.
    notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # The small offline catalog, so the picker's price line shows real (made-up) prices.
    write_catalog(dirs["SKY_RUNTIME_DIR"])
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the server (it shuts its kernels down); SIGKILL its process group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of its session (kernels), if any
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _cancel_leftover_jobs(env: dict[str, str]) -> None:
    """Cancel jobs the browser tests left running (their supervisors run in their own sessions)."""
    code = (
        "from skyexec_nb.engine.jobs import launcher\n"
        "for job in launcher.jobs():\n"
        "    if not job.done():\n"
        "        job.cancel()\n"
    )
    try:
        subprocess.run([sys.executable, "-c", code], env=env, timeout=30, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        pass


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab server with isolated dirs; its root is a temp dir the tests write notebooks to."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    env = _isolated_env(base)
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "jupyterlab-server.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--allow-root",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = Lab(f"http://127.0.0.1:{port}", token, root, env, process, log_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer /api/status in {SERVER_START_TIMEOUT:.0f}s:\n"
                                f"{server.log_tail()}")
                time.sleep(0.25)
        yield server
    finally:
        _stop(process)
        _cancel_leftover_jobs(env)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium through Playwright; skips (with the reason) when either is missing."""
    reason = browser_unavailable()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep each phase's report on the item so ``page`` knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def artifact_name(nodeid: str) -> str:
    """A file-name-safe version of a test id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; a full-page screenshot goes to test-artifacts/ when the test ends."""
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    console: list[str] = []
    pg.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        outcome = "passed" if rep is not None and rep.passed else "failed"
        ARTIFACTS.mkdir(exist_ok=True)
        stem = ARTIFACTS / f"{artifact_name(request.node.nodeid)}-{outcome}"
        try:
            pg.screenshot(path=f"{stem}.png", full_page=True)
        except Exception as exc:  # a screenshot must never hide the test's own result
            print(f"screenshot failed: {exc}")
        if outcome == "failed":
            Path(f"{stem}.console.txt").write_text("\n".join(console))
        context.close()


class NotebookPage:
    """Drive one notebook in JupyterLab the way a user does (open, run all, wait for idle)."""

    def __init__(self, page: Any, lab: Lab) -> None:
        self.page = page
        self.lab = lab

    def write(self, name: str, cells: list[str]) -> str:
        """Write a notebook (kernelspec python3, so no kernel dialog) under the server's root."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nbformat.write(nb, self.lab.root / name)
        return name

    def open(self, name: str) -> None:
        """Open the notebook and wait until JupyterLab has started and its kernel is ready."""
        self.page.goto(self.lab.notebook_url(name))
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=90_000)
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp.shell.currentWidget;
                       return !!(w && w.sessionContext && w.sessionContext.isReady
                                 && w.sessionContext.session && w.sessionContext.session.kernel
                                 && w.sessionContext.session.kernel.status === 'idle'); }""",
            timeout=90_000,
        )

    def collapse_side_panels(self) -> None:
        """Close JupyterLab's left and right side panels: the notebook gets the page's whole width."""
        self.page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }")

    def run_all(self) -> None:
        """Run > Run All Cells, then wait until the kernel is idle and no cell is queued."""
        self.page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        self.page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        self.wait_idle()

    def wait_idle(self, timeout: float = 120_000) -> None:
        """Wait until every cell has run (no `[*]` prompt) and the kernel is idle."""
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp.shell.currentWidget;
                       if (!w || !w.sessionContext.session) return false;
                       const busy = w.sessionContext.session.kernel.status !== 'idle';
                       const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')]
                                         .map(e => e.textContent);
                       return !busy && !prompts.some(t => t.includes('*')); }""",
            timeout=timeout,
        )

    def cell_output(self, index: int) -> Any:
        """The output area of code cell ``index`` (0-based)."""
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")

    def kernel_eval(self, expr: str, timeout: float = 30) -> str:
        """Evaluate ``expr`` in the notebook's kernel and return its repr (text/plain)."""
        client = self.lab.kernel_client()
        try:
            reply = client.execute_interactive(f"__skx_probe = {expr}", user_expressions={"v": "__skx_probe"},
                                               timeout=timeout, output_hook=lambda msg: None)
            value = reply["content"]["user_expressions"]["v"]
            assert value["status"] == "ok", value
            return value["data"]["text/plain"]
        finally:
            client.stop_channels()

    def wait_kernel(self, expr: str, expected: str, timeout: float = 30) -> None:
        """Poll the kernel until ``repr(expr)`` is ``expected`` (widget events travel asynchronously)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.kernel_eval(expr)
            if value == expected:
                return
            time.sleep(0.1)
        raise AssertionError(f"kernel: {expr} = {value}, expected {expected} within {timeout}s")


@pytest.fixture
def notebook(page: Any, lab: Lab) -> NotebookPage:
    """A :class:`NotebookPage` on a fresh browser page and the session's JupyterLab."""
    return NotebookPage(page, lab)
