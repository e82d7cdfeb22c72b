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


#: The packages installed on a window, which reach it only through WindowSeams.
EXTENSIONS = ("training", "sessions", "lessons", "export")


def window_uses(source: str) -> set[str]:
    """The attributes of the window that source uses: on `window` (a parameter or any
    name so called), on `self.window`, on a local bound to either (`w = self.window`), and
    the names given to getattr / hasattr / setattr on them."""
    tree = ast.parse(source)

    def is_window(node, names) -> bool:
        if isinstance(node, ast.Name):
            return node.id in names
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "window"
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        )

    used = set()
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
        names = {"window"}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and is_window(node.value, names):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(scope):
            if isinstance(node, ast.Attribute) and is_window(node.value, names):
                used.add(node.attr)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr")
                and len(node.args) >= 2
                and is_window(node.args[0], names)
                and isinstance(node.args[1], ast.Constant)
            ):
                used.add(node.args[1].value)
    return used


def undeclared(used: set[str]) -> set[str]:
    """Of used, what neither WindowSeams declares nor QMainWindow has."""
    from PySide6.QtWidgets import QMainWindow

    from flowviz.gui.app.window_api import WindowSeams

    declared = set(WindowSeams.__annotations__) | set(vars(WindowSeams))
    return {name for name in used if name not in declared and not hasattr(QMainWindow, name)}


def test_extensions_use_only_what_window_seams_declares():
    bad = []
    for package in EXTENSIONS:
        for path in sorted((ROOT / "gui" / package).rglob("*.py")):
            for name in sorted(undeclared(window_uses(path.read_text()))):
                bad.append(f"{path.relative_to(ROOT.parent)}: window.{name}")
    assert not bad, "window attributes WindowSeams does not declare:\n" + "\n".join(bad)


def test_the_window_check_sees_every_way_of_reaching_the_window():
    source = """
class C:
    def f(self, window):
        window.menu("File").addAction(window.secret_menu)
        w = self.window
        w.resizeDocks([], [], 1)
        w.hidden_panel.show()
        if hasattr(self.window, "lesson_state"):
            getattr(w, "private_bits", None)
        worker = self.worker
        worker.not_the_window()
"""
    used = window_uses(source)
    assert used == {
        "menu", "secret_menu", "resizeDocks", "hidden_panel", "lesson_state", "private_bits",
    }  # fmt: skip
    assert undeclared(used) == {"secret_menu", "hidden_panel", "lesson_state", "private_bits"}
