"""Couplings: minibatch OT against brute force, Sinkhorn marginals."""

import itertools

import numpy as np
import pytest
import torch

from flowviz.core import couplings


def _cloud(n, seed, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g) + shift


def _rows_as_set(a):
    return sorted(map(tuple, a.tolist()))


def _cost(a, b):
    return float((a.double() - b.double()).square().sum())


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ot_pairing_is_the_brute_force_optimum(n, seed):
    x0, z = _cloud(n, seed), _cloud(n, 100 + seed, shift=1.5)
    px, pz = couplings.pair(x0=x0, z=z, method="ot")
    # A permutation of each input: the same rows, each once.
    assert _rows_as_set(px) == _rows_as_set(x0) and _rows_as_set(pz) == _rows_as_set(z)
    a, b = x0.double().numpy(), z.double().numpy()
    best = min(((a - b[list(p)]) ** 2).sum() for p in itertools.permutations(range(n)))
    assert _cost(px, pz) == pytest.approx(best, rel=1e-9)
    assert _cost(px, pz) <= _cost(x0, z) + 1e-9


def test_ot_pairing_beats_the_independent_one_on_a_large_batch():
    """Two samples of N(0, I): independent pairs cost E|x - y|^2 = 4 each, while the
    optimal matching of two 256-point samples of one law costs little (measured 0.12)."""
    x0, z = _cloud(256, 3), _cloud(256, 4)
    px, pz = couplings.pair(x0=x0, z=z, method="ot")
    assert _rows_as_set(px) == _rows_as_set(x0) and _rows_as_set(pz) == _rows_as_set(z)
    assert _cost(x0, z) / 256 == pytest.approx(4.0, rel=0.15)  # sd of the mean ~ 0.25
    assert _cost(px, pz) / 256 < 0.5


def test_independent_pairing_keeps_the_order():
    x0, z = _cloud(9, 5), _cloud(9, 6)
    px, pz = couplings.pair(x0=x0, z=z, method="independent")
    assert torch.equal(px, x0) and torch.equal(pz, z)


@pytest.mark.parametrize(("n", "m"), [(40, 40), (30, 50)])
def test_sinkhorn_plan_has_uniform_marginals(n, m):
    x0, z = _cloud(n, 7), _cloud(m, 8, shift=1.0)
    plan = couplings.sinkhorn_plan(x0=x0, z=z, reg=0.05).double()
    assert plan.shape == (n, m) and (plan >= 0).all()
    assert float(plan.sum()) == pytest.approx(1.0, abs=1e-6)
    # 200 log-domain iterations: the last update fits the column marginals exactly, the
    # rows to the convergence level (measured < 1e-6 of 1/n).
    np.testing.assert_allclose(plan.sum(0).numpy(), 1.0 / m, rtol=1e-5)
    np.testing.assert_allclose(plan.sum(1).numpy(), 1.0 / n, rtol=1e-3)


def test_sinkhorn_cost_lies_between_ot_and_independent():
    """Any coupling costs at least the OT optimum; with small regularisation the entropic
    plan costs little more, and far less than the independent (product) plan."""
    x0, z = _cloud(40, 9), _cloud(40, 10, shift=1.5)
    cost = ((x0.double()[:, None] - z.double()[None]) ** 2).sum(-1)
    plan = couplings.sinkhorn_plan(x0=x0, z=z, reg=0.01).double()
    px, pz = couplings.pair(x0=x0, z=z, method="ot")
    ot = _cost(px, pz) / 40
    entropic = float((plan * cost).sum())
    product = float(cost.mean())
    assert ot - 1e-9 <= entropic < ot + 0.1 * (product - ot)


def test_sinkhorn_pairs_keep_x0_and_draw_z_rows():
    x0, z = _cloud(64, 11), _cloud(64, 12, shift=1.0)
    g = torch.Generator().manual_seed(0)
    px, pz = couplings.pair(x0=x0, z=z, method="sinkhorn", generator=g)
    assert torch.equal(px, x0)
    assert set(_rows_as_set(pz)) <= set(_rows_as_set(z))
    # Drawn from the plan's rows: cheaper than the independent pairing on average.
    assert _cost(px, pz) < _cost(x0, z)


def test_unknown_coupling_raises():
    with pytest.raises(ValueError, match="unknown coupling"):
        couplings.pair(x0=_cloud(3, 0), z=_cloud(3, 1), method="greedy")
