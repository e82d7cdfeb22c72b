"""The one set of ranges for user-chosen settings, shared by the command line, checkpoint
validation and the window (which reads this at start-up, so: no torch, no Qt here).

Ranges are generous enough for real use and bounded so that no accepted value can exhaust
memory or produce numbers that only fail later as a "divergence":

- width <= 1024, depth <= 12: at most ~12.6 M parameters (50 MB), trained in seconds per
  hundred steps on a CPU;
- batch size <= 16384 as drawn, <= 4096 with an OT or Sinkhorn coupling (those build an
  n x n float64 cost matrix, several copies of it for Sinkhorn: 4096 -> ~0.7 GB);
- seed 0 .. 2**32 - 1 (what numpy, torch and a checkpoint round trip all take);
- polynomial exponent 0.1 .. 10: beyond that the schedule's derivative overflows float32
  near t = 0 or 1 and training "diverges" for no reason the user can see;
- sigma_min 0 .. 0.5: a wider end blur no longer looks like the data;
- at most 1,000,000 points in a data set, a source set or one `sample` call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Closed interval [lo, hi] of one setting; integer=True also requires an int."""

    name: str
    lo: float
    hi: float
    integer: bool = False

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        return math.isfinite(value) and self.lo <= value <= self.hi

    def check(self, value, label: str | None = None):
        """value if it lies in the range, else ValueError naming the setting and the range."""
        if self.contains(value):
            return value
        what = label or self.name
        kind = "a whole number" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{what} must be {kind}, got {value!r}")
        raise ValueError(
            f"{what} must be {kind} from {_fmt(self.lo)} to {_fmt(self.hi)}, got {value}"
        )

    def clamp(self, value: float) -> float:
        return min(max(value, self.lo), self.hi)


def _fmt(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


MAX_POINTS = 1_000_000
MAX_COORDINATE = 1e6  # |x| beyond this is not a drawable data set (and float32 loses digits)

WIDTH = Range("width", 1, 1024, integer=True)
DEPTH = Range("depth", 1, 12, integer=True)
TIME_FEATURES = Range("time_features", 1, 64, integer=True)
LR = Range("learning rate", 1e-9, 1e9)  # huge rates are allowed: watching them diverge teaches
BATCH_SIZE = Range("batch size", 2, 16384, integer=True)
COUPLED_BATCH_SIZE = Range("batch size with an OT or Sinkhorn coupling", 2, 4096, integer=True)
STEPS = Range("steps", 1, 10_000_000, integer=True)
REPORT_EVERY = Range("report_every", 1, 1_000_000, integer=True)
SEED = Range("seed", 0, 2**32 - 1, integer=True)
POLY_N = Range("polynomial exponent n", 0.1, 10.0)
SIGMA_MIN = Range("sigma_min", 0.0, 0.5)
POINTS = Range("point count", 1, MAX_POINTS, integer=True)
SAMPLES = Range("sample count", 1, MAX_POINTS, integer=True)
SOLVER_STEPS = Range("solver steps", 1, 10_000, integer=True)
PARTICLES = Range("particles", 0, 100_000, integer=True)
COORDINATE = Range("coordinate", -MAX_COORDINATE, MAX_COORDINATE)
CAMERA_HALF = Range("camera.half", 1e-6, MAX_COORDINATE)
MAX_NAME = 1024  # characters of a name a file gives (a data set's origin)

MAX_CHECKPOINT_BYTES = 512 * 2**20  # the largest valid one (1024 x 12, 2 x 1e6 points) ~ 70 MB
MAX_TEXT_BYTES = 128 * 2**20  # 1e6 lines of two full-precision numbers fit in ~40 MB


#: Data points x drawn source points: the exact marginal of a drawn source sums over these
#: pairs. Measured (a 2-frame 320x240 export, 2 cores): 1e6 pairs 0.6 GB, 1e7 0.9 GB and
#: 46 s, 3e7 1.2 GB and 3 min, 1e8 past 3 GB (1e9, 1000 x 1e6, reached 22 GB).
#: The source's own size counts too: 30 data x 1e6 source points (3e7 pairs) ran out of
#: 4 GB of address space (1.9 GB resident) after 4.5 min.
MAX_PAIRS = 30_000_000
MAX_SOURCE_POINTS = 30_000
PAIRS_MEMORY = "about 1.5 GB"


def check_pairs(n_data: int, n_source: int | None) -> None:
    """ValueError when a drawn source of n_source points is larger than MAX_SOURCE_POINTS or
    makes more than MAX_PAIRS pairs with n_data data points (the exact marginal's memory
    and time grow with both)."""
    if n_source and n_source > MAX_SOURCE_POINTS:
        raise ValueError(
            f"a drawn source of {n_source:,} points is more than the {MAX_SOURCE_POINTS:,} "
            f"the exact fields handle within {PAIRS_MEMORY}; use fewer points (or the "
            "Gaussian source)"
        )
    if not n_source or n_data * n_source <= MAX_PAIRS:
        return
    raise ValueError(
        f"{n_data:,} data points with {n_source:,} drawn source points make "
        f"{n_data * n_source:.1e} pairs, more than the {MAX_PAIRS:.0e} the exact fields "
        f"handle within {PAIRS_MEMORY}; use fewer points (or the Gaussian source)"
    )


def batch_size_range(coupling: str) -> Range:
    """The batch size range for a coupling: OT and Sinkhorn cost n^2 memory."""
    return BATCH_SIZE if coupling == "independent" else COUPLED_BATCH_SIZE
