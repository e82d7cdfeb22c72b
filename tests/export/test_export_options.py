"""Export options: --region (a far source point appears), text and keys sized for a slide,
the GIF palette keeps gradients clean and --max-size fits, help for every flag, --dry-run
makes nothing."""

import argparse

import imageio.v3 as iio
import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontInfo

from flowviz.core import data
from flowviz.export import animation, gif
from flowviz.export.animation import Spec
from flowviz.render.composer import HEADING, NAME, VIEW_TITLES
from flowviz.render.style import Style
from flowviz.session import Session

FAR = np.float32([[-5.0, 0.0], [-4.9, 0.3], [-5.1, -0.3]])


@pytest.fixture(scope="module")
def session():
    pts = data.preset("moons", 150, seed=0).numpy()
    return Session(data=pts, source=FAR).patch(
        display={"particles": 150, "steps": 20}, path={"sigma_min": 0.1}, selected=3
    )


def _pixel(composer, view, xy) -> tuple[int, int]:
    """The frame pixel (column, row) of data point xy in view's panel."""
    canvas = composer.canvases[view]
    box = canvas.plot.getViewBox()
    p = canvas.widget.mapFromScene(box.mapViewToScene(QPointF(*xy)))
    x, y, _, _ = composer.layout.plots[composer.views.index(view)]
    return x + p.x(), y + p.y()


def _has_colour(img, col, row, colour, reach=3) -> bool:
    patch = img[max(0, row - reach) : row + reach + 1, max(0, col - reach) : col + reach + 1]
    return bool((np.abs(patch.astype(int) - colour[:3]).max(axis=2) <= 40).any())


@pytest.mark.parametrize("region", ["fit", (-6.0, 3.0, -3.0, 3.0)])
def test_a_drawn_point_at_x_minus_5_appears_in_the_export(qapp, session, region):
    spec = Spec(views=("conditional", "marginal"), width=640, height=360, region=region)
    s = animation.prepare(session, spec)
    composer, pics = animation.setup(s, spec, width=640, height=360)
    try:
        img = composer.render({v: p.at(0.5) for v, p in pics.items()}, 0.5)
        for view in spec.views:
            x0, x1, _, _ = composer.regions()[view]
            assert x0 < -5.1 and x1 > session.data[:, 0].max()
            col, row = _pixel(composer, view, (-5.0, 0.0))
            assert _has_colour(img, col, row, composer.style.source)
    finally:
        composer.close()


def test_without_a_window_the_camera_square_is_shown_as_the_window_opens(qapp, session):
    spec = Spec(views=("marginal",), width=640, height=640)
    composer, _ = animation.setup(animation.prepare(session, spec), spec, width=640, height=640)
    try:
        x0, x1, y0, y1 = composer.regions()["marginal"]
        assert x0 <= -3.6 and x1 >= 3.6 and y0 <= -3.6 and y1 >= 3.6
        assert x0 > -5.0  # the default camera: the far source is outside, as in the window
    finally:
        composer.close()


@pytest.mark.parametrize("choice", ["row", "grid", "auto"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_text_and_keys_read_on_a_slide_at_720p(qapp, session, choice, n):
    """At 1280x720: tick labels and key text >= 14 px, view names and the heading >= 22 px,
    whatever the layout; the keys are the same size in every panel (the frame's, not the
    panel's)."""
    from flowviz.render.composer import Composer

    views = ["conditional", "marginal", "learned"][:n]
    composer = Composer(
        views, width=1280, height=720, style=Style(dark=False), title="Flow", layout_choice=choice
    )
    try:
        lay = composer.layout
        assert composer.text_px("Flow", lay.title, HEADING, bold=True) >= 22
        for view, name in zip(views, lay.names, strict=True):
            assert composer.text_px(VIEW_TITLES[view], name, NAME, bold=True) >= 22
        sizes = set()
        for canvas in composer.canvases.values():
            for axis in ("left", "bottom"):
                assert canvas.plot.getAxis(axis).style["tickFont"].pixelSize() >= 14
            for key in (canvas.scene.colorbar, canvas.scene.legend):
                px = QFontInfo(key._font).pixelSize()
                assert px >= 14
                sizes.add(px)
        assert len(sizes) == 1
    finally:
        composer.close()


def test_the_gif_palette_keeps_the_heat_ramp_within_two_levels():
    """Every colour of the heat layer's ramp has a palette colour within 2 of 255 in each
    channel (no visible bands), and every solid colour of the style is in it exactly."""
    for dark in (False, True):
        style = Style(dark=dark)
        pal = gif.palette(style).astype(int)
        assert pal.shape == (255, 3)
        lut = style.heat_lut[:, :3].astype(int)
        nearest = np.abs(lut[:, None] - pal[None]).max(axis=2).min(axis=1)
        assert nearest.max() <= 2
        for c in (style.background, style.foreground, style.data, style.source, style.selected):
            assert (pal == np.asarray(c[:3])).all(axis=1).any()


@pytest.mark.slow
def test_max_size_lowers_the_frame_rate_and_size_until_the_gif_fits(session, tmp_path):
    spec = Spec(views=("marginal",), width=320, height=180, fps=20, frames=24)
    full = animation.export(session, spec, tmp_path / "full.gif").stat().st_size
    limit = 0.5 * full
    fitted, estimate = animation.fit_gif(session, spec, limit)
    assert fitted.frames / fitted.fps == pytest.approx(1.2, rel=0.05)  # the same duration
    assert (fitted.fps, fitted.width) < (spec.fps, spec.width) or fitted.width < spec.width
    out = animation.export(session, fitted, tmp_path / "fitted.gif")
    assert out.stat().st_size <= limit
    assert len(iio.imread(out, index=None)) == fitted.frames
    assert estimate * animation.FIT_MARGIN <= limit


def test_every_export_flag_says_what_it_does():
    from flowviz.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    export = sub.choices["export"]
    for action in export._actions:
        if action.option_strings and action.dest != "help":
            assert action.help and len(action.help) >= 15, action.option_strings
            assert not action.help.startswith("default"), action.option_strings


def test_dry_run_says_what_would_be_made_and_makes_nothing(tmp_path, capsys):
    from flowviz.cli import main

    out = tmp_path / "talk.gif"
    argv = ["export", "--n", "100", "--particles", "100", "--frames", "40", "--fps", "20"]
    assert main([*argv, "--size", "640x360", "--dry-run", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "40 frames" in said and "640x360" in said and "20 fps" in said
    assert " MB" in said and " s to make" in said
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--region", "1,2,3"], "--region"),
        (["--region", "2,1,0,1"], "x0 < x1"),
        (["--max-size", "5"], "GIF"),
        (["--scale", "3"], "--scale"),
    ],
)
def test_bad_options_fail_in_one_line(tmp_path, capsys, args, words):
    from flowviz.cli import main

    argv = ["export", "--out", f"{tmp_path}/x.mp4", "--frames", "2", "--quiet", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not list(tmp_path.iterdir())


def test_the_command_line_picks_a_z_as_the_window_does_and_a_session_keeps_its_own(
    tmp_path, monkeypatch
):
    from flowviz.cli import main
    from flowviz.sessions import file

    seen = []
    monkeypatch.setattr(animation, "export", lambda s, spec, out, **_kw: seen.append(s) or out)
    argv = ["export", "--n", "100", "--frames", "2", "--quiet", "--out", str(tmp_path / "a.gif")]
    assert main(argv) == 0
    assert 0 <= seen[-1].selected < 100
    saved = tmp_path / "none.flowviz"
    file.save(saved, Session(data=data.preset("moons", 80, seed=0).numpy()))
    assert main(["export", "--session", str(saved), "--frames", "2", "--quiet",
                 "--out", str(tmp_path / "b.gif")]) == 0  # fmt: skip
    assert seen[-1].selected == -1  # the window showed no z: neither does the export
