"""Command line: launch the app, or train and sample without a window."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from flowviz.core import paths as paths_mod

SOLVERS = ("euler", "midpoint", "rk4")


class UserError(Exception):
    """A mistake in the command or its inputs: reported in one line, no traceback."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flowviz",
        description="Teach flow matching: draw a distribution, watch the flow. "
        "Without a command, opens the window.",
    )
    sub = p.add_subparsers(dest="command")
    sub.add_parser("gui", help="open the window (the default)")

    t = sub.add_parser("train", help="train a velocity network headlessly")
    t.add_argument("--data", default="moons", help="a preset name or a .csv/.npy point file")
    t.add_argument("--n", type=int, default=2000, help="points drawn from a preset")
    t.add_argument("--source", help="a .csv/.npy source point set instead of N(0, I)")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    t.add_argument("--path", default="condot", choices=paths_mod.NAMES)
    t.add_argument("--poly-n", type=float, default=2.0, help="exponent of the polynomial path")
    t.add_argument("--sigma-min", type=float, default=0.0)
    t.add_argument("--coupling", default="independent", choices=("independent", "ot", "sinkhorn"))
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    t.add_argument("--width", type=int, default=128)
    t.add_argument("--depth", type=int, default=3)
    t.add_argument("--activation", default="silu")
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw samples from a trained checkpoint")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--n", type=int, default=5000)
    s.add_argument("--steps", type=int, default=100, help="ODE steps from t=0 to t=1")
    s.add_argument("--solver", default="midpoint", choices=SOLVERS)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help=".npy or .csv file to write")
    return p


def _points(spec: str, n: int, seed: int):
    from flowviz.core import data

    if Path(spec).suffix.lower() in (".csv", ".npy", ".txt"):
        return data.load_points(spec)
    if spec in data.PRESETS:
        return data.preset(spec, n, seed)
    raise UserError(f"--data {spec!r} is neither a preset ({', '.join(data.PRESETS)}) nor a file")


def _progress(step: int, total: int, loss: float, started: float, out=None) -> None:
    out = out or sys.stderr  # looked up per call: honours a redirected sys.stderr
    width = 30
    done = int(width * step / total)
    rate = step / max(time.perf_counter() - started, 1e-9)
    bar = "#" * done + "-" * (width - done)
    out.write(f"\r[{bar}] {step}/{total}  loss {loss:.4f}  {rate:.0f} steps/s")
    out.flush()


def _check_out(out: str) -> None:
    """Fail before the work, not after it, when the output's folder is missing."""
    folder = Path(out).resolve().parent
    if not folder.is_dir():
        raise UserError(f"--out {out}: the folder {folder} does not exist")


def _train(args) -> int:
    from flowviz.core import checkpoint, data, training

    _check_out(args.out)
    config = training.with_overrides(
        training.TrainConfig(),
        steps=args.steps,
        seed=args.seed,
        path=args.path,
        poly_n=args.poly_n,
        sigma_min=args.sigma_min,
        coupling=args.coupling,
        device=args.device,
        lr=args.lr,
        batch_size=args.batch_size,
        width=args.width,
        depth=args.depth,
        activation=args.activation,
    )
    points = _points(args.data, args.n, args.seed)
    source = data.load_points(args.source) if args.source else None
    trainer = training.Trainer(data=points, config=config, source=source)
    if not args.quiet:
        print(f"training on {trainer.device} ({len(points)} points)", file=sys.stderr)
    started = time.perf_counter()
    last = None
    try:
        for last in trainer.run():
            if not args.quiet:
                _progress(last.step, args.steps, last.cfm_loss, started)
    finally:
        if not args.quiet and last is not None:
            sys.stderr.write("\n")  # end the bar's line, also before an error message
    checkpoint.save(
        args.out,
        model=trainer.model,
        config=config,
        data=points,
        source=source,
        step=trainer.step_count,
    )
    fm = f", exact FM loss {last.fm_loss:.4f}" if last else ""
    print(f"saved {args.out} after {trainer.step_count} steps{fm}")
    return 0


def _sample(args) -> int:
    import torch

    from flowviz.core import checkpoint, data, solvers

    if args.n < 1 or args.steps < 1:
        raise UserError("--n and --steps must be positive")
    _check_out(args.out)
    ckpt = checkpoint.load(args.checkpoint)
    g = torch.Generator().manual_seed(args.seed)
    if ckpt.source is None:
        x0 = torch.randn(args.n, 2, generator=g)
    else:
        pick = torch.randint(len(ckpt.source), (args.n,), generator=g)
        x0 = ckpt.source[pick] + ckpt.config.sigma_min * torch.randn(args.n, 2, generator=g)
    model = ckpt.model
    traj = solvers.integrate(
        velocity=lambda x, t: model(x, t),
        x0=x0,
        t_grid=solvers.time_grid(args.steps),
        method=args.solver,
    )
    data.save_points(args.out, traj[-1])
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.command in (None, "gui"):
        from flowviz.gui.app import run

        return run(argv[1:] if args.command else argv)
    from flowviz.core.training import DivergenceError

    try:
        return _train(args) if args.command == "train" else _sample(args)
    except (UserError, ValueError, OSError, DivergenceError) as exc:
        print(f"flowviz: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nflowviz: interrupted", file=sys.stderr)
        return 130
