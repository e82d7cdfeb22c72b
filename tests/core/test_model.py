"""The velocity MLP: shapes, time input, seeded construction, configuration checks."""

import pytest
import torch

from flowviz.core import model


def test_output_shape_and_float_or_per_row_time():
    net = model.build(model.ModelConfig(width=16, depth=2), seed=0)
    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = net(x, 0.3)
        b = net(x, torch.full((10,), 0.3))
        c = net(x, torch.linspace(0, 1, 10))
    assert a.shape == (10, 2) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)  # the time input matters


def test_each_row_is_independent_of_the_others():
    net = model.build(model.ModelConfig(width=16, depth=2), seed=0)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    t = torch.rand(6, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = net(x, t)
        rows = torch.cat([net(x[i : i + 1], t[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(whole, rows)


def test_seeded_build_is_reproducible_and_leaves_the_global_rng_alone():
    cfg = model.ModelConfig(width=8, depth=3, activation="gelu", time_features=4)
    state = torch.random.get_rng_state()
    a, b = model.build(cfg, seed=7), model.build(cfg, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    sc = model.build(cfg, seed=8).state_dict()
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize(("width", "depth"), [(8, 1), (32, 4)])
def test_width_and_depth_shape_the_network(width, depth):
    net = model.build(model.ModelConfig(width=width, depth=depth), seed=0)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == depth + 1
    assert all(m.out_features == width for m in linears[:-1]) and linears[-1].out_features == 2


@pytest.mark.parametrize("activation", sorted(model.ACTIVATIONS))
def test_every_activation_builds(activation):
    net = model.build(model.ModelConfig(width=4, depth=1, activation=activation), seed=0)
    assert any(isinstance(m, model.ACTIVATIONS[activation]) for m in net.modules())


@pytest.mark.parametrize(
    "kw", [{"width": 0}, {"depth": 0}, {"time_features": 0}, {"activation": "sparkle"}]
)
def test_bad_config_raises(kw):
    with pytest.raises(ValueError):
        model.ModelConfig(**kw)
