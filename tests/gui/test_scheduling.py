"""How the field views schedule their work on the shared FrameWorker: every particle arrives
after a change (a preview first where the picture has one), a burst of changes leaves no
backlog of stale jobs, and a soft refresh of the Learned view keeps the old particles on
screen until the new ones are ready. Waits are on conditions with generous limits; speed
goals live in benchmarks/bench_training.py."""

import threading

import numpy as np
import pytest

from flowviz import pictures
from flowviz.core.inference import InferenceField
from flowviz.core.model import ModelConfig, build
from flowviz.gui.views.field_view import FieldView
from flowviz.pictures import FieldPicture
from flowviz.session import PathSpec

#: ms to wait for a condition: a loaded 2-core machine is many times slower than an idle
#: one; a wait ends as soon as its condition holds.
WAIT = 120_000


@pytest.fixture
def blocker(window):
    """block() parks the window's frame worker on a job until the returned release() (or
    the end of the test), so what a view shows meanwhile does not depend on timing."""
    gates = []

    def block():
        gate, started = threading.Event(), threading.Event()

        def job():
            started.set()
            gate.wait(WAIT / 1000)

        window.worker.submit(job, lambda _: None, priority=-100)
        gates.append(gate)
        assert started.wait(WAIT / 1000)
        return gate.set

    yield block
    for gate in gates:
        gate.set()


def _settled(qtbot, *views):
    qtbot.waitUntil(lambda: not any(v.busy() for v in views), timeout=WAIT)


def _field(seed: int) -> InferenceField:
    config = ModelConfig(width=16, depth=1)
    weights = {k: v.detach().clone() for k, v in build(config, seed=seed).state_dict().items()}
    return InferenceField(weights, config)


def test_all_particles_arrive_after_a_path_change(qtbot, window):
    view, state = window.marginal, window.state
    state.set_display(particles=1500)  # several chunks
    _settled(qtbot, view)
    state.set_t(0.4)
    with qtbot.waitSignal(view.refreshed, timeout=WAIT):
        state.set_path(PathSpec(name="vp"))
    assert not view.refreshing()
    expected = pictures.marginal(state.session).at(0.4).particles
    np.testing.assert_allclose(view.scene.particles.positions(), expected, atol=1e-5)


def test_a_preview_shows_every_particle_until_the_full_ones_arrive(qtbot, window):
    state = window.state
    gate = threading.Event()
    starts = np.random.default_rng(0).normal(size=(700, 2)).astype(np.float32)
    steps = state.display.steps

    def full(x0):
        gate.wait(WAIT / 1000)
        return np.repeat(x0[None] * 0.5, steps + 1, axis=0)

    picture = FieldPicture(
        frame=pictures.marginal(state.session).frame,
        trajectories=full,
        preview=lambda x0: np.repeat(x0[None], steps + 1, axis=0),
        starts=starts,
        display=state.display,
        data=state.data,
        source=None,
        ahead=False,
    )
    view = FieldView(state, "Probe", worker=window.worker, style=window.style_)
    window.add_view("probe", "Probe", view)
    try:
        view.set_picture(picture)
        qtbot.waitUntil(lambda: len(view.scene.particles.positions()) == len(starts), timeout=WAIT)
        np.testing.assert_allclose(view.scene.particles.positions(), starts)  # the preview
        assert view.refreshing() and view.busy()
        with qtbot.waitSignal(view.refreshed, timeout=WAIT):
            gate.set()
        np.testing.assert_allclose(view.scene.particles.positions(), 0.5 * starts)
        assert not view.refreshing()
    finally:
        gate.set()
        view.set_picture(None)


def test_a_burst_of_path_changes_leaves_one_job_a_view_and_shows_the_last_path(qtbot, window):
    state, worker = window.state, window.worker
    marginal, learned = window.marginal, window.extensions["training"].view
    learned.set_field(_field(1))
    state.set_display(particles=600)
    _settled(qtbot, marginal, learned)
    window.player.play(True)
    names = ["cosine", "vp", "polynomial", "condot"]
    most = 0
    for i in range(60):
        state.set_path(PathSpec(name=names[i % 4], sigma_min=0.01 * (i % 3)))
        qtbot.wait(1)  # an event-loop turn: each change is rebuilt, not coalesced
        # queued: the one job of the latest picture; running: perhaps one of an older one
        most = max(most, worker.pending(marginal), worker.pending(learned))
    assert most <= 2
    qtbot.waitUntil(lambda: marginal.pending() <= 1 and learned.pending() <= 1, timeout=WAIT)
    window.player.play(False)
    state.set_t(0.5)
    _settled(qtbot, marginal, learned)
    assert state.session.path == PathSpec(name="condot", sigma_min=0.02)
    expected = pictures.marginal(state.session).at(0.5)
    np.testing.assert_allclose(marginal.scene.particles.positions(), expected.particles, atol=1e-5)
    other = pictures.marginal(state.session.patch(path={"name": "vp"})).at(0.5)
    assert not np.allclose(other.particles, expected.particles, atol=1e-3)
    expected = pictures.learned(state.session, learned.field).at(0.5)
    np.testing.assert_allclose(learned.scene.particles.positions(), expected.particles, atol=1e-5)


def test_the_learned_views_soft_refresh_keeps_old_particles_until_new_ones_are_ready(
    qtbot, window, blocker
):
    state, view = window.state, window.extensions["training"].view
    state.set_t(0.6)
    with qtbot.waitSignal(view.refreshed, timeout=WAIT):
        view.set_field(_field(1))
    _settled(qtbot, view)
    old = view.scene.particles.positions().copy()
    old_frame = view.current_frame()
    assert len(old) == state.display.particles

    release = blocker()  # the worker is busy: the new weights' particles cannot be ready
    new_field = _field(2)
    view.set_field(new_field)
    qtbot.waitUntil(lambda: view.pending() == 1, timeout=WAIT)  # rebuilt, its job queued
    assert view.refreshing()
    np.testing.assert_array_equal(view.scene.particles.positions(), old)
    assert view.current_frame() is old_frame  # the old frame stands in

    with qtbot.waitSignal(view.refreshed, timeout=WAIT):
        release()
    _settled(qtbot, view)
    expected = pictures.learned(state.session, new_field).at(0.6)
    np.testing.assert_allclose(view.scene.particles.positions(), expected.particles, atol=1e-5)
    assert not np.allclose(expected.particles, old, atol=1e-3)


def test_the_worker_cancels_an_owners_queued_jobs_and_reports_failures(qtbot):
    from flowviz.gui.views.frame_worker import FrameWorker

    worker = FrameWorker()  # not started yet: every job stays queued
    a, b = object(), object()
    done, failed = [], []
    for i in range(3):
        worker.submit(lambda i=i: i, done.append, owner=a)
    worker.submit(lambda: "b", done.append, owner=b, priority=1)
    worker.submit(lambda: 1 / 0, done.append, owner=b, on_failed=failed.append, priority=2)
    assert worker.pending(a) == 3 and worker.pending(b) == 2 and worker.pending() == 5
    assert worker.cancel(a) == 3
    assert worker.pending(a) == 0 and worker.pending() == 2
    try:
        with qtbot.waitSignal(worker.failed, timeout=WAIT):
            worker.start()
        qtbot.waitUntil(lambda: len(failed) == 1, timeout=WAIT)
    finally:
        worker.stop()
    assert done == ["b"] and "ZeroDivisionError" in failed[0]
