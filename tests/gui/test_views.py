"""The linked views: picking z, the slider driving the drawn field, the probe, seams."""

import os
import sys
import threading

import numpy as np
import pytest
import torch
from gui_mouse import click
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QDockWidget

from flowviz.core import frames, marginal
from flowviz.gui.views.field_view import FieldView
from flowviz.pictures import FieldPicture


def test_first_launch_has_data_a_chosen_z_and_plays(qtbot, settings):
    from flowviz.gui.app.launch import make_window

    w = make_window(settings)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready, timeout=30_000):
        w.show()
    assert len(w.state.data) == 300 and w.state.selected >= 0
    assert w.state.playing
    t0 = w.state.t
    qtbot.waitUntil(lambda: w.state.t != t0)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not w.state.playing
    w.close()


def test_clicking_a_data_point_selects_it_in_the_conditional_view(qtbot, window):
    view, state = window.conditional, window.state
    window.tools.set_tool("pick")
    state.set_t(0.5)
    i = int(np.argmax(state.data[:, 0]))  # the rightmost point: nothing overlaps it
    z = state.data[i]
    click(qtbot, view, z)
    assert state.selected == i
    assert np.allclose(view.scene.marker.data["x"][0], z[0])
    rings = view.scene.rings.segments()
    centre = np.nanmean(rings, axis=0)  # the circles are centred on alpha_t z
    np.testing.assert_allclose(centre, 0.5 * z, atol=0.02)
    # the drawn conditional field is u_t(x|z) from the core
    f = view.current_frame()
    expect = state.path.conditional_velocity(x=torch.from_numpy(f.tails), t=0.5, z=torch.tensor(z))
    np.testing.assert_allclose(f.vectors, expect.numpy(), rtol=1e-4, atol=1e-4)


def test_moving_the_slider_draws_the_core_field_at_that_t(qtbot, window):
    view, state = window.marginal, window.state
    qtbot.waitUntil(lambda: not view.busy(), timeout=90_000)  # its extent has settled
    window.time_bar.slider.setValue(370)
    assert state.t == 0.37
    qtbot.waitUntil(lambda: view.current_frame() is not None and view.current_frame().t == 0.37)
    f = view.current_frame()
    expect = marginal.velocity(
        x=torch.from_numpy(f.tails),
        t=0.37,
        data=torch.from_numpy(np.array(state.data)),
        path=state.path,
    ).numpy()
    np.testing.assert_allclose(f.vectors, expect, rtol=1e-4, atol=1e-5)
    # what is on screen: each arrow's shaft is scale * u_t(x) (unless capped at 2 cells)
    seg = view.scene.arrows.segments().reshape(-1, 6, 2)
    np.testing.assert_allclose(seg[:, 0], f.tails, atol=1e-6)
    shaft = seg[:, 1] - seg[:, 0]
    cell = f.arrows.cell
    free = np.linalg.norm(shaft, axis=1) < 2 * cell - 1e-4
    assert free.mean() > 0.8
    np.testing.assert_allclose(
        shaft[free], view.scene.arrow_scale * expect[free], rtol=1e-3, atol=1e-5
    )
    # a different t draws a different field
    window.time_bar.slider.setValue(800)
    qtbot.waitUntil(lambda: view.current_frame().t == 0.8)
    later = view.current_frame()
    np.testing.assert_array_equal(later.tails, f.tails)  # the same grid...
    assert not np.allclose(later.vectors, f.vectors)  # ...another field


def test_particles_arrive_and_move_under_the_marginal_flow(qtbot, window):
    view, state = window.marginal, window.state
    qtbot.waitUntil(lambda: not view.busy(), timeout=30_000)
    state.set_t(0.0)
    start = view.scene.particles.positions()
    assert len(start) == 200
    state.set_t(1.0)
    end = view.scene.particles.positions()
    d = np.linalg.norm(end[:, None] - state.data[None], axis=-1).min(1)
    assert np.median(d) < 0.05  # noise flowed onto the data


def test_probe_shows_velocity_and_posterior_weights(qtbot, window):
    view, state = window.marginal, window.state
    state.set_t(0.6)
    x = np.array([0.3, 0.2], np.float32)
    with qtbot.waitSignal(view.probed) as blocker:
        view.probe(x)
    data = torch.from_numpy(np.array(state.data))
    u = marginal.velocity(x=torch.from_numpy(x[None]), t=0.6, data=data, path=state.path)[0]
    assert f"({u[0]:.2f}, {u[1]:.2f})" in blocker.args[0]
    w = marginal.posterior(x=torch.from_numpy(x[None]), t=0.6, data=data, path=state.path)[0]
    circled = np.stack([view.scene.weights.data["x"], view.scene.weights.data["y"]], 1)
    top = state.data[int(torch.argmax(w))]
    assert np.isclose(circled, top, atol=1e-6).all(1).any()
    view.probe(None)
    assert len(view.scene.weights.data) == 0


def test_path_selector_updates_the_state_at_once(window):
    names = [window.path_box.itemData(i) for i in range(window.path_box.count())]
    assert names == ["condot", "cosine", "vp", "polynomial"]
    window.path_box.setCurrentIndex(names.index("vp"))
    assert window.state.path.name == "vp"
    window.sigma.setValue(0.05)
    assert window.state.path.sigma_min == 0.05 and window.state.path.name == "vp"


def test_polynomial_exponent_is_shown_and_applied_only_for_that_path(window):
    def shown():
        return [a.isVisible() for a in window.poly_n_actions]

    assert shown() == [False, False]  # the label "n" and its spin box
    window.path_box.setCurrentIndex(window.path_box.findData("polynomial"))
    assert shown() == [True, True]
    window.poly_n.setValue(3.0)
    path = window.state.path
    assert path.name == "polynomial"
    t = 0.6
    alpha = float(path.schedule(torch.tensor([t])).alpha[0])
    assert alpha == pytest.approx(t**3, rel=1e-5)  # alpha_t = t^n with the chosen n
    window.path_box.setCurrentIndex(window.path_box.findData("condot"))
    assert shown() == [False, False]


def _square(view) -> tuple[float, float, float]:
    """(centre x, centre y, half of the shorter side) of what a view shows."""
    (x0, x1), (y0, y1) = view.viewbox.viewRange()
    return (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2


def _wheel(view, steps: int) -> None:
    """Turn the mouse wheel over the centre of a view (pyqtgraph zooms about the cursor)."""
    viewport = view.plot_widget.viewport()
    pos = QPointF(viewport.width() / 2, viewport.height() / 2)
    event = QWheelEvent(
        pos,
        QPointF(viewport.mapToGlobal(pos.toPoint())),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


def _picture(state, field_fn, heat_fn=None):
    """A FieldPicture of any callable field, as a plug-in view would make one."""
    d = state.display
    spec = frames.FrameSpec(arrow_res=d.arrow_res, heat="density" if heat_fn else "off")
    starts = frames.particle_starts(n=50, source=None, sigma_min=0.0)
    return FieldPicture(
        frame=lambda t: frames.field_frame(field_fn=field_fn, heat_fn=heat_fn, t=t, spec=spec),
        trajectories=lambda x0: np.repeat(x0[None], d.steps + 1, 0),
        starts=starts,
        display=d,
        data=state.data,
        source=None,
        ahead=False,
    )


def test_added_field_view_shows_the_picture_it_is_given(qtbot, window):
    """The one seam of a field view: set_picture, swapped at run time."""
    state = window.state
    view = FieldView(state, "Probe", worker=window.worker, style=window.style_)
    window.add_view("probe", "Probe", view)
    view.set_picture(_picture(state, lambda x, t: -x))
    qtbot.waitUntil(lambda: view.viewbox.width() > 100)  # laid out
    np.testing.assert_allclose(_square(view), _square(window.conditional), atol=1e-3)
    state.set_t(0.25)
    qtbot.waitUntil(lambda: view.current_frame() is not None and view.current_frame().t == 0.25)
    np.testing.assert_allclose(view.current_frame().vectors, -view.current_frame().tails)
    view.set_picture(_picture(state, lambda x, t: np.ones_like(x) * t, lambda x, t: abs(x[:, 0])))
    qtbot.waitUntil(
        lambda: view.current_frame() is not None and np.allclose(view.current_frame().vectors, 0.25)
    )
    qtbot.waitUntil(lambda: view.current_frame().heat is not None)
    heat = view.current_frame().heat
    assert np.isclose(heat[:, 0].max(), 1.0) and heat.min() < 0.2  # |x| peaks at the sides
    qtbot.waitUntil(lambda: not view.busy())
    np.testing.assert_allclose(view.scene.particles.positions(), view.picture.starts)


def test_views_share_one_camera_through_zoom_hide_and_reset(qtbot, window):
    cond, marg = window.conditional, window.marginal
    before = _square(cond)
    _wheel(marg, 2)  # zoom in on the marginal view
    zoomed = _square(marg)
    assert zoomed[2] < 0.9 * before[2]
    np.testing.assert_allclose(_square(cond), zoomed, atol=1e-3 * before[2])
    # Hiding and showing views re-lays out the others: the camera must not drift.
    toggles = {a.text(): a for a in window.menu("View").actions()}
    for title in ("Show Learned", "Show Marginal"):
        toggles[title].setChecked(False)
        qtbot.wait(20)
        np.testing.assert_allclose(_square(cond), zoomed, atol=1e-3 * before[2])
    for title in ("Show Learned", "Show Marginal"):
        toggles[title].setChecked(True)
    qtbot.wait(20)
    for view in (cond, marg):
        np.testing.assert_allclose(_square(view), zoomed, atol=1e-3 * before[2])
    toggles["Reset zoom"].trigger()
    np.testing.assert_allclose(_square(marg), (0, 0, frames.LIM), atol=1e-3)


def test_window_remembers_settings(qtbot, settings):
    from flowviz.gui.app.launch import make_window

    w = make_window(settings)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready, timeout=30_000):
        w.show()
    w.state.set_display(arrows="colour", trails=3)
    w.path_box.setCurrentIndex(w.path_box.findData("cosine"))
    w.close()
    w2 = make_window(settings)
    qtbot.addWidget(w2)
    with qtbot.waitSignal(w2.core_ready, timeout=30_000):
        w2.show()
    assert w2.state.display.arrows == "colour" and w2.state.display.trails == 3
    assert w2.state.path.name == "cosine"
    w2.close()


def test_formula_panel_shows_the_path_and_its_values_at_t(window):
    from flowviz.core import paths

    dock = window.findChild(QDockWidget, "formulas_dock")
    panel = window.formula_panel
    behind = window.findChild(QDockWidget, "training_dock")
    behind.raise_()  # Formulas is a tab behind Training: it does no work
    window.path_box.setCurrentIndex(window.path_box.findData("cosine"))
    assert not panel.shown and "Cosine" not in panel.text()
    dock.raise_()
    assert panel.shown
    window.state.set_t(0.5)
    text = panel.text()
    assert "Cosine" in text and "sin(πt/2)" in text
    # The numbers at t are the closed form's: alpha = sin(pi/4), beta = cos(pi/4).
    assert "= 0.707, β<sub>t</sub> = 0.707" in text
    window.state.set_t(1 / 3)
    expected = float(paths.make("cosine").schedule(1 / 3).alpha)
    assert f"α<sub>t</sub> = {expected:.3f}" in panel.text()
    assert "t = 0.333" in panel.text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_frame_worker_yields_the_cpu_to_the_ui_and_training(window):
    """Frames are cached ahead and can wait; the UI thread and training cannot."""
    from flowviz.gui.views import frame_worker as worker

    tid = window.worker.native_id
    assert tid is not None and tid != threading.get_native_id()
    ui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert os.getpriority(os.PRIO_PROCESS, tid) == min(19, ui + worker.NICE)


def _covers(view, axis: int) -> bool:
    """The view's arrows reach its visible range along axis to within one arrow spacing
    on both sides, and its heat layer to within one heat cell."""
    f = view.current_frame()
    if f is None or view.busy():
        return False
    lo, hi = view.viewbox.viewRange()[axis]
    tails, cell = f.tails[:, axis], f.arrows.cell
    heat = f.heat_grid.half[axis]
    return (
        lo <= tails.min() + 1e-4 <= lo + cell
        and hi - cell <= tails.max() - 1e-4 <= hi
        and (f.heat is None or abs(heat - (hi - lo) / 2) <= f.heat_grid.cell)
    )


@pytest.mark.parametrize(
    ("layout", "long", "short", "coarser"), [("auto", 0, 1, 1.0), ("row", 1, 0, 1.05)]
)
def test_the_field_fills_a_wide_or_tall_view(qtbot, window, layout, long, short, coarser):
    """Three views at 1920x1080: two above one below gives wide cells (1.7:1), a row tall
    ones (1:1.9); either way the arrows and the heat cover the whole data region, not a
    central square, at the square view's arrow spacing (a little coarser where the node cap
    applies)."""
    window.state.update(display={"layout": layout})
    window.resize(1920, 1080)
    res = window.state.display.arrow_res
    for view in (window.marginal, window.conditional):
        qtbot.waitUntil(lambda v=view: _covers(v, 0) and _covers(v, 1), timeout=30_000)
        shape = (view.viewbox.width(), view.viewbox.height())
        assert shape[long] > 1.5 * shape[short]
        f = view.current_frame()
        lat = f.arrows
        assert (lat.nx, lat.ny)[long] > 1.5 * (lat.nx, lat.ny)[short]
        assert lat.nx * lat.ny <= frames.MAX_NODES * res * res
        today = 2 * frames.LIM / res
        assert today - 1e-9 <= lat.cell <= coarser * today
        # the arrows drawn are this grid's
        seg = view.scene.arrows.segments().reshape(-1, 6, 2)
        np.testing.assert_allclose(np.sort(seg[:, 0, long]), np.sort(f.tails[:, long]), atol=1e-6)


def test_a_resized_view_recomputes_its_field_but_keeps_its_particles(qtbot, window):
    import dataclasses

    view, state = window.marginal, window.state
    state.set_t(0.5)
    qtbot.waitUntil(lambda: not view.busy(), timeout=30_000)  # the window's shape settled
    calls = []

    def counted(x0, move=view.picture.trajectories):
        calls.append(len(x0))
        return move(x0)

    view.set_picture(dataclasses.replace(view.picture, trajectories=counted, preview=None))
    qtbot.waitUntil(lambda: not view.busy() and _covers(view, 0), timeout=30_000)
    assert sum(calls) == state.display.particles
    shown = view.scene.particles.positions().copy()
    extent = view.extent
    window.resize(1280, 1000)
    qtbot.waitUntil(lambda: view.extent != extent and _covers(view, 0), timeout=30_000)
    qtbot.waitUntil(lambda: _covers(view, 1), timeout=30_000)
    assert view.picture.trajectories is counted and sum(calls) == state.display.particles
    np.testing.assert_array_equal(view.scene.particles.positions(), shown)


def test_probe_counts_every_point_that_carries_weight_and_the_effective_number(qtbot, window):
    """The status bar counts all points with at least 1/1000 of the largest posterior weight
    and gives 1 / sum p^2, against a float64 brute-force posterior; only the circles are
    capped (at the largest TOP_WEIGHTS)."""
    import re

    from flowviz.gui.views.marginal_view import TOP_WEIGHTS
    from flowviz.session import PathSpec

    view, state = window.marginal, window.state
    state.set_path(PathSpec("condot"))
    t, x = 0.3, np.array([0.2, -0.1], np.float32)
    state.set_t(t)
    with qtbot.waitSignal(view.probed) as blocker:
        view.probe(x)
    z = np.asarray(state.data, np.float64)
    log_k = -((x.astype(np.float64) - t * z) ** 2).sum(1) / (2 * (1 - t) ** 2)
    w = np.exp(log_k - log_k.max())
    w /= w.sum()
    ratio = w / w.max()
    assert not np.isclose(ratio, 1e-3, rtol=1e-3).any()  # no point on the edge of the count
    count, effective = int((ratio >= 1e-3).sum()), 1 / np.square(w).sum()
    assert count > TOP_WEIGHTS  # the case the old text got wrong
    m = re.search(r"(\d+) points ≥ 1/1000 of it.*1/Σp² = (\d+\.\d)", blocker.args[0])
    assert m, blocker.args[0]
    assert int(m.group(1)) == count
    assert float(m.group(2)) == pytest.approx(effective, abs=0.051)
    assert f"({TOP_WEIGHTS} largest circled)" in blocker.args[0]
    assert len(view.scene.weights.data) == TOP_WEIGHTS
