"""A real IPython InteractiveShell with the extension loaded, cleared after each test."""
from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


def _clear_shell() -> None:
    """Forget the shell, and its exit hook: IPython runs a full reset + gc.collect() at exit for
    every shell ever made, which costs ~0.3 s each once hundreds of tests have made one."""
    if InteractiveShell.initialized():
        atexit.unregister(InteractiveShell.instance().atexit_operations)
    InteractiveShell.clear_instance()


def _new_shell(config: Config | None = None) -> InteractiveShell:
    _clear_shell()
    cfg = Config(config or {})
    cfg.HistoryManager.hist_file = ":memory:"  # no history thread, nothing on disk
    shell = InteractiveShell.instance(config=cfg)
    shell.run_line_magic("load_ext", "skyexec_nb")
    return shell


@pytest.fixture
def make_shell(isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> Iterator[Callable[..., InteractiveShell]]:
    """``make_shell(config=None)``: a fresh shell (as with ipython_config.py) with the extension."""
    monkeypatch.chdir(tmp_path)
    yield _new_shell
    _clear_shell()


@pytest.fixture
def ip(make_shell: Callable[..., InteractiveShell]) -> InteractiveShell:
    """The shell with ``%load_ext skyexec_nb`` done."""
    return make_shell()


@pytest.fixture
def run_cell(ip: InteractiveShell) -> Callable[[str], Any]:
    """Run a whole cell as the notebook does (transforms, var expansion); re-raise its error."""

    def run(source: str) -> Any:
        result = ip.run_cell(source)
        result.raise_error()
        return result.result

    return run


@pytest.fixture
def recorded() -> Callable[[], list[Any]]:
    """``recorded()``: every job in the registry (a dry run or a refused launch adds none)."""
    from skyexec_nb.engine.jobs.launcher import jobs

    return jobs
