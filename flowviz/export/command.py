"""`flowviz export`: an animation of a data set (and a trained model) without a window.

    python main.py export --data moons --view side-by-side --frames 120 --fps 30 \\
        --size 1280x720 --out moons.mp4

Every argument is checked before any work (one line, `flowviz: error: ...`, exit 2); the
extension of --out chooses the format (.mp4, .gif, .webm, or a folder for PNG frames).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

from flowviz.core import choices
from flowviz.core.layout import LAYOUTS

VIEW_SETS = {
    "side-by-side": ("conditional", "marginal"),
    "all": choices.VIEWS,
}


def add_parser(sub) -> argparse.ArgumentParser:
    e = sub.add_parser(
        "export",
        help="write an animation (MP4, GIF, WebM or PNG frames) without a window",
        description="Export the flow of a data set as an animation; the picture is the "
        "window's. The --out extension chooses the format: .mp4, .gif, .webm, or a folder "
        "name for numbered PNG frames.",
    )
    e.add_argument("--out", required=True, help="file (.mp4, .gif, .webm) or folder to write")
    e.add_argument("--data", help="a preset name or a .csv/.npy point file (default: moons)")
    e.add_argument("--n", type=int, default=1000, help="points drawn from a preset (default 1000)")
    e.add_argument("--source", help="a .csv/.npy source point set instead of N(0, I)")
    e.add_argument("--checkpoint", help="a trained model (.pt): adds the learned view")
    e.add_argument(
        "--session",
        help="a session file (.flowviz) saved in the window: exports exactly what was set up "
        "there (its data, path, display, views and trained network)",
    )
    e.add_argument(
        "--train-steps", type=int, default=0, help="train a model first, this many steps"
    )
    e.add_argument(
        "--view",
        default=None,
        help="conditional, marginal, learned, a comma list, side-by-side (conditional and "
        "marginal, plus learned with a model) or all (default: side-by-side, or the "
        "session's views)",
    )
    e.add_argument(
        "--frames",
        type=int,
        default=120,
        help="frames in the animation (default 120: 4 s at 30 frames/s)",
    )
    e.add_argument(
        "--fps", type=float, default=30.0, help="frames per second of the file (default 30)"
    )
    e.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT in pixels (default 1280x720)")
    e.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply --size by this (0.25 to 1), e.g. 0.75 for a lighter GIF",
    )
    e.add_argument(
        "--region",
        default="window",
        help="what each view shows: window (the window's default: the camera's square fitted "
        "to the panel; a session's camera), fit (everything drawn: data, source, the "
        "particles' whole paths) or x0,x1,y0,y1 (default: window)",
    )
    e.add_argument(
        "--max-size",
        type=float,
        metavar="MB",
        help="GIF only: lower the frame rate, then the size, until the file is estimated to "
        "fit this many megabytes (measured on frames of this export)",
    )
    e.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be made (frames, size, estimated seconds and bytes); make nothing",
    )
    e.add_argument("--path", choices=tuple(choices.PATHS), help="probability path (default condot)")
    e.add_argument("--sigma-min", type=float, help="width σ_min kept at t = 1 (default 0)")
    e.add_argument("--poly-n", type=float, help="exponent of the polynomial path (default 2)")
    e.add_argument("--particles", type=int, help="particles (default 3000, or the session's)")
    e.add_argument("--trails", type=int, help="trail length in time steps (0: none; default 6)")
    e.add_argument(
        "--arrows",
        choices=choices.ARROWS,
        help="the field as arrows whose length is the speed, unit arrows coloured by speed, "
        "streamlines, or none (default length, or the session's)",
    )
    e.add_argument(
        "--heatmap",
        choices=choices.HEAT,
        help="the heat layer: the density p_t, the speed |u_t|, or none (default density, or "
        "the session's)",
    )
    e.add_argument(
        "--layout",
        choices=LAYOUTS,
        help="views in a row, a grid, or auto: cells closest to square (default: auto, or "
        "the session's)",
    )
    e.add_argument("--reverse", action="store_true", help="play data -> noise (t from 1 down to 0)")
    e.add_argument(
        "--loop", action="store_true", help="play noise -> data -> noise, ending where it began"
    )
    e.add_argument(
        "--theme", default="light", choices=("light", "dark"), help="background (default light)"
    )
    e.add_argument("--title", default="", help="a heading over the views (default none)")
    e.add_argument("--no-time-label", action="store_true", help='no "t = 0.42" under the views')
    e.add_argument("--no-caption", action="store_true", help="no formula caption")
    e.add_argument("--seed", type=int, default=0, help="seed of presets and training (default 0)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    return e


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise ValueError(f"--size {text!r}: write it as WIDTHxHEIGHT, e.g. 1280x720")
    return int(m[1]), int(m[2])


def _region(text: str):
    """window, fit, or a rectangle (x0, x1, y0, y1) from "x0,x1,y0,y1"."""
    if text in ("window", "fit"):
        return text
    try:
        x0, x1, y0, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--region {text!r}: write window, fit or x0,x1,y0,y1") from None
    if not (x0 < x1 and y0 < y1) or not all(map(math.isfinite, (x0, x1, y0, y1))):
        raise ValueError(f"--region {text!r}: needs finite x0 < x1 and y0 < y1")
    return (x0, x1, y0, y1)


def _views(text: str, learned: bool) -> tuple[str, ...]:
    if text in VIEW_SETS:
        views = VIEW_SETS[text]
        if text == "side-by-side" and learned:
            views = choices.VIEWS
        return tuple(views)
    views = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in views if v not in choices.VIEWS]
    if bad or not views:
        raise ValueError(
            f"--view {text!r}: choose conditional, marginal, learned (comma-separated), "
            "side-by-side or all"
        )
    return views


def run(args, *, load_points, check_inputs) -> int:
    """The export command. load_points(spec, n, seed) and check_inputs(out, inputs) are the
    CLI's own rules for --data and for not overwriting an input."""
    from flowviz.core import limits
    from flowviz.export import interrupts
    from flowviz.export.animation import Cancelled, Spec, export
    from flowviz.export.writers import abort_all, plan

    width, height = _size(args.size)
    if not 0.25 <= args.scale <= 1.0:
        raise ValueError(f"--scale must be from 0.25 to 1, got {args.scale:g}")
    width, height = (max(16, round(v * args.scale)) for v in (width, height))
    region = _region(args.region)
    if args.max_size is not None:
        if not args.out.lower().endswith(".gif"):
            raise ValueError("--max-size is for GIF files: give --out NAME.gif")
        if not args.max_size > 0:
            raise ValueError(f"--max-size must be a positive number of MB, got {args.max_size:g}")
    if args.session and (args.data or args.source or args.checkpoint):
        raise ValueError("--session brings its own data and model: leave out --data, "
                         "--source and --checkpoint")  # fmt: skip
    session_file = _load_session(args.session) if args.session else None
    learned = bool(args.checkpoint or args.train_steps or (session_file and session_file[1]))
    if session_file is not None:
        _check_session(args.session, session_file[0], args.view)
    if args.view is None and session_file is not None:
        views = tuple(v for v in session_file[0].views if v != "learned" or learned)
    else:
        views = _views(args.view or "side-by-side", learned)
    if "learned" in views and not learned:
        raise ValueError("--view learned needs a model: give --checkpoint or --train-steps")
    for rng, value, option in (
        (limits.POINTS, args.n, "--n"),
        (limits.PARTICLES, args.particles, "--particles"),
        (limits.SEED, args.seed, "--seed"),
    ):
        if value is not None:
            rng.check(value, option)
    if args.train_steps:
        limits.STEPS.check(args.train_steps, "--train-steps")
    if args.trails is not None and not 0 <= args.trails <= 60:
        raise ValueError(f"--trails must be a whole number from 0 to 60, got {args.trails}")
    if args.reverse and args.loop:
        raise ValueError("--reverse and --loop exclude each other")
    check_inputs(
        args.out,
        {
            "--data": args.data,
            "--source": args.source,
            "--checkpoint": args.checkpoint,
            "--session": args.session,
        },
    )
    target = plan(args.out, width=width, height=height, fps=args.fps, frames=args.frames)
    spec = Spec(
        views=views,
        width=target.width,
        height=target.height,
        fps=target.fps,
        frames=target.frames,
        direction="loop" if args.loop else "reverse" if args.reverse else "forward",
        title=args.title,
        time_label=not args.no_time_label,
        caption=not args.no_caption,
        theme=args.theme,
        region=region,
    )

    if session_file is not None:
        session, field = _with_path_options(session_file[0], args), _field_of(session_file[1])
        if args.train_steps:  # the session's data and network settings, trained here
            field = _train(session, args)
    else:
        session, field = _session_and_field(args, load_points)
        session = session.patch(display={"particles": 3000, "trails": 6})
    chosen = {
        "particles": args.particles,
        "trails": args.trails,
        "arrows": args.arrows,
        "heat": args.heatmap,
        "layout": args.layout,
    }
    session = session.patch(display={k: v for k, v in chosen.items() if v is not None})
    fitted = None
    if args.max_size is not None:
        from flowviz.export.animation import fit_gif

        spec, fitted = fit_gif(session, spec, args.max_size * 1e6, field=field)
        target = plan(
            args.out, width=spec.width, height=spec.height, fps=spec.fps, frames=spec.frames
        )
        print(
            f"flowviz: note: --max-size {args.max_size:g} MB: {spec.fps:g} frames/s at "
            f"{spec.width}x{spec.height}, estimated {fitted / 1e6:.1f} MB"
            + ("" if fitted <= args.max_size * 1e6 else " (the smallest choice; still over)"),
            file=sys.stderr,
        )
    notes = [*target.notes, _data_note(len(session.data))]
    if field is not None and "learned" in views:
        notes.append(_network_note(session, field, spec.frames))
    for note in filter(None, notes):
        print(f"flowviz: note: {note}", file=sys.stderr)
    if args.dry_run:
        return _dry_run(target, spec, session, fitted)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        bar = "#" * (30 * done // total) + "-" * (30 - 30 * done // total)
        rate = done / max(time.perf_counter() - started, 1e-9)
        sys.stderr.write(f"\r[{bar}] frame {done}/{total}  {rate:.1f} frames/s")
        sys.stderr.flush()

    def say(exc) -> str:
        return interrupted_line(exc, args.out)

    with interrupts.caught(say, abort_all) as stop:
        try:
            path = export(
                session, spec, target.path, field=field, progress=progress, cancelled=stop.is_set
            )
        except Cancelled:
            stop.check()
            raise
        finally:
            if not args.quiet:
                sys.stderr.write("\n")
    print(f"wrote {path} ({spec.frames} frames, {spec.width}x{spec.height}, {spec.fps:g} fps)")
    return 0


def _dry_run(target, spec, session, fitted: int | None) -> int:
    """Say what would be made; make nothing."""
    from flowviz.export import gif

    size = dict(width=spec.width, height=spec.height, frames=spec.frames)
    nbytes = fitted if fitted is not None else gif.estimate(target.format, **size)
    field_views = sum(v != "conditional" for v in spec.views)
    secs = gif.seconds(
        target.format, **size, particles=session.display.particles, views=field_views
    )
    how = "measured on its frames" if fitted is not None else "rough"
    print(
        f"would write {target.path} ({target.format}): {spec.frames} frames, "
        f"{spec.width}x{spec.height}, {spec.fps:g} fps ({spec.frames / spec.fps:.1f} s), "
        f"views {', '.join(spec.views)}, region {spec.region}; estimated "
        f"{nbytes / 1e6:.1f} MB ({how}), about {secs:.0f} s to make"
    )
    return 0


#: Floating-point operations beyond which the learned view's work is worth a note.
HEAVY_FLOPS = 1e12
_STAGES = {"euler": 1, "midpoint": 2, "rk4": 4}  # network calls a solver step


#: Data points beyond which the exact fields take minutes a frame on a CPU (measured: a
#: 2-frame export of 1e6 points did not finish in 580 s on 2 busy cores, in 0.4 GB).
HEAVY_POINTS = 100_000


def _data_note(n: int) -> str:
    """What the exact fields of many data points cost, said before the work starts."""
    if n <= HEAVY_POINTS:
        return ""
    return (
        f"the exact fields of {n:,} data points take minutes a frame on a CPU; Ctrl+C stops cleanly"
    )


def _network_note(session, field, frames: int) -> str:
    """What the learned view costs with a large network (its particles are integrated once,
    its field and error map are evaluated at every frame), said before the work starts."""
    from flowviz.pictures.learned import HEAT_RES

    model = getattr(field, "model", None)
    if model is None:
        return ""
    weights = sum(int(w.numel()) for w in model.parameters())
    d, opts = session.display, session.learned
    points = d.particles * opts.steps * _STAGES.get(opts.solver, 4)
    points += frames * (HEAT_RES**2 + d.arrow_res**2)
    flops = 2.0 * weights * points
    if flops < HEAVY_FLOPS:
        return ""
    return (
        f"the learned view evaluates a network of {weights / 1e6:.1f} M weights at about "
        f"{points:,} points ({flops:.0e} floating-point operations): expect minutes on a "
        "CPU; Ctrl+C stops cleanly"
    )


def interrupted_line(exc, out: str) -> str:
    """The one line an interrupted export ends with."""
    from flowviz.core.text import name

    return f"flowviz: {exc}; stopped, nothing written ({name(out)} left as it was)"


def _load_session(path: str):
    """(Session, trained or None) of a session file (ValueError naming it if unusable)."""
    from flowviz.sessions import file

    return file.load(path)


def _check_session(path: str, session, view: str | None) -> None:
    """A session file can be exported: it has data, and views unless --view names some."""
    from flowviz.core.text import name

    if not len(session.data):
        raise ValueError(f"{name(Path(path).name)}: the session holds no data points to show")
    if view is None and not session.views:
        raise ValueError(
            f"{name(Path(path).name)}: the session shows no views; choose some with --view"
        )


def _field_of(trained):
    if not trained:
        return None
    from flowviz.core.inference import InferenceField

    return InferenceField(trained["weights"], trained["config"].model)


def _with_path_options(session, args):
    """The session with any --path, --sigma-min, --poly-n given on the command line."""
    changes = {
        "name": args.path,
        "sigma_min": args.sigma_min,
        "n": args.poly_n,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    return session.patch(path=changes) if changes else session


def _session_and_field(args, load_points):
    """The Session (data, source, path) and the learned field (None without a model)."""
    import numpy as np

    from flowviz.session import PathSpec, Session

    field = ckpt = None
    if args.checkpoint:
        from flowviz.core import checkpoint
        from flowviz.core.inference import InferenceField

        ckpt = checkpoint.load(args.checkpoint)
        field = InferenceField(ckpt.model.state_dict(), ckpt.config.model)
    if args.data or ckpt is None:
        data = load_points(args.data or "moons", args.n, args.seed)
    else:
        data = ckpt.data
    if args.source:
        from flowviz.core.data import load_points as load_file

        source = load_file(args.source)
    else:
        source = ckpt.source if ckpt is not None and not args.data else None
    from flowviz.core.limits import check_pairs

    check_pairs(len(data), None if source is None else len(source))
    c = ckpt.config if ckpt is not None else None
    path = PathSpec(
        name=args.path or (c.path if c else "condot"),
        sigma_min=args.sigma_min if args.sigma_min is not None else (c.sigma_min if c else 0.0),
        n=args.poly_n if args.poly_n is not None else (c.poly_n if c else 2.0),
    )
    from flowviz.core.frames import typical_point

    points = np.asarray(data, np.float32)
    session = Session(
        data=points,
        source=None if source is None else np.asarray(source, np.float32),
        path=path,
        origin=Path(args.data).name if args.data else "moons",
        # a z for the Conditional view, as the window picks one when data appear (a session
        # file brings its own selection, or none, as its window showed)
        selected=typical_point(points) if len(points) else -1,
    )
    if args.train_steps and not (args.dry_run and args.max_size is None):
        field = _train(session, args)  # a dry run trains only to measure a GIF's frames
    return session, field


def _train(session, args):
    """A model trained for --train-steps on the session's data and path (a progress line)."""
    import torch

    from flowviz.core.inference import InferenceField
    from flowviz.core.training import Trainer
    from flowviz.session import train_config

    config = train_config(
        session.patch(training={"steps": args.train_steps, "seed": args.seed}), device="cpu"
    )
    source = None if session.source is None else torch.from_numpy(session.source.copy())
    trainer = Trainer(data=torch.from_numpy(session.data.copy()), config=config, source=source)
    for report in trainer.run():
        if not args.quiet:
            sys.stderr.write(
                f"\rtraining: step {report.step}/{args.train_steps}  loss {report.cfm_loss:.4f}"
            )
    if not args.quiet:
        sys.stderr.write("\n")
    return InferenceField(trainer.weights(), config.model)
