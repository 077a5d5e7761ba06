"""Without Playwright or Chromium the browser tests skip, saying what is missing and how to install it.

(These run everywhere; they do not start a browser.)
"""
from __future__ import annotations

import builtins
import importlib.util
import sys
from pathlib import Path

import pytest

# tests/e2e/conftest.py under a name of its own (every test folder has a module named conftest).
_spec = importlib.util.spec_from_file_location("skx_e2e_conftest", Path(__file__).with_name("conftest.py"))
e2e = sys.modules["skx_e2e_conftest"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)


def _no_candidates(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("SKX_CHROMIUM", raising=False)
    monkeypatch.setattr(e2e, "CHROMIUM_CANDIDATES", (str(tmp_path / "no-chromium"),))
    monkeypatch.setenv("PATH", str(tmp_path))  # no `chromium` on PATH either


def test_missing_chromium_is_a_reason_even_with_playwright_installed(monkeypatch, tmp_path) -> None:
    pytest.importorskip("playwright.sync_api")
    _no_candidates(monkeypatch, tmp_path)
    reason = e2e.browser_unavailable()
    assert reason is not None and "Chromium" in reason
    assert "apt-get install -y chromium" in reason and "apt-get update" in reason


def test_a_directory_or_plain_file_is_not_a_chromium(monkeypatch, tmp_path) -> None:
    not_exec = tmp_path / "chromium"
    not_exec.write_text("")
    _no_candidates(monkeypatch, tmp_path)
    monkeypatch.setattr(e2e, "CHROMIUM_CANDIDATES", (str(tmp_path), str(not_exec)))
    assert e2e.chromium_path() is None
    monkeypatch.setenv("SKX_CHROMIUM", str(tmp_path))
    assert e2e.chromium_path() is None
    assert f"SKX_CHROMIUM={tmp_path} is not an executable file" in e2e.browser_unavailable()


def test_missing_playwright_is_a_reason(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_playwright(name, *args, **kwargs):
        if name == "playwright" or name.startswith("playwright."):
            raise ImportError("No module named 'playwright'")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "playwright" or m.startswith("playwright.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_playwright)
    reason = e2e.browser_unavailable()
    assert reason is not None and "pip install -e '.[test]'" in reason

