"""Conditional flow matching training, with the exact FM loss measured beside it.

`Trainer.run()` is a generator: a worker thread pulls one report at a time and can pause
or stop between them. Every report carries the CFM loss and, on the same batch and the
same weights, the exact FM loss against `marginal.velocity` -- the seed's theorem
L_FM = L_CFM + C made visible. (With a minibatch OT coupling the network is trained
towards the OT-coupled field, while the FM reference stays the independent one, so the
gap is then no longer constant: that is the honest picture.)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import torch

from flowviz.core import couplings, limits, marginal, paths
from flowviz.core.model import ModelConfig, VelocityMLP, build


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite; the trainer's weights are the last finite ones."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run; stored in checkpoints."""

    steps: int | None = 3000  # None: run until stopped
    batch_size: int = 256
    lr: float = 2e-3
    path: str = "condot"
    sigma_min: float = 0.0
    poly_n: float = 2.0
    coupling: str = "independent"
    seed: int = 0
    report_every: int = 25  # the exact FM loss costs ~2 steps: every 25 keeps ~0.95x speed
    lr_decay: bool = True  # cosine decay to 0 over `steps` (ignored when running forever)
    device: str = "cpu"
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self):
        """Every field against limits (the ranges the CLI and the window share), so that a
        crafted checkpoint or a typo fails here, in one line, before any work."""
        if self.steps is not None:
            limits.STEPS.check(self.steps)
        if not isinstance(self.coupling, str) or self.coupling not in couplings.NAMES:
            raise ValueError(
                f"unknown coupling {self.coupling!r}; choose one of {', '.join(couplings.NAMES)}"
            )
        limits.batch_size_range(self.coupling).check(self.batch_size)
        limits.LR.check(self.lr)
        limits.REPORT_EVERY.check(self.report_every)
        limits.SEED.check(self.seed)
        limits.SIGMA_MIN.check(self.sigma_min)
        limits.POLY_N.check(self.poly_n)
        if not isinstance(self.path, str):
            raise ValueError(f"path must be a name, got {self.path!r}")
        if not isinstance(self.lr_decay, bool):
            raise ValueError(f"lr_decay must be true or false, got {self.lr_decay!r}")
        if not isinstance(self.device, str):
            raise ValueError(f"device must be a name, got {self.device!r}")
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        self.make_path()  # validates the path name

    def make_path(self) -> paths.GaussianPath:
        return paths.make(self.path, sigma_min=self.sigma_min, n=self.poly_n)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The config stored as d (missing fields take defaults); ValueError naming an
        unknown or out-of-range setting, so a stored file is never half applied."""
        d = _settings(d, cls, "settings")
        d["model"] = ModelConfig(**_settings(d.get("model", {}), ModelConfig, "model settings"))
        return cls(**d)


def _settings(d, cls, what: str) -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"the {what} are not a mapping ({type(d).__name__})")
    unknown = sorted(str(k) for k in d if k not in cls.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown {what.removesuffix('s')} {', '.join(map(repr, unknown))}")
    return dict(d)


@dataclass(frozen=True)
class TrainReport:
    """One report: losses are those of the step's batch before its update."""

    step: int
    cfm_loss: float
    fm_loss: float
    warning: str | None = None  # once per run: the loss grew by orders of magnitude (LossWatch)

    @property
    def gap(self) -> float:
        """L_FM - L_CFM on this batch: constant in expectation (the seed's C)."""
        return self.fm_loss - self.cfm_loss


@dataclass(frozen=True)
class Batch:
    """One training batch: x_t (n, 2), t (n,), target u_t(x_t | pair) (n, 2)."""

    x_t: torch.Tensor
    t: torch.Tensor
    target: torch.Tensor


def resolve_device(name: str = "auto") -> torch.device:
    """ "auto" picks CUDA, then Apple MPS, then the CPU; a named device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but no CUDA GPU is available")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ValueError("device 'mps' was asked for, but Apple MPS is not available")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


class Trainer:
    """Owns a model, its optimizer and the random stream; one thread uses it at a time."""

    def __init__(
        self,
        *,
        data: torch.Tensor,
        config: TrainConfig | None = None,
        source: torch.Tensor | None = None,
        model: VelocityMLP | None = None,
    ):
        self.config = config or TrainConfig()
        c = self.config
        if data.ndim != 2 or data.shape[1] != 2 or data.shape[0] < 1:
            raise ValueError(f"training needs (N, 2) data with N >= 1, got {tuple(data.shape)}")
        if not torch.isfinite(data).all():
            raise ValueError("training data contains NaN or infinite values")
        self.device = resolve_device(c.device)
        self.path = c.make_path()
        if source is not None and self.path.sigma_min <= 0:
            raise ValueError("a drawn source distribution needs sigma_min > 0")
        self.data = data.to(self.device, torch.float32)
        self.source = None if source is None else source.to(self.device, torch.float32)
        self.model = (model or build(c.model, seed=c.seed)).to(self.device)
        # The fused kernel is ~15% faster per step on the CPU (MPS lacks it in older torch).
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr, fused=fused)
        self.scheduler = None
        if c.lr_decay and c.steps is not None:
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, c.steps)
        self.generator = torch.Generator(device=self.device).manual_seed(c.seed)
        self.step_count = 0
        self.loss_watch = LossWatch()
        self._last_good = self._checkpoint()

    def weights(self) -> dict[str, torch.Tensor]:
        """A detached CPU copy of the weights that later steps cannot change."""
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def sample_batch(self, n: int | None = None) -> Batch:
        """Draw t ~ U[0, 1], z ~ data, x0 ~ source, pair them by the coupling, and form
        x_t with its conditional target."""
        n = n or self.config.batch_size
        g, dev = self.generator, self.device
        z = self.data[torch.randint(len(self.data), (n,), generator=g, device=dev)]
        if self.source is None:
            x0 = torch.randn(n, 2, generator=g, device=dev)
        else:
            x0 = self.source[torch.randint(len(self.source), (n,), generator=g, device=dev)]
        x0, z = couplings.pair(x0=x0, z=z, method=self.config.coupling, generator=g)
        t = torch.rand(n, generator=g, device=dev)
        s = self.path.field_schedule(t)
        alpha, d_alpha = s.alpha[:, None], s.d_alpha[:, None]
        if self.source is None:
            x_t = alpha * z + s.beta[:, None] * x0
            target = d_alpha * z + s.d_beta[:, None] * x0
        else:
            sig = self.path.sigma_min
            b = (s.beta[:, None] - sig) / (1 - sig)
            d_b = s.d_beta[:, None] / (1 - sig)
            eps = torch.randn(n, 2, generator=g, device=dev)
            x_t = alpha * z + b * x0 + sig * eps
            target = d_alpha * z + d_b * x0
        return Batch(x_t=x_t, t=t, target=target)

    def exact_fm_loss(self, batch: Batch, prediction: torch.Tensor) -> float:
        """Mean |v_theta(x_t) - u_t(x_t)|^2 against the exact marginal field."""
        u = marginal.velocity(
            x=batch.x_t, t=batch.t, data=self.data, path=self.path, source=self.source
        )
        return float((prediction - u).square().sum(1).mean())

    def step(self, *, report: bool = False) -> TrainReport | None:
        """One optimizer step; with report=True also the losses (and a divergence check)."""
        batch = self.sample_batch()
        pred = self.model(batch.x_t, batch.t)
        loss = (pred - batch.target).square().sum(1).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None and self.step_count < self.config.steps:
            self.scheduler.step()
        if self.loss_watch.initial is None:  # the untrained loss: one sync, at the first step
            self.loss_watch.initial = float(loss.detach())
        self.step_count += 1
        if not report:
            return None
        cfm = float(loss.detach())
        fm = self.exact_fm_loss(batch, pred.detach())
        good = self._checkpoint()
        if not (_finite(cfm) and _finite(fm) and _all_finite(good[0])):
            weights, optimizer = self._last_good
            self.model.load_state_dict(weights)
            self.optimizer.load_state_dict(optimizer)  # Adam's moments may hold NaN too
            raise DivergenceError(
                f"training diverged at step {self.step_count} (loss {cfm:.3g}); "
                "kept the last finite weights -- lower the learning rate"
            )
        self._last_good = good
        warning = self.loss_watch.update(cfm, step=self.step_count)
        return TrainReport(step=self.step_count, cfm_loss=cfm, fm_loss=fm, warning=warning)

    def _checkpoint(self) -> tuple[dict, dict]:
        """Weights and optimizer state, cloned (a deepcopy costs ~10x more)."""
        state = self.optimizer.state_dict()
        moments = {
            i: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
            for i, s in state["state"].items()
        }
        return self.weights(), {
            "state": moments,
            "param_groups": copy.deepcopy(state["param_groups"]),
        }

    def run(self) -> Iterator[TrainReport]:
        """Train to config.steps (or forever), yielding a report every report_every steps
        and at the last step. Raises DivergenceError on a NaN/inf loss."""
        c = self.config
        while c.steps is None or self.step_count < c.steps:
            report = self.step(report=self.report_due())
            if report is not None:
                yield report

    def report_due(self) -> bool:
        """Whether the next step reports (every report_every steps and the last): the one
        cadence of run() and of the window's training loop."""
        nxt, c = self.step_count + 1, self.config
        return nxt % c.report_every == 0 or nxt == c.steps


LOSS_GROWTH_FACTOR = 100.0


@dataclass
class LossWatch:
    """Notices a finite loss that grew by orders of magnitude -- a learning rate far too
    high trains on silently to a loss of 5e6, as only NaN stops a run. Fed each reported
    loss, it answers a one-line warning once, else None. A loss counts as grown when it is
    both `factor` times the lowest loss seen (the untrained one included) and above the
    untrained loss: a loss near 0 may wobble by large factors harmlessly."""

    factor: float = LOSS_GROWTH_FACTOR
    initial: float | None = None  # the untrained loss; without it, the first one fed
    lowest: float = float("inf")
    warned: bool = False

    def growth(self, loss: float) -> float:
        """loss / the lowest loss so far, or 0 while loss is not above the untrained loss."""
        initial = loss if self.initial is None else self.initial
        ref = min(initial, self.lowest)
        if not (_finite(loss) and loss > initial) or ref <= 0:
            return 0.0
        return loss / ref

    def update(self, loss: float, *, step: int | None = None) -> str | None:
        if self.initial is None:
            self.initial = loss
        grown, ref = self.growth(loss), min(self.initial, self.lowest)
        if _finite(loss):
            self.lowest = min(self.lowest, loss)
        if self.warned or grown <= self.factor:
            return None
        self.warned = True
        at = f" at step {step}" if step is not None else ""
        return (
            f"the loss grew to {loss:.3g}{at}, {grown:.3g} times its lowest value {ref:.3g}: "
            "the learning rate is probably too high"
        )


def _all_finite(tensors: dict[str, torch.Tensor]) -> bool:
    flat = [v.flatten() for v in tensors.values() if v.is_floating_point()]
    return bool(torch.isfinite(torch.cat(flat)).all()) if flat else True


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def with_overrides(config: TrainConfig, **changes) -> TrainConfig:
    """A copy of config with some fields changed; model fields go by their own names."""
    model_keys = set(ModelConfig.__dataclass_fields__)
    model_changes = {k: changes.pop(k) for k in list(changes) if k in model_keys}
    return replace(config, model=replace(config.model, **model_changes), **changes)
