"""Shared fixtures: every test runs with its own HOME, SkyPilot runtime dir and state dir."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Test helpers (local_helpers, catalog_fixture, sky_standin) live in tests/; the test modules in
# sub-folders import them by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
# No test reaches SkyPilot's catalog host: the price worker fetches from here (refused) unless a
# test points it at its own stand-in (tests/catalog_fixture.py: CatalogHost).
os.environ.setdefault("SKYEXEC_NB_CATALOG_URL", "http://127.0.0.1:9/no-catalog-host-in-tests")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's ~/.sky or ~/.skyexec_nb: point HOME and the state dir at temp dirs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SKYEXEC_NB_HOME", str(home / ".skyexec_nb"))
    monkeypatch.setenv("SKY_RUNTIME_DIR", str(home))
    try:  # engine settings are read lazily; reset any cached instance between tests
        from skyexec_nb.engine.jobs import settings as _settings
    except ImportError:
        pass
    else:
        _settings.reset()
    yield home
    try:
        from skyexec_nb.engine.jobs import launcher as _launcher
    except ImportError:
        pass
    else:
        _launcher.shutdown_for_tests()
