"""The math core imports without Qt (ARCHITECTURE.md: core never imports a GUI)."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
import flowviz.core
names = [m.name for m in pkgutil.iter_modules(flowviz.core.__path__, "flowviz.core.")]
for name in names:
    importlib.import_module(name)
gui = sorted({m.split(".")[0] for m in sys.modules} & {"PySide6", "PyQt5", "PyQt6", "pyqtgraph"})
print(len(names), ",".join(gui) or "none")
"""


def test_core_and_all_its_modules_import_without_qt():
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=True
    )
    count, gui = out.stdout.split()
    assert int(count) >= 10  # paths, marginal, solvers, couplings, data, model, ...
    assert gui == "none"
