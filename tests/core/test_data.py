"""Point sets: presets, and CSV / .npy files with validation and atomic writes."""

import numpy as np
import pytest
import torch

from flowviz.core import data


@pytest.mark.parametrize("name", sorted(data.PRESETS))
def test_presets_are_finite_float32_and_reproducible(name):
    a = data.preset(name, 5000, seed=3)
    assert a.shape == (5000, 2) and a.dtype == torch.float32
    assert torch.isfinite(a).all()
    assert a.abs().max() <= 3.6  # inside the square every view shows (frames.LIM)
    assert a.std(0).min() > 0.3  # a spread-out shape, not a point
    assert torch.equal(a, data.preset(name, 5000, seed=3))
    assert not torch.equal(a, data.preset(name, 5000, seed=4))
    assert data.preset(name, 1, seed=0).shape == (1, 2)


def test_the_issue_presets_exist():
    required = {"moons", "eight-gaussians", "checkerboard", "spirals", "circles", "swiss-roll"}
    assert required <= set(data.PRESETS)


def test_preset_rejects_bad_requests():
    with pytest.raises(ValueError, match="unknown preset"):
        data.preset("bananas", 10)
    with pytest.raises(ValueError, match="point count"):
        data.preset("moons", 0)
    with pytest.raises(ValueError, match="point count"):
        data.preset("moons", data.MAX_POINTS + 1)


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".txt"])
def test_save_and_load_round_trip_exactly(tmp_path, suffix):
    pts = data.preset("spirals", 300, seed=1)
    pts[0] = torch.tensor([1 / 3, -1e-7])  # digits a short decimal format would cut
    f = tmp_path / f"points{suffix}"
    data.save_points(f, pts)
    back = data.load_points(f)
    assert back.dtype == torch.float32
    assert torch.equal(back, pts)
    data.save_points(f, pts.numpy()[:10])  # numpy input, overwriting
    assert torch.equal(data.load_points(f), pts[:10])


def test_csv_with_header_comments_semicolons_and_blank_lines(tmp_path):
    f = tmp_path / "drawn.csv"
    f.write_text("# my drawing\nx, y\n\n1.5, -2\n3;4e-1\n  -0.25 ,0  \n")
    expected = np.array([[1.5, -2], [3, 0.4], [-0.25, 0]], dtype=np.float32)
    np.testing.assert_array_equal(data.load_points(f).numpy(), expected)


def _write(tmp_path, name, content):
    f = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(f, content, allow_pickle=content.dtype == object)
    elif isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    return f


MALFORMED = [
    ("three.csv", "1,2,3\n4,5,6\n", r"line 1: expected 2 numbers, found 3"),
    ("one.csv", "x\n1\n2\n", r"line 2: expected 2 numbers, found 1"),
    ("wide.npy", np.zeros((5, 3)), r"two columns .* shape \(5, 3\)"),
    ("flat.npy", np.zeros(4), r"two columns .* shape \(4,\)"),
    ("cube.npy", np.zeros((2, 2, 2)), "two columns"),
    ("words.csv", "x,y\n1,2\nfoo,3\n", "line 3: expected 2 numbers, found 'foo'"),
    ("text.npy", np.array([["a", "b"]]), "not numeric"),
    ("objects.npy", np.array([[1, None]], dtype=object), "pickled Python objects"),
    ("nan.csv", "1,2\nnan,3\n", r"line 2: 'nan' is not a finite number"),
    ("inf.npy", np.array([[0.0, 1.0], [np.inf, 2.0]]), r"row 2 is not finite"),
    ("huge.csv", "1,2\n3e7,0\n", "beyond"),
    ("empty.csv", "", "contains no points"),
    ("header.csv", "x,y\n", "contains no points"),
    ("none.npy", np.zeros((0, 2)), "contains no points"),
    ("binary.csv", b"\xff\xfe\x00\x81garbage", "not a text file"),
    ("garbage.npy", b"definitely not numpy", "not a readable .npy"),
    ("points.json", "[[1, 2]]", "unsupported file type"),
]


@pytest.mark.parametrize(("name", "content", "problem"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_name_the_file_and_the_problem(tmp_path, name, content, problem):
    f = _write(tmp_path, name, content)
    with pytest.raises(ValueError, match=problem) as err:
        data.load_points(f)
    assert str(err.value).startswith(f.name + ":")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_too_many_points_are_refused(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(data, "MAX_POINTS", 10)
    f = tmp_path / f"big{suffix}"
    if suffix == ".npy":
        np.save(f, np.zeros((11, 2)))
    else:
        f.write_text("x,y\n" + "1,2\n" * 11)
    with pytest.raises(ValueError, match="limit") as err:
        data.load_points(f)
    assert str(err.value).startswith(f.name)
    f.write_text("1,2\n" * 10) if suffix == ".csv" else np.save(f, np.zeros((10, 2)))
    assert data.load_points(f).shape == (10, 2)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"ghost\.csv: no such file"):
        data.load_points(tmp_path / "ghost.csv")


def test_validate_names_its_origin():
    with pytest.raises(ValueError, match=r"^canvas: row 1 is not finite"):
        data.validate([[float("nan"), 0.0]], origin="canvas")
    with pytest.raises(ValueError, match=r"^canvas: values are not numeric"):
        data.validate([["a", "b"]], origin="canvas")


def test_a_failed_save_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    f = tmp_path / "keep.npy"
    old = data.preset("moons", 20, seed=0)
    data.save_points(f, old)
    before = f.read_bytes()

    def broken_save(fh, arr, *args, **kwargs):
        fh.write(b"\x93NUMPY half a header")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        data.save_points(f, data.preset("circles", 20, seed=0))
    assert f.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npy"]


def test_an_invalid_save_touches_nothing(tmp_path):
    f = tmp_path / "keep.csv"
    data.save_points(f, [[1.0, 2.0]])
    before = f.read_bytes()
    with pytest.raises(ValueError, match=r"keep\.csv: row 1 is not finite"):
        data.save_points(f, [[float("inf"), 0.0]])
    with pytest.raises(ValueError, match="unsupported file type"):
        data.save_points(tmp_path / "out.png", [[1.0, 2.0]])
    assert f.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]


def test_atomic_write_interrupted_by_keyboard_cleans_up(tmp_path):
    f = tmp_path / "run.bin"
    f.write_bytes(b"old")

    def write(fh):
        fh.write(b"new but partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data.atomic_write(f, write)
    assert f.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.bin"]
