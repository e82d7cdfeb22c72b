"""InferenceField: a frozen copy of a trained network for drawing and sampling.

Weights arrive as a state dict of CPU tensors (a training snapshot or a checkpoint) and
are loaded into a new module that nothing trains or reloads in place, so a worker thread
can never see a half-loaded model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from flowviz.core.model import ModelConfig, VelocityMLP


class InferenceField:
    """v_theta as a field. Call it from one thread at a time."""

    def __init__(self, weights: Mapping[str, torch.Tensor], model_config: ModelConfig):
        model = VelocityMLP(model_config)
        model.load_state_dict(dict(weights))
        model.eval().requires_grad_(False)
        self.model = model
        self.config = model_config

    def velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """v_theta(x, t): x (n, 2) tensor -> (n, 2)."""
        with torch.no_grad():
            return self.model(x, float(t))

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """v_theta(x, t) for the frames: x (m, 2) float32 -> (m, 2) float32."""
        return self.velocity(torch.from_numpy(np.array(x, np.float32)), t).numpy()
