"""Factories the model's ``view_registry`` calls for rich display (``display(job)``, ``executor``).

Each returns a widget only when a widget frontend can show it, i.e. inside an ipykernel (whose
shell has a ``kernel`` with comms); otherwise None, and the object's text/HTML fallback is used
(plain IPython, nbval, nbconvert).

:func:`install_live_display` makes IPython show a Job, Sweep or SkyExecutor through
:func:`show_live`: the live widget plus a record output kept true in place
(:mod:`skyexec_nb.views.record`).
"""
from __future__ import annotations

import sys
from typing import Any


def has_widget_frontend() -> bool:
    """True inside an ipykernel (IPython's shell has a ``kernel``); never imports IPython."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def executor_widget(executor: Any) -> Any:
    """A :class:`ResourcePicker` bound to ``executor``, or None without a widget frontend."""
    if not has_widget_frontend():
        return None
    from skyexec_nb.views.picker import ResourcePicker

    return ResourcePicker(executor)


def job_widget(job: Any) -> Any:
    """A live :class:`LaunchPanel` of ``job``, or None without a widget frontend."""
    if not has_widget_frontend():
        return None
    from skyexec_nb.views.launch_panel import LaunchPanel

    return LaunchPanel(job)


def sweep_widget(sweep: Any) -> Any:
    """A live :class:`SweepPanel` of ``sweep``, or None without a widget frontend."""
    if not has_widget_frontend():
        return None
    from skyexec_nb.views.sweep_panel import SweepPanel

    return SweepPanel(sweep)


#: Types shown live with a record output: ``(module, class name)`` (subclasses included).
LIVE_TYPES = (("skyexec_nb.engine.jobs.job", "Job"), ("skyexec_nb.engine.remote.sweep", "Sweep"),
              ("skyexec_nb.model.executor", "SkyExecutor"))


def show_live(obj: Any) -> None:
    """IPython's display of a Job/Sweep/SkyExecutor: its live view plus its updated record.

    Without a view (no widget front end, or the view failed) the object's text and HTML.
    """
    from IPython.display import display

    from skyexec_nb.model.view_registry import widget_for

    widget = widget_for(obj)
    if widget is not None and hasattr(widget, "_ipython_display_"):
        widget._ipython_display_()
        return
    bundle = {"text/plain": repr(obj)}
    if hasattr(obj, "_repr_html_"):
        bundle["text/html"] = obj._repr_html_()
    display(bundle, raw=True)


def install_live_display() -> bool:
    """Register :func:`show_live` with the running IPython (lazily by type name: imports nothing).

    Called when ``skyexec_nb`` is imported; a no-op outside IPython. Returns True when installed.
    """
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    formatter = getattr(getattr(shell, "display_formatter", None), "ipython_display_formatter", None)
    if formatter is None:
        return False
    for module, name in LIVE_TYPES:
        formatter.for_type_by_name(module, name, show_live)
    return True
