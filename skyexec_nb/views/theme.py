"""Shared look of the views: one ``<style>`` block using JupyterLab's CSS variables only.

Every colour is a ``var(--jp-…)`` (with a fallback for pages without JupyterLab's theme, such as an
HTML export), so the views read the same in JupyterLab Light and Dark. Each view puts
:func:`theme_style` among its children (CSS ``skx-theme``); the same rules twice on a page are harmless.

Classes defined here (stable; views and browser tests rely on them):

- ``skx-form`` the picker's label/field grid; ``skx-form-label`` a label (wraps, never an ellipsis);
  ``skx-form-field`` a field cell (never wider than its column)
- ``skx-muted`` grey secondary text; ``skx-warn`` a warning box; ``skx-stale-marker`` an
  "out of date" note; ``skx-is-stale`` dims what it marks
- ``skx-grid-table`` a table laid out by a GridBox (header cells ``skx-th``), e.g. the jobs table
- ``skx-sweep-cell`` / ``skx-sweep-cell-<state>`` a sweep member's clickable cell
"""
from __future__ import annotations

import ipywidgets as widgets

from skyexec_nb.engine.jobs.status import STATUS_COLOURS

#: Text colours that read on both themes, with fallbacks for pages without JupyterLab's variables.
MUTED = "var(--jp-ui-font-color2, #6c757d)"
TEXT = "var(--jp-ui-font-color1, #212529)"
ERROR = "var(--jp-error-color1, #d32f2f)"
WARN = "var(--jp-warn-color1, #f57c00)"
BORDER = "var(--jp-border-color2, #dee2e6)"

_STATE_RULES = "".join(
    f".skx-sweep-cell.skx-sweep-cell-{state.value.lower()} {{border-left-color:{colour} !important}}"
    for state, colour in STATUS_COLOURS.items())

CSS = f"""
.skx-picker, .skx-jobs, .skx-sweep {{max-width:100%; box-sizing:border-box; min-width:0}}
.skx-picker *, .skx-jobs *, .skx-sweep * {{box-sizing:border-box}}
.skx-form {{width:100%; max-width:60em; margin:0 !important}}
.skx-form > * {{min-width:0}}
.skx-form-label .widget-html-content, .skx-form-label {{white-space:normal !important; overflow:visible !important;
  text-overflow:clip !important; line-height:1.3 !important; height:auto !important}}
.skx-form-label {{padding-top:6px; color:{TEXT}; margin:0 !important; overflow-wrap:anywhere}}
.skx-form-field {{min-width:0; max-width:100%; margin:0 !important}}
.skx-form-field > .widget-text, .skx-form-field > .widget-dropdown, .skx-form-field > .widget-combobox,
.skx-form-field > .widget-textarea {{width:auto !important; max-width:100%; min-width:0}}
.skx-form-field .widget-html-content {{white-space:normal; line-height:1.35}}
.skx-form-wide {{grid-column:1 / -1 !important}}
.skx-muted, .skx-muted .widget-html-content {{color:{MUTED}}}
.skx-warn .widget-html-content {{white-space:normal; line-height:1.35}}
.skx-warn-box {{border-left:3px solid {WARN}; background:rgba(245,124,0,.15);
  color:{TEXT}; padding:3px 8px; border-radius:2px}}
.skx-stale-marker-box {{border-left:3px solid {WARN}; color:{TEXT}; padding:1px 8px; font-style:italic}}
.skx-is-stale {{opacity:.5}}
.skx-yaml pre {{color:{TEXT}; background:var(--jp-layout-color2, #f5f5f5); padding:4px 6px; border-radius:2px;
  white-space:pre-wrap; overflow-wrap:anywhere}}
.skx-picker .widget-html-content, .skx-jobs .widget-html-content, .skx-sweep .widget-html-content {{color:{TEXT}}}
.skx-wrap-row {{flex-wrap:wrap; row-gap:2px; align-items:center}}
.skx-launch-reason .widget-html-content {{white-space:normal; line-height:1.3}}
.skx-grid-table {{width:100%; min-width:0}}
.skx-grid-table > * {{min-width:0}}
.skx-grid-table .widget-html-content {{white-space:normal; overflow-wrap:anywhere; line-height:1.3}}
.skx-th .widget-html-content {{font-weight:600; color:{MUTED}; white-space:nowrap !important; overflow-wrap:normal !important}}
.skx-jobs-started .widget-html-content, .skx-jobs-duration .widget-html-content, .skx-jobs-exit .widget-html-content,
.skx-jobs-cost .widget-html-content {{white-space:nowrap !important; overflow-wrap:normal !important}}
.skx-jobs .skx-grid-table {{font-size:0.95em}}
.skx-jobs .skx-grid-table .widget-button {{padding:0 5px; min-width:0}}
.skx-grid-table .widget-html {{margin:0; min-height:0; height:auto}}
.skx-grid-table .widget-button {{margin:0}}
.skx-nowrap {{white-space:nowrap}}
.skx-toolbar {{flex-wrap:wrap; align-items:center; gap:4px 8px}}
.skx-toolbar .widget-text, .skx-toolbar .widget-dropdown {{width:auto; max-width:16em; min-width:0}}
.skx-sweep-cell {{height:auto !important; min-height:2.6em; width:100% !important; margin:0 !important;
  white-space:pre-line !important; line-height:1.25 !important; text-align:left !important; padding:2px 6px !important;
  background:var(--jp-layout-color1, #fff) !important; color:{TEXT} !important;
  border:1px solid {BORDER} !important; border-left:6px solid {MUTED} !important; overflow:hidden}}
.skx-sweep-cell.skx-sweep-cell-selected {{outline:2px solid var(--jp-brand-color1, #1976d2) !important;
  outline-offset:-2px}}
{_STATE_RULES}
"""


def theme_style() -> widgets.HTML:
    """An (invisible) HTML widget carrying the shared CSS (CSS ``skx-theme``)."""
    style = widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(display="none"))
    style.add_class("skx-theme")
    return style
