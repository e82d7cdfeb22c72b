"""The window's sample-quality readout (issue 16 §2.5): a multiple of the floor that a
perfect sampler of the current path reaches (sigma_min included), shown with its band."""

import numpy as np

from flowviz.core import quality
from flowviz.session import PathSpec

WAIT = 90_000


def test_the_readout_is_against_the_floor_of_this_path_with_its_band(qtbot, window):
    c = window.extensions["training"]
    data = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    window.state.set_data(data)
    floors = {}
    for sigma in (0.0, 0.5):
        window.state.set_path(PathSpec(name="condot", sigma_min=sigma))
        c.quality = None
        c.reset_weights()
        qtbot.waitUntil(lambda: c.quality is not None, timeout=WAIT)
        swd, mean = c.quality
        ours = quality.floor(data=window.state.data, sigma_min=sigma)
        assert mean == ours.mean  # recomputed for the new sigma_min, not kept from the last
        text = c.panel.quality.text()
        assert f"{swd / mean:.2f}× ± {ours.band():.2f}" in text and f"floor {mean:.3f}" in text
        floors[sigma] = mean
    assert floors[0.5] > floors[0.0]  # the blurred end point sits further from the data
