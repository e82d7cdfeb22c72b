"""Session: everything the user set up, as one immutable value, outside the widgets.

The window, an exporter, a saved session file and a lesson step all describe what is on
screen with a Session, so none of them has to drive a live window. A change is a patch:
`session.patch(t=0.5, display={"particles": 10000})` returns a new Session; the window's
AppState holds the current one and tells its widgets what changed.

No Qt and no torch here (`import flowviz.session` stays cheap; a test checks it): the
path is a PathSpec (name, sigma_min, n) that core.paths turns into math when torch has
loaded. Points are read-only float32 (n, 2) arrays; to_dict stores them as base64 of
their bytes, so from_dict(to_dict(s)) gives them back bit for bit.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from flowviz.core import choices, limits, text
from flowviz.core.frames import LIM
from flowviz.core.layout import LAYOUTS

if TYPE_CHECKING:
    from flowviz.core.training import TrainConfig

FORMAT = "flowviz.session"
VERSION = 1
#: sigma_min given to a drawn source that had none: its mixture needs a width > 0.
DRAWN_SOURCE_SIGMA = 0.05


def frozen_points(points) -> np.ndarray:
    """A read-only float32 (n, 2) copy (the same array when it already is one)."""
    if (
        isinstance(points, np.ndarray)
        and points.dtype == np.float32
        and points.ndim == 2
        and points.shape[1] == 2
        and not points.flags.writeable
    ):
        return points
    arr = np.array(points, dtype=np.float32).reshape(-1, 2)
    arr.flags.writeable = False
    return arr


EMPTY = frozen_points(np.zeros((0, 2)))


def _choice(value: str, allowed, what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class PathSpec:
    """The probability path by name: sigma_min (width kept at t = 1) and n (the exponent
    of the polynomial path; the other paths ignore it)."""

    name: str = "condot"
    sigma_min: float = 0.0
    n: float = 2.0

    def __post_init__(self):
        _choice(self.name, choices.PATHS, "path")
        if not (0.0 <= self.sigma_min < 1.0):
            raise ValueError(f"sigma_min must be in [0, 1), got {self.sigma_min}")
        if not (math.isfinite(self.n) and self.n > 0):
            raise ValueError(f"the polynomial exponent n must be a positive number, got {self.n}")


@dataclass(frozen=True)
class Display:
    """How the views draw. arrows: choices.ARROWS; heat: choices.HEAT; arrow_res: arrows
    per side; particles: count; trails: steps of trail (0 = none); steps: time steps of the
    cached path (t_k = k / steps); reverse: particles start at the data (t = 1) and flow back
    to noise; loop / speed: playback (speed 1 = the whole path in 4 s); layout: how the views
    share the window and an exported frame (core.layout.LAYOUTS: auto, row, grid)."""

    arrows: str = "length"
    heat: str = "density"
    arrow_res: int = 21
    particles: int = 3000
    trails: int = 6
    steps: int = 100
    reverse: bool = False
    show_data: bool = True
    loop: bool = True
    speed: float = 1.0
    layout: str = "auto"

    def __post_init__(self):
        _choice(self.arrows, choices.ARROWS, "arrow mode")
        _choice(self.heat, choices.HEAT, "heat layer")
        _choice(self.layout, LAYOUTS, "layout")
        for name, lo, hi in (
            ("arrow_res", 4, 64),
            ("particles", 0, 100_000),
            ("trails", 0, 60),
            ("steps", 2, 1000),
        ):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"display {name} must be in [{lo}, {hi}], got {v}")
        if not (math.isfinite(self.speed) and 0.01 <= self.speed <= 100):
            raise ValueError(f"playback speed must be in [0.01, 100], got {self.speed}")


@dataclass(frozen=True)
class LearnedOptions:
    """How the Learned view draws v_theta: its particles' solver and step count (few steps
    show the discretisation error) and whether the heat layer is the error map."""

    solver: str = "midpoint"
    steps: int = 20
    error_map: bool = True

    def __post_init__(self):
        _choice(self.solver, choices.SOLVERS, "solver")
        if not 1 <= self.steps <= 1000:
            raise ValueError(f"solver steps must be in [1, 1000], got {self.steps}")


#: TrainSettings.path value meaning "the path the window shows".
FOLLOW = ""


@dataclass(frozen=True)
class TrainSettings:
    """The Training dock's values. steps None = run until stopped; path FOLLOW = the
    session's path (else a path name, with the session's sigma_min and n); device one of
    choices.DEVICES. core.training.config_for maps them to a TrainConfig (validated there)."""

    width: int = 128
    depth: int = 3
    activation: str = "silu"
    lr: float = 2e-3
    batch_size: int = 256
    steps: int | None = 3000
    coupling: str = "independent"
    path: str = FOLLOW
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        _choice(self.activation, choices.ACTIVATIONS, "activation")
        _choice(self.coupling, choices.COUPLINGS, "coupling")
        _choice(self.device, choices.DEVICES, "device")
        if self.path != FOLLOW:
            _choice(self.path, choices.PATHS, "path")


@dataclass(frozen=True)
class Camera:
    """The square every view shows: centre (x, y) and half-width, in data units."""

    center: tuple[float, float] = (0.0, 0.0)
    half: float = LIM

    def __post_init__(self):
        object.__setattr__(self, "center", (float(self.center[0]), float(self.center[1])))
        if not (math.isfinite(self.half) and self.half > 0) or not all(
            math.isfinite(c) for c in self.center
        ):
            raise ValueError(f"camera must be finite with a positive half-width, got {self}")


_PARTS = {
    "path": PathSpec,
    "display": Display,
    "learned": LearnedOptions,
    "training": TrainSettings,
    "camera": Camera,
}


@dataclass(frozen=True, eq=False)
class Session:
    """What is on screen. data: (N, 2) target points; source: None (standard Gaussian) or
    (M, 2) drawn source points; origin: where the data came from (a preset name, a file
    name, "drawn"), count: points of a preset; t in [0, 1]; selected: the index of the data
    point z the Conditional view follows, or -1; views: the views shown, in order.
    Equality compares points by value."""

    data: np.ndarray = field(default_factory=lambda: EMPTY)
    source: np.ndarray | None = None
    origin: str = ""
    count: int = 1000
    path: PathSpec = PathSpec()
    t: float = 0.0
    selected: int = -1
    display: Display = Display()
    learned: LearnedOptions = LearnedOptions()
    training: TrainSettings = TrainSettings()
    camera: Camera = Camera()
    views: tuple[str, ...] = choices.VIEWS

    def __post_init__(self):
        set_ = object.__setattr__
        limits.POINTS.check(self.count, "count")
        set_(self, "data", frozen_points(self.data))
        src = self.source
        set_(self, "source", None if src is None or len(src) == 0 else frozen_points(src))
        t = float(self.t)
        if not math.isfinite(t):
            raise ValueError(f"t must be a number in [0, 1], got {self.t}")
        set_(self, "t", min(max(t, 0.0), 1.0))
        if not 0 <= self.selected < len(self.data):
            set_(self, "selected", -1)
        set_(self, "views", tuple(v for v in choices.VIEWS if v in self.views))
        if self.source is not None and self.path.sigma_min <= 0:
            set_(self, "path", replace(self.path, sigma_min=DRAWN_SOURCE_SIGMA))

    def patch(self, **changes) -> Session:
        """A new Session with `changes`; a part (path, display, ...) may be given as a dict
        of the fields to change. Raises ValueError (naming the field) on a bad value."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"a session has no setting {sorted(unknown)[0]!r}")
        for name, cls in _PARTS.items():
            value = changes.get(name)
            if isinstance(value, dict):
                changes[name] = _part(cls, getattr(self, name), value, name)
        return replace(self, **changes)

    def changed(self, other: Session) -> frozenset[str]:
        """Names of the fields that differ from other (points by identity or value)."""
        out = set()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("data", "source"):
                same = a is b or (a is not None and b is not None and np.array_equal(a, b))
            else:
                same = a == b
            if not same:
                out.add(f.name)
        return frozenset(out)

    def __eq__(self, other) -> bool:
        return isinstance(other, Session) and not self.changed(other)

    __hash__ = None

    # ------------------------------------------------------------ serialising

    def to_dict(self, *, points: bool = True) -> dict[str, Any]:
        """A JSON-ready dict with FORMAT and VERSION; points=False leaves out data and
        source (the window's remembered settings)."""
        d: dict[str, Any] = {"format": FORMAT, "version": VERSION}
        if points:
            d["data"] = _encode(self.data)
            d["source"] = None if self.source is None else _encode(self.source)
        d.update(origin=self.origin, count=self.count, t=self.t, selected=self.selected)
        for name in _PARTS:
            part = getattr(self, name)
            d[name] = {f.name: getattr(part, f.name) for f in fields(part)}
        d["camera"]["center"] = list(self.camera.center)
        d["views"] = list(self.views)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, base: Session | None = None) -> Session:
        """The Session of a to_dict() result; missing fields keep base's (default: the
        defaults). Every value is checked by type and against core.limits before any is
        used (FILE_RANGES): ValueError naming the field on another format, a newer version
        or a bad value, never TypeError or OverflowError."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("not a flowviz session")
        version = d.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version > VERSION:
            raise ValueError(
                f"this session was saved by a newer flowviz (format {text.name(version)}); "
                f"this one reads up to {VERSION}"
            )
        base = base or cls()
        changes: dict[str, Any] = {}
        for key in ("data", "source"):
            if key in d:
                changes[key] = None if d[key] is None else _decode(d[key], key)
        for key, kind in (("origin", str), ("count", int), ("t", float), ("selected", int)):
            if key in d:
                changes[key] = _checked(_typed(d[key], kind, key), key)
        for name in _PARTS:
            if name in d:
                if not isinstance(d[name], dict):
                    raise ValueError(f"{name} must be a mapping of settings, got {_kind(d[name])}")
                allowed = _names(_PARTS[name])
                changes[name] = {k: v for k, v in d[name].items() if k in allowed}
        if "camera" in changes and "center" in changes["camera"]:
            changes["camera"]["center"] = _center(changes["camera"]["center"])
        if "views" in d:
            changes["views"] = _views(d["views"])
        try:
            return base.patch(**changes)
        except (TypeError, IndexError, OverflowError) as exc:
            raise ValueError(f"a session value has the wrong type: {text.name(exc)}") from None


#: Ranges of what a file (session file, lesson, remembered settings) may set, checked in
#: from_dict before anything is applied. The window's own widgets have narrower ranges.
FILE_RANGES = {
    "count": limits.POINTS,
    "origin": limits.Range("origin (its length)", 0, limits.MAX_NAME, integer=True),
    "selected": limits.Range("selected", -1, limits.MAX_POINTS - 1, integer=True),
    "path.sigma_min": limits.SIGMA_MIN,
    "path.n": limits.POLY_N,
    "training.width": limits.WIDTH,
    "training.depth": limits.DEPTH,
    "training.lr": limits.LR,
    "training.batch_size": limits.BATCH_SIZE,
    "training.steps": limits.STEPS,
    "training.seed": limits.SEED,
    "camera.half": limits.CAMERA_HALF,
}


def _checked(value, key: str):
    """value if FILE_RANGES allows it for key (a text's length for origin), else ValueError."""
    rng = FILE_RANGES.get(key)
    if rng is None or value is None:
        return value
    probe = len(value) if isinstance(value, str) else value
    try:
        rng.check(probe, key)
    except ValueError:
        if isinstance(value, str):
            raise ValueError(f"{key} is {len(value)} characters long, at most {rng.hi}") from None
        raise
    return value


def _kind(value) -> str:
    """What a JSON value is, for a message (never the value itself: it may be huge)."""
    if value is None:
        return "null"
    names = {bool: "true/false", int: "a number", float: "a number", str: "text",
             list: "a list", dict: "a mapping"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _center(value) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value)
    ):
        raise ValueError(f"camera.center must be a list of two numbers, got {_kind(value)}")
    for c in value:
        limits.COORDINATE.check(c, "camera.center")
    return (float(value[0]), float(value[1]))


def _views(value) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"views must be a list of {', '.join(choices.VIEWS)}, got {_kind(value)}")
    unknown = [v for v in value if v not in choices.VIEWS]
    if unknown:
        raise ValueError(
            f"views: unknown view {text.quoted(unknown[0])}; choose from {', '.join(choices.VIEWS)}"
        )
    return tuple(value)


def train_config(session: Session, *, device: str) -> TrainConfig:
    """The TrainConfig of a Session's training settings and path: the one mapping from
    what the user set to a run (settings_of is its inverse). The path is the Session's
    unless the settings name another (then with the Session's sigma_min and n). Imports
    torch. ValueError when they do not make a valid config."""
    from flowviz.core.model import ModelConfig
    from flowviz.core.training import TrainConfig

    s, path = session.training, session.path
    return TrainConfig(
        steps=s.steps,
        batch_size=s.batch_size,
        lr=s.lr,
        path=s.path or path.name,
        sigma_min=path.sigma_min,
        poly_n=path.n,
        coupling=s.coupling,
        seed=s.seed,
        device=device,
        model=ModelConfig(width=s.width, depth=s.depth, activation=s.activation),
    )


def settings_of(config: TrainConfig, *, device: str = "auto") -> dict[str, Any]:
    """The Session patch (training settings and path) whose train_config is config: what
    loading a checkpoint sets."""
    training = TrainSettings(
        width=config.model.width,
        depth=config.model.depth,
        activation=config.model.activation,
        lr=config.lr,
        batch_size=config.batch_size,
        steps=config.steps,
        coupling=config.coupling,
        seed=config.seed,
        device=device,
    )
    path = PathSpec(name=config.path, sigma_min=config.sigma_min, n=config.poly_n)
    return {"training": training, "path": path}


def _names(cls) -> set[str]:
    return {f.name for f in fields(cls)}


def _part(cls, current, changes: dict, what: str):
    unknown = set(changes) - _names(cls)
    if unknown:
        raise ValueError(f"{what} has no setting {sorted(unknown)[0]!r}")
    typed = {}
    for f in fields(cls):
        if f.name in changes:
            kind = type(getattr(current, f.name))
            if f.name == "steps" and what == "training":
                kind = int
            key = f"{what}.{f.name}"
            typed[f.name] = _checked(_typed(changes[f.name], kind, key), key)
    return replace(current, **typed)


def _typed(value, kind, what: str):
    """value as kind (int, float, bool, str, tuple), refusing what would change meaning."""
    if value is None and what == "training.steps":
        return None  # run until stopped
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{what} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"{what} must be a whole number, got {value!r}")
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"{what} must be a number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{what} must be text, got {value!r}")
        return value
    if kind is tuple:
        return tuple(value)
    return value


def _encode(points: np.ndarray) -> dict[str, Any]:
    le = np.ascontiguousarray(points, dtype="<f4")
    return {
        "dtype": "float32",
        "shape": list(le.shape),
        "base64": base64.b64encode(le.tobytes()).decode("ascii"),
    }


def _decode(d: Any, what: str) -> np.ndarray:
    try:
        shape = tuple(int(s) for s in d["shape"])
        if d.get("dtype") != "float32" or len(shape) != 2 or shape[1] != 2:
            raise ValueError
        raw = base64.b64decode(d["base64"], validate=True)
        arr = np.frombuffer(raw, dtype="<f4").reshape(shape)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"session {what} points are not float32 (n, 2) data") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"session {what} points contain NaN or infinite values")
    return frozen_points(arr.astype(np.float32))
