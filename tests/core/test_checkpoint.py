"""Checkpoints: round trip, architecture mismatch, corrupt files, pickled payloads."""

import errno
import os
import stat
from pathlib import Path

import pytest
import torch

from flowviz.core import checkpoint, data, limits, model, training

CFG = training.TrainConfig(
    steps=5,
    path="cosine",
    sigma_min=0.05,
    lr=1e-3,
    model=model.ModelConfig(width=24, depth=2, activation="tanh"),
)


@pytest.fixture
def saved(tmp_path):
    """A checkpoint after 5 steps with a drawn source: (file, trainer, data, source)."""
    pts = data.preset("moons", 100, seed=0)
    src = data.preset("circles", 30, seed=1)
    tr = training.Trainer(data=pts, source=src, config=CFG)
    list(tr.run())
    f = tmp_path / "run.pt"
    checkpoint.save(f, model=tr.model, config=CFG, data=pts, source=src, step=tr.step_count)
    return f, tr, pts, src


def test_round_trip_reproduces_model_config_data_source_and_step(saved):
    f, tr, pts, src = saved
    ck = checkpoint.load(f)
    assert ck.config == CFG and ck.step == 5
    assert torch.equal(ck.data, pts) and torch.equal(ck.source, src)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    t = torch.rand(64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(ck.model(x, t), tr.model(x, t))
    assert not ck.model.training


def test_round_trip_without_a_source(tmp_path):
    net = model.build(model.ModelConfig(width=8, depth=1), seed=3)
    cfg = training.TrainConfig(model=net.config)
    pts = data.preset("spirals", 10, seed=0)
    checkpoint.save(tmp_path / "a.pt", model=net, config=cfg, data=pts)
    ck = checkpoint.load(tmp_path / "a.pt")
    assert ck.source is None and ck.step == 0 and ck.config == cfg
    sd = net.state_dict()
    assert all(torch.equal(v, sd[k]) for k, v in ck.model.state_dict().items())


def _tamper(f, change):
    payload = torch.load(f, weights_only=True)
    change(payload)
    torch.save(payload, f)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["config"]["model"].update(width=32),  # weights of another width
        lambda p: p["config"]["model"].update(depth=3),
        lambda p: p["state_dict"].pop("net.0.weight"),
        lambda p: p["state_dict"].update(extra=torch.zeros(1)),
    ],
    ids=["width", "depth", "missing-weight", "extra-weight"],
)
def test_another_architecture_is_a_clear_error(saved, change):
    f = saved[0]
    _tamper(f, change)
    with pytest.raises(ValueError, match=r"^run\.pt: the weights do not fit .*architecture") as e:
        checkpoint.load(f)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p["config"]["model"].update(activation="sparkle"), "unknown activation"),
        (lambda p: p["config"].update(colour="red"), "unknown setting 'colour'"),
        (lambda p: p["config"]["model"].update(size=3), "unknown model setting 'size'"),
        (lambda p: p.update(config=[1, 2]), "not a mapping"),
        (lambda p: p["config"].update(seed=2**33), "seed must be a whole number from 0"),
        (lambda p: p["config"].update(seed=-1), "seed"),
        (lambda p: p["config"].update(lr=float("nan")), "learning rate"),
        (lambda p: p["config"].update(poly_n=float("inf")), "polynomial exponent"),
        (lambda p: p["config"].update(batch_size=20000), "batch size"),
        (lambda p: p["config"].update(steps="many"), "steps must be a whole number"),
        (lambda p: p["config"]["model"].update(depth=13), "depth must be a whole number"),
    ],
    ids=[
        "activation",
        "config-key",
        "model-key",
        "config-type",
        "seed-2^33",
        "seed-negative",
        "lr-nan",
        "poly-inf",
        "batch",
        "steps-type",
        "depth-13",
    ],
)
def test_invalid_settings_are_named_as_settings_not_weights(saved, change, problem):
    """A bad setting is reported as such (not as "weights do not fit"), and nothing of the
    file is returned: callers never apply half of it."""
    f = saved[0]
    _tamper(f, change)
    with pytest.raises(ValueError, match=r"^run\.pt: the stored settings are invalid: ") as e:
        checkpoint.load(f)
    assert problem in str(e.value) and "\n" not in str(e.value)


def test_a_huge_declared_width_is_refused_before_building_the_model(saved, monkeypatch):
    """An 8 KB file declaring width 20000 once cost 1.75 GB before its rejection."""
    f = saved[0]
    _tamper(f, lambda p: p["config"]["model"].update(width=20000))
    built = []
    monkeypatch.setattr(checkpoint, "VelocityMLP", lambda *a: built.append(a))
    with pytest.raises(ValueError, match=r"width must be a whole number from 1 to 1024, got 20000"):
        checkpoint.load(f)
    assert built == []


def test_no_config_at_all(saved):
    f = saved[0]
    _tamper(f, lambda p: p.pop("config"))
    with pytest.raises(ValueError, match=r"^run\.pt: the stored settings are missing"):
        checkpoint.load(f)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.update(format="something-else"), "not a flowviz checkpoint"),
        (lambda p: p.update(version=99), "version 99"),
        (lambda p: p.update(data=torch.zeros(4)), "data set"),
        (lambda p: p.pop("data"), "data set"),
        (lambda p: p.pop("step"), "step"),
        (lambda p: p.update(step="many"), "step"),
        (lambda p: p.update(source=torch.zeros(3)), "source"),
        (lambda p: p.update(source="circles"), "source"),
    ],
    ids=[
        "format",
        "version",
        "data-shape",
        "no-data",
        "no-step",
        "bad-step",
        "source-shape",
        "source-type",
    ],
)
def test_malformed_payloads_are_clear_errors(saved, change, problem):
    f = saved[0]
    _tamper(f, change)
    with pytest.raises(ValueError, match=problem) as err:
        checkpoint.load(f)
    assert str(err.value).startswith("run.pt: ")


def test_a_saved_list_is_not_a_checkpoint(tmp_path):
    f = tmp_path / "list.pt"
    torch.save([1, 2, 3], f)
    with pytest.raises(ValueError, match=r"list\.pt: not a flowviz checkpoint"):
        checkpoint.load(f)


@pytest.mark.parametrize("damage", ["random", "truncated", "empty", "text"])
def test_corrupt_files_are_named_in_the_error(saved, damage):
    f = saved[0]
    good = f.read_bytes()
    if damage == "random":
        f.write_bytes(bytes((i * 193 + 71) % 256 for i in range(4096)))  # fixed noise
    elif damage == "truncated":
        f.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        f.write_bytes(b"")
    else:
        f.write_text("weights: lots\n")
    with pytest.raises(ValueError, match=r"^run\.pt: not a readable flowviz checkpoint") as err:
        checkpoint.load(f)
    assert "\n" not in str(err.value)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(ValueError, match=r"^nothing\.pt: no such file"):
        checkpoint.load(tmp_path / "nothing.pt")


class _Payload:
    """Unpickling this runs os.mkdir(marker): what a crafted checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickled_payload_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    f = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "version": 1, "x": _Payload(marker)}, f)
    with pytest.raises(ValueError, match=r"^evil\.pt: not a flowviz checkpoint, or unsafe"):
        checkpoint.load(f)
    assert not marker.exists()


def test_a_failed_save_keeps_the_previous_checkpoint(saved, monkeypatch):
    f, tr, pts, _ = saved
    before = f.read_bytes()

    def broken(obj, fh, *args, **kwargs):
        fh.write(b"PK partial zip")
        raise OSError("no space left on device")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="no space"):
        checkpoint.save(f, model=tr.model, config=CFG, data=pts, step=99)
    assert f.read_bytes() == before
    assert [p.name for p in f.parent.iterdir()] == ["run.pt"]


# ------------------------------------------------------------- content, not just structure


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda p: p["state_dict"]["net.0.weight"].view(-1)[3].fill_(float("nan")),
            r"the stored weights hold NaN or infinite values \(net\.0\.weight\)",
        ),
        (
            lambda p: p["state_dict"]["net.2.bias"].fill_(float("inf")),
            r"the stored weights hold NaN or infinite values \(net\.2\.bias\)",
        ),
        (
            lambda p: p["state_dict"].update({"net.0.bias": torch.zeros(24, dtype=torch.int64)}),
            r"weight 'net\.0\.bias' is not real-valued",
        ),
        (
            lambda p: p["state_dict"].update({"net.0.bias": torch.zeros(24, dtype=torch.cfloat)}),
            "not real-valued",
        ),
        (lambda p: p["state_dict"].update({"net.0.bias": [0.0] * 24}), "is not a tensor"),
        (lambda p: p.update(state_dict={}), "the stored weights are missing"),
        (lambda p: p["data"][4].fill_(float("nan")), r"the stored data set: row 5 is not finite"),
        (lambda p: p["data"][0].fill_(1e9), r"the stored data set: row 1 .* beyond ±1e6"),
        (
            lambda p: p.update(data=p["data"].to(torch.complex64)),
            "the stored data set: values are complex",
        ),
        (lambda p: p.update(data=torch.zeros(0, 2)), "the stored data set: contains no points"),
        (
            lambda p: p.update(source=torch.zeros(0, 2)),
            "the stored source point set: contains no points",
        ),
        (
            lambda p: p["source"][2].fill_(float("-inf")),
            "the stored source point set: row 3 is not finite",
        ),
        (lambda p: p["config"].update(sigma_min=0.0), r"source point set needs sigma_min > 0"),
        (lambda p: p.update(step=-3), "step count"),
        (lambda p: p.update(step=True), "step count"),
    ],
    ids=[
        "nan-weight",
        "inf-weight",
        "int-weight",
        "complex-weight",
        "list-weight",
        "no-weights",
        "nan-data",
        "far-data",
        "complex-data",
        "empty-data",
        "empty-source",
        "inf-source",
        "source-without-sigma",
        "negative-step",
        "bool-step",
    ],
)
def test_bad_content_is_refused_with_a_clear_message(saved, change, problem):
    f = saved[0]
    _tamper(f, change)
    with pytest.raises(ValueError, match=rf"^run\.pt: .*{problem}") as err:
        checkpoint.load(f)
    assert "\n" not in str(err.value)


def test_a_text_file_is_not_a_pytorch_file(tmp_path):
    f = tmp_path / "notes.pt"
    f.write_text("epoch 1: loss 3.2\n")  # once: KeyError: 101
    with pytest.raises(ValueError, match=r"^notes\.pt: not a readable flowviz checkpoint \(not a"):
        checkpoint.load(f)


def test_a_folder_or_a_read_error(tmp_path, monkeypatch):
    (tmp_path / "dir.pt").mkdir()
    with pytest.raises(ValueError, match=r"^dir\.pt: is a folder, not a file$"):
        checkpoint.load(tmp_path / "dir.pt")
    f = tmp_path / "disk.pt"
    f.write_bytes(b"PK\x03\x04")

    def eio(self):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Path, "read_bytes", eio)
    with pytest.raises(ValueError, match=r"^disk\.pt: cannot be read \(Input/output error\)$"):
        checkpoint.load(f)


def test_an_oversized_file_is_refused_before_reading(saved, monkeypatch):
    f = saved[0]
    monkeypatch.setattr(limits, "MAX_CHECKPOINT_BYTES", 1000)
    with pytest.raises(ValueError, match=r"^run\.pt: is too large for a flowviz checkpoint"):
        checkpoint.load(f)


def test_save_keeps_the_mode_and_writes_through_a_symlink(saved, tmp_path):
    f, tr, pts, src = saved
    f.chmod(0o640)
    link = tmp_path / "latest.pt"
    link.symlink_to(f.name)  # relative, as people make them
    checkpoint.save(link, model=tr.model, config=CFG, data=pts, source=src, step=77)
    assert link.is_symlink() and stat.S_IMODE(f.stat().st_mode) == 0o640
    assert checkpoint.load(f).step == 77
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pt", "run.pt"]


def test_a_save_into_a_missing_folder_names_the_file(saved, tmp_path):
    _, tr, pts, _ = saved
    with pytest.raises(OSError, match=r"^gone\.pt: cannot write in .*nope") as err:
        checkpoint.save(tmp_path / "nope" / "gone.pt", model=tr.model, config=CFG, data=pts)
    assert ".tmp" not in str(err.value)
