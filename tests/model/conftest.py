"""Fixtures of the model tests: SkyPilot imported once per session, under a temp HOME."""
from __future__ import annotations

from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def sky(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The real ``sky`` package (``import sky`` writes ~/.sky, so HOME points at a temp dir)."""
    home = tmp_path_factory.mktemp("sky_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("SKY_RUNTIME_DIR", str(home))
        import sky as sky_module
    return sky_module
