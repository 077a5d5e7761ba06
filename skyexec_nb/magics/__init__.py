"""IPython entry points: ``%load_ext skyexec_nb`` registers ``SkyLaunchMagics``.

Loading imports IPython's magic machinery, traitlets and the light parts of skyexec_nb only;
never sky or ipywidgets (views are imported when first displayed).
"""
from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and make ``SkyLaunchMagics`` reachable by ``%config`` (idempotent)."""
    from skyexec_nb.magics.skylaunch import SkyLaunchMagics

    unload_ipython_extension(ipython)
    ipython.register_magics(SkyLaunchMagics(shell=ipython))  # Magics.__init__ adds it to configurables


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics registered by :func:`load_ipython_extension` (and their %config entry)."""
    from skyexec_nb.magics.skylaunch import SkyLaunchMagics

    manager = ipython.magics_manager
    instance = manager.registry.pop(SkyLaunchMagics.__name__, None)
    if instance is None:
        return
    for kind, names in instance.magics.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    ipython.configurables[:] = [c for c in ipython.configurables if c is not instance]
