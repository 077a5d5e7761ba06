"""Shared fixtures: every test runs with its own HOME, SkyPilot runtime dir and state dir."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

# Test helpers (local_helpers, catalog_fixture, sky_standin) live in tests/; the test modules in
# sub-folders import them by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
# No test reaches SkyPilot's catalog host: the price worker fetches from here (refused) unless a
# test points it at its own stand-in (tests/catalog_fixture.py: CatalogHost).
os.environ.setdefault("SKYEXEC_NB_CATALOG_URL", "http://127.0.0.1:9/no-catalog-host-in-tests")
# Outside a test's own isolated_home (a daemon thread still running after its test restored the
# environment, a module-scoped fixture), HOME and the state dirs are this session's throwaway dir,
# never the user's ~/.sky or ~/.skyexec_nb.
_SESSION_HOME = tempfile.mkdtemp(prefix="skx-test-session-home-")
os.environ.update(HOME=_SESSION_HOME, SKYEXEC_NB_HOME=os.path.join(_SESSION_HOME, ".skyexec_nb"),
                  SKY_RUNTIME_DIR=_SESSION_HOME)


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
    _close_live_views()
    try:
        from skyexec_nb.engine.jobs import launcher as _launcher
    except ImportError:
        pass
    else:
        _launcher.shutdown_for_tests()
    _forget_registries(home)


def _forget_registries(home: Path) -> None:
    """Drop the cached registries of this test's state dirs, so their SQLite connections are closed
    (a kernel has one registry; this process would otherwise hold one per test)."""
    try:
        from skyexec_nb.engine.jobs import registry as _registry
    except ImportError:
        return
    with _registry._lock:
        mine = [p for p in _registry._registries if Path(p).is_relative_to(home)]
        dropped = [_registry._registries.pop(p) for p in mine]
    for one in dropped:
        one.close()  # this thread's connection; other threads' go with the object


@pytest.fixture
def priced(isolated_home: Path) -> Iterator[None]:
    """The small test catalog (tests/catalog_fixture.py) on this machine, for prices at launch; the
    price worker this process starts is stopped at the end."""
    from catalog_fixture import write_catalog

    write_catalog(isolated_home)
    yield
    from skyexec_nb.engine.budget import prices

    prices.close()


@pytest.fixture
def priced_standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_home: Path) -> Iterator[None]:
    """The SDK stand-in for skypilot launches (tests/sky_standin), and the test catalog so that the
    clusters it launches have a price (for magics and views; tests/engine has its own ``standin``)."""
    from catalog_fixture import write_catalog
    from sky_standin import external

    external.use_standin(monkeypatch, tmp_path)
    write_catalog(isolated_home)
    yield
    from skyexec_nb.engine.budget import prices

    prices.close()


def _close_live_views() -> None:
    """Close every view a test left ticking: the shared ticker would go on polling (the registry,
    SkyPilot) from its thread after the test's environment is restored."""
    refresher = sys.modules.get("skyexec_nb.views.refresher")
    if refresher is None:
        return
    for view in refresher.get_refresher().views:
        try:
            view.close()
        except Exception:  # noqa: BLE001 - a view that cannot close must not fail the next test
            pass
        refresher.get_refresher().unregister(view)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the session's throwaway HOME (see ``_SESSION_HOME``)."""
    import shutil

    shutil.rmtree(_SESSION_HOME, ignore_errors=True)
