"""Lessons: a guided walk through flow matching, as data files a teacher can write.

A lesson file is JSON (at most 1 MB):

    {"format": "flowviz.lesson", "version": 1, "title": "...",
     "display": {... the display every step starts from, e.g. "reverse": false},
     "steps": [{"title": "...", "text": "two or three sentences (Qt rich text allowed)",
                "session": {... a partial Session.to_dict(): t, selected, path, display,
                            learned, training, camera, views ...},
                "actions": ["preset moons 500", "select typical", "train 1500", "play"]}]}

A step's "session" is applied like Session.from_dict(d, base=current): the fields it names
change, the others stay -- except "display", which belongs to one step: each step starts
from the display the lesson began with, patched by the lesson's own "display"
(Lesson.base_display), so what a step turns on for its text to be seen (fewer particles
so a heatmap shows, arrows off so circles stand out) is gone at the next step; and a
step that does not probe clears the probe. Leaving
the lesson gives back every setting its steps changed (given_back: SETTINGS, not the
data) as one undoable edit. A step opened directly (not walked to) still shows what it is
about: with the Conditional view it selects a typical z when none is selected, and a
probe adds the Marginal view if the views lack it. Actions that decide the Session
(preset, select typical, train N: its training.steps) are folded into the same change, so
one step is one undoable edit; the others run after it in their order. Actions:

    preset NAME [COUNT]   replace the data by a preset (core.data.PRESETS; COUNT points)
    select typical        select a typical data point z (on the shape, not an outlier)
    train N               set training steps to N and train (continues from the weights)
    stop                  stop training          reset weights   back to the untrained net
    play / pause          the animation          probe X,Y       the Marginal view's probe
                                                 (for this step only)

Loading checks everything (unknown keys and values, actions, counts) and raises one
ValueError naming the file and the step, so a teacher's typo never half-applies. No Qt and
no torch here (a preset imports core.data, and torch, only when a step is applied).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from flowviz import session as session_mod
from flowviz.core import choices, limits
from flowviz.core import text as text_rule
from flowviz.session import Camera, Display, LearnedOptions, PathSpec, Session, TrainSettings

FORMAT = "flowviz.lesson"
VERSION = 1
MAX_BYTES = 1 << 20
MAX_STEPS = 200
ASSETS = Path(__file__).resolve().parent.parent / "assets" / "lessons"
#: The lesson of the app (the argument of L_FM = L_CFM + C, step by step).
DEFAULT = ASSETS / "flow-matching.json"
FILTER = "flowviz lessons (*.json);;All files (*)"
#: Session fields a step may set (points come from actions, not from the lesson text).
FIELDS = ("origin", "count", "t", "selected", "path", "display", "learned", "training",
          "camera", "views")  # fmt: skip
#: The parts of a Session a step may give as a mapping of some of their fields.
PARTS = {"path": PathSpec, "display": Display, "learned": LearnedOptions,
         "training": TrainSettings, "camera": Camera}  # fmt: skip
#: What leaving a lesson gives back (given_back): the settings, not the data or the time.
SETTINGS = ("path", "display", "learned", "training", "camera", "views")
PRESETS = ("moons", "eight-gaussians", "checkerboard", "spirals", "circles", "swiss-roll")


@dataclass(frozen=True)
class Action:
    """kind: play, pause, train, stop, reset, preset, select, probe; args by kind: train
    (steps,), preset (name, count or None), probe (x, y)."""

    kind: str
    args: tuple = ()

    def __str__(self) -> str:
        return " ".join([self.kind, *map(str, self.args)])


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    session: dict[str, Any]
    actions: tuple[Action, ...] = ()

    def apply_to(self, session: Session, *, display: Display | None = None) -> Session:
        """The Session this step sets up from session: its patch plus the actions that
        change the Session (preset data, a typical z, training steps). display: what this
        step's display patch goes onto (Lesson.base_display: a step's display is its own);
        None: session's. ValueError on a value the Session refuses (loading already
        checked against the defaults)."""
        if display is not None:
            session = session.patch(display=display)
        for a in self.actions:
            if a.kind == "preset":
                from flowviz.core import data

                name, count = a.args
                n = count or session.count
                limits.check_pairs(n, None if session.source is None else len(session.source))
                pts = data.preset(name, n, seed=0).numpy()
                session = session.patch(data=pts, origin=name, count=n, selected=-1)
        d = {"format": session_mod.FORMAT, "version": session_mod.VERSION, **self.session}
        session = Session.from_dict(d, base=session)
        for a in self.actions:
            if a.kind == "select":
                session = session.patch(selected=_typical(session.data))
            elif a.kind == "train":
                session = session.patch(training={"steps": a.args[0]})
        return _ready_to_show(session, probe=self.probes)

    @property
    def probes(self) -> bool:
        """Whether this step probes the Marginal view (else the probe is cleared)."""
        return any(a.kind == "probe" for a in self.actions)

    def runtime_actions(self) -> tuple[Action, ...]:
        """The actions a window performs after applying the Session (in order)."""
        return tuple(a for a in self.actions if a.kind not in ("preset", "select"))


@dataclass(frozen=True)
class Lesson:
    title: str
    steps: tuple[Step, ...]
    source: str = ""  # the file it came from
    display: dict[str, Any] = field(default_factory=dict)  # what every step starts from

    def base_display(self, start: Session) -> Display:
        """The display each step's own display patch goes onto: the one the lesson began
        with (start's), patched by the lesson's "display"."""
        return start.display if not self.display else start.patch(display=self.display).display


def given_back(lesson: Lesson, *, before: Session, now: Session) -> dict[str, Any]:
    """The Session patch that leaving lesson gives back: each of SETTINGS that one of its
    steps names (a preset's data and the time stay), at its value before the lesson."""
    named = {key for step in lesson.steps for key in step.session}
    if lesson.display:
        named.add("display")
    if any(a.kind == "train" for step in lesson.steps for a in step.actions):
        named.add("training")  # its step count
    return {
        key: getattr(before, key)
        for key in SETTINGS
        if key in named and getattr(before, key) != getattr(now, key)
    }


def load(path: str | os.PathLike) -> Lesson:
    """The lesson in the JSON file at path; ValueError "NAME: problem" if unusable."""
    path = Path(path)
    name = text_rule.name(path.name)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ValueError(f"{name}: is not a regular file")
        if size > MAX_BYTES:
            raise ValueError(f"{name}: is too large for a lesson ({size} bytes)")
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        d = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{name}: not a lesson file (invalid JSON: {str(exc)[:120]})") from None
    try:
        return parse(d, source=str(path))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def parse(d: Any, *, source: str = "") -> Lesson:
    """The Lesson of a loaded JSON value; ValueError naming the step and the problem."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"not a flowviz lesson (its format is not {FORMAT!r})")
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"the lesson version {version!r} is malformed")
    if version > VERSION:
        raise ValueError(f"written for a newer flowviz (lesson format {version}; reads {VERSION})")
    _known(d, {"format", "version", "title", "steps", "description", "display"}, "the lesson")
    title = _text(d.get("title"), "the lesson title")
    display = d.get("display", {})
    if not isinstance(display, dict):
        raise ValueError("the lesson's display must be a mapping of display settings")
    _known(display, {f.name for f in fields(Display)}, "the lesson's display")
    try:
        Display(**display)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the lesson's display: {exc}") from None
    steps = d.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValueError("a lesson needs a list of steps")
    if len(steps) > MAX_STEPS:
        raise ValueError(f"a lesson has at most {MAX_STEPS} steps, this one {len(steps)}")
    out = []
    for k, step in enumerate(steps, 1):
        try:
            out.append(_step(step))
        except ValueError as exc:
            raise ValueError(f"step {k}: {exc}") from None
    return Lesson(title=title, steps=tuple(out), source=source, display=dict(display))


def _step(d: Any) -> Step:
    if not isinstance(d, dict):
        raise ValueError("a step must be a mapping with title, text, session, actions")
    _known(d, {"title", "text", "session", "actions"}, "a step")
    title = _text(d.get("title"), "the title")
    text = _text(d.get("text"), "the text")
    patch = d.get("session", {})
    if not isinstance(patch, dict):
        raise ValueError("session must be a mapping of Session fields")
    _known(patch, set(FIELDS), "session")
    for part, cls in PARTS.items():
        if part in patch:
            if not isinstance(patch[part], dict):
                raise ValueError(f"session {part} must be a mapping")
            _known(patch[part], {f.name for f in fields(cls)}, f"session {part}")
    if "views" in patch and not (
        isinstance(patch["views"], list) and set(patch["views"]) <= set(choices.VIEWS)
    ):
        raise ValueError(f"session views must be a list of {', '.join(choices.VIEWS)}")
    full = {"format": session_mod.FORMAT, "version": session_mod.VERSION, **patch}
    try:
        Session.from_dict(full)  # every value checked now, not when a class is watching
    except ValueError as exc:
        raise ValueError(f"session: {exc}") from None
    actions = d.get("actions", [])
    if not isinstance(actions, list):
        raise ValueError("actions must be a list of texts such as 'train 1500'")
    return Step(title, text, patch, tuple(parse_action(a) for a in actions))


def parse_action(text: Any) -> Action:
    """An Action from its text ("train 1500", "probe 0.5,-1"); ValueError if unknown."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"an action must be a text, got {text!r}")
    words = text.strip().lower().split()
    head, rest = words[0], words[1:]
    if head in ("play", "pause", "stop") and not rest:
        return Action(head)
    if words == ["reset", "weights"]:
        return Action("reset")
    if words == ["select", "typical"] or words == ["select", "typical", "z"]:
        return Action("select")
    if head == "train" and len(rest) in (1, 2) and rest[1:] in ([], ["steps"]):
        steps = _int(rest[0], text)
        limits.STEPS.check(steps, "train steps")
        return Action("train", (steps,))
    if head == "preset" and len(rest) in (1, 2):
        if rest[0] not in PRESETS:
            raise ValueError(f"unknown preset {rest[0]!r} in {text!r}; one of {', '.join(PRESETS)}")
        count = _int(rest[1], text) if len(rest) == 2 else None
        if count is not None:
            limits.POINTS.check(count, "preset count")
        return Action("preset", (rest[0], count))
    if head == "probe" and rest:
        try:
            x, y = (float(v) for v in "".join(rest).split(","))
        except ValueError:
            raise ValueError(f"probe needs a point 'probe x,y', got {text!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"probe needs a finite point, got {text!r}")
        return Action("probe", (x, y))
    raise ValueError(
        f"unknown action {text!r}; use play, pause, train N, stop, reset weights, "
        "preset NAME [COUNT], select typical, probe X,Y"
    )


def plain(text: str) -> str:
    """Rich text as plain text (an undo label, a status line): tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def _int(word: str, text: str) -> int:
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"{word!r} is not a whole number in {text!r}") from None


def _text(value: Any, what: str) -> str:
    """Non-empty text as the lesson panel may show it: core.text.lesson_html keeps a few
    inline tags (sub, sup, b, i, em, br) and shows every other tag as written."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be non-empty text")
    return text_rule.lesson_html(value.strip())


def _known(d: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(str(k) for k in d if k not in allowed)
    if unknown:
        raise ValueError(
            f"{what} has no field {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def _ready_to_show(session: Session, *, probe: bool) -> Session:
    """What the step's views need when it is opened directly, not walked to: the
    Conditional view a selected z (a typical one when none is), the probe the Marginal
    view (its weights are drawn there)."""
    if probe and "marginal" not in session.views:
        session = session.patch(views=(*session.views, "marginal"))
    if "conditional" in session.views and session.selected < 0 and len(session.data):
        session = session.patch(selected=_typical(session.data))
    return session


def _typical(points: np.ndarray) -> int:
    from flowviz.core.frames import typical_point

    return typical_point(points)
