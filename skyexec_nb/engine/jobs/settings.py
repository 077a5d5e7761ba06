"""Engine settings: a traitlets object with validated fields, created lazily (env applies)."""
from __future__ import annotations

import os
from pathlib import Path

from traitlets import Float, HasTraits, Integer, TraitError, Unicode, default, validate

from skyexec_nb.engine.jobs.backend_api import BACKEND_NAMES
from skyexec_nb.process_wide import ProcessWide

AUTO = "auto"
BACKEND_SETTINGS: tuple[str, ...] = (AUTO, *BACKEND_NAMES)
"""Values ``default_backend`` accepts: a backend name, or "auto"."""


def _positive(field: str, value: float) -> float:
    if value <= 0:
        raise TraitError(f"Invalid {field}: a number > 0. Found: {value!r}")
    return value


class _BackendSetting(Unicode):
    """A backend name, or "auto", which reads as the backend it resolves to *now*.

    "auto" is stored as given (see :meth:`Settings.configured_backend`); every read resolves it
    with :func:`skyexec_nb.engine.skyapi.local_state.auto_backend` ("skypilot" once ``sky check``
    enabled a cloud, else "local"), so a cloud enabled later is used by the next launch.
    """

    def get(self, obj: HasTraits, cls: type | None = None) -> str | None:
        value = super().get(obj, cls)
        if value == AUTO:
            from skyexec_nb.engine.skyapi.local_state import auto_backend

            return auto_backend()
        return value


class Settings(HasTraits):
    """Where state lives and how the engine polls, cancels and shows logs."""

    state_dir = Unicode(help="Registry and job directories (env SKYEXEC_NB_HOME, default ~/.skyexec_nb).")
    default_backend = _BackendSetting(AUTO, help="Backend used when launch() gets none: local, "
                                      "skypilot, jobs, or auto (skypilot when `sky check` enabled a "
                                      "cloud, else local); reads as the resolved backend.")
    log_tail_lines = Integer(2000, help="Lines of log a view shows at most.")
    poll_interval = Float(0.2, help="Seconds between monitor polls of the registry.")
    cancel_grace = Float(5.0, help="Seconds between SIGTERM and SIGKILL on cancel.")
    max_payload_mb = Integer(100, help="Largest payload (MB) shipped with a job.")

    @default("state_dir")
    def _default_state_dir(self) -> str:
        env = os.environ.get("SKYEXEC_NB_HOME")
        return str(Path(env or "~/.skyexec_nb").expanduser())

    @validate("state_dir")
    def _check_state_dir(self, proposal: dict) -> str:
        value = proposal["value"]
        if not value.strip():
            raise TraitError(f"Invalid state_dir: a directory path. Found: {value!r}")
        return str(Path(value).expanduser().absolute())

    @validate("default_backend")
    def _check_backend(self, proposal: dict) -> str:
        value = proposal["value"]
        if value not in BACKEND_SETTINGS:
            raise TraitError(f"Invalid default_backend: one of {', '.join(BACKEND_SETTINGS)}. Found: {value!r}")
        return value

    @validate("log_tail_lines")
    def _check_tail(self, proposal: dict) -> int:
        return int(_positive("log_tail_lines", proposal["value"]))

    @validate("poll_interval")
    def _check_poll(self, proposal: dict) -> float:
        value = _positive("poll_interval", proposal["value"])
        if value > 60:
            raise TraitError(f"Invalid poll_interval: seconds in (0, 60]. Found: {value!r}")
        return value

    @validate("cancel_grace")
    def _check_grace(self, proposal: dict) -> float:
        value = proposal["value"]
        if value < 0:
            raise TraitError(f"Invalid cancel_grace: seconds >= 0. Found: {value!r}")
        return value

    @validate("max_payload_mb")
    def _check_payload(self, proposal: dict) -> int:
        return int(_positive("max_payload_mb", proposal["value"]))

    @property
    def configured_backend(self) -> str:
        """``default_backend`` as configured ("auto" stays "auto")."""
        return self._trait_values.get("default_backend", AUTO)

    @property
    def state_path(self) -> Path:
        """``state_dir`` as a Path."""
        return Path(self.state_dir)


_settings: ProcessWide[Settings] = ProcessWide(Settings)


def get_settings() -> Settings:
    """The process-wide Settings, created on first use (so env set before then applies)."""
    return _settings.get()


def reset() -> None:
    """Forget the cached Settings (tests; the next get_settings() re-reads the environment)."""
    _settings.take()
