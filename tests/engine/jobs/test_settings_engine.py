"""Engine settings: env at first use, validation, reset."""
from __future__ import annotations

import pytest
from traitlets import TraitError

from skyexec_nb.engine.jobs import settings


def test_state_dir_from_env_and_reset(monkeypatch, tmp_path):
    monkeypatch.setenv("SKYEXEC_NB_HOME", str(tmp_path / "a"))
    settings.reset()
    assert settings.get_settings().state_dir == str(tmp_path / "a")
    assert settings.get_settings() is settings.get_settings()
    monkeypatch.setenv("SKYEXEC_NB_HOME", str(tmp_path / "b"))
    settings.reset()
    assert settings.get_settings().state_path == tmp_path / "b"


def test_defaults():
    s = settings.get_settings()
    assert (s.default_backend, s.log_tail_lines, s.poll_interval, s.cancel_grace, s.max_payload_mb) == (
        "local", 2000, 0.2, 5.0, 100)  # "auto" with no SkyPilot state file reads as local
    assert s.configured_backend == "auto"


@pytest.mark.parametrize("field,value", [
    ("default_backend", "slurm"), ("log_tail_lines", 0), ("poll_interval", -1.0),
    ("poll_interval", 120.0), ("cancel_grace", -0.5), ("max_payload_mb", 0), ("state_dir", " "),
    ("poll_interval", float("nan")), ("poll_interval", float("inf")), ("poll_interval", 0.001),
    ("cancel_grace", float("nan")), ("cancel_grace", 3601.0), ("log_tail_lines", 10**7),
    ("max_payload_mb", 100_001), ("poll_interval", "fast"), ("log_tail_lines", True),
])
def test_validation_names_the_field(field, value):
    before = getattr(settings.get_settings(), field)
    with pytest.raises(TraitError, match=f"^Invalid {field}: ") as info:
        setattr(settings.get_settings(), field, value)
    assert "\n" not in str(info.value)
    assert getattr(settings.get_settings(), field) == before


def test_every_numeric_setting_states_its_range():
    s = settings.get_settings()
    for field, (low, high) in settings.LIMITS.items():
        setattr(s, field, low)
        setattr(s, field, high)
        with pytest.raises(TraitError, match=rf"^Invalid {field}: .* in \[.*\]\. Found: "):
            setattr(s, field, high * 2)


# --- default_backend "auto": SkyPilot's `sky check` cache, read without importing sky -------------

_SCHEMA = "CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT)"  # sky/global_user_state.py


def _state_db(home, rows: dict[str, str] | None = None, schema: str = _SCHEMA):
    """A SkyPilot state.db under the isolated SKY_RUNTIME_DIR (= HOME) with ``config`` rows."""
    import sqlite3

    path = home / ".sky" / "state.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # as SkyPilot keeps it
        conn.execute(schema)
        if rows:
            conn.executemany("INSERT INTO config VALUES (?, ?)", list(rows.items()))
    return path


def test_auto_is_local_without_skypilot_state_and_never_creates_it(isolated_home):
    from skyexec_nb.engine.skyapi import local_state as sky_state

    assert sky_state.state_db_path() == isolated_home / ".sky" / "state.db"
    assert sky_state.enabled_clouds() == [] and sky_state.auto_backend() == "local"
    assert settings.get_settings().default_backend == "local"
    assert not (isolated_home / ".sky").exists()


def test_auto_is_skypilot_once_sky_check_enabled_a_cloud(isolated_home):
    from skyexec_nb.engine.skyapi import local_state as sky_state

    s = settings.get_settings()
    _state_db(isolated_home, {"enabled_clouds_default_storage": '["GCP"]',
                              "enabled_clouds_default_compute": "[]"})
    assert sky_state.enabled_clouds() == [] and s.default_backend == "local"  # storage only
    assert sky_state.enabled_clouds(capability="storage") == ["gcp"]
    import sqlite3

    with sqlite3.connect(isolated_home / ".sky" / "state.db") as conn:
        conn.execute("INSERT INTO config VALUES (?, ?)",
                      ("enabled_clouds_team-a_compute", '["AWS", "Kubernetes", "Local"]'))
    assert sky_state.enabled_clouds() == ["aws", "kubernetes"]  # a cloud SkyPilot dropped is skipped
    assert sky_state.enabled_clouds(workspace="default") == []
    assert s.default_backend == "skypilot" and s.configured_backend == "auto"  # resolved on each read
    s.default_backend = "local"  # an explicit choice wins
    assert s.default_backend == "local"


@pytest.mark.parametrize("content", ["corrupt", "other-schema", "bad-json", "directory"])
def test_unreadable_skypilot_state_means_local(isolated_home, content):
    from skyexec_nb.engine.skyapi import local_state as sky_state

    path = isolated_home / ".sky" / "state.db"
    path.parent.mkdir(parents=True)
    if content == "corrupt":
        path.write_bytes(b"this is not an sqlite file" * 100)
    elif content == "other-schema":
        _state_db(isolated_home, schema="CREATE TABLE config (name TEXT)")
    elif content == "bad-json":
        _state_db(isolated_home, {"enabled_clouds_default_compute": "[not json"})
    else:
        path.mkdir()
    before = path.read_bytes() if path.is_file() else None
    assert sky_state.enabled_clouds() == [] and settings.get_settings().default_backend == "local"
    assert (path.read_bytes() if path.is_file() else None) == before


def test_launch_uses_the_resolved_backend(isolated_home):
    from skyexec_nb.engine.jobs.launcher import launch
    from skyexec_nb.model.executor import SkyExecutor

    assert launch(SkyExecutor(), "echo", dryrun=True).backend == "local"
    assert launch(SkyExecutor(), "echo", backend="auto", dryrun=True).backend == "local"
    _state_db(isolated_home, {"enabled_clouds_default_compute": '["AWS"]'})
    assert launch(SkyExecutor(), "echo", dryrun=True).backend == "skypilot"


def test_hand_made_state_db_matches_skypilots_schema_and_key():
    """The schema and key written above are SkyPilot's own (so the reader cannot drift)."""
    sky_cloud = pytest.importorskip("sky.clouds.cloud")
    from sky import global_user_state as gus

    from skyexec_nb.engine.skyapi import local_state as sky_state

    table = gus.config_table
    assert table.name == "config" and [c.name for c in table.columns] == ["key", "value"]
    assert [c.name for c in table.primary_key.columns] == ["key"]
    assert gus._ENABLED_CLOUDS_KEY_PREFIX == sky_state.KEY_PREFIX  # noqa: SLF001
    key = gus._get_enabled_clouds_key(sky_cloud.CloudCapability.COMPUTE, "default")  # noqa: SLF001
    assert key == "enabled_clouds_default_compute"


@pytest.mark.slow
def test_reads_a_state_db_written_by_skypilot_itself(isolated_home):
    """SkyPilot's own ``set_enabled_clouds`` in a fresh process with this HOME writes the file."""
    import subprocess
    import sys

    from skyexec_nb.engine.skyapi import local_state as sky_state

    code = ("from sky import global_user_state as g\nfrom sky.clouds import cloud\n"
            "g.set_enabled_clouds(['AWS', 'Kubernetes'], cloud.CloudCapability.COMPUTE, 'default')\n"
            "g.set_enabled_clouds(['GCP'], cloud.CloudCapability.STORAGE, 'default')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=240, capture_output=True)
    assert sky_state.enabled_clouds() == ["aws", "kubernetes"]
    assert sky_state.enabled_clouds(capability="storage") == ["gcp"]
    assert settings.get_settings().default_backend == "skypilot"
