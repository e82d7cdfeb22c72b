"""Lessons as data: the app's lesson loads, each step sets up the Session its file
describes, and a teacher's mistakes are refused in one line naming the file and step."""

import json

import numpy as np
import pytest

from flowviz import lessons
from flowviz.core.frames import typical_point
from flowviz.session import Session


def test_the_default_lesson_walks_the_argument():
    lesson = lessons.load(lessons.DEFAULT)
    assert len(lesson.steps) >= 7
    titles = [lessons.plain(s.title) for s in lesson.steps]
    assert titles[0] == "Data and noise"
    said = " ".join(lessons.plain(s.title + " " + s.text) for s in lesson.steps).lower()
    ideas = ("noise", "conditional path", "marginal path", "posterior", "intractable")
    ideas += ("constant", "solver steps", "cosine", "vp", "polynomial", "minibatch ot")
    for idea in ideas:
        assert idea in said, idea
    for step in lesson.steps:
        assert 80 < len(lessons.plain(step.text)) < 800, step.title
        assert 2 <= lessons.plain(step.text).count(". ") + 1 <= 5, step.title


def test_each_step_sets_the_session_the_file_describes():
    lesson = lessons.load(lessons.DEFAULT)
    raw = json.loads(lessons.DEFAULT.read_text())["steps"]
    s = Session()
    for step, d in zip(lesson.steps, raw, strict=True):
        s = step.apply_to(s)
        want = d.get("session", {})
        for key, value in want.items():
            if isinstance(value, dict):
                for field, v in value.items():
                    assert getattr(getattr(s, key), field) == v, (step.title, key, field)
            elif key == "views":
                assert list(s.views) == value
            else:
                assert getattr(s, key) == value, (step.title, key)
        if "select typical" in d.get("actions", []):
            assert s.selected == typical_point(s.data) >= 0
        for a in d.get("actions", []):
            if a.startswith("train "):
                assert s.training.steps == int(a.split()[1])
            if a.startswith("preset "):
                _, name, count = a.split()
                assert s.origin == name and len(s.data) == int(count) == s.count
    assert s.training.coupling == "ot" and s.learned.steps == 3


def test_a_step_keeps_what_it_does_not_name():
    step = lessons.parse(
        {"format": "flowviz.lesson", "version": 1, "title": "x",
         "steps": [{"title": "a", "text": "b", "session": {"t": 0.25}}]}
    ).steps[0]  # fmt: skip
    base = Session(data=np.ones((3, 2)), selected=2).patch(display={"particles": 77})
    out = step.apply_to(base)
    assert out.t == 0.25 and out.selected == 2 and out.display.particles == 77
    assert out.data is base.data


def test_actions_parse():
    p = lessons.parse_action
    assert p("train 1500") == lessons.Action("train", (1500,))
    assert p("Train 20 steps") == lessons.Action("train", (20,))
    assert p("probe 0.5, -1") == lessons.Action("probe", (0.5, -1.0))
    assert p("preset moons") == lessons.Action("preset", ("moons", None))
    assert p("select typical z") == lessons.Action("select")
    assert p("reset weights") == lessons.Action("reset")


def _lesson(**step):
    base = {"title": "t", "text": "some text", "session": {}, "actions": []}
    return {"format": "flowviz.lesson", "version": 1, "title": "L", "steps": [{**base, **step}]}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"format": "other"}), "not a flowviz lesson"),
        (json.dumps({**_lesson(), "version": 2}), "newer flowviz"),
        (json.dumps({**_lesson(), "steps": []}), "list of steps"),
        (json.dumps(_lesson(title="")), "step 1: the title"),
        (json.dumps(_lesson(actions=["dance"])), "step 1: unknown action 'dance'"),
        (json.dumps(_lesson(actions=["train lots"])), "not a whole number"),
        (json.dumps(_lesson(actions=["train 0"])), "train steps"),
        (json.dumps(_lesson(actions=["preset blob"])), "unknown preset"),
        (json.dumps(_lesson(actions=["probe 1"])), "probe needs"),
        (json.dumps(_lesson(session={"tt": 1})), "no field 'tt'"),
        (json.dumps(_lesson(session={"display": {"particle": 3}})), "no field 'particle'"),
        (json.dumps(_lesson(session={"display": {"particles": -3}})), "particles"),
        (json.dumps(_lesson(session={"path": {"name": "warp"}})), "unknown path"),
        (json.dumps(_lesson(session={"views": ["left"]})), "views"),
        (json.dumps(_lesson(session={"data": []})), "no field 'data'"),
        (json.dumps(_lesson(extra=1)), "no field 'extra'"),
        (json.dumps({**_lesson(), "display": {"arrow": 1}}), "lesson's display has no field"),
        (json.dumps({**_lesson(), "display": {"trails": 99}}), "lesson's display: display trails"),
        (json.dumps({**_lesson(), "display": []}), "display must be a mapping"),
    ],
)
def test_bad_lessons_are_refused_naming_file_and_step(tmp_path, content, words):
    path = tmp_path / "mine.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        lessons.load(path)
    msg = str(info.value)
    assert msg.startswith("mine.json: ") and "\n" not in msg
    assert words in msg, msg


def test_missing_lesson_file(tmp_path):
    with pytest.raises(ValueError, match="cannot be read"):
        lessons.load(tmp_path / "none.json")


def test_every_step_opened_directly_shows_what_it_is_about():
    """Not walked to: no z was selected before, the views are others; each step still
    selects a z for its Conditional view and shows the Marginal view its probe draws on."""
    lesson = lessons.load(lessons.DEFAULT)
    moons = Session(data=np.random.default_rng(0).standard_normal((50, 2)), views=("learned",))
    for k, step in enumerate(lesson.steps, 1):
        s = step.apply_to(moons)
        if "conditional" in s.views:
            assert 0 <= s.selected < len(s.data), k
        if any(a.kind == "probe" for a in step.actions):
            assert "marginal" in s.views, k
    assert any("conditional" in step.apply_to(moons).views for step in lesson.steps)


def test_opened_directly_a_step_keeps_a_selected_z_and_adds_the_probes_view():
    lesson = lessons.parse(
        _lesson(session={"views": ["conditional", "learned"]}, actions=["probe 0,0"])
    )
    step = lesson.steps[0]
    base = Session(data=np.ones((3, 2)), selected=2)
    assert step.apply_to(base).selected == 2  # the teacher's z stays
    assert step.apply_to(base).views == ("conditional", "marginal", "learned")
    assert step.apply_to(base.patch(selected=-1)).selected == typical_point(base.data)
    assert step.apply_to(Session(data=np.zeros((0, 2)))).selected == -1  # no data: no z


def test_a_steps_display_is_its_own_and_leaving_gives_back_what_the_lesson_set():
    """Each step's display goes onto the lesson's base (the display it began with and the
    lesson's own "display"), so one step's particles or layers do not reach the next;
    given_back names the settings the lesson changed, never the data."""
    lesson = lessons.parse(
        {"format": "flowviz.lesson", "version": 1, "title": "L", "display": {"reverse": False},
         "steps": [
             {"title": "a", "text": "b",
              "session": {"display": {"particles": 40, "arrows": "off"}}},
             {"title": "c", "text": "d", "session": {"t": 0.5, "training": {"width": 16}},
              "actions": ["preset moons 30"]},
         ]}
    )  # fmt: skip
    before = Session(data=np.ones((3, 2))).patch(display={"particles": 900, "reverse": True})
    base = lesson.base_display(before)
    assert base.particles == 900 and base.reverse is False
    one = lesson.steps[0].apply_to(before, display=base)
    assert one.display.particles == 40 and one.display.arrows == "off" and not one.display.reverse
    two = lesson.steps[1].apply_to(one, display=base)
    assert two.display == base and two.t == 0.5 and two.training.width == 16
    back = lessons.given_back(lesson, before=before, now=two)
    assert back == {"display": before.display, "training": before.training}
    assert lessons.given_back(lesson, before=before, now=before) == {}
