"""Particles on the path's clock (core.clock) against an independent float64 solution of
the exact marginal flow (core_reference.marginal_flow_end: numpy mixture, RK4 on a grid
fine near both ends, no clamp), and the cost rule: CondOT keeps its steps."""

import numpy as np
import pytest
from core_reference import marginal_flow_end

from flowviz.core import clock, data, exact, frames, paths

#: The Marginal view shows [-3.6, 3.6] on a few hundred pixels: a pixel is ~0.015-0.02.
PIXEL = 0.015

CASES = [
    ("condot", 0.0, 2.0, False),
    ("cosine", 0.0, 2.0, False),
    ("vp", 0.0, 2.0, False),
    ("vp", 0.1, 2.0, False),
    ("polynomial", 0.0, 0.5, False),
    ("polynomial", 0.0, 1.0, False),
    ("polynomial", 0.05, 3.0, False),
    ("condot", 0.2, 2.0, True),
    ("vp", 0.2, 2.0, True),
]


@pytest.fixture(scope="module")
def points():
    return data.preset("moons", 40, seed=0).numpy(), data.preset("circles", 10, seed=1).numpy()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "sigma_min", "n", "drawn"), CASES)
def test_particles_at_t_1_land_on_the_exact_flow(points, name, sigma_min, n, drawn):
    """The view's 100 frames against the exact end. A Gaussian source: median within a
    fifteenth of a pixel, 99th percentile within two thirds of one (the few beyond a
    tenth sit near a boundary between two data points' basins, where a small error early on
    picks the neighbour). A drawn source (curved pair paths): a third of a pixel and
    one and a half. Euler on t, before: VP 1.5 px median (0.023), polynomial n = 0.5 off
    the picture (3.7)."""
    z, source = points
    src = source if drawn else None
    path = paths.make(name, sigma_min=sigma_min, n=n)
    x0 = frames.particle_starts(n=100, data=z, source=src, sigma_min=sigma_min)
    field = exact.ExactMarginal(data=z, path=path, source=src)
    got = clock.trajectories(
        field_fn=field.velocity, path=path, drawn_source=drawn, x0=x0, steps=100, reverse=False
    )[-1]
    want = marginal_flow_end(x0, z, name, sigma_min=sigma_min, n=n, source=src, dv=0.15)
    d = np.linalg.norm(got - want, axis=1)
    median, p99 = (1 / 3, 1.5) if drawn else (1 / 15, 2 / 3)
    assert np.median(d) < median * PIXEL, np.median(d)
    assert np.percentile(d, 99) < p99 * PIXEL, np.percentile(d, 99)


def _counted(field):
    calls = []

    def fn(x, t):
        calls.append(t)
        return field(x, t)

    return fn, calls


@pytest.mark.parametrize(("sigma_min", "drawn"), [(0.0, False), (0.2, False), (0.2, True)])
def test_condot_costs_one_field_evaluation_per_frame(points, sigma_min, drawn):
    z, source = points
    path = paths.make("condot", sigma_min=sigma_min)
    src = source if drawn else None
    fn, calls = _counted(exact.ExactMarginal(data=z, path=path, source=src).velocity)
    x0 = frames.particle_starts(n=10, data=z, source=src, sigma_min=sigma_min)
    traj = clock.trajectories(
        field_fn=fn, path=path, drawn_source=drawn, x0=x0, steps=50, reverse=False
    )
    assert len(calls) == 50
    np.testing.assert_allclose(calls, np.arange(50) / 50, atol=1e-12)
    assert traj.shape == (51, 10, 2) and traj.dtype == np.float32


@pytest.mark.parametrize(("name", "n"), [("vp", 2.0), ("polynomial", 0.3), ("cosine", 2.0)])
def test_a_fast_clock_gets_nodes_between_frames_but_at_most_twice_the_steps(points, name, n):
    path = paths.make(name, n=n)
    c = clock.Clock(path, drawn_source=False)
    t, at = clock.nodes(c, 100)
    assert 100 < len(t) - 1 <= 200
    np.testing.assert_allclose(t[at], np.arange(101) / 100, atol=1e-15)
    assert np.all(np.diff(t) > 0) and np.diff(c.tau(t)).max() <= 1 / 100 + 1e-9


def test_reversed_particles_come_back_in_ascending_time(points):
    z, _ = points
    path = paths.make("vp", sigma_min=0.1)
    field = exact.ExactMarginal(data=z, path=path, source=None)
    x1 = frames.particle_starts(n=40, reverse=True, data=z, source=None, sigma_min=0.1)
    traj = clock.trajectories(
        field_fn=field.velocity, path=path, drawn_source=False, x0=x1, steps=40, reverse=True
    )
    assert traj.shape == (41, 40, 2)
    np.testing.assert_array_equal(traj[-1], x1)
    # Back at t = 0 the particles are the source, N(0, I): mean ~0, variance ~1.
    assert np.abs(traj[0].mean(0)).max() < 0.5 and 0.5 < traj[0].var(0).mean() < 1.6
