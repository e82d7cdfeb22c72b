"""Command line: launch the app, or train, sample and export without a window."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from flowviz.core import choices
from flowviz.core import paths as paths_mod
from flowviz.core.text import one_line


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
    s.add_argument("--solver", default="midpoint", choices=choices.SOLVERS)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help=".npy or .csv file to write")

    from flowviz.export import command

    command.add_parser(sub)
    return p


def _is_file_spec(spec: str) -> bool:
    """--data names a file (rather than a preset) when it exists or looks like a path."""
    from flowviz.core import data

    if spec in data.PRESETS:
        return False
    return Path(spec).exists() or bool(Path(spec).suffix) or os.sep in spec


def _points(spec: str, n: int, seed: int):
    from flowviz.core import data

    if _is_file_spec(spec):
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


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _check_out(out: str, suffixes: tuple[str, ...], what: str, inputs: dict[str, str]) -> None:
    """Fail before the work, not after it: --out must not be one of the inputs (that would
    destroy them), must have a suffix for what is written, and must be writable."""
    _no_clash(out, inputs)
    suffix = Path(out).suffix.lower()
    if suffix not in suffixes:
        raise UserError(
            f"--out {out}: unsupported file type {suffix!r}; "
            f"{what} is written as {' or '.join(suffixes)}"
        )
    from flowviz.core import atomic

    atomic.check_writable(out, label=f"--out {out}")


def _no_clash(out: str, inputs: dict[str, str | None]) -> None:
    """--out must not be one of the input files: writing it would destroy them."""
    for option, path in inputs.items():
        if path and (option != "--data" or _is_file_spec(path)) and _same_file(out, path):
            raise UserError(
                f"--out {out} is also the {option} file; writing it would destroy the input"
            )


def _check_ranges(checks) -> None:
    """Each (range, value, option) in core.limits' ranges, named by the option's flag."""
    for rng, value, option in checks:
        rng.check(value, option)


def _finite_weights(model) -> bool:
    import torch

    return all(bool(torch.isfinite(v).all()) for v in model.state_dict().values())


def _train(args) -> int:
    from flowviz.core import checkpoint, data, limits, training

    _check_ranges(
        [
            (limits.POINTS, args.n, "--n"),
            (limits.STEPS, args.steps, "--steps"),
            (limits.SEED, args.seed, "--seed"),
            (limits.POLY_N, args.poly_n, "--poly-n"),
            (limits.SIGMA_MIN, args.sigma_min, "--sigma-min"),
            (limits.WIDTH, args.width, "--width"),
            (limits.DEPTH, args.depth, "--depth"),
            (limits.LR, args.lr, "--lr"),
            (limits.batch_size_range(args.coupling), args.batch_size, "--batch-size"),
        ]
    )
    inputs = {
        "--data": args.data if _is_file_spec(args.data) else "",
        "--source": args.source or "",
    }
    _check_out(args.out, (".pt",), "a checkpoint", inputs)
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
    limits.check_pairs(len(points), None if source is None else len(source))
    trainer = training.Trainer(data=points, config=config, source=source)
    if not args.quiet:
        print(f"training on {trainer.device} ({len(points)} points)", file=sys.stderr)

    def save(step: int) -> None:
        checkpoint.save(
            args.out, model=trainer.model, config=config, data=points, source=source, step=step
        )

    started = time.perf_counter()
    last = None
    bar = False  # a progress line is open (no newline yet)
    try:
        for last in trainer.run():
            if last.warning:
                sys.stderr.write("\n" if bar else "")
                print(f"flowviz: warning: {last.warning}", file=sys.stderr)
                bar = False
            if not args.quiet:
                _progress(last.step, args.steps, last.cfm_loss, started)
                bar = True
    except KeyboardInterrupt:
        sys.stderr.write("\n" if bar else "")
        bar = False
        step = trainer.step_count
        if step == 0 or not _finite_weights(trainer.model):
            print(f"flowviz: interrupted at step {step}; nothing saved", file=sys.stderr)
        else:
            save(step)
            print(
                f"flowviz: interrupted at step {step}; saved the weights of step {step} "
                f"to {args.out}",
                file=sys.stderr,
            )
        return 130
    except training.DivergenceError as exc:
        # The trainer has put back the weights of the last report (step 0 before any).
        good = last.step if last is not None else 0
        if good == 0:
            raise UserError(f"{exc}; nothing saved (no finite weights beyond step 0)") from None
        save(good)
        raise UserError(f"{exc}; saved the weights of step {good} to {args.out}") from None
    finally:
        if bar:
            sys.stderr.write("\n")  # end the bar's line, also before an error message
    save(trainer.step_count)
    fm = f", exact FM loss {last.fm_loss:.4f}" if last else ""
    print(f"saved {args.out} after {trainer.step_count} steps{fm}")
    return 0


def _sample_chunk(width: int) -> int:
    """Points integrated at once: a few hidden activations of (chunk, width) float32 stay
    near 64 MB each, whatever --n is."""
    return max(1024, 2**24 // max(width, 1))


def _sample(args) -> int:
    import torch

    from flowviz.core import checkpoint, data, frames, limits, solvers

    _check_ranges(
        [
            (limits.SAMPLES, args.n, "--n"),
            (limits.SOLVER_STEPS, args.steps, "--steps"),
            (limits.SEED, args.seed, "--seed"),
        ]
    )
    _check_out(args.out, (".npy", ".csv", ".txt"), "a point set", {"--checkpoint": args.checkpoint})
    ckpt = checkpoint.load(args.checkpoint)
    source = None if ckpt.source is None else ckpt.source.numpy()
    x0 = torch.from_numpy(
        frames.particle_starts(
            n=args.n, source=source, sigma_min=ckpt.config.sigma_min, seed=args.seed
        )
    )
    model = ckpt.model
    grid = solvers.time_grid(args.steps)
    size = _sample_chunk(ckpt.config.model.width)
    x1 = torch.cat(
        [
            solvers.final_state(
                velocity=lambda x, t: model(x, t), x0=chunk, t_grid=grid, method=args.solver
            )
            for chunk in x0.split(size)
        ]
    )
    if not torch.isfinite(x1).all():
        raise UserError(
            f"{Path(args.checkpoint).name}: the network's flow gave NaN or infinite samples "
            f"(try more --steps, or another checkpoint); nothing written to {args.out}"
        )
    data.save_points(args.out, x1)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _export(args) -> int:
    from flowviz.export import command

    return command.run(args, load_points=_points, check_inputs=_no_clash)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.command in (None, "gui"):
        from flowviz.gui.app import run

        return run(argv[1:] if args.command else argv)
    from flowviz.core.training import DivergenceError
    from flowviz.export.interrupts import Interrupted

    commands = {"train": _train, "sample": _sample, "export": _export}
    try:
        return commands[args.command](args)
    except (UserError, ValueError, OSError, DivergenceError) as exc:
        print(f"flowviz: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        from flowviz.export.command import interrupted_line

        print(interrupted_line(exc, args.out), file=sys.stderr)
        return exc.exit_status
    except MemoryError:
        print("flowviz: error: out of memory; ask for fewer points or steps", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # torch's allocator says "can't allocate memory"
        if "allocate" not in str(exc):
            raise
        print("flowviz: error: out of memory; ask for fewer points or steps", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nflowviz: interrupted", file=sys.stderr)
        return 130
