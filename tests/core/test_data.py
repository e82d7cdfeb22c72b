"""Point sets: presets, and CSV / .npy files with validation and atomic writes."""

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from flowviz.core import atomic, data


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


# ------------------------------------------------------------- reading what people write


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("x,y\n1.5,-2\n3,0.25\n", "utf-8"),
        ("1.5\t-2\n3\t0.25\n", "utf-8"),  # tab separated, no header
        ("x\ty\n1.5\t-2\n3\t0.25\n", "utf-8"),
        ("  1.5   -2\n3 0.25  \n", "utf-8"),  # numpy.savetxt's default: spaces
        ('"x","y"\n"1.5","-2"\n"3","0.25"\n', "utf-8"),  # quoted by a spreadsheet
        ("'1.5' '-2'\n'3' '0.25'\n", "utf-8"),
        ("x;y\n1,5;-2\n3;0,25\n", "utf-8"),  # a decimal-comma locale's CSV
        ('"1,5","-2"\n"3","0,25"\n', "utf-8"),
        ("1.5,-2,\n3,0.25,\n", "utf-8"),  # a trailing separator
        ("x,y\r\n1.5,-2\r\n3,0.25\r\n", "utf-8"),  # Windows line ends
        ("1.5,-2\n3,0.25\n", "utf-8-sig"),  # BOM without a header
        ("x,y\n1.5,-2\n3,0.25\n", "utf-8-sig"),
        ("x,y\n1.5,-2\n3,0.25\n", "utf-16"),  # with BOM
        ("x,y\n1.5,-2\n3,0.25\n", "utf-16-be"),  # without BOM
        ("x,y\n1.5,-2\n3,0.25\n", "utf-16-le"),
        ("größe,höhe\n1.5,-2\n3,0.25\n", "latin-1"),
        ("# drawn by hand\n\nx (°),y (°)\n# mid comment\n1.5,-2\n\n3,0.25\n", "latin-1"),
    ],
)
def test_csv_dialects_people_write(tmp_path, content, encoding):
    f = tmp_path / "points.csv"
    f.write_bytes(content.encode(encoding))
    np.testing.assert_array_equal(
        data.load_points(f).numpy(), np.array([[1.5, -2], [3, 0.25]], np.float32)
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("x,y\nunit,unit\n1,2\n", "line 2: expected 2 numbers, found 'unit'"),  # one header only
        ("1,2\n3,4\n\n7,abc\n", "line 4: expected 2 numbers, found 'abc'"),
        ("1,2\n3,,4\n", "line 2: expected 2 numbers, found an empty cell"),
        ("1,2\n3 4 5\n", "line 2: expected 2 numbers, found 3 ('3 4 5')"),
        ("1,2\n1,inf\n", "line 2: 'inf' is not a finite number"),
        ("1,2\n1,2e9\n", "line 2: 2e9 lies beyond ±1e6"),
        ("x,y\n1,2\nx,y\n", "line 3: expected 2 numbers, found 'x'"),
        ("# only\n# comments\n", "contains no points"),
    ],
)
def test_csv_problems_name_the_line(tmp_path, content, problem):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(ValueError) as err:
        data.load_points(f)
    assert str(err.value) == f"bad.csv: {problem}" or str(err.value).startswith(
        f"bad.csv: {problem}"
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\x00\x01\x02\x03binary\x00", "not a text file (it holds binary data)"),
        (b"\xff\xfe1\x00,\x002", "not a text file (damaged UTF-16)"),
        (b"1,2\n\x1b[31m3,4\n", "not a text file"),
    ],
)
def test_binary_is_not_text(tmp_path, raw, problem):
    f = tmp_path / "bin.csv"
    f.write_bytes(raw)
    with pytest.raises(ValueError, match=rf"^bin\.csv: {re.escape(problem)}"):
        data.load_points(f)


# ------------------------------------------------------------------------- .npy files


def _npy_header(shape, descr="<f8") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def test_a_header_claiming_1e11_rows_is_refused_without_allocating(tmp_path):
    f = tmp_path / "giant.npy"
    f.write_bytes(_npy_header((10**11, 2)) + b"\x00" * 64)
    with pytest.raises(ValueError, match=r"^giant\.npy: 100000000000 points is more than"):
        data.load_points(f)


def test_a_truncated_npy_says_so(tmp_path):
    f = tmp_path / "short.npy"
    f.write_bytes(_npy_header((100, 2)) + b"\x00" * 160)
    with pytest.raises(ValueError, match=r"^short\.npy: is truncated: .*100 points"):
        data.load_points(f)


def test_an_npz_renamed_npy(tmp_path):
    f = tmp_path / "arrays.npy"
    with open(f, "wb") as fh:
        np.savez(fh, a=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^arrays\.npy: is a \.npz archive, not a \.npy array"):
        data.load_points(f)


@pytest.mark.parametrize(
    ("array", "problem"),
    [
        (np.zeros((3, 2), np.complex64), "values are complex numbers"),
        (np.zeros((2, 50)), r"shape \(2, 50\); transpose it"),
        (np.zeros((3, 2), dtype=[("a", "f4"), ("b", "f4")]), "not numeric"),
        (np.array([[1e9, 0.0]]), r"row 1 \(\[1000000000.0, 0.0\]\) lies beyond ±1e6"),
    ],
)
def test_npy_content_problems(tmp_path, array, problem):
    f = tmp_path / "a.npy"
    np.save(f, array)
    with pytest.raises(ValueError, match=rf"^a\.npy: .*{problem}"):
        data.load_points(f)


def test_fortran_order_and_integer_npy_read_fine(tmp_path):
    f = tmp_path / "ints.npy"
    np.save(f, np.asfortranarray(np.array([[1, 2], [3, 4]], np.int16)))
    assert data.load_points(f).tolist() == [[1, 2], [3, 4]]


def test_validate_refuses_complex_tensors_and_far_points():
    with pytest.raises(ValueError, match=r"^pts: values are complex"):
        data.validate(torch.zeros(3, 2, dtype=torch.complex64), origin="pts")
    with pytest.raises(ValueError, match=r"^pts: row 2 .* beyond ±1e6"):
        data.validate([[0, 0], [0, -2e6]], origin="pts")


# ------------------------------------------------------------------------ read errors


def test_a_folder_is_not_said_to_be_missing(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValueError, match=r"^dir\.csv: is a folder, not a file$"):
        data.load_points(tmp_path / "dir.csv")


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "cannot be read (permission denied)"),
        (OSError(errno.EIO, "Input/output error"), "cannot be read (Input/output error)"),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_read_errors_name_the_file(tmp_path, monkeypatch, error, problem, suffix):
    f = tmp_path / f"p{suffix}"
    data.save_points(f, [[1.0, 2.0]])
    real_open = open

    def failing_open(path, *args, **kwargs):
        if str(path) == str(f):
            raise error
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    monkeypatch.setattr(Path, "read_bytes", lambda self: failing_open(self))
    with pytest.raises(ValueError) as err:
        data.load_points(f)
    assert str(err.value) == f"p{suffix}: {problem}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_an_unreadable_file_really(tmp_path):
    f = tmp_path / "secret.csv"
    f.write_text("1,2\n")
    f.chmod(0)
    with pytest.raises(ValueError, match=r"^secret\.csv: cannot be read \(permission denied\)"):
        data.load_points(f)


def test_a_pipe_is_not_read(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"^pipe\.csv: is not a regular file"):
        data.load_points(fifo)


# ------------------------------------------------------------ the atomic save's manners


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path):
    f = tmp_path / "shared.csv"
    f.write_text("old")
    f.chmod(0o664)
    data.save_points(f, [[1.0, 2.0]])
    assert stat.S_IMODE(f.stat().st_mode) == 0o664
    old = os.umask(0o027)
    try:
        data.save_points(tmp_path / "new.npy", [[1.0, 2.0]])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.npy").stat().st_mode) == 0o640  # not mkstemp's 0600
    assert atomic.umask() == old


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "store" / "points.csv"
    real.parent.mkdir()
    data.save_points(real, [[1.0, 2.0]])
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    data.save_points(link, [[3.0, 4.0]])
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert data.load_points(real).tolist() == [[3.0, 4.0]]
    assert sorted(p.name for p in real.parent.iterdir()) == ["points.csv"]  # no debris


def test_stale_temp_files_of_a_killed_save_are_cleaned_up(tmp_path):
    f = tmp_path / "run.npy"
    stale = tmp_path / ".run.npy.abc_1234.tmp"
    fresh = tmp_path / ".run.npy.zzzz9999.tmp"  # maybe a save in progress right now
    other = tmp_path / ".other.npy.abcd1234.tmp"  # another file's
    lookalike = tmp_path / ".run.npy.notours.tmp"  # not mkstemp's pattern
    for p in (stale, fresh, other, lookalike):
        p.write_bytes(b"partial")
        os.utime(p, (time.time() - 3600,) * 2)
    os.utime(fresh, None)
    data.save_points(f, [[1.0, 2.0]])
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["run.npy", fresh.name, other.name, lookalike.name])


def test_save_errors_name_the_users_file_not_the_temp_file(tmp_path, monkeypatch):
    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2z3w4{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as err:
        data.save_points(tmp_path / "out.csv", [[1.0, 2.0]])
    assert str(err.value) == f"out.csv: cannot write in {tmp_path} (Permission denied)"
    assert isinstance(err.value, atomic.SaveError) and err.value.errno == errno.EACCES


@pytest.mark.parametrize("kind", ["folder", "read-only", "missing-folder"])
def test_check_writable_before_the_work(tmp_path, kind):
    path = tmp_path / "out.npy"
    if kind == "folder":
        path.mkdir()
    elif kind == "read-only":
        path.write_bytes(b"keep")
        path.chmod(0o444)
    else:
        path = tmp_path / "nope" / "out.npy"
    with pytest.raises(atomic.SaveError, match=r"^out\.npy: "):
        atomic.check_writable(path)
    if kind == "read-only":  # the save itself refuses too (the window saves without a check)
        with pytest.raises(atomic.SaveError, match="read-only"):
            data.save_points(path, [[1.0, 2.0]])
        assert path.read_bytes() == b"keep"
    atomic.check_writable(tmp_path / "fine.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) in (["out.npy"], [])
