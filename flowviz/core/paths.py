"""Gaussian probability paths x_t = alpha_t z + beta_t eps (t = 0 noise, t = 1 data).

Every path has alpha_0 = 0, alpha_1 = 1, beta_0 = 1, beta_1 = sigma_min, and is written as
beta_t = sigma_min + (1 - sigma_min) b_t with a base schedule b_t going from 1 to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from flowviz.core import choices

NAMES = tuple(choices.PATHS)

#: Velocities at t > T_MAX are evaluated at T_MAX. With sigma_min = 0 the conditional field
#: (d_beta / beta)(x - alpha z) is singular at t = 1 away from z; just below it the marginal
#: posterior has collapsed onto the nearest data point, so T_MAX gives that nearest-point limit
#: with finite numbers (CondOT: u(x) = (z* - x) / (1 - T_MAX) + ... ).
T_MAX = 1.0 - 1e-4


@dataclass(frozen=True)
class Schedule:
    """alpha_t, beta_t and their time derivatives, each shaped like t."""

    alpha: torch.Tensor
    beta: torch.Tensor
    d_alpha: torch.Tensor
    d_beta: torch.Tensor


@dataclass(frozen=True)
class Formulas:
    """How a path is written, for the formula panel: plain text and LaTeX."""

    alpha: str
    beta: str
    alpha_latex: str
    beta_latex: str


class GaussianPath:
    """Base class: subclasses give the base schedule (alpha, b, d_alpha, d_b)."""

    name = ""
    label = ""

    def __init__(self, *, sigma_min: float = 0.0):
        if not 0.0 <= sigma_min < 1.0:
            raise ValueError(f"sigma_min must lie in [0, 1), got {sigma_min}")
        self.sigma_min = float(sigma_min)

    def _base(self, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def formulas(self) -> Formulas:
        raise NotImplementedError

    def schedule(self, t: torch.Tensor | float) -> Schedule:
        """Schedule at t: tensor (any shape) or float; values for t in [0, 1]."""
        t = torch.as_tensor(t, dtype=torch.get_default_dtype()) if not torch.is_tensor(t) else t
        alpha, b, d_alpha, d_b = self._base(t)
        s = self.sigma_min
        return Schedule(
            alpha=alpha, beta=s + (1.0 - s) * b, d_alpha=d_alpha, d_beta=(1.0 - s) * d_b
        )

    def field_schedule(self, t: torch.Tensor | float) -> Schedule:
        """Schedule for velocities: t clamped to [0, T_MAX] (see T_MAX)."""
        t = torch.as_tensor(t, dtype=torch.get_default_dtype()) if not torch.is_tensor(t) else t
        return self.schedule(t.clamp(0.0, T_MAX))

    def sample(self, *, z: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = alpha_t z + beta_t eps. z (n, 2), t (n,), eps (n, 2) -> (n, 2)."""
        s = self.schedule(t)
        return s.alpha[:, None] * z + s.beta[:, None] * eps

    def conditional_velocity(
        self, *, x: torch.Tensor, t: torch.Tensor | float, z: torch.Tensor
    ) -> torch.Tensor:
        """u_t(x|z) = d_alpha z + (d_beta / beta)(x - alpha z). x (n, 2), t (n,) or float,
        z (n, 2) or (2,) -> (n, 2)."""
        t = _rows(t, x)
        s = self.field_schedule(t)
        ratio = (s.d_beta / s.beta)[:, None]
        return s.d_alpha[:, None] * z + ratio * (x - s.alpha[:, None] * z)

    def describe(self) -> str:
        f = self.formulas()
        return f"{self.label}: α_t = {f.alpha}, β_t = {f.beta}, σ_min = {self.sigma_min:g}"


def _rows(t: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """t as a (n,) tensor matching the rows, device and dtype of x (n, 2)."""
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    return t.expand(x.shape[0]) if t.ndim == 0 else t


def _beta_text(base: str, sigma_min: float) -> str:
    return base if sigma_min == 0 else f"{sigma_min:g} + {1 - sigma_min:g}·{base}"


class CondOT(GaussianPath):
    """Straight lines from noise to data: alpha_t = t, beta_t = 1 - (1 - sigma_min) t."""

    name, label = "condot", "CondOT"

    def _base(self, t):
        return t, 1.0 - t, torch.ones_like(t), -torch.ones_like(t)

    def formulas(self):
        s = self.sigma_min
        beta = "1 − t" if s == 0 else f"1 − {1 - s:g}·t"
        return Formulas("t", beta, "t", r"1 - (1 - \sigma_{\min})\,t")


class Cosine(GaussianPath):
    """Trigonometric: alpha_t = sin(pi t / 2), b_t = cos(pi t / 2) (a quarter circle).

    Each value is a sine of a small angle near the end where it vanishes: cos(pi t / 2) is
    computed as sin(pi (1 - t) / 2), since in float32 pi t / 2 near pi / 2 keeps only ~1e-7
    absolutely, which is 2e-4 of b_t at T_MAX (and b_1 would be -4e-8, not 0)."""

    name, label = "cosine", "Cosine"

    def _base(self, t):
        h = 0.5 * math.pi
        rise, fall = torch.sin(h * t), torch.sin(h * (1.0 - t))
        return rise, fall, h * fall, -h * rise

    def formulas(self):
        return Formulas(
            "sin(πt/2)",
            _beta_text("cos(πt/2)", self.sigma_min),
            r"\sin(\pi t / 2)",
            r"\sigma_{\min} + (1 - \sigma_{\min}) \cos(\pi t / 2)",
        )


class VP(GaussianPath):
    """Diffusion-style variance preserving path (Lipman et al. 2023, eq. 19), rescaled so
    that alpha_0 = 0 exactly: a_t = exp(-T(1 - t) / 2), T(s) = b0 s + (b1 - b0) s^2 / 2,
    alpha_t = (a_t - a_0) / (1 - a_0), b_t = sqrt(1 - alpha_t^2)."""

    name, label = "vp", "VP (diffusion)"
    b0, b1 = 0.1, 20.0

    def _base(self, t):
        s = 1.0 - t
        half_T = 0.5 * (self.b0 * s + 0.5 * (self.b1 - self.b0) * s * s)
        a = torch.exp(-half_T)
        a0 = math.exp(-0.5 * (self.b0 + 0.5 * (self.b1 - self.b0)))
        d_a = a * 0.5 * (self.b0 + (self.b1 - self.b0) * s)
        # a - a0 = a0 expm1((T(1) - T(s)) / 2), T(1) - T(s) = t (b0 + (b1 - b0)(2 - t) / 2):
        # the difference cancels as t -> 0.
        rise = 0.5 * t * (self.b0 + 0.5 * (self.b1 - self.b0) * (2.0 - t))
        alpha = a0 * torch.expm1(rise) / (1.0 - a0)
        d_alpha = d_a / (1.0 - a0)
        # 1 - alpha^2 = (1 - alpha)(1 + alpha) with 1 - alpha = -expm1(-T/2) / (1 - a0):
        # 1 - alpha * alpha cancels as alpha -> 1 (0.4 % of b_t at T_MAX in float32).
        one_minus = -torch.expm1(-half_T) / (1.0 - a0)
        b = torch.sqrt((one_minus * (2.0 - one_minus)).clamp_min(0.0))
        # b_1 = 0 and d_b -> -inf as t -> 1 (like -sqrt(b0 / (4 (1 - t)))): the true limit,
        # never used by a field (field_schedule stops at T_MAX).
        return alpha, b, d_alpha, -alpha * d_alpha / b

    def formulas(self):
        return Formulas(
            "(e^{−T(1−t)/2} − a₀)/(1 − a₀)",
            _beta_text("√(1 − α_t²)", self.sigma_min),
            r"\frac{e^{-T(1-t)/2} - a_0}{1 - a_0}",
            r"\sigma_{\min} + (1 - \sigma_{\min})\sqrt{1 - \alpha_t^2}",
        )


class Polynomial(GaussianPath):
    """alpha_t = t^n, b_t = 1 - t^n: CondOT run on the clock t^n (slow start for n > 1)."""

    name, label = "polynomial", "Polynomial"

    def __init__(self, *, sigma_min: float = 0.0, n: float = 2.0):
        super().__init__(sigma_min=sigma_min)
        if not n > 0:
            raise ValueError(f"polynomial exponent n must be positive, got {n}")
        self.n = float(n)

    def _base(self, t):
        n = self.n
        log_t = torch.log(t.clamp_min(0.0))
        # 1 - t^n = -expm1(n log t): 1 - t^n cancels as t -> 1 (5e-5 of b_t at T_MAX for
        # n = 2 in float32).
        tn, b = torch.exp(n * log_t), -torch.expm1(n * log_t)
        # n t^(n-1) at t = 0 is 0 for n > 1, infinite for n < 1: clamp t away from 0 there.
        d = n * t.clamp_min(1e-6 if n < 1 else 0.0) ** (n - 1)
        return tn, b, d, -d

    def formulas(self):
        n = f"{self.n:g}"
        return Formulas(
            f"t^{n}",
            _beta_text(f"(1 − t^{n})", self.sigma_min),
            f"t^{{{n}}}",
            rf"\sigma_{{\min}} + (1 - \sigma_{{\min}})(1 - t^{{{n}}})",
        )


def make(name: str, *, sigma_min: float = 0.0, n: float = 2.0) -> GaussianPath:
    """A path by name: "condot", "cosine", "vp" or "polynomial" (exponent n)."""
    key = name.lower().replace("-", "").replace("_", "")
    if key == "condot":
        return CondOT(sigma_min=sigma_min)
    if key == "cosine":
        return Cosine(sigma_min=sigma_min)
    if key == "vp":
        return VP(sigma_min=sigma_min)
    if key == "polynomial":
        return Polynomial(sigma_min=sigma_min, n=n)
    raise ValueError(f"unknown path {name!r}; choose one of {', '.join(NAMES)}")
