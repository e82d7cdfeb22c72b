"""Export and message hardening (issue 22) through real processes where a regression
would crash the interpreter: a title of thousands of nested tags, a message box showing
them; and `export --session F --train-steps N`, which trains."""

import os
import subprocess
import sys
from pathlib import Path

from flowviz import cli
from flowviz.session import Session
from flowviz.sessions import file

ROOT = Path(__file__).resolve().parents[1]
TABLES = "<table><tr><td>" * 3000
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"}


def test_a_title_of_nested_tables_is_drawn_as_text(tmp_path):
    out = tmp_path / "t.gif"
    cmd = [sys.executable, str(ROOT / "main.py"), "export", "--n", "100", "--frames", "2",
           "--size", "160x120", "--quiet", "--title", TABLES, "--out", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=ENV)
    assert res.returncode == 0, res.stderr[-2000:]
    assert out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["t.gif"]


PLAIN_BOX = f"""
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from flowviz.gui.app.main_window import plain_warning

app = QApplication([])
seen = []

def answer():
    box = QApplication.activeModalWidget()
    seen.append((box.textFormat(), box.text()))
    box.accept()

QTimer.singleShot(0, answer)
plain_warning(None, {TABLES!r} + "\\nname")
fmt, shown = seen[0]
assert fmt == Qt.TextFormat.PlainText, fmt
print(len(shown))
"""


def test_a_warning_box_shows_nested_tables_as_plain_text():
    res = subprocess.run(
        [sys.executable, "-c", PLAIN_BOX], capture_output=True, text=True, timeout=300, env=ENV
    )
    assert res.returncode == 0, res.stderr[-2000:]


def test_export_of_a_session_with_train_steps_trains(tmp_path, capsys):
    import numpy as np

    session = Session(data=np.random.default_rng(0).normal(size=(64, 2)), origin="drawn")
    path = tmp_path / "s.flowviz"
    file.save(path, session.patch(training={"width": 16, "depth": 1, "batch_size": 32}))
    out = tmp_path / "l.gif"
    argv = ["export", "--session", str(path), "--train-steps", "5", "--view", "learned",
            "--frames", "2", "--size", "64x64", "--quiet", "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert out.stat().st_size > 0


def test_a_large_network_is_announced_before_the_work():
    """The largest network the limits allow (1024 x 12): the export says what it costs."""
    from flowviz.core.inference import InferenceField
    from flowviz.core.model import ModelConfig, build
    from flowviz.export.command import _network_note

    def note(width, depth):
        config = ModelConfig(width=width, depth=depth)
        field = InferenceField(build(config, seed=0).state_dict(), config)
        weights = sum(p.numel() for p in field.model.parameters())
        return weights, _network_note(Session(), field, frames=120)

    weights, big = note(1024, 12)
    assert f"{weights / 1e6:.1f} M weights" in big and "Ctrl+C stops cleanly" in big
    assert note(32, 2)[1] == ""


def _export_session(tmp_path, session, capsys) -> tuple[int, str]:
    path = tmp_path / "odd.flowviz"
    file.save(path, session)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    argv = ["export", "--session", str(path), "--frames", "2", "--size", "64x64", "--quiet",
            "--out", str(out / "x.gif")]  # fmt: skip
    code = cli.main(argv)
    assert list(out.iterdir()) == []
    return code, capsys.readouterr().err.strip()


def test_a_session_without_views_or_data_names_the_file(tmp_path, capsys):
    import numpy as np

    pts = np.zeros((3, 2), np.float32) + np.arange(3, dtype=np.float32)[:, None]
    code, err = _export_session(tmp_path, Session(data=pts, views=()), capsys)
    assert code == 2 and err == (
        "flowviz: error: odd.flowviz: the session shows no views; choose some with --view"
    )
    code, err = _export_session(tmp_path, Session(), capsys)
    assert (
        code == 2 and err == "flowviz: error: odd.flowviz: the session holds no data points to show"
    )


def test_many_data_points_are_announced_before_the_work():
    from flowviz.export.command import HEAVY_POINTS, _data_note

    assert _data_note(HEAVY_POINTS) == ""
    assert "1,000,000 data points take minutes a frame" in _data_note(1_000_000)
