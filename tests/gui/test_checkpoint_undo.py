"""Undo of File → Load checkpoint gives back the network shown before it (the weights and
the loss history), redo the checkpoint's: the Session and the network are one step."""

import torch

from flowviz.core.model import ModelConfig, build
from flowviz.core.training import TrainConfig

WAIT = 90_000


def _weights(training) -> dict:
    return dict(training.trained_state()["weights"])


def _equal(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_undo_of_a_checkpoint_load_restores_the_previous_network(qtbot, window, tmp_path):
    training = window.extensions["training"]
    config = TrainConfig(steps=40, batch_size=64, model=ModelConfig(width=24, depth=2), seed=5)
    net = {k: v.detach().clone() for k, v in build(config.model, seed=5).state_dict().items()}
    training.restore_trained(net, config, 40, [(40, 1.5, 1.25)])
    path = tmp_path / "net.pt"
    assert training.save_checkpoint(str(path))

    training.reset_weights()  # another network: the seeded start of the Session's settings
    before = _weights(training)
    assert not _equal(before, net)
    training.load_checkpoint(str(path))
    qtbot.waitUntil(lambda: not training.loading(), timeout=WAIT)
    assert _equal(_weights(training), net) and training.snapshot.step == 40

    window.undo.undo()
    assert _equal(_weights(training), before) and training.snapshot.step == 0
    assert training.chart.history() == []
    window.undo.redo()
    assert _equal(_weights(training), net) and training.snapshot.step == 40
