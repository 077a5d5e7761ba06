"""Engine settings: a traitlets object with validated fields, created lazily (env applies)."""
from __future__ import annotations

import os
from pathlib import Path

from traitlets import Dict, Float, HasTraits, Integer, TraitError, Unicode, default, validate

from skyexec_nb.engine.jobs.backend_table import BACKEND_NAMES
from skyexec_nb.model.limits import is_int, within
from skyexec_nb.process_wide import ProcessWide

AUTO = "auto"
BACKEND_SETTINGS: tuple[str, ...] = (AUTO, *BACKEND_NAMES)
"""Values ``default_backend`` accepts: a backend name, or "auto"."""


LIMITS: dict[str, tuple[float, float]] = {
    "log_tail_lines": (1, 1_000_000),
    "poll_interval": (0.01, 60.0),
    "cancel_grace": (0.0, 3600.0),
    "max_payload_mb": (1, 100_000),
}
"""The range of each numeric setting (NaN and infinities are never in range)."""


def _in_range(field: str, value: object, integer: bool = False) -> float:
    """``value`` if it lies in ``LIMITS[field]``, else a one-line TraitError naming the range."""
    low, high = LIMITS[field]
    if not within(value, low, high) or (integer and not is_int(value)):
        kind = "an integer" if integer else "seconds"
        raise TraitError(f"Invalid {field}: {kind} in [{_shown(low)}, {_shown(high)}]. Found: {value!r}")
    return value  # type: ignore[return-value]


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


class _Count(Integer):
    """An Integer setting whose every refusal (wrong type too) is the one-line range error."""

    def error(self, obj: object, value: object, error: object = None, info: object = None) -> None:
        _in_range(self.name, value, integer=True)


class _Seconds(Float):
    """A Float setting whose every refusal (wrong type too) is the one-line range error."""

    def error(self, obj: object, value: object, error: object = None, info: object = None) -> None:
        _in_range(self.name, value)


MAX_BUDGET_PER_DAY = 1e7  # the most any one period's budget may be (USD)
BUDGET_PERIODS = ("per_day", "per_week", "per_month")
BUDGET_ALLOWED = ('{"per_day", "per_week" and/or "per_month": dollars, more than 0 and at most 10,000,000} '
                  '(or {} for no budget)')


def _budget(value: object) -> dict:
    """``{"per_day": float, "per_week": float, "per_month": float}`` (any of them) or ``{}``;
    anything else is a one-line TraitError."""
    if isinstance(value, dict) and set(value) <= set(BUDGET_PERIODS) and \
            all(within(v, 0.0, MAX_BUDGET_PER_DAY, low_open=True) for v in value.values()):
        return {k: float(v) for k, v in value.items()}
    raise TraitError(f"Invalid budget: {BUDGET_ALLOWED}. Found: {value!r}")


class _Budget(Dict):
    """The user's budget (per day, week, month); every refusal (wrong type too) is the one-line error."""

    def error(self, obj: object, value: object, error: object = None, info: object = None) -> None:
        _budget(value)


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
    log_tail_lines = _Count(2000, help="Lines of log a view shows at most (1..1000000).")
    poll_interval = _Seconds(0.2, help="Seconds between monitor polls of the registry (0.01..60).")
    cancel_grace = _Seconds(5.0, help="Seconds between SIGTERM and SIGKILL on cancel (0..3600).")
    max_payload_mb = _Count(100, help="Largest payload (MB) shipped with a job (1..100000).")
    budget = _Budget(help='The notebook user\'s budget in USD, e.g. {"per_day": 200} or {"per_day": 200, '
                     '"per_month": 3000} (also "per_week"; {}: none); launches that may exceed what is left of '
                     "any of them ask for a confirmation.")

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

    @validate("log_tail_lines", "max_payload_mb")
    def _check_count(self, proposal: dict) -> int:
        return int(_in_range(proposal["trait"].name, proposal["value"], integer=True))

    @validate("budget")
    def _check_budget(self, proposal: dict) -> dict:
        return _budget(proposal["value"])

    @validate("poll_interval", "cancel_grace")
    def _check_seconds(self, proposal: dict) -> float:
        return float(_in_range(proposal["trait"].name, proposal["value"]))

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
