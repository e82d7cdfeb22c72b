"""Soak test: the window trains and animates for N minutes offscreen; does memory grow?

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--every 10] [--top 10]

The window (with live training, 1,000 moons points, the default network, training until
stopped in the child process) animates at its normal rate while the Learned view follows
the weights and the sample-quality readout runs. Every `--every` seconds it prints the
resident set size (RSS) of the window's process and of the training process. The N
minutes count from the first snapshot of the run (on a busy machine the training process
takes a while to import torch). After a warm-up (a tenth of the run, at least one sample:
caches fill, torch allocates its pools), tracemalloc starts; at the end the growth of the
window's RSS since the warm-up is printed against the goal (<= 5 %), with tracemalloc's own
memory taken out, and the top
`--top` differences between the tracemalloc snapshots at the warm-up and at the end (what
Python allocated in between and still holds, by line).

Prints figures, asserts nothing; exit status 0. The machine's load is printed first: other
processes on 2 cores slow everything, but should not change memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL = 0.05  # RSS growth after the warm-up
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of pid (default: this process) in MiB; NaN when unknown."""
    try:
        with open(f"/proc/{pid or 'self'}/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the soak (10)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples (10)")
    ap.add_argument("--top", type=int, default=10, help="tracemalloc differences shown (10)")
    args = ap.parse_args(argv)
    if args.minutes <= 0 or args.every <= 0:
        ap.error("--minutes and --every must be positive")

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from flowviz.gui.app.launch import make_window
    from flowviz.session import Session

    print(
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    app = QApplication.instance() or QApplication([sys.argv[0]])
    tmp = tempfile.TemporaryDirectory()
    settings = QSettings(str(Path(tmp.name) / "soak.ini"), QSettings.Format.IniFormat)
    session = Session(origin="moons", count=1000)
    settings.setValue("session", json.dumps(session.to_dict(points=False)))
    window = make_window(settings)
    window.show()
    c = window.extensions["training"]

    total = args.minutes * 60
    warmup = max(args.every, total / 10)
    t0 = time.monotonic()
    samples: list[tuple[float, float, float]] = []  # (s, window MiB, training MiB)
    marks: dict[str, object] = {}
    trained: list[float] = []  # when the first snapshot arrived (s since launch)

    def start() -> None:
        c.panel.steps_box.setValue(0)  # until stopped
        window.player.play(True)
        c.train()
        print(f"{time.monotonic() - t0:6.1f} s  training and animating ({c.mode})")

    def sample() -> None:
        now = time.monotonic() - t0
        child = c.process._proc.pid if c.process is not None and c.process.alive() else None
        row = (now, rss_mb(), rss_mb(child) if child else float("nan"))
        samples.append(row)
        step = c.snapshot.step if c.snapshot is not None else 0
        print(
            f"{now:6.1f} s  RSS window {row[1]:7.1f} MiB  training {row[2]:7.1f} MiB  "
            f"step {step:7d}  pending jobs {window.worker.pending():2d}",
            flush=True,
        )
        if not trained and step > 0:
            trained.append(now)
            print(f"{now:6.1f} s  first snapshot: the soak's {args.minutes:g} min start now")
        if not trained:
            return
        if "warm" not in marks and now >= trained[0] + warmup:
            tracemalloc.start(8)
            marks["warm"] = (row, tracemalloc.take_snapshot())
        if now >= trained[0] + total:
            marks["end"] = (row, tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None)
            app.quit()

    window.core_ready.connect(lambda: QTimer.singleShot(0, start))
    timer = QTimer(interval=int(args.every * 1000))
    timer.timeout.connect(sample)
    timer.start()
    QTimer.singleShot(0, sample)
    app.exec()
    overhead = tracemalloc.get_tracemalloc_memory() / 2**20 if tracemalloc.is_tracing() else 0.0
    window.close()

    (warm_row, warm_snap), (end_row, end_snap) = marks["warm"], marks["end"]
    grown = (end_row[1] - overhead - warm_row[1]) / warm_row[1]
    child_grown = (end_row[2] - warm_row[2]) / warm_row[2] if warm_row[2] == warm_row[2] else 0.0
    print()
    print(
        f"soak: {(end_row[0] - trained[0]) / 60:.1f} min of training + animation (the first "
        f"snapshot {trained[0]:.0f} s after launch); warm-up {warm_row[0] - trained[0]:.0f} s"
    )
    print(
        f"window RSS {warm_row[1]:.1f} -> {end_row[1]:.1f} MiB (tracemalloc's own "
        f"{overhead:.1f} MiB taken out): growth {grown:+.1%} (goal <= {GOAL:.0%}: "
        f"{'met' if grown <= GOAL else 'NOT met'})"
    )
    print(
        f"training process RSS {warm_row[2]:.1f} -> {end_row[2]:.1f} MiB: growth {child_grown:+.1%}"
    )
    peak = max(r[1] for r in samples)
    print(f"window RSS peak {peak:.1f} MiB; steps trained {c.snapshot.step if c.snapshot else 0}")
    if end_snap is not None:
        print(f"\ntop {args.top} tracemalloc differences (warm-up -> end, by line):")
        stats = end_snap.compare_to(warm_snap, "lineno")
        for stat in stats[: args.top]:
            frame = stat.traceback[0]
            print(
                f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+6d} blocks  "
                f"{_short(frame.filename)}:{frame.lineno}"
            )
    tmp.cleanup()
    return 0


def _short(filename: str) -> str:
    for marker in ("site-packages/", "flowviz/", "lib/python"):
        if marker in filename:
            return filename[filename.index(marker) :]
    return filename


if __name__ == "__main__":
    sys.exit(main())
