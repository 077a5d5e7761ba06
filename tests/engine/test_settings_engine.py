"""Engine settings: env at first use, validation, reset."""
from __future__ import annotations

import pytest
from traitlets import TraitError

from skyexec_nb.engine import settings


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
        "local", 2000, 0.2, 5.0, 100)


@pytest.mark.parametrize("field,value", [
    ("default_backend", "slurm"), ("log_tail_lines", 0), ("poll_interval", -1.0),
    ("poll_interval", 120.0), ("cancel_grace", -0.5), ("max_payload_mb", 0), ("state_dir", " "),
])
def test_validation_names_the_field(field, value):
    with pytest.raises(TraitError, match=f"Invalid {field}"):
        setattr(settings.get_settings(), field, value)
