"""Speed of the math core: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_core.py [--quick]

1. Training steps/s of `training.Trainer` (reports, with the exact FM loss, every 25 steps
   as by default) against a bare torch loop with the same VelocityMLP, batch 256, Adam and
   CondOT target, measured in alternating rounds in the same run. Goal: ratio >= 0.95.
   The bare loop uses torch's default Adam; the Trainer the fused one, which pays for the
   reports.
2. The exact marginal field `marginal.velocity` on a 64 x 64 grid with N = 2000 data points
   (median ms over repeats) at t = 0.5, 0.9 and 0.999, with one torch thread and with the
   default count, beside a plain torch reference timed in the same run (`torch.cdist`,
   `torch.softmax`, one product for E[z | x]; the ratio is reference / ours) and a naive
   numpy broadcast (full (m, N, 2) float64 arrays). Goals on 2 idle cores: <= 5 ms at
   t = 0.5, <= 10 ms at t = 0.9. A loaded machine slows both alike, so read the ratio;
   with 2 threads under load, torch's OpenMP pool waits at barriers and both scatter.
   Before (commit d960f03, load ~6, 1 thread): 14 / 32 / 43 ms at t = 0.5 / 0.9 / 0.999,
   reference / ours 4.0 / 3.0 / 1.9. After (commit 3516fbd, 1 thread, load 5-8):
   7-15 / 7-23 / 27-39 ms, reference / ours 5-8 / 8-13 / 2.6-4.2; with 2 threads under that
   load both scatter from tens of ms to over a second (barrier waits).
3. 10,000 particles x 100 midpoint steps of the exact marginal flow (N = 2000): seconds.
4. A drawn source (sigma_min = 0.05, moons data, eight-gaussians source), one torch thread
   as in the app, cold (no cached lattice): the view frame (what the Marginal view
   computes per frame: arrows on 21 x 21, density on 72 x 72) and the full 64 x 64 field
   (velocity and log-density at every node, far tails included) for 1000 x 200 and
   1000 x 1000 pairs at several t, and 3000 particles x 100 Euler steps
   (exact.trajectories) for 1000 x 200. Goals: frame <= 50 ms, particles <= 3 s.
   Before core.neighbours (every component at every query): 1000 x 200 frame ~16-50 s,
   3000 x 100 steps ~2 h. With core.neighbours only (commit 7df52f6, idle, same machine):
   view frame 3.4-4.6 s, full 64 x 64 1.5-2.1 s, particles ~176 s. With core.gridded +
   core.tails (idle, two runs): view frame 16 ms (t = 0), 59-111 ms (t = 0.5 to 1),
   full 64 x 64 0.18-0.65 s, particles 2.1-3.2 s; 1000 x 1000 view frame 32-173 ms.
5. The Marginal view's particles (3000, N = 1000 moons, 100 frames, one torch thread):
   Euler on t (before) against core.clock (now), seconds and field calls side by side.
   Measured under load (another helper's tests running): CondOT 1.00 s / 1.11 s (100 / 100
   calls), cosine 1.22 / 3.22 (100 / 138), VP 2.00 / 6.29 (100 / 159), polynomial n = 0.5
   2.48 / 4.09 (100 / 141); the added nodes sit near t = 1 (VP) or t = 0 (n < 1), where
   the field costs most. Accuracy at t = 1 (tests/core/test_clock.py, median distance to
   the exact end): VP 0.023 -> 6e-7, polynomial n = 0.5 3.7 -> 0, CondOT unchanged ~0.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from flowviz.core import (
    clock,
    data,
    exact,
    frames,
    gridded,
    marginal,
    model,
    paths,
    solvers,
    training,
)

N_DATA = 2000
BATCH = 256


# ------------------------------------------------------------------------ training


def bare_loop(points: torch.Tensor, steps: int, seed: int = 0):
    """The training step with nothing around it: draw, CondOT target, Adam."""
    net = model.build(model.ModelConfig(), seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            z = points[torch.randint(len(points), (BATCH,), generator=g)]
            x0 = torch.randn(BATCH, 2, generator=g)
            t = torch.rand(BATCH, generator=g)
            x_t = t[:, None] * z + (1 - t[:, None]) * x0
            loss = (net(x_t, t) - (z - x0)).square().sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return steps / (time.perf_counter() - t0)

    return run


def trainer_loop(points: torch.Tensor, steps: int, rounds: int):
    """Trainer.run() as the GUI worker and the CLI use it (report every 25 steps)."""
    cfg = training.TrainConfig(steps=steps * (rounds + 1), batch_size=BATCH)
    trainer = training.Trainer(data=points, config=cfg)
    it = trainer.run()

    def run() -> float:
        t0 = time.perf_counter()
        start = trainer.step_count
        while trainer.step_count < start + steps:
            next(it)
        return (trainer.step_count - start) / (time.perf_counter() - t0)

    return run


def silent_trainer_loop(points: torch.Tensor, steps: int, rounds: int):
    """Trainer.step() without reports: the loop's own overhead, without the FM loss."""
    cfg = training.TrainConfig(steps=steps * (rounds + 1), batch_size=BATCH)
    trainer = training.Trainer(data=points, config=cfg)

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        return steps / (time.perf_counter() - t0)

    return run


def bench_training(points: torch.Tensor, steps: int, rounds: int) -> None:
    default_threads = torch.get_num_threads()
    print(f"  batch {BATCH}, default VelocityMLP, N = {len(points)}; median of {rounds} x {steps}")
    print(
        f"  {'threads':>7}  {'bare loop':>9}  {'Trainer.run':>11}  ratio  {'no reports':>10}  ratio"
    )
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        try:
            loops = [
                bare_loop(points, steps),
                trainer_loop(points, steps, rounds),
                silent_trainer_loop(points, steps, rounds),
            ]
            for loop in loops:
                loop()  # warm-up round
            rates: list[list[float]] = [[], [], []]
            for _ in range(rounds):  # interleaved, so background load hits all alike
                for loop, r in zip(loops, rates, strict=True):
                    r.append(loop())
        finally:
            torch.set_num_threads(default_threads)
        bare, ours, silent = (statistics.median(r) for r in rates)
        print(
            f"  {threads:7d}  {bare:9.0f}  {ours:11.0f}  {ours / bare:5.3f}"
            f"  {silent:10.0f}  {silent / bare:5.3f}   steps/s"
        )
    print("  goal: Trainer.run / bare >= 0.95 (run reports the exact FM loss every 25 steps)")


# ------------------------------------------------------------------- exact field


def naive_velocity(x: np.ndarray, t: float, z: np.ndarray) -> np.ndarray:
    """CondOT marginal field with full (m, N, 2) float64 broadcasts: posterior softmax of
    the Gaussian log-densities, times u_t(x|z) = z + (-1 / beta)(x - alpha z)."""
    t = min(t, paths.T_MAX)
    alpha, beta, d_alpha, d_beta = t, 1.0 - t, 1.0, -1.0
    diff = x[:, None, :] - alpha * z[None, :, :]  # (m, N, 2)
    logits = -(diff**2).sum(-1) / (2 * beta**2)
    w = np.exp(logits - logits.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    u = d_alpha * z[None, :, :] + (d_beta / beta) * diff  # (m, N, 2)
    return (w[:, :, None] * u).sum(1)


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def torch_reference(x: torch.Tensor, t: float, z: torch.Tensor) -> torch.Tensor:
    """The CondOT marginal field in plain torch: cdist, softmax, one product for E[z | x]."""
    t = min(t, paths.T_MAX)
    alpha, beta = t, 1.0 - t
    d2 = torch.cdist(x, alpha * z).square_()
    post = torch.softmax(d2.mul_(-0.5 / beta**2), 1)
    ez = post @ z
    return ez - (x - alpha * ez) / beta


def bench_field(points: torch.Tensor, repeats: int) -> None:
    g = np.linspace(-3.6, 3.6, 64, dtype=np.float32)
    grid_np = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    grid = torch.from_numpy(grid_np)
    path = paths.make("condot")
    z64, x64 = points.double().numpy(), grid_np.astype(np.float64)
    default_threads = torch.get_num_threads()
    print(f"  64 x 64 grid, N = {len(points)}, CondOT; median of {repeats} calls")
    print(
        f"  {'t':>6}  {'threads':>7}  {'marginal.velocity':>17}  {'torch cdist+softmax':>19}"
        f"  ratio  {'naive numpy':>11}  speed-up"
    )
    for t in (0.5, 0.9, 0.999):
        naive = median_ms(lambda t=t: naive_velocity(x64, t, z64), max(3, repeats // 4))
        ref = naive_velocity(x64, t, z64)
        for threads in sorted({1, default_threads}):
            torch.set_num_threads(threads)
            try:
                ours = median_ms(
                    lambda t=t: marginal.velocity(x=grid, t=t, data=points, path=path), repeats
                )
                plain = median_ms(lambda t=t: torch_reference(grid, t, points), repeats)
                u = marginal.velocity(x=grid, t=t, data=points, path=path).double().numpy()
            finally:
                torch.set_num_threads(default_threads)
            err = np.abs(u - ref).max() / (np.abs(ref).max() + 1e-12)
            print(
                f"  {t:6.3f}  {threads:7d}  {ours:14.2f} ms  {plain:16.2f} ms  {plain / ours:5.1f}"
                f"  {naive:8.1f} ms  {naive / ours:7.1f}x   (max rel. diff {err:.1e})"
            )
    print("  goals (2 idle cores): <= 5 ms at t = 0.5, <= 10 ms at t = 0.9")


# ------------------------------------------------------------------------- flow


def bench_flow(points: torch.Tensor, particles: int, steps: int) -> None:
    path = paths.make("condot")
    x0 = torch.randn(particles, 2, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    traj = solvers.integrate(
        velocity=lambda x, t: marginal.velocity(x=x, t=t, data=points, path=path),
        x0=x0,
        t_grid=solvers.time_grid(steps),
        method="midpoint",
    )
    seconds = time.perf_counter() - t0
    calls = 2 * steps
    finite = bool(torch.isfinite(traj).all())
    print(
        f"  {particles} particles x {steps} midpoint steps, N = {len(points)}: "
        f"{seconds:.2f} s ({1000 * seconds / calls:.1f} ms per field call, finite: {finite})"
    )


def bench_drawn(repeats: int) -> None:
    path = paths.make("condot", sigma_min=0.05)
    grid = frames.grid(64)
    spec = frames.FrameSpec()
    z = data.preset("moons", 1000, seed=0).numpy()
    print(
        "  view frame = what the Marginal view computes per frame: the field on its"
        f" {spec.arrow_res} x {spec.arrow_res} arrow grid and the density on its"
        f" {spec.heat_res} x {spec.heat_res} heat grid; full 64 x 64 = velocity and"
        " log-density at every node (far tails included)"
    )
    for m in (200, 1000):
        s = data.preset("eight-gaussians", m, seed=1).numpy()
        for t in (0.0, 0.5, 0.9, 1.0):
            ex = exact.ExactMarginal(data=z, path=path, source=s)

            def full(ex=ex, t=t):
                ex._memo = None
                gridded.clear_cache()
                ex.velocity(grid, t), ex.density(grid, t)

            def view(ex=ex, t=t):
                ex._memo = None
                gridded.clear_cache()
                frames.field_frame(field_fn=ex.velocity, heat_fn=ex.density, t=t, spec=spec)

            ms_view, ms_full = median_ms(view, repeats), median_ms(full, repeats)
            print(
                f"  1000 x {m}, t = {t:.1f}: view frame {ms_view:7.1f} ms,"
                f" full 64 x 64 {ms_full:7.1f} ms"
            )
    s = data.preset("eight-gaussians", 200, seed=1).numpy()
    ex = exact.ExactMarginal(data=z, path=path, source=s)
    x0 = s[np.random.default_rng(0).integers(0, 200, 3000)] + 0.05 * np.random.default_rng(
        1
    ).standard_normal((3000, 2)).astype(np.float32)
    t0 = time.perf_counter()
    traj = exact.trajectories(field_fn=ex.velocity, x0=x0, steps=100, reverse=False)
    print(
        f"  1000 x 200: 3000 particles x 100 Euler steps {time.perf_counter() - t0:.2f} s"
        f" (finite: {bool(np.isfinite(traj).all())})"
    )
    print("  goals: frame <= 50 ms (1000 x 200), trajectories <= 3 s")


def bench_view_particles(particles: int) -> None:
    """The Marginal view's particles: Euler on t (before) against steps on the path's clock
    (core.clock, now), N = 1000 moons, 100 frames, one torch thread as in the app's worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    z = data.preset("moons", 1000, seed=0).numpy()
    x0 = frames.particle_starts(n=particles, data=z, source=None, sigma_min=0.0)
    for name, n in (("condot", 2.0), ("cosine", 2.0), ("vp", 2.0), ("polynomial", 0.5)):
        path = paths.make(name, n=n)
        ex = exact.ExactMarginal(data=z, path=path, source=None)
        calls = []

        def field(x, t, ex=ex, calls=calls):
            calls.append(t)
            return ex.velocity(x, t)

        t0 = time.perf_counter()
        exact.trajectories(field_fn=field, x0=x0, steps=100, reverse=False)
        euler, n_euler = time.perf_counter() - t0, len(calls)
        calls.clear()
        t0 = time.perf_counter()
        clock.trajectories(
            field_fn=field, path=path, drawn_source=False, x0=x0, steps=100, reverse=False
        )
        ours, n_ours = time.perf_counter() - t0, len(calls)
        print(
            f"  {name:10s} {particles} particles: Euler on t {euler:5.2f} s ({n_euler} calls),"
            f" on the clock {ours:5.2f} s ({n_ours} calls)"
        )
    torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a shorter flow")
    args = parser.parse_args()
    points = data.preset("moons", N_DATA, seed=0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads by default"
        f"{' (quick)' if args.quick else ''}"
    )
    print("\n1. training steps/s")
    if args.quick:
        bench_training(points, steps=100, rounds=3)
    else:
        bench_training(points, steps=300, rounds=5)
    print("\n2. exact marginal field")
    bench_field(points, repeats=10 if args.quick else 40)
    print("\n3. exact marginal flow")
    bench_flow(points, particles=10_000, steps=20 if args.quick else 100)
    print("\n4. drawn source")
    bench_drawn(repeats=2 if args.quick else 5)
    print("\n5. the Marginal view's particles")
    bench_view_particles(particles=1000 if args.quick else 3000)


if __name__ == "__main__":
    main()
