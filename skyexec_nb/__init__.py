"""skyexec_nb: describe cloud compute, launch work on it and watch it, without leaving the notebook.

Public names are resolved lazily so that ``import skyexec_nb`` (and ``%load_ext skyexec_nb``)
imports neither ``sky`` (seconds) nor ipywidgets/IPython.
"""
from __future__ import annotations

import importlib
from typing import Any

from skyexec_nb.model import view_registry as _view_registry

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "SkyExecutor": "skyexec_nb.model.executor",
    "FieldError": "skyexec_nb.model.errors",
    "SkyExecError": "skyexec_nb.model.errors",
    "JobStatus": "skyexec_nb.engine.jobs.status",
    "Job": "skyexec_nb.engine.api",
    "launch": "skyexec_nb.engine.api",
    "jobs": "skyexec_nb.engine.api",
    "get_job": "skyexec_nb.engine.api",
    "find_job": "skyexec_nb.engine.api",
    "get_settings": "skyexec_nb.engine.jobs.settings",
    "prices": "skyexec_nb.engine.api",
    "remote": "skyexec_nb.engine.api",
    "sweep": "skyexec_nb.engine.api",
    "Sweep": "skyexec_nb.engine.api",
    "costs": "skyexec_nb.engine.api",
    "budget_status": "skyexec_nb.engine.api",
    "idle_clusters": "skyexec_nb.engine.api",
    "down_idle": "skyexec_nb.engine.api",
    "set_limits": "skyexec_nb.engine.api",
    "BudgetConfirmationNeeded": "skyexec_nb.engine.api",
    "ResourcePicker": "skyexec_nb.views.picker",
    "LaunchPanel": "skyexec_nb.views.launch_panel",
    "JobsTable": "skyexec_nb.views.jobs_table",
    "SweepPanel": "skyexec_nb.views.sweep_panel",
}

__all__ = sorted([*_LAZY, "load_ipython_extension", "unload_ipython_extension"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skyexec_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext skyexec_nb``: register the magics (does not import sky)."""
    from skyexec_nb.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext skyexec_nb``."""
    from skyexec_nb.magics import unload_ipython_extension as _unload

    _unload(ipython)


def _view_factory(module: str, function: str):
    """A factory that imports its views module only when something is displayed."""

    def factory(obj: Any) -> Any:
        return getattr(importlib.import_module(module), function)(obj)

    return factory


_view_registry.register_view("SkyExecutor", _view_factory("skyexec_nb.views.display", "executor_widget"))
_view_registry.register_view("SkyExecutor:edit", _view_factory("skyexec_nb.views.picker", "ResourcePicker"))
_view_registry.register_view("Job", _view_factory("skyexec_nb.views.display", "job_widget"))
_view_registry.register_view("Sweep", _view_factory("skyexec_nb.views.display", "sweep_widget"))
# Inside IPython, a Job/Sweep/SkyExecutor is shown live plus a saved record kept true in place.
importlib.import_module("skyexec_nb.views.display").install_live_display()
