"""Every file of the kept corpus (tests/corpus) through the window's own actions: File >
Open points (into the data and into the source), File > Load checkpoint, and a few through
Import image. Each must give one message that names the file and says the problem, with no
traceback and no exception reaching the event loop (pytest-qt fails the test on one), the
Session and the undo stack unchanged, and nothing written beside the file.

One window serves every case (a window per case would start 111 training processes): the
cases run in a loop and every failing case is listed at the end.
"""

from __future__ import annotations

from corpus import FILES, cases
from PySide6.QtWidgets import QFileDialog

WAIT = 90_000  # ms: generous; each wait ends as soon as the load has


def _listing() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in FILES.iterdir()}


def _problems(case, shown: list[str], window, before, depth, extra=()) -> list[str]:
    """What is wrong with the window's answer to one case (empty: all good)."""
    out = []
    if len(shown) != 1:
        return [f"{case.name}: {len(shown)} messages {shown!r}"]
    text = shown[0]
    if not text.startswith(case.name):
        out.append(f"{case.name}: the message does not start with the file's name: {text!r}")
    if case.expected not in text:
        out.append(f"{case.name}: expected {case.expected!r} in {text!r}")
    if "\n" in text or "Traceback" in text:
        out.append(f"{case.name}: not one line: {text!r}")
    if window.statusBar().currentMessage() != text:
        out.append(f"{case.name}: the status bar says {window.statusBar().currentMessage()!r}")
    if window.state.session != before:
        out.append(f"{case.name}: the Session changed")
    if window.undo.count() != depth:
        out.append(f"{case.name}: the undo stack changed")
    out.extend(p for p in extra if p)
    return out


def test_every_corpus_file_through_the_window(qtbot, window, monkeypatch, messages, capfd):
    c = window.extensions["training"]
    c.reset_weights()  # weights to keep: a failed load must not replace them
    failed_jobs: list[str] = []
    window.worker.failed.connect(failed_jobs.append)
    files = _listing()
    problems: list[str] = []
    points, checkpoints = cases("points"), cases("checkpoint")
    assert len(points) + len(checkpoints) >= 60

    ran = []

    def run(case, start, busy, extra=lambda: ()) -> None:
        ran.append(case.name)
        messages.clear()
        before, depth = window.state.session, window.undo.count()
        start()
        qtbot.waitUntil(lambda: not busy(), timeout=WAIT)
        problems.extend(_problems(case, messages, window, before, depth, extra()))

    for target in ("target", "source"):  # File > Open points, through the dialog
        window.draw_target.setCurrentIndex(window.draw_target.findData(target))
        for case in points:
            monkeypatch.setattr(
                QFileDialog, "getOpenFileName", lambda *a, p=case.path, **k: (str(p), "")
            )
            run(case, window.open_points_dialog, window.loading)

    snapshot = c.snapshot
    for case in checkpoints:  # File > Load checkpoint, through the menu action
        monkeypatch.setattr(
            QFileDialog, "getOpenFileName", lambda *a, p=case.path, **k: (str(p), "")
        )

        def kept(case=case):
            return [f"{case.name}: the weights changed" if c.snapshot is not snapshot else ""]

        run(case, c.actions["load_checkpoint"].trigger, c.loading, kept)

    for name in ("binary.csv", "empty.npy", "pickle-evil.pt"):  # not images at all
        (case,) = [k for k in cases() if k.name == name]
        case = type(case)(case.path, case.kind, "not a readable image")
        run(case, lambda p=case.path: window.import_image(str(p)), window.loading)

    assert len(ran) == 2 * len(points) + len(checkpoints) + 3
    assert _listing() == files, "files were written or changed beside the corpus"
    assert not failed_jobs, failed_jobs
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert not problems, "\n".join(problems)


def test_every_session_and_lesson_file_through_the_window(qtbot, window, settings, messages, capfd):
    """File > Open session and Lesson > Open lesson with the issue-22 corpus: one plain line
    naming the file (at most 200 characters), nothing changed (Session, undo stack, weights,
    remembered settings), and the next launch still opens the window with that Session."""
    from flowviz.gui.app.launch import make_window

    c = window.extensions["training"]
    c.reset_weights()
    opener, teacher = window.extensions["sessions"], window.extensions["lessons"]
    snapshot, stored = c.snapshot, settings.value("session")
    files = _listing()
    problems: list[str] = []
    sessions, lessons = cases("session"), cases("lesson")
    assert len(sessions) >= 20 and len(lessons) >= 5

    def run(case, start, busy=lambda: False) -> None:
        messages.clear()
        before, depth = window.state.session, window.undo.count()
        start()
        qtbot.waitUntil(lambda: not busy(), timeout=WAIT)
        kept = [f"{case.name}: the weights changed" if c.snapshot is not snapshot else ""]
        problems.extend(_problems(case, messages, window, before, depth, kept))
        if messages and len(messages[0]) > 200:
            problems.append(f"{case.name}: {len(messages[0])} characters")

    for case in sessions:
        run(case, lambda p=case.path: opener.open_session(str(p)), opener.loading)
    for case in lessons:
        run(case, lambda p=case.path: teacher.open_lesson(str(p)))

    assert settings.value("session") == stored, "a refused file reached the settings"
    assert _listing() == files, "files were written or changed beside the corpus"
    assert "Traceback" not in capfd.readouterr().err
    assert not problems, "\n".join(problems)
    before = window.state.session
    window.close()  # saves the settings: the next launch reads them
    again = make_window(settings)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.core_ready, timeout=WAIT):
        again.show()
    assert "not restored" not in again.statusBar().currentMessage()
    assert again.state.session.count == before.count
    assert again.state.session.training == before.training
    again.close()


def test_a_source_too_large_for_the_exact_fields_is_refused(qtbot, window, messages, tmp_path):
    """Open points into the source: more than limits.MAX_SOURCE_POINTS is refused before
    any field is computed (30 x 1e6 ran out of memory), naming the file."""
    import numpy as np

    big = tmp_path / "big-source.npy"
    np.save(big, np.random.default_rng(0).normal(size=(40_000, 2)).astype(np.float32))
    window.draw_target.setCurrentIndex(window.draw_target.findData("source"))
    before, depth = window.state.session, window.undo.count()
    window.open_points(str(big))
    qtbot.waitUntil(lambda: not window.loading(), timeout=WAIT)
    assert len(messages) == 1 and messages[0].startswith("big-source.npy: a drawn source of 40,000")
    assert window.state.session == before and window.undo.count() == depth
