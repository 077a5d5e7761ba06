"""Factories the model's ``view_registry`` calls for rich display (``display(job)``, ``executor``).

Each returns a widget only when a widget frontend can show it, i.e. inside an ipykernel (whose
shell has a ``kernel`` with comms); otherwise None, and the object's text/HTML fallback is used
(plain IPython, nbval, nbconvert).
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
