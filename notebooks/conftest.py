"""nbval runs of the tutorial notebooks never touch the user's real state.

The kernel nbval starts for a notebook inherits the environment of the pytest process at that
moment, so around the setup of each notebook's items HOME, SKY_RUNTIME_DIR and SKYEXEC_NB_HOME
point at a temp dir (kept for the whole session: jobs are found again across notebooks, as in a
user's session), and are restored afterwards for the rest of the run.

Compared outputs go through ``nbval_sanitize.cfg`` (process ids), whatever the command line.

``SKX_NOTEBOOKS_REAL_HOME=1`` keeps the real HOME (so 05_skypilot_clouds.ipynb sees the clouds
``sky check`` enabled and runs its cloud cells for real); the job state still goes to a temp dir.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

_state: dict[str, Path] = {}
SANITIZE = Path(__file__).resolve().parent / "nbval_sanitize.cfg"


def pytest_configure(config: pytest.Config) -> None:
    """Mask process ids in compared outputs unless the command names its own sanitize file."""
    option = config.option
    if hasattr(option, "nbval_sanitize_with") and not option.nbval_sanitize_with:
        option.nbval_sanitize_with = str(SANITIZE)


def _notebook_env() -> dict[str, str]:
    if "base" not in _state:
        _state["base"] = Path(tempfile.mkdtemp(prefix="skx-nbval-"))
    base = _state["base"]
    env = {"SKYEXEC_NB_HOME": str(base / "skyexec_nb")}
    if os.environ.get("SKX_NOTEBOOKS_REAL_HOME") != "1":
        home = base / "home"
        home.mkdir(exist_ok=True)
        env.update(HOME=str(home), SKY_RUNTIME_DIR=str(home), IPYTHONDIR=str(base / "ipython"))
    return env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Start the notebook's kernel (nbval does it in this phase) with the isolated environment."""
    saved = {name: os.environ.get(name) for name in _notebook_env()}
    os.environ.update(_notebook_env())
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Cancel any job a notebook left running, then remove the temp state."""
    base = _state.get("base")
    if base is None:
        return
    saved = dict(os.environ)
    os.environ.update(_notebook_env())
    try:
        from skyexec_nb.engine.jobs import launcher
        from skyexec_nb.engine.jobs import settings

        settings.reset()
        for job in launcher.jobs():
            if not job.done():
                job.cancel()
    except Exception as exc:  # cleanup must not mask the run's result
        print(f"notebooks/conftest.py: cleanup of leftover jobs failed: {exc}")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        try:
            from skyexec_nb.engine.jobs import settings

            settings.reset()
        except Exception:
            pass
    shutil.rmtree(base, ignore_errors=True)
