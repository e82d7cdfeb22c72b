"""The layering of ARCHITECTURE.md, checked on the source: no import circles, no upward
imports, no class overriding another class's private method."""

import ast
import importlib
import inspect
import itertools
import pkgutil
from pathlib import Path

import pytest

import flowviz

ROOT = Path(flowviz.__file__).parent
#: layer -> the flowviz layers it may import (besides itself)
ALLOWED = {
    "core": set(),
    "render": {"core"},
    "session": {"core"},
    "pictures": {"core", "session"},
    "sessions": {"core", "session"},
    "lessons": {"core", "session"},
    "export": {"core", "session", "sessions", "pictures", "render"},
    "gui": {"core", "session", "pictures", "render", "export", "sessions", "lessons"},
    "cli": {"core", "session", "pictures", "render", "export", "gui"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path, known) -> set[str]:
    """flowviz modules that `name` imports, anywhere in the file (lazy imports count)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            subs = [f"{base}.{a.name}" for a in node.names]
            targets = [t if t in known else base for t in subs]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("flowviz"):
                out.add(target)
    return out


def _graph():
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_upward_imports():
    bad = []
    for name, deps in _graph().items():
        layer = _layer(name)
        if layer not in ALLOWED:
            continue
        for dep in deps:
            other = _layer(dep)
            if other and other != layer and other not in ALLOWED[layer]:
                bad.append(f"{name} -> {dep}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                if not _package_edge_only(cycle):
                    cycles.append(" -> ".join(cycle))
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def _package_edge_only(cycle: list[str]) -> bool:
    """A package importing its own submodule (to re-export it) and the submodule importing
    a sibling through the package name is Python's normal package layout, not a circle."""
    return all(b.startswith(a + ".") or a.startswith(b + ".") for a, b in itertools.pairwise(cycle))


def _classes():
    for info in pkgutil.walk_packages(flowviz.__path__, "flowviz."):
        if ".gui" in info.name and "screenshots" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                yield cls


def test_no_class_overrides_a_private_method_of_another():
    bad = []
    for cls in _classes():
        for name, value in vars(cls).items():
            if not (name.startswith("_") and not name.startswith("__")) or not callable(value):
                continue
            for base in cls.__mro__[1:]:
                if not base.__module__.startswith("flowviz"):
                    continue
                inherited = vars(base).get(name)
                abstract = getattr(inherited, "__isabstractmethod__", False)
                if inherited is not None and not (abstract or _abstract_hook(inherited)):
                    bad.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not bad, "private methods overridden:\n" + "\n".join(sorted(set(bad)))


def _abstract_hook(fn) -> bool:
    """A base method whose body only raises NotImplementedError is a declared hook."""
    if fn is None:
        return False
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    body = ast.parse(src.strip()).body[0].body
    body = [n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return len(body) == 1 and isinstance(body[0], ast.Raise)


@pytest.mark.parametrize("module", ["flowviz.session", "flowviz.pictures", "flowviz.export"])
def test_model_picture_and_export_modules_import_without_qt(module):
    import subprocess
    import sys

    code = (
        f"import sys, {module}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph', 'torch'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
