"""The Learned view's error map: |v_theta - u_t| where p_t carries mass, clear far out."""

import math

import numpy as np
import torch

from flowviz import pictures
from flowviz.core import data, marginal, paths
from flowviz.core.inference import InferenceField
from flowviz.core.model import ModelConfig, build
from flowviz.session import Session


def _picture(source):
    session = Session(data=data.preset("moons", 400, seed=0).numpy(), source=source).patch(
        path={"name": "condot", "sigma_min": 0.05 if source is not None else 0.0}
    )
    config = ModelConfig(width=16, depth=1)
    weights = {k: v.detach().clone() for k, v in build(config, seed=3).state_dict().items()}
    return session, pictures.learned(session, InferenceField(weights, config))


def test_error_map_is_drawn_where_the_mass_is_and_clear_far_out():
    """With a drawn source (400 x 60 pairs): pixels near the data carry an error, pixels
    where p_t is below 1e-9 of its peak are NaN (drawn transparent), and each pixel's
    state agrees with the exact density there."""
    source = data.preset("eight-gaussians", 60, seed=1).numpy()
    session, pic = _picture(source)
    frame = pic.frame(0.6)
    heat = frame.heat.ravel()
    assert np.isfinite(heat).sum() > 50 and np.isnan(heat).sum() > 50
    grid = frame.heat_grid.points()
    lp = marginal.log_density(
        x=torch.from_numpy(grid),
        t=0.6,
        data=torch.from_numpy(np.array(session.data)),
        path=paths.make("condot", sigma_min=0.05),
        source=torch.from_numpy(source),
    ).numpy()
    peak = lp.max()
    assert np.all(lp[np.isnan(heat)] < peak + math.log(2e-9))
    assert np.all(lp[np.isfinite(heat)] > peak + math.log(1e-10))


def test_error_map_with_a_gaussian_source_is_clear_only_far_out():
    """The same rule for N(0, I): at t = 0.5 p_t has mass over most of the view."""
    _, pic = _picture(None)
    heat = pic.frame(0.5).heat
    assert np.isfinite(heat).mean() > 0.5
