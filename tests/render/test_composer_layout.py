"""An exported frame arranges its views by the window's rule (core.layout.arrange): a row
at 16:9, a grid when chosen or when the frame is square; the panels are shaped to fill
the frame (no empty band beyond the margins); the CLI's --layout."""

import numpy as np
import pytest
from PySide6.QtCore import QRect

from flowviz.render.composer import Composer, layout
from flowviz.render.style import Style


def _rects(lay) -> list[QRect]:
    return [QRect(*p) for p in lay.plots]


def _inside_and_apart(lay, width, height) -> bool:
    rects = _rects(lay)
    frame = QRect(0, 0, width, height)
    apart = all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    below = lay.footer is None or lay.footer.top() >= max(r.bottom() for r in rects)
    return apart and below and all(frame.contains(r) for r in rects)


ASPECTS = {"16:9": (1280, 720), "4:3": (960, 720), "1:1": (720, 720), "9:16": (720, 1280)}


def _covered(lay, width, height) -> tuple[np.ndarray, np.ndarray]:
    """Which pixel columns and rows are covered by a plot, a name, the title or the footer."""
    cols, rows = np.zeros(width, bool), np.zeros(height, bool)
    boxes = [p for p in lay.plots] + [
        (r.x(), r.y(), r.width(), r.height()) for r in [*lay.names, lay.title, lay.footer] if r
    ]
    for x, y, w, h in boxes:
        cols[round(x) : round(x + w)] = True
        rows[round(y) : round(y + h)] = True
    return cols, rows


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("choice", ["row", "grid", "auto"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_panels_fill_the_frame_but_for_the_margins(aspect, choice, n):
    """No band of the frame is left empty beyond the margins (and the gaps between
    panels, at most a margin wide): every row of views spans the full width, the rows
    the full height between the title and the footer."""
    width, height = ASPECTS[aspect]
    lay = layout(n, width, height, title=True, footer=True, choice=choice)
    assert _inside_and_apart(lay, width, height)
    cols, rows = _covered(lay, width, height)
    m = lay.margin
    for covered in (cols, rows):
        inner = covered[m:-m]
        assert inner.any()
        edges = np.flatnonzero(np.diff(np.concatenate([[1], inner.astype(int), [1]])))
        empty = np.diff(edges)[::2]  # lengths of the runs of uncovered pixels
        assert max(empty, default=0) <= m + 1, (aspect, choice, n, empty)
    # each row of panels spans the full width, margin to margin
    for y in {p[1] for p in lay.plots}:
        row = [p for p in lay.plots if p[1] == y]
        assert min(p[0] for p in row) == m and max(p[0] + p[2] for p in row) >= width - m - 1


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (320, 192)])
def test_auto_keeps_two_or_three_views_in_a_row_at_16_9(n, size):
    lay = layout(n, *size, title=True, footer=True)
    assert len({y for _, y, _, _ in lay.plots}) == 1
    assert _inside_and_apart(lay, *size)


def test_grid_puts_three_views_two_above_one_full_width_below():
    lay = layout(3, 1280, 720, title=False, footer=True, choice="grid")
    (x0, y0, w0, _), (x1, y1, w1, _), (x2, y2, w2, _) = lay.plots
    assert y0 == y1 < y2 and x0 < x1
    assert x2 == x0 and w2 >= w0 + w1  # the last row's view takes the whole width
    assert _inside_and_apart(lay, 1280, 720)


def test_a_square_frame_uses_a_grid_and_larger_plots_than_a_row():
    auto = layout(3, 800, 800, title=False, footer=True)
    row = layout(3, 800, 800, title=False, footer=True, choice="row")
    assert len({y for _, y, _, _ in auto.plots}) == 2
    area = [sum(w * h for *_, w, h in lay.plots) for lay in (auto, row)]
    assert min(w / h for *_, w, h in auto.plots[:2]) > max(w / h for *_, w, h in row.plots)
    assert area[0] > 0.9 * area[1]
    assert _inside_and_apart(auto, 800, 800)


def test_a_composed_grid_frame_has_the_asked_size(qapp):
    composer = Composer(
        ["conditional", "marginal", "learned"],
        width=400,
        height=400,
        style=Style(dark=False),
        layout_choice="grid",
    )
    try:
        img = composer.render({}, 0.5)
        assert img.shape == (400, 400, 3)
        for canvas, (*_, w, h) in zip(
            composer.canvases.values(), composer.layout.plots, strict=True
        ):
            assert (canvas.widget.width(), canvas.widget.height()) == (w, h)
    finally:
        composer.close()


def test_the_export_command_passes_layout_to_the_session(tmp_path, monkeypatch, capsys):
    from flowviz.cli import main
    from flowviz.export import animation

    seen = {}

    def fake_export(session, spec, out, **_kw):
        seen["layout"] = session.display.layout
        return out

    monkeypatch.setattr(animation, "export", fake_export)
    argv = ["export", "--n", "50", "--frames", "2", "--quiet", "--out", str(tmp_path / "a.gif")]
    assert main([*argv, "--layout", "grid"]) == 0
    assert seen["layout"] == "grid"
    assert main(argv) == 0
    assert seen["layout"] == "auto"
    with pytest.raises(SystemExit):
        main([*argv, "--layout", "diagonal"])
    assert "--layout" in capsys.readouterr().err


@pytest.fixture
def small_session():
    from flowviz.core import data
    from flowviz.export import animation
    from flowviz.session import Session

    pts = data.preset("moons", 100, seed=0).numpy()
    session = Session(data=pts).patch(display={"particles": 50, "steps": 10}, selected=0)
    return animation.prepare(session, animation.Spec(views=("conditional", "marginal")))


def test_exported_views_are_filled_by_pictures_made_for_their_plots(qapp, small_session):
    """Each plot's picture is made for the plot's extent: the arrows reach its visible
    range to within one spacing on every side (whatever the panel's shape)."""
    from flowviz.export import animation

    views = ["conditional", "marginal"]
    composer = Composer(views, width=640, height=360, style=Style(dark=False))
    try:
        pics = animation.pictures_of(small_session, views, extents=composer.extents())
        for view, canvas in composer.canvases.items():
            frame = pics[view].at(0.5)
            canvas.draw(frame)
            tails = canvas.scene.arrows.segments().reshape(-1, 6, 2)[:, 0]
            cell = frame.field.arrows.cell
            box = canvas.plot.getViewBox()
            assert box.height() != box.width()
            for axis, (lo, hi) in enumerate(box.viewRange()):
                assert lo <= tails[:, axis].min() + 1e-4 <= lo + cell
                assert hi - cell <= tails[:, axis].max() - 1e-4 <= hi
    finally:
        composer.close()


def test_export_makes_its_pictures_for_the_composers_plots(
    qapp, small_session, tmp_path, monkeypatch
):
    from flowviz.export import animation

    spec = animation.Spec(views=("marginal",), width=320, height=192, frames=2)
    seen = {}
    real = animation.pictures_of

    def spy(session, views, *, field=None, extents=None):
        seen.update(extents or {})
        return real(session, views, field=field, extents=extents)

    monkeypatch.setattr(animation, "pictures_of", spy)
    animation.export(small_session, spec, tmp_path / "frames")
    composer = animation.composer_for(small_session, spec, width=320, height=192)
    try:
        hx, hy = seen["marginal"]
        assert seen == composer.extents() and hx > hy  # a wide panel: a wide picture
    finally:
        composer.close()
