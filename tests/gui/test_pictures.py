"""Each picture function gives the frame its view shows for the same Session and t."""

import numpy as np
import torch

from flowviz import pictures
from flowviz.core.inference import InferenceField
from flowviz.core.model import ModelConfig, build

T = 0.37  # between two time steps: the views fetch the exact frame


def _shown_at(qtbot, view, t):
    qtbot.waitUntil(lambda: view.current_frame() is not None and view.current_frame().t == t)
    qtbot.waitUntil(lambda: not getattr(view, "busy", lambda: False)())
    return view.current_frame()


def _same_frame(a, b):
    np.testing.assert_array_equal(a.tails, b.tails)
    np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-6, atol=1e-7)
    assert (a.heat is None) == (b.heat is None)
    if a.heat is not None:
        np.testing.assert_allclose(a.heat, b.heat, rtol=1e-6, atol=1e-7)


def test_marginal_picture_is_what_the_marginal_view_shows(qtbot, window):
    window.state.set_t(T)
    shown = _shown_at(qtbot, window.marginal, T)
    picture = pictures.marginal(window.state.session, extent=window.marginal.extent)
    expected = picture.at(T)
    _same_frame(shown, expected.field)
    np.testing.assert_allclose(
        window.marginal.scene.particles.positions(), expected.particles, atol=1e-5
    )
    # and a different t is a different picture (the comparison can fail)
    assert not np.allclose(picture.frame(0.9).vectors, shown.vectors)


def test_conditional_picture_is_what_the_conditional_view_shows(qtbot, window):
    window.state.set_t(T)
    shown = _shown_at(qtbot, window.conditional, T)
    expected = pictures.conditional(window.state.session, extent=window.conditional.extent).at(T)
    _same_frame(shown, expected.field)
    np.testing.assert_allclose(
        window.conditional.scene.particles.positions(), expected.particles, atol=1e-6
    )


def test_learned_picture_is_what_the_learned_view_shows(qtbot, window):
    view = window.extensions["training"].view
    config = ModelConfig(width=16, depth=1)
    weights = {k: v.detach().clone() for k, v in build(config, seed=3).state_dict().items()}
    view.set_field(InferenceField(weights, config))
    window.state.set_t(T)
    shown = _shown_at(qtbot, view, T)
    expected = pictures.learned(
        window.state.session, InferenceField(weights, config), extent=view.extent
    ).at(T)
    _same_frame(shown, expected.field)
    assert shown.heat is not None  # the error map
    np.testing.assert_allclose(view.scene.particles.positions(), expected.particles, atol=1e-5)
    assert torch.is_grad_enabled()  # drawing never switched autograd off for the app
