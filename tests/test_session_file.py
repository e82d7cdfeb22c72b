"""Session files: exact round trip (points bitwise, settings, weights, losses), atomic
save, and refusal in one line of truncated, foreign, newer, malicious and damaged files."""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from flowviz import sessions
from flowviz.core.model import ModelConfig, build
from flowviz.core.training import TrainConfig
from flowviz.session import PathSpec, Session


def _session(source=True) -> Session:
    rng = np.random.default_rng(1)
    data = rng.standard_normal((301, 2)).astype(np.float32)
    data[0] = (-0.0, np.float32(1e-38))  # a negative zero and a subnormal survive too
    return Session(
        data=data,
        source=rng.standard_normal((7, 2)) if source else None,
        origin="drawn",
        count=301,
        path=PathSpec(name="polynomial", sigma_min=0.125, n=3.5),
        t=0.3141592653589793,
        selected=17,
    ).patch(
        display={"particles": 1234, "arrows": "streamlines", "reverse": True, "speed": 0.7},
        learned={"solver": "rk4", "steps": 7, "error_map": False},
        training={"width": 16, "depth": 2, "lr": 3.3e-4, "steps": None, "coupling": "ot"},
        camera={"center": (0.25, -1.5), "half": 2.0},
        views=("marginal", "learned"),
    )


def _trained():
    config = TrainConfig(steps=50, batch_size=32, model=ModelConfig(width=16, depth=2))
    model = build(config.model, seed=3)
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    losses = [(25, 1.5, 2.25), (50, 1.25, float("nan"))]
    return {"weights": weights, "config": config, "step": 50, "losses": losses}


def _same_trained(a, b):
    assert a["config"] == b["config"] and a["step"] == b["step"]
    assert set(a["weights"]) == set(b["weights"])
    for k in a["weights"]:
        assert a["weights"][k].numpy().tobytes() == b["weights"][k].numpy().tobytes(), k
    assert len(a["losses"]) == len(b["losses"])
    for (s1, c1, f1), (s2, c2, f2) in zip(a["losses"], b["losses"], strict=True):
        assert s1 == s2 and c1 == c2 and (f1 == f2 or (np.isnan(f1) and np.isnan(f2)))


def test_round_trip_is_exact(tmp_path):
    s, trained = _session(), _trained()
    path = tmp_path / "lesson.flowviz"
    sessions.save(path, s, trained, title="T", description="D")
    back, got = sessions.load(path)
    assert back == s and not back.changed(s)
    assert back.data.tobytes() == s.data.tobytes() and back.source.tobytes() == s.source.tobytes()
    assert np.signbit(back.data[0, 0])
    _same_trained(trained, got)
    meta = sessions.info(path)
    assert meta["title"] == "T" and meta["description"] == "D" and meta["version"] == 1


def test_without_source_or_network_and_saving_is_deterministic(tmp_path):
    s = _session(source=False)
    a, b = tmp_path / "a.flowviz", tmp_path / "b.flowviz"
    sessions.save(a, s)
    sessions.save(b, s)
    assert a.read_bytes() == b.read_bytes()
    back, trained = sessions.load(a)
    assert back == s and back.source is None and trained is None
    names = zipfile.ZipFile(a).namelist()
    assert names == ["session.json", "data.npy"]


def test_the_documented_layout(tmp_path):
    path = tmp_path / "s.flowviz"
    sessions.save(path, _session(), _trained())
    zf = zipfile.ZipFile(path)
    assert zf.namelist() == ["session.json", "data.npy", "source.npy", "weights.npz", "losses.npy"]
    meta = json.loads(zf.read("session.json"))
    assert meta["format"] == "flowviz.session-file" and meta["version"] == 1
    assert "data" not in meta["session"] and meta["trained"]["step"] == 50
    data = np.load(io.BytesIO(zf.read("data.npy")), allow_pickle=False)
    assert data.dtype == np.float32 and data.shape == (301, 2)
    w = np.load(io.BytesIO(zf.read("weights.npz")), allow_pickle=False)
    assert "net.0.weight" in w.files


def test_save_is_atomic_and_a_bad_network_writes_nothing(tmp_path):
    path = tmp_path / "s.flowviz"
    sessions.save(path, _session())
    before = path.read_bytes()
    bad = _trained()
    bad["weights"] = dict(bad["weights"])
    bad["weights"]["net.0.weight"] = bad["weights"]["net.0.weight"][:, :3]
    with pytest.raises(ValueError, match="do not fit"):
        sessions.save(path, _session(), bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.flowviz"]  # no temporary left


def _rewrite(path, out, *, drop=(), add=(), replace=None):
    """Copy the zip at path to out, leaving out / adding / replacing members."""
    replace = replace or {}
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            if item.filename in drop:
                continue
            dst.writestr(item.filename, replace.get(item.filename, src.read(item.filename)))
        for name, raw in add:
            dst.writestr(name, raw)
    return out


def _meta_with(path, **changes):
    meta = json.loads(zipfile.ZipFile(path).read("session.json"))
    meta.update(changes)
    return json.dumps(meta).encode()


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.flowviz"
    sessions.save(path, _session(), _trained())
    return path


BAD = {
    "truncated": (lambda p, o: o.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "zip"),
    "empty": (lambda p, o: o.write_bytes(b""), "empty"),
    "foreign text": (lambda p, o: o.write_text("x,y\n1,2\n"), "not a zip"),
    "foreign zip": (lambda p, o: _rewrite(p, o, drop=["session.json"]), "no session.json"),
    "other json": (
        lambda p, o: _rewrite(p, o, replace={"session.json": b'{"format": "x"}'}),
        "another format",
    ),
    "newer": (
        lambda p, o: _rewrite(p, o, replace={"session.json": _meta_with(p, version=99)}),
        "newer flowviz",
    ),
    "newer session": (
        lambda p, o: _rewrite(
            p,
            o,
            replace={
                "session.json": _meta_with(p, session={"format": "flowviz.session", "version": 7})
            },
        ),
        "newer flowviz",
    ),
    "traversal": (lambda p, o: _rewrite(p, o, add=[("../evil.npy", b"x")]), "unsafe"),
    "absolute": (lambda p, o: _rewrite(p, o, add=[("/etc/evil", b"x")]), "unsafe"),
    "pickle member": (lambda p, o: _rewrite(p, o, add=[("x.pkl", b"\x80\x04.")]), "unexpected"),
    "pickled points": (
        lambda p, o: _rewrite(
            p, o, replace={"data.npy": _npy(np.array([[object(), 1]], dtype=object))}
        ),
        "pickled",
    ),
    "pickled weights": (
        lambda p, o: _rewrite(p, o, replace={"weights.npz": _npz_with_object()}),
        "pickled",
    ),
    "nan points": (
        lambda p, o: _rewrite(
            p, o, replace={"data.npy": _npy(np.array([[0, np.nan]], np.float32))}
        ),
        "not finite",
    ),
    "float64 points": (
        lambda p, o: _rewrite(p, o, replace={"data.npy": _npy(np.zeros((3, 2)))}),
        "float64",
    ),
    "bad settings": (
        lambda p, o: _rewrite(
            p,
            o,
            replace={
                "session.json": _meta_with(
                    p, session={"format": "flowviz.session", "version": 1, "t": "soon"}
                )
            },
        ),
        "settings are invalid",
    ),
    "missing weights": (lambda p, o: _rewrite(p, o, drop=["weights.npz"]), "weights"),
    "not json": (lambda p, o: _rewrite(p, o, replace={"session.json": b"{nope"}), "JSON"),
}


def _npz_with_object():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("net.0.weight.npy", _npy(np.array([object()], dtype=object)))
    return buf.getvalue()


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_files_are_refused_in_one_line_naming_the_file(good, tmp_path, kind):
    make, words = BAD[kind]
    out = tmp_path / "bad.flowviz"
    make(good, out)
    with pytest.raises(ValueError) as info:
        sessions.load(out)
    msg = str(info.value)
    assert msg.startswith("bad.flowviz: ") and "\n" not in msg
    assert words.lower() in msg.lower(), msg


def test_a_huge_declared_size_is_refused_before_reading(good, tmp_path):
    out = tmp_path / "bomb.flowviz"
    zeros = b"\0" * (sessions.file.MEMBERS["session.json"] + 10)
    _rewrite(good, out, replace={"session.json": zeros})
    with pytest.raises(ValueError, match=r"bomb\.flowviz: .*limit"):
        sessions.load(out)


def test_a_member_over_its_limit_is_refused(good, monkeypatch):
    monkeypatch.setitem(sessions.file.MEMBERS, "data.npy", 1000)
    with pytest.raises(ValueError, match=r"good\.flowviz: .*limit"):
        sessions.load(good)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.flowviz: cannot be read"):
        sessions.load(tmp_path / "nope.flowviz")
    with pytest.raises(ValueError, match="is not a regular file"):
        sessions.load(tmp_path)


def test_torch_free_import_and_no_qt():
    code = (
        "import sys, flowviz.sessions, flowviz.lessons; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'torch'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_torch_saved_tensor_is_not_accepted_as_weights(good, tmp_path):
    buf = io.BytesIO()
    torch.save({"net.0.weight": torch.zeros(2)}, buf)
    out = _rewrite(good, tmp_path / "pt.flowviz", replace={"weights.npz": buf.getvalue()})
    with pytest.raises(ValueError, match=r"pt\.flowviz: "):
        sessions.load(out)
