"""The four layers import one way (model <- engine <- views/magics), and sky only lazily."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skyexec_nb"

FORBIDDEN = {
    "model": ("skyexec_nb.engine", "skyexec_nb.views", "skyexec_nb.magics", "ipywidgets", "IPython"),
    "engine": ("skyexec_nb.views", "skyexec_nb.magics", "ipywidgets", "IPython"),
    "views": ("skyexec_nb.magics",),
}


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module, at_top_level) for every import in ``tree``."""
    found = []
    top = set(id(node) for node in getattr(tree, "body", []))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


def _modules(layer: str | None = None) -> list[Path]:
    root = PACKAGE / layer if layer else PACKAGE
    return sorted(root.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_flow_one_way(layer: str) -> None:
    bad = []
    for path in _modules(layer):
        for module, _ in _imports(ast.parse(path.read_text())):
            if module.startswith(FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not bad, "\n".join(bad)


def test_sky_is_never_imported_at_module_level() -> None:
    bad = []
    for path in _modules():
        for module, top in _imports(ast.parse(path.read_text())):
            if top and (module == "sky" or module.startswith("sky.")):
                bad.append(f"{path.relative_to(PACKAGE)} imports {module} at import time")
    assert not bad, "\n".join(bad)
