"""Session: an immutable description of what is shown, round-tripping exactly, no Qt/torch."""

import base64
import json
import subprocess
import sys

import numpy as np
import pytest

from flowviz.session import DRAWN_SOURCE_SIGMA, FOLLOW, PathSpec, Session


def _session(seed=0) -> Session:
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((257, 2)).astype(np.float32)
    data[0] = (-0.0, np.float32(1e-38))  # a negative zero and a subnormal survive too
    return Session(
        data=data,
        source=rng.standard_normal((5, 2)),
        origin="drawn",
        count=257,
        path=PathSpec(name="polynomial", sigma_min=0.125, n=3.5),
        t=0.3141592653589793,
        selected=17,
    ).patch(
        display={
            "particles": 12345,
            "arrows": "streamlines",
            "reverse": True,
            "speed": 0.7,
            "layout": "grid",
        },
        learned={"solver": "rk4", "steps": 7, "error_map": False},
        training={"width": 64, "depth": 5, "lr": 3.3e-4, "steps": None, "coupling": "ot"},
        camera={"center": (0.25, -1.5), "half": 2.0},
        views=("marginal", "learned"),
    )


def test_round_trip_through_json_is_exact_and_points_bitwise():
    s = _session()
    back = Session.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and not back.changed(s)
    assert back.data.tobytes() == s.data.tobytes() and back.source.tobytes() == s.source.tobytes()
    assert np.signbit(back.data[0, 0])  # -0.0 stayed negative
    assert back.training.steps is None and back.camera.center == (0.25, -1.5)
    assert back.display.layout == "grid"
    assert not back.data.flags.writeable


def test_settings_dict_leaves_out_the_points_and_keeps_the_rest():
    s = _session()
    d = s.to_dict(points=False)
    assert "data" not in d and "source" not in d
    back = Session.from_dict(d, base=Session(data=s.data, source=s.source))
    assert back == s


def test_patch_returns_a_new_session_and_reports_what_changed():
    s = _session()
    p = s.patch(t=0.5, display={"trails": 0})
    assert s.t == pytest.approx(0.3141592653589793) and s.display.trails == 6
    assert p.changed(s) == {"t", "display"}
    assert p.display.particles == s.display.particles  # untouched fields kept


def test_a_drawn_source_gets_a_width_and_a_selection_stays_in_range():
    s = Session(data=np.zeros((3, 2)), selected=2)
    assert s.patch(source=np.ones((4, 2))).path.sigma_min == DRAWN_SOURCE_SIGMA
    assert s.patch(source=np.zeros((0, 2))).source is None  # empty: the Gaussian
    assert s.patch(data=np.zeros((2, 2))).selected == -1
    assert s.patch(t=7).t == 1.0 and s.patch(t=-1).t == 0.0


@pytest.mark.parametrize(
    "patch, words",
    [
        ({"path": {"name": "bogus"}}, "unknown path"),
        ({"display": {"particles": -5}}, "particles"),
        ({"display": {"nope": 1}}, "no setting 'nope'"),
        ({"display": {"layout": "spiral"}}, "unknown layout"),
        ({"training": {"coupling": "magic"}}, "unknown coupling"),
        ({"learned": {"steps": 0}}, "solver steps"),
        ({"camera": {"half": float("nan")}}, "camera"),
        ({"colour": "red"}, "no setting 'colour'"),
        ({"t": float("nan")}, "t must be"),
    ],
)
def test_bad_patches_say_which_setting(patch, words):
    with pytest.raises(ValueError, match=words):
        Session().patch(**patch)


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda d: d.update(format="something else"), "not a flowviz session"),
        (lambda d: d.update(version=99), "newer flowviz"),
        (lambda d: d["data"].update(base64="!!!"), "float32"),
        (lambda d: d["data"].update(shape=[3, 3]), "float32"),
        (lambda d: d["display"].update(particles="many"), "whole number"),
        (lambda d: d["learned"].update(error_map=1), "true or false"),
        (lambda d: d.update(display=[1, 2]), "mapping"),
        (lambda d: d["display"].update(layout="diagonal"), "unknown layout"),
        (lambda d: d["display"].update(layout=2), "text"),
    ],
)
def test_from_dict_refuses_foreign_newer_or_malformed_input(mutate, words):
    d = _session().to_dict()
    mutate(d)
    with pytest.raises(ValueError, match=words):
        Session.from_dict(d)


def test_a_session_saved_before_the_layout_choice_loads_with_auto():
    d = _session().to_dict()
    del d["display"]["layout"]
    back = Session.from_dict(json.loads(json.dumps(d)))
    assert back.display.layout == "auto" and back.display.particles == 12345


def test_nan_points_are_refused():
    d = _session().to_dict()
    bad = np.array([[np.nan, 0.0]], "<f4")
    d["source"] = {"dtype": "float32", "shape": [1, 2], "base64": base64.b64encode(bad).decode()}
    with pytest.raises(ValueError, match="NaN"):
        Session.from_dict(d)


def test_train_config_and_settings_of_are_inverse():
    from flowviz.session import settings_of, train_config

    s = _session()
    config = train_config(s, device="cpu")
    assert (config.model.width, config.model.depth, config.lr) == (64, 5, 3.3e-4)
    assert (config.path, config.sigma_min, config.poly_n) == ("polynomial", 0.125, 3.5)
    patch = settings_of(config, device="auto")
    back = s.patch(**patch)
    assert back.training == s.training.__class__(**{**vars(s.training), "path": FOLLOW})
    assert back.path == s.path
    assert train_config(back, device="cpu") == config


def test_importing_session_loads_neither_qt_nor_torch():
    code = (
        "import sys, flowviz.session; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'PySide6', 'pyqtgraph'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
