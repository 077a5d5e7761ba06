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


# -- engine sub-packages: each may import only the ones below it -----------------------------------
#: Engine sub-packages, lowest first. A module may import its own sub-package and those before it.
ENGINE_ORDER = ("skyapi", "jobs", "metrics", "backends", "pricing", "budget", "remote", "api")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """{module: skyexec_nb modules it imports}: module-level, function-level and type-checking
    imports alike."""
    names = {_module_name(p): p for p in _modules()}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("skyexec_nb"):
                for alias in node.names:  # ``from pkg import module`` names the module itself
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in names else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("skyexec_nb"))
        graph[name] = {d for d in deps if d in names and d != name}
    return graph


def test_no_import_cycles_anywhere() -> None:
    graph = _graph()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(path[path.index(dep):] + [dep]) if dep in path else dep)
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_engine_subpackages_import_downward_only() -> None:
    bad = []
    for module, deps in _graph().items():
        if not module.startswith("skyexec_nb.engine."):
            continue
        own = module.split(".")[2]
        for dep in deps:
            if dep.startswith("skyexec_nb.engine.") and dep.split(".")[2] in ENGINE_ORDER:
                target = dep.split(".")[2]
                if ENGINE_ORDER.index(target) > ENGINE_ORDER.index(own):
                    bad.append(f"{module} imports {dep} ({target} is above {own})")
    assert not bad, "\n".join(bad)


def test_job_core_knows_nothing_of_pricing_remote_or_sweeps() -> None:
    core = [m for m in _graph() if m.startswith("skyexec_nb.engine.jobs")]
    bad = [f"{m} imports {d}" for m in core for d in _graph()[m]
           if d.startswith(("skyexec_nb.engine.pricing", "skyexec_nb.engine.remote", "skyexec_nb.engine.backends",
                            "skyexec_nb.engine.budget"))]
    assert not bad, "\n".join(bad)


def test_modules_stay_small() -> None:
    big = [f"{p.relative_to(PACKAGE)}: {n} lines" for p in _modules()
           if (n := len(p.read_text().splitlines())) > 420]
    assert not big, "modules over ~400 lines:\n" + "\n".join(big)
