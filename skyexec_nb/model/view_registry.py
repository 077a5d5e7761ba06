"""A tiny hook so the model and engine can offer rich views without importing views.

Imports flow one way (model <- engine <- views/magics). The entry point
(``skyexec_nb/__init__.py``) registers a factory per type; ``_repr_mimebundle_`` of
model/engine objects asks :func:`widget_for` and falls back to text/HTML when no
factory is registered or no widget frontend is present (nbval, plain IPython).
"""
from __future__ import annotations

from typing import Any, Callable

_factories: dict[str, Callable[[Any], Any]] = {}


def register_view(type_name: str, factory: Callable[[Any], Any]) -> None:
    """Register ``factory(obj) -> widget | None`` for objects whose class is named ``type_name``."""
    _factories[type_name] = factory


def editor_for(obj: Any) -> Any:
    """Return the editing widget of ``obj`` (registered as ``"<TypeName>:edit"``), or None.

    Unlike :func:`widget_for` this does not depend on a frontend being present: an editor is
    asked for explicitly (``executor.edit()``), so it is built even in plain Python or tests.
    """
    for cls in type(obj).__mro__:
        factory = _factories.get(f"{cls.__name__}:edit")
        if factory is not None:
            return factory(obj)
    return None


def widget_for(obj: Any) -> Any:
    """Return a widget for ``obj`` or None (no factory, no frontend, or the factory failed)."""
    for cls in type(obj).__mro__:
        factory = _factories.get(cls.__name__)
        if factory is not None:
            try:
                return factory(obj)
            except Exception:  # a view must never break display of the object itself
                return None
    return None


def mimebundle(obj: Any, text: str, html: str | None = None) -> dict[str, Any]:
    """The display bundle of ``obj``: its widget's bundle (if any) plus text/HTML fallbacks."""
    bundle: dict[str, Any] = {}
    widget = widget_for(obj)
    if widget is not None:
        bundle.update(widget._repr_mimebundle_() or {})
    bundle["text/plain"] = text
    if html is not None and "text/html" not in bundle:
        bundle["text/html"] = html
    return bundle
