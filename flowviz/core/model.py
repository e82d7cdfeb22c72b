"""The velocity network v_theta(x, t): an MLP on (x, Fourier features of t)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from flowviz.core import choices, limits

#: The modules of choices.ACTIVATIONS, in its order.
ACTIVATIONS = dict(
    zip(choices.ACTIVATIONS, (nn.SiLU, nn.ReLU, nn.Tanh, nn.GELU, nn.ELU), strict=True)
)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the velocity MLP; stored in checkpoints to rebuild it."""

    width: int = 128
    depth: int = 3
    activation: str = "silu"
    time_features: int = 8

    def __post_init__(self):
        # Checked before any layer is built: a stored width of 20000 must not cost gigabytes.
        limits.WIDTH.check(self.width)
        limits.DEPTH.check(self.depth)
        limits.TIME_FEATURES.check(self.time_features)
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class VelocityMLP(nn.Module):
    """v_theta(x, t). The time embedding is [sin, cos](2 pi k t), k = 1..time_features,
    so the net can bend sharply near t = 1 where the marginal field changes fast."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        freqs = 2 * math.pi * torch.arange(1, c.time_features + 1, dtype=torch.float32)
        self.register_buffer("freqs", freqs, persistent=False)
        act = ACTIVATIONS[c.activation]
        layers: list[nn.Module] = []
        fan_in = 2 + 1 + 2 * c.time_features
        for _ in range(c.depth):
            layers += [nn.Linear(fan_in, c.width), act()]
            fan_in = c.width
        layers.append(nn.Linear(fan_in, 2))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """x (n, 2), t float or (n,) -> (n, 2)."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        angles = t[:, None] * self.freqs
        feats = torch.cat([x, t[:, None], torch.sin(angles), torch.cos(angles)], dim=1)
        return self.net(feats)


def build(config: ModelConfig | None = None, *, seed: int | None = None) -> VelocityMLP:
    """A fresh model; with a seed, the same weights every time (without touching the
    global RNG)."""
    if seed is None:
        return VelocityMLP(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VelocityMLP(config)
