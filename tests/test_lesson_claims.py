"""Every claim the app's lesson makes, tested as a class would see it: the lesson file is
walked step by step (Step.apply_to, as the window applies it), each trained step trains
with its own settings and steps (core.training.Trainer, the window's training code, in
process), and samples come from the Learned view's own particles (its starts, solver and
solver steps). Sample quality is judged twice against the data's bootstrap floor: with
flowviz.core.quality (what the window reads out) and with an independent float64
sliced-Wasserstein written here (many projections, quantiles matched exactly)."""

import numpy as np
import pytest
import torch

from flowviz import lessons
from flowviz.core import couplings, marginal, paths, quality
from flowviz.core.training import Batch, Trainer, with_overrides
from flowviz.pictures.field import path_of, starts_of
from flowviz.pictures.learned import learned_trajectories
from flowviz.session import Session, train_config

LESSON = lessons.load(lessons.DEFAULT)
#: Goal of issue 16: a trained example is within 1.5x the data's bootstrap floor.
REPRODUCES = 1.5
#: Samples per measurement: six sets of the data's 500 points (readouts of one set vary by
#: ~0.25 floors; the mean of six by ~0.1).
SAMPLES = 3000


def _step(k: int, word: str) -> int:
    """Index of lesson step k (1-based), checked by a word of its title so that a
    reordered lesson fails here rather than testing the wrong step."""
    assert word.lower() in lessons.plain(LESSON.steps[k - 1].title).lower(), (k, word)
    return k - 1


def _walk() -> list[Session]:
    """The Session after each step, walking the lesson from the start as a class does."""
    s, out = Session(), []
    display = LESSON.base_display(s)
    for step in LESSON.steps:
        s = step.apply_to(s, display=display)
        out.append(s)
    return out


def _train(session: Session, *, coupling: str | None = None, keep=()) -> tuple[Trainer, dict]:
    """A fresh run of session's training settings (the step's "reset weights, train N"):
    the trainer and {step: weights} at the steps in keep."""
    config = train_config(session, device="cpu")
    if coupling is not None:
        config = with_overrides(config, coupling=coupling)
    trainer = Trainer(data=torch.from_numpy(np.array(session.data, np.float32)), config=config)
    kept = {0: trainer.weights()} if 0 in keep else {}
    for _ in range(config.steps):
        trainer.step()
        if trainer.step_count in keep:
            kept[trainer.step_count] = trainer.weights()
    trainer.model.eval().requires_grad_(False)
    return trainer, kept


class Lesson:
    """The walked lesson and the networks its steps train (trained once per module)."""

    def __init__(self):
        torch.set_num_threads(1)
        self.sessions = _walk()
        trained = [
            k for k, s in enumerate(LESSON.steps) if any(a.kind == "train" for a in s.actions)
        ]
        assert all(any(a.kind == "reset" for a in LESSON.steps[k].actions) for k in trained)
        self.nets: dict[int, Trainer] = {}
        self.kept: dict[int, dict] = {}
        for k in trained:
            self.nets[k], self.kept[k] = _train(self.sessions[k], keep=(0, 150))

    def net_shown_at(self, k: int) -> Trainer:
        """The network the Learned view shows at step k: the last one trained by then."""
        return self.nets[max(j for j in self.nets if j <= k)]

    def samples(self, k: int, *, net: Trainer | None = None, solver=None, steps=None):
        """The Learned view's particles at t = 1 in step k, continued to at least SAMPLES
        (the view's are the first display.particles of these): (n, 2)."""
        s = self.sessions[k]
        net = net or self.net_shown_at(k)
        more = s.patch(display={"particles": max(s.display.particles, SAMPLES)})
        x0 = starts_of(more, path_of(s))
        np.testing.assert_array_equal(x0[: s.display.particles], starts_of(s, path_of(s)))

        def velocity(x, t):
            with torch.no_grad():
                return net.model(x, float(t))

        traj = learned_trajectories(
            velocity=velocity,
            x0=x0,
            solver=solver or s.learned.solver,
            solver_steps=steps or s.learned.steps,
            display_steps=s.display.steps,
            reverse=False,
        )
        return traj[-1].astype(np.float64)


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    return Lesson()


def swd(a: np.ndarray, b: np.ndarray, *, projections: int = 500, seed: int = 7) -> float:
    """Independent SW_2 (float64): for each direction the 1D W2 between the two empirical
    distributions, from their quantile functions on the merged breakpoints (exact, any
    sizes)."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((projections, 2))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    pa, pb = np.sort(a @ theta.T, axis=0), np.sort(b @ theta.T, axis=0)
    cuts = np.union1d(np.arange(1, len(a)) / len(a), np.arange(1, len(b)) / len(b))
    edges = np.concatenate([[0.0], cuts, [1.0]])
    mid, width = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    qa = pa[np.minimum((mid * len(a)).astype(int), len(a) - 1)]
    qb = pb[np.minimum((mid * len(b)).astype(int), len(b) - 1)]
    return float(np.sqrt(np.mean(width @ (qa - qb) ** 2)))


def ratios(x: np.ndarray, data: np.ndarray) -> tuple[float, float]:
    """(independent, flowviz.core.quality) mean SW_2 of sets of len(data) samples of x over
    the bootstrap floor of len(data) resamples: 1 is a perfect sampler of the data."""
    n, rng = len(data), np.random.default_rng(3)
    sets = [x[i * n : (i + 1) * n] for i in range(len(x) // n)]
    floor = np.mean([swd(data[rng.integers(0, n, n)], data) for _ in range(16)])
    ours = np.mean([swd(s, data) for s in sets]) / floor
    d32 = np.asarray(data, np.float32)
    theirs = np.mean([quality.distance(samples=torch.from_numpy(s), data=d32) for s in sets])
    return float(ours), float(theirs / quality.floor(data=d32, n=n, draws=16).mean)


# ------------------------------------------------------------ trained steps


@pytest.mark.slow
def test_every_trained_step_reproduces_its_data(lesson):
    """Steps 5, 6 (the network the lesson trains, on its own solver) and 9 (OT): the
    Learned view's samples, and a fine solver's, are within REPRODUCES of the floor."""
    for k in (_step(5, "constant"), _step(6, "sampling"), _step(9, "ot")):
        data = np.array(lesson.sessions[k].data, np.float64)
        for solver, steps in ((None, None), ("midpoint", 64)):
            ours, theirs = ratios(lesson.samples(k, solver=solver, steps=steps), data)
            assert ours <= REPRODUCES and theirs <= REPRODUCES, (k + 1, solver, ours, theirs)


@pytest.mark.slow
def test_step7_few_euler_steps_blur_and_more_steps_sharpen_again(lesson):
    """ "only 3 Euler steps … the samples blur. Raise the solver steps in the Training
    dock and they sharpen again": the same network, Euler, 3 steps vs 50."""
    k = _step(7, "few solver steps")
    s = lesson.sessions[k]
    assert (s.learned.solver, s.learned.steps) == ("euler", 3)
    assert lesson.net_shown_at(k) is lesson.net_shown_at(_step(5, "constant"))
    data = np.array(s.data, np.float64)
    coarse = ratios(lesson.samples(k), data)
    fine = ratios(lesson.samples(k, steps=50), data)
    for c, f in zip(coarse, fine, strict=True):
        assert c >= REPRODUCES  # visibly blurred
        assert f <= 0.8 * c and f <= REPRODUCES, (coarse, fine)


@pytest.mark.slow
def test_step9_ot_with_three_euler_steps_lands_close_to_the_data(lesson):
    """ "even 3 Euler steps land close to the data": OT with the step's 3 Euler steps is
    within REPRODUCES of the floor, and clearly better than the independent coupling with
    3 Euler steps, both as step 7 showed it and trained with step 9's own settings."""
    k = _step(9, "ot")
    s = lesson.sessions[k]
    assert s.training.coupling == "ot" and (s.learned.solver, s.learned.steps) == ("euler", 3)
    data = np.array(s.data, np.float64)
    ot = ratios(lesson.samples(k), data)
    independent, _ = _train(s, coupling="independent")
    same_settings = ratios(lesson.samples(k, net=independent), data)
    step7 = ratios(lesson.samples(_step(7, "few solver steps")), data)
    for i in range(2):
        assert ot[i] <= REPRODUCES, ot
        assert ot[i] <= 0.6 * same_settings[i] and ot[i] <= 0.6 * step7[i], (
            ot,
            same_settings,
            step7,
        )


@pytest.mark.slow
def test_step9_ot_trajectories_are_straighter_and_its_paths_cross_less(lesson):
    """ "paths cross less, the learned trajectories are straighter": segments from noise
    to data paired in one batch of the step's size, and the Learned view's trajectories
    (length over chord, a fine solver)."""
    k = _step(9, "ot")
    s = lesson.sessions[k]
    rng = np.random.default_rng(0)
    n, data = s.training.batch_size, np.array(s.data, np.float32)

    def crossings(method):
        total = 0
        for _ in range(4):
            x0 = torch.from_numpy(rng.standard_normal((n, 2)).astype(np.float32))
            z = torch.from_numpy(data[rng.integers(0, len(data), n)])
            a, b = (v.numpy().astype(np.float64) for v in couplings.pair(x0=x0, z=z, method=method))
            total += _segment_crossings(a, b)
        return total

    assert crossings("ot") <= 0.2 * crossings("independent")

    def bend(net):
        x0 = starts_of(s, path_of(s))[:1000]

        def velocity(x, t):
            with torch.no_grad():
                return net.model(x, float(t))

        traj = learned_trajectories(
            velocity=velocity, x0=x0, solver="midpoint", solver_steps=64, display_steps=64,
            reverse=False,
        ).astype(np.float64)  # fmt: skip
        length = np.linalg.norm(np.diff(traj, axis=0), axis=2).sum(0)
        chord = np.linalg.norm(traj[-1] - traj[0], axis=1)
        return float(np.mean(length / chord - 1))

    ot, independent = bend(lesson.net_shown_at(k)), bend(lesson.net_shown_at(_step(7, "few")))
    assert ot <= 0.5 * independent, (ot, independent)


def _segment_crossings(a: np.ndarray, b: np.ndarray) -> int:
    """Pairs of segments a_i -> b_i that properly intersect: (n, 2), (n, 2) -> count."""
    p, r = a[:, None, :], (b - a)[:, None, :]
    q, s = a[None, :, :], (b - a)[None, :, :]
    cross = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / cross
        v = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / cross
    hit = (np.abs(cross) > 1e-12) & (u > 0) & (u < 1) & (v > 0) & (v < 1)
    return int(np.triu(hit, 1).sum())


# ------------------------------------------------------------ the losses


def _batch(trainer: Trainer, n: int) -> Batch:
    """n training pairs, drawn (and coupled) in batches of the trainer's own size."""
    parts = [trainer.sample_batch() for _ in range(-(-n // trainer.config.batch_size))]
    return Batch(*(torch.cat([getattr(b, f) for b in parts]) for f in ("x_t", "t", "target")))


def _losses(session: Session, trainer: Trainer, weights: dict, batch) -> tuple[float, float]:
    """(L_CFM, L_FM) of weights on a fixed batch, L_FM against the exact marginal field of
    the independent coupling computed here in float64 (posterior-weighted conditional
    fields, CondOT: u_t(x|z) = (z - x) / (1 - t))."""
    trainer.model.load_state_dict(weights)
    with torch.no_grad():
        v = trainer.model(batch.x_t, batch.t).double().numpy()
    x, t = batch.x_t.double().numpy(), batch.t.double().numpy()[:, None]
    z = np.array(session.data, np.float64)
    assert session.path.name == "condot" and session.path.sigma_min == 0
    logw = -((x[:, None, :] - t[:, :, None] * z[None]) ** 2).sum(2) / (2 * (1 - t) ** 2)
    w = np.exp(logw - logw.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    u = (w @ z - x) / (1 - t)
    cfm = float(((v - batch.target.double().numpy()) ** 2).sum(1).mean())
    return cfm, float(((v - u) ** 2).sum(1).mean())


@pytest.mark.slow
def test_step5_the_gap_between_fm_and_cfm_stays_flat_and_cfm_never_reaches_zero(lesson):
    """ "their gap stays flat, a constant C that does not depend on θ … L_CFM never
    reaches 0": one batch, the network at steps 0, 150 and the end of the step's run."""
    k = _step(5, "constant")
    s, trainer = lesson.sessions[k], lesson.nets[k]
    batch = _batch(Trainer(data=trainer.data, config=trainer.config), 8192)
    kept = {**lesson.kept[k], s.training.steps: trainer.weights()}
    pairs = [_losses(s, trainer, kept[step], batch) for step in sorted(kept)]
    gaps = [fm - cfm for cfm, fm in pairs]
    fm_drop = pairs[0][1] - pairs[-1][1]
    assert fm_drop > 1.0
    assert max(gaps) - min(gaps) <= 0.05 * fm_drop, (gaps, pairs)
    assert pairs[-1][0] >= 0.9 * -np.mean(gaps) > 0.5  # L_CFM >= C, well above 0


@pytest.mark.slow
def test_step9_an_ot_network_does_not_learn_the_independent_field(lesson):
    """ "L_FM still measures the independent-coupling field u_t, which an OT-trained
    network does not learn: L_FM stays well above the value it reached in step 5, and
    L_CFM now falls below it", on batches like the Loss chart's (the step's own)."""
    end = {}
    for j in (_step(5, "constant"), _step(9, "ot")):
        s, trainer = lesson.sessions[j], lesson.nets[j]
        batch = _batch(Trainer(data=trainer.data, config=trainer.config), 8192)
        end[j] = _losses(s, trainer, trainer.weights(), batch)
    (cfm5, fm5), (cfm9, fm9) = end.values()
    assert fm9 >= 3 * fm5, end
    assert cfm9 <= 0.5 * fm9 and cfm5 > fm5, end


# ------------------------------------------------------------ exact claims


def test_step4_posterior_weights_spread_at_small_t_and_collapse_near_one():
    """ "At small t almost every z shares the weight, so the field points towards their
    mean; near t = 1 the nearest z takes it all", at the step's probe, checked against
    float64 brute force."""
    k = _step(4, "posterior")
    s = _walk()[k]
    probe = next(a.args for a in LESSON.steps[k].actions if a.kind == "probe")
    z = np.array(s.data, np.float64)
    x = np.array(probe, np.float64)
    path = path_of(s)

    def weights(t):
        sch = path.schedule(float(t))
        alpha, beta = float(sch.alpha), float(sch.beta)
        logw = -((x - alpha * z) ** 2).sum(1) / (2 * beta**2)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        app = marginal.posterior(
            x=torch.tensor([probe], dtype=torch.float64), t=float(t),
            data=torch.from_numpy(z), path=path,
        )[0].numpy()  # fmt: skip
        np.testing.assert_allclose(app, w, atol=1e-9)
        return w

    small = weights(0.1)
    assert 1 / (small**2).sum() >= 0.8 * len(z)  # almost every z shares it
    u = marginal.velocity(
        x=torch.tensor([probe]), t=0.1, data=torch.from_numpy(z).float(), path=path
    )
    towards = z.mean(0) - x
    cos = float(u[0].double() @ torch.from_numpy(towards)) / (
        float(u[0].norm()) * np.linalg.norm(towards)
    )
    assert cos > 0.99
    late = weights(0.995)
    assert late.max() >= 0.9 and late.argmax() == np.argmin(((z - x) ** 2).sum(1))


def test_step2_and_3_paths_start_at_noise_and_end_at_the_data():
    """Step 2: the conditional path's mean slides from 0 to z and its width shrinks from 1
    to σ_min, each x_t on the straight line from ε to z (CondOT). Step 3: p_t is N(0, I)
    at t = 0 (closed form) and concentrates on the data at t = 1."""
    s = _walk()[_step(3, "marginal path")]
    path = path_of(s)
    assert path.name == "condot"
    for t, (a, b) in ((0.0, (0.0, 1.0)), (1.0, (1.0, path.sigma_min))):
        sch = path.schedule(t)
        assert float(sch.alpha) == pytest.approx(a) and float(sch.beta) == pytest.approx(b)
    t = torch.linspace(0, 1, 11)
    sch = path.schedule(t)
    torch.testing.assert_close(sch.alpha + sch.beta, torch.ones(11))  # on the line ε -> z
    data = torch.from_numpy(np.array(s.data, np.float32))
    x = torch.tensor([[0.0, 0.0], [1.0, -0.5], [-2.0, 1.5]])
    p0 = marginal.density(x=x, t=0.0, data=data, path=path).double()
    want = torch.exp(-(x.double() ** 2).sum(1) / 2) / (2 * np.pi)
    torch.testing.assert_close(p0, want, rtol=1e-4, atol=1e-7)
    near = data[:5] + 1e-3
    far = torch.tensor([[0.0, 3.0]])
    p1 = marginal.density(x=torch.cat([near, far]), t=0.999, data=data, path=path)
    assert (p1[:5] > 1e3 * p1[5]).all()


def test_step8_paths_keep_unit_norm_or_stay_straight():
    """ "cosine and VP keep α² + β² = 1, so each conditional trajectory is a curved arc …
    the polynomial path stays straight but changes speed"."""
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    for name in ("cosine", "vp"):
        s = paths.make(name).schedule(t)
        torch.testing.assert_close(s.alpha**2 + s.beta**2, torch.ones_like(t), atol=1e-6, rtol=0)
        assert float((s.alpha + s.beta - 1).abs().max()) > 0.2  # off the chord: an arc
    poly = paths.make("polynomial", n=2.0).schedule(t)
    torch.testing.assert_close(poly.alpha + poly.beta, torch.ones_like(t))
    speed = poly.d_alpha
    assert float(speed[10]) < 0.5 * float(speed[90])  # same line, another speed


def test_step1_marginal_particles_start_as_noise_and_become_the_data():
    """ "At t = 0 the particles are noise x_0 ~ N(0, I); drag the time bar to t = 1 and
    they have become data": the Marginal view's particles (its starts and its trajectories,
    pictures.marginal), the first 150 of them."""
    from flowviz import pictures

    s = _walk()[_step(1, "data and noise")]
    s = s.patch(display={"particles": 150})
    picture = pictures.marginal(s)
    x0 = np.asarray(picture.starts, np.float64)
    np.testing.assert_allclose(x0.mean(0), 0, atol=0.3)  # 150 draws: 3.7 standard errors
    np.testing.assert_allclose(np.cov(x0.T), np.eye(2), atol=0.4)
    x1 = np.asarray(picture.trajectories(picture.starts)[-1], np.float64)
    data = np.array(s.data, np.float64)
    nearest = np.sqrt(((x1[:, None] - data[None]) ** 2).sum(2).min(1))
    assert np.median(nearest) < 0.01 and np.quantile(nearest, 0.99) < 0.05
