"""The colour bar and particle legend follow their view: presenter mode at 200 % on a small
window shrinks them to the view's room (text still >= MIN_PIXELS), a large window at 100 %
keeps the size asked for."""

import math

from PySide6.QtGui import QGuiApplication

from flowviz.render import overlays
from flowviz.render.overlays import MAX_AREA, MAX_HEIGHT, MAX_WIDTH, MIN_PIXELS, key_font

WAIT = 60_000


def _keys(window):
    """(key, its view's plot rect) of every key shown."""
    out = []
    for view in window.views():
        scene = getattr(view, "scene", None)
        if scene is not None and view.isVisible():
            box = scene.plot.getViewBox()
            out += [(k, box) for k in (scene.colorbar, scene.legend) if k.isVisible()]
    return out


def _fits(key, box) -> bool:
    w, h = key.size().width(), key.size().height()
    bw, bh = box.size().width(), box.size().height()
    inside = box.sceneBoundingRect().contains(key.sceneBoundingRect())
    return inside and w <= MAX_WIDTH * bw and h <= MAX_HEIGHT * bh and w * h <= MAX_AREA * bw * bh


def _pixels(points: float) -> float:
    return points * QGuiApplication.primaryScreen().logicalDotsPerInchY() / 72


def _present(window, scale: int, width: int, height: int) -> None:
    window.presenter.set_scale(scale)
    window.presenter_action.setChecked(True)
    window.showNormal()  # offscreen "full screen" is 800x600: the projector's size is set
    window.resize(width, height)


def test_keys_fit_a_small_view_in_presenter_mode_at_200_percent(qtbot, window):
    try:
        _present(window, 200, 1280, 720)
        assert len([v for v in window.views() if v.isVisible()]) == 3
        qtbot.waitUntil(lambda: len(_keys(window)) >= 4, timeout=WAIT)  # bars and legends
        qtbot.waitUntil(lambda: all(_fits(k, box) for k, box in _keys(window)), timeout=WAIT)
        wanted = window.presenter.scale / 100 * max(10.0, key_font(None).pointSizeF())
        for key, _ in _keys(window):
            assert _pixels(key.point_size()) >= MIN_PIXELS - 0.01
            assert key.point_size() < wanted  # shrunk: the scale asked for more
    finally:
        window.presenter_action.setChecked(False)


def test_keys_keep_their_size_on_a_large_window(qtbot, window):
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: len(_keys(window)) >= 4, timeout=WAIT)
    normal = key_font(None).pointSizeF()
    qtbot.waitUntil(lambda: all(k.point_size() == normal for k, _ in _keys(window)), timeout=WAIT)
    try:
        _present(window, 100, 1920, 1080)
        qtbot.waitUntil(lambda: window.width() == 1920 and len(_keys(window)) >= 4, timeout=WAIT)
        wanted = max(10.0, QGuiApplication.font().pointSizeF())  # the presenter's 100 %
        qtbot.waitUntil(
            lambda: all(math.isclose(k.point_size(), wanted) for k, _ in _keys(window)),
            timeout=WAIT,
        )
    finally:
        window.presenter_action.setChecked(False)


def test_the_fit_check_sees_a_key_too_large(qtbot, window):
    """A key forced past its view's room is reported (the check can fail)."""
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: len(_keys(window)) >= 2, timeout=WAIT)
    key, box = _keys(window)[0]
    kept = overlays.MAX_WIDTH, overlays.MAX_HEIGHT, overlays.MAX_AREA
    try:
        overlays.MAX_WIDTH = overlays.MAX_HEIGHT = overlays.MAX_AREA = 10.0
        key.set_point_size(40)
        assert not _fits(key, box)
    finally:
        overlays.MAX_WIDTH, overlays.MAX_HEIGHT, overlays.MAX_AREA = kept
        key.set_point_size(None)
    assert _fits(key, box)
