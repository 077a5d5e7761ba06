"""Backends by name: the name -> module table and the lookup (a backend module is imported only
when a job needs it, so ``sky`` stays unloaded). Depends on nothing of the job core, so settings,
the launcher, the supervisor and ``Job.down`` can all find a backend without an import circle."""
from __future__ import annotations

import importlib

from skyexec_nb.model.errors import FieldError

#: Backend name -> module defining ``BACKEND`` (see ``backend_api.py``).
BACKEND_MODULES: dict[str, str] = {
    "local": "skyexec_nb.engine.backends.local",
    "skypilot": "skyexec_nb.engine.backends.skypilot",
    "jobs": "skyexec_nb.engine.backends.managed",
}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKEND_MODULES)
BACKEND_MODULES["attached"] = "skyexec_nb.engine.backends.attached"  # watches work launched elsewhere: not launchable


def check_backend_name(name: str) -> str:
    """Return ``name`` if it is a known backend; raise FieldError (one line) otherwise."""
    if name not in BACKEND_MODULES:
        raise FieldError("backend", f"one of {', '.join(BACKEND_NAMES)}", name)
    return name


def get_backend(name: str):
    """The ``BACKEND`` object of backend ``name`` (imports its module on first use).

    Raises:
        FieldError: unknown backend name.
    """
    module = importlib.import_module(BACKEND_MODULES[check_backend_name(name)])
    return module.BACKEND
