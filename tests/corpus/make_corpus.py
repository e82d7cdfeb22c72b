"""Regenerate the corpus of malformed inputs: `python tests/corpus/make_corpus.py [DIR]`.

Each file is written into DIR (default: files/ beside this script) and listed in
expected.json with a substring of the one-line message it must produce. Points files
(.csv/.txt/.npy and wrong suffixes) are opened as point sets, .pt files as checkpoints.
All files are small; a header may claim huge sizes, the bytes behind it stay few.
"""

from __future__ import annotations

import codecs
import io
import json
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
POINTS: dict[str, tuple[bytes | np.ndarray, str]] = {}
CHECKPOINTS: dict[str, tuple[object, str]] = {}


def text(name: str, content: str | bytes, expected: str) -> None:
    POINTS[name] = (content.encode() if isinstance(content, str) else content, expected)


def npy(name: str, array: np.ndarray, expected: str) -> None:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=array.dtype.hasobject)
    POINTS[name] = (buf.getvalue(), expected)


def npy_header(shape, descr: str = "<f8", version: bytes = b"\x01\x00") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY" + version + len(header).to_bytes(2, "little") + header.encode()


# ----------------------------------------------------------------- text point files

FOUND_3 = "expected 2 numbers, found 3"
text("empty.csv", "", "contains no points")
text("header-only.csv", "x,y\n", "contains no points")
text("comments-only.csv", "# a drawing\n# nothing yet\n", "contains no points")
text("bom-only.csv", codecs.BOM_UTF8, "contains no points")
text("blank-lines.txt", "\n\n   \n\t\n", "contains no points")
text("three-columns.csv", "1,2,3\n4,5,6\n", f"line 1: {FOUND_3}")
text("three-columns-tab.txt", "1\t2\t3\n", f"line 1: {FOUND_3}")
text("three-columns-semicolon.csv", "x;y;z\n1;2;3\n", f"line 2: {FOUND_3}")
text("one-column.csv", "x\n1\n2\n", "line 2: expected 2 numbers, found 1")
text("ragged.csv", "1,2\n3,4\n5,6,7\n", f"line 3: {FOUND_3}")
text("word-in-data.csv", "x,y\n1,2\nabc,3\n", "line 3: expected 2 numbers, found 'abc'")
text("two-headers.csv", "x,y\nmetres,metres\n1,2\n", "line 2: expected 2 numbers, found 'metres'")
text("header-after-data.csv", "1,2\nx,y\n", "line 2: expected 2 numbers, found 'x'")
text("half-header.csv", "x,2\n1,2\n", "line 1: expected 2 numbers, found 'x'")
text("hex.csv", "0x10,2\n", "line 1: expected 2 numbers, found '0x10'")
text("quoted-words.csv", '"a","b"\n"1","2"\n"c","d"\n', "line 3: expected 2 numbers, found 'c'")
text("empty-cell.csv", "1,2\n3,,4\n", "line 2: expected 2 numbers, found an empty cell")
text("leading-comma.csv", ",1,2\n", "line 1: expected 2 numbers, found an empty cell")
text("nan.csv", "1,2\nnan,3\n", "line 2: 'nan' is not a finite number")
text("inf.csv", "1,2\n3,inf\n", "line 2: 'inf' is not a finite number")
text("neg-infinity.txt", "1 2\n-Infinity 0\n", "line 2: '-Infinity' is not a finite number")
text("huge-coordinate.csv", "1,2\n3e7,0\n", "line 2: 3e7 lies beyond ±1e6")
text("overflow.csv", "1,1e400\n", "line 1: '1e400' is not a finite number")
text("long-line.csv", ",".join(["1"] * 5000) + "\n", "line 1: expected 2 numbers, found 5000")
text("latin1-words.csv", "x,y\n1,2\ngröße,3\n".encode("latin-1"), "found 'größe'")
text("binary.csv", b"\x00\x01\x02\x03\x04garbage\x00\xff", "not a text file (it holds binary data)")
text("utf16-damaged.csv", codecs.BOM_UTF16_LE + b"1\x00,\x002", "not a text file (damaged UTF-16)")
text("escape-codes.txt", "1,2\n\x1b[31m3,4\n", "not a text file")
text("png-renamed.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file")
text("zip-renamed.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "not a text file")
text("points.json", "[[1, 2], [3, 4]]", "unsupported file type '.json'")
text("points.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'")
text("no-suffix", "1,2\n", "unsupported file type ''")

# ------------------------------------------------------------------------ .npy files

npz = io.BytesIO()
np.savez(npz, a=np.zeros((3, 2)))
text("npz-renamed.npy", npz.getvalue(), "is a .npz archive, not a .npy array")
text("garbage.npy", b"definitely not numpy", "not a readable .npy array (no NumPy header)")
text("empty.npy", b"", "not a readable .npy array (no NumPy header)")
text("csv-renamed.npy", "x,y\n1,2\n", "not a readable .npy array (no NumPy header)")
text("header-1e11-rows.npy", npy_header((10**11, 2)) + bytes(64), "100000000000 points is more")
text("truncated.npy", npy_header((100, 2)) + bytes(160), "is truncated")
text("damaged-header.npy", b"\x93NUMPY\x01\x00\x20\x00{'descr': <<garbage>> }     \n", "damaged")
text("version-9.npy", npy_header((3, 2), version=b"\x09\x00") + bytes(48), "damaged header")
npy("wide.npy", np.zeros((5, 3)), "expected two columns (x, y), got shape (5, 3)")
npy("flat.npy", np.zeros(4), "got shape (4,)")
npy("cube.npy", np.zeros((2, 2, 2)), "got shape (2, 2, 2)")
npy("scalar.npy", np.array(3.0), "got shape ()")
npy("transposed.npy", np.zeros((2, 50)), "transpose it")
npy("zero-rows.npy", np.zeros((0, 2)), "contains no points")
npy("objects.npy", np.array([[1, None]], dtype=object), "pickled Python objects")
npy("strings.npy", np.array([["a", "b"]]), "values are not numeric")
npy("bools.npy", np.array([[True, False]]), "values are not numeric")
npy("dates.npy", np.array([["2024-01-01", "2024-01-02"]], dtype="datetime64[D]"), "not numeric")
npy("structured.npy", np.zeros((3, 2), dtype=[("a", "f4"), ("b", "f4")]), "not numeric")
npy("complex.npy", np.zeros((3, 2), np.complex64), "values are complex numbers")
npy("nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0]]), "row 2 is not finite")
npy("inf.npy", np.array([[np.inf, 1.0]]), "row 1 is not finite")
npy(
    "huge-values.npy", np.array([[1.0, 2.0], [1e9, 0.0]]), "row 2 ([1000000000.0, 0.0]) lies beyond"
)
npy("int64-huge.npy", np.array([[2**40, 0]], np.int64), "lies beyond ±1e6")

# ----------------------------------------------------------------------- checkpoints


def payload() -> dict:
    """A valid small checkpoint's payload (width 4, depth 1, five points), fresh each time."""
    from flowviz.core import model, training

    cfg = training.TrainConfig(steps=10, sigma_min=0.1, model=model.ModelConfig(width=4, depth=1))
    net = model.build(cfg.model, seed=0)
    return {
        "format": "flowviz-checkpoint",
        "version": 1,
        "config": cfg.to_dict(),
        "state_dict": {k: v.clone() for k, v in net.state_dict().items()},
        "data": torch.linspace(-1, 1, 10).reshape(5, 2),
        "source": None,
        "step": 10,
    }


def ckpt(name: str, change, expected: str) -> None:
    p = payload()
    result = change(p)  # changes p in place, or returns the file's bytes
    CHECKPOINTS[name] = (result if isinstance(result, bytes) else p, expected)


def raw(name: str, content: bytes, expected: str) -> None:
    CHECKPOINTS[name] = (content, expected)


class Evil:
    """Unpickling this would run os.system: what a crafted checkpoint could try."""

    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def _zip_with_text() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a tensor archive")
    return buf.getvalue()


def _torch_bytes(obj, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


NOT_READABLE = "not a readable flowviz checkpoint"
SETTINGS = "the stored settings are invalid: "
raw("text.pt", b"epoch 1: loss 3.2\nepoch 2: loss 2.9\n", f"{NOT_READABLE} (not a PyTorch file)")
raw("empty.pt", b"", f"{NOT_READABLE} (the file is empty)")
raw("random.pt", bytes((i * 193 + 71) % 256 for i in range(4096)), "not a PyTorch file")
raw("zip-not-torch.pt", _zip_with_text(), "one that is not a PyTorch file")
raw("pickle-evil.pt", pickle.dumps({"format": "flowviz-checkpoint", "x": Evil()}), "or unsafe")
raw("torch-evil.pt", _torch_bytes({"x": Evil()}), "not a flowviz checkpoint, or unsafe")
raw("list.pt", _torch_bytes([1, 2, 3]), "not a flowviz checkpoint")
raw("legacy-list.pt", _torch_bytes([1, 2], _use_new_zipfile_serialization=False), "not a flowviz")
ckpt("truncated.pt", lambda p: _torch_bytes(p)[:700], "(a damaged zip archive")
ckpt("wrong-format.pt", lambda p: p.update(format="something-else"), "not a flowviz checkpoint")
ckpt("version-99.pt", lambda p: p.update(version=99), "checkpoint version 99 is not supported")
ckpt("no-config.pt", lambda p: p.pop("config"), "the stored settings are missing")
ckpt("config-list.pt", lambda p: p.update(config=[1, 2]), f"{SETTINGS}the settings are not a")
ckpt("config-colour.pt", lambda p: p["config"].update(colour="red"), "unknown setting 'colour'")
ckpt("model-string.pt", lambda p: p["config"].update(model="mlp"), "model settings are not a")
ckpt("width-20000.pt", lambda p: p["config"]["model"].update(width=20000), "got 20000")
ckpt("width-float.pt", lambda p: p["config"]["model"].update(width=4.0), "width must be a whole")
ckpt("depth-0.pt", lambda p: p["config"]["model"].update(depth=0), "depth must be a whole number")
ckpt("activation.pt", lambda p: p["config"]["model"].update(activation="x"), "unknown activation")
ckpt("seed-2pow33.pt", lambda p: p["config"].update(seed=2**33), f"{SETTINGS}seed must be")
ckpt("seed-negative.pt", lambda p: p["config"].update(seed=-1), "seed must be a whole number")
ckpt("lr-nan.pt", lambda p: p["config"].update(lr=float("nan")), "learning rate must be")
ckpt("lr-zero.pt", lambda p: p["config"].update(lr=0.0), "learning rate must be")
ckpt("batch-20000.pt", lambda p: p["config"].update(batch_size=20000), "batch size must be")
ckpt(
    "sinkhorn-8192.pt",
    lambda p: p["config"].update(batch_size=8192, coupling="sinkhorn"),
    "batch size with an OT or Sinkhorn coupling must be",
)
ckpt("poly-inf.pt", lambda p: p["config"].update(poly_n=float("inf")), "polynomial exponent n")
ckpt("poly-tiny.pt", lambda p: p["config"].update(poly_n=1e-9), "polynomial exponent n")
ckpt("sigma-0.9.pt", lambda p: p["config"].update(sigma_min=0.9), "sigma_min must be")
ckpt("steps-0.pt", lambda p: p["config"].update(steps=0), "steps must be a whole number")
ckpt("path-unknown.pt", lambda p: p["config"].update(path="spiral"), "unknown path 'spiral'")
ckpt("coupling.pt", lambda p: p["config"].update(coupling="magic"), "unknown coupling 'magic'")
ckpt("device-number.pt", lambda p: p["config"].update(device=5), "device must be a name")
ckpt("lr-decay-text.pt", lambda p: p["config"].update(lr_decay="yes"), "lr_decay must be")


def _poison(p, key, value):
    p["state_dict"][key].view(-1)[0] = value


ckpt("nan-weights.pt", lambda p: _poison(p, "net.0.weight", float("nan")), "NaN or infinite")
ckpt("inf-weights.pt", lambda p: _poison(p, "net.2.bias", float("inf")), "NaN or infinite")
ckpt("no-weights.pt", lambda p: p.pop("state_dict"), "the stored weights are missing")
FIT = "the weights do not fit the stored architecture"
ckpt("missing-weight.pt", lambda p: p["state_dict"].pop("net.0.weight"), f"{FIT} (missing net.0")
ckpt("extra-weight.pt", lambda p: p["state_dict"].update(x=torch.zeros(1)), f"{FIT} (extra x)")
ckpt("other-width.pt", lambda p: p["config"]["model"].update(width=8), "net.0.weight is 4x19, the")
ckpt(
    "int-weights.pt",
    lambda p: p["state_dict"].update({"net.0.bias": torch.zeros(4, dtype=torch.int64)}),
    "is not real-valued",
)
ckpt("weight-list.pt", lambda p: p["state_dict"].update({"net.0.bias": [0.0] * 4}), "not a tensor")
ckpt("no-data.pt", lambda p: p.pop("data"), "the stored data set is missing or malformed")
ckpt("data-flat.pt", lambda p: p.update(data=torch.zeros(4)), "got shape (4,)")
ckpt("data-empty.pt", lambda p: p.update(data=torch.zeros(0, 2)), "data set: contains no points")
ckpt("data-nan.pt", lambda p: p["data"][3].fill_(float("nan")), "data set: row 4 is not finite")
ckpt("data-1e9.pt", lambda p: p["data"][0].fill_(1e9), "lies beyond ±1e6")
ckpt("data-complex.pt", lambda p: p.update(data=p["data"].to(torch.cfloat)), "values are complex")
ckpt("source-empty.pt", lambda p: p.update(source=torch.zeros(0, 2)), "source point set: contains")
ckpt("source-3cols.pt", lambda p: p.update(source=torch.zeros(3, 3)), "got shape (3, 3)")
ckpt("source-text.pt", lambda p: p.update(source="circles"), "source point set is missing")
ckpt(
    "source-no-sigma.pt",
    lambda p: p.update(source=torch.zeros(3, 2)) or p["config"].update(sigma_min=0.0),
    "a stored source point set needs sigma_min > 0",
)
ckpt("no-step.pt", lambda p: p.pop("step"), "the stored step count is missing or malformed")
ckpt("step-negative.pt", lambda p: p.update(step=-3), "step count is missing or malformed")
ckpt("step-text.pt", lambda p: p.update(step="many"), "step count is missing or malformed")


# ------------------------------------------------------------------ session files (issue 22)

SESSIONS: dict[str, tuple[bytes, str]] = {}
TABLES = "<table><tr><td>" * 3000  # nested tables: rich text of it crashed the window


def _good_session(trained: bool = False) -> dict[str, bytes]:
    """The members of a valid small session file (five points; a width-4 network)."""
    import tempfile

    from flowviz.core.model import ModelConfig, build
    from flowviz.core.training import TrainConfig
    from flowviz.session import Session
    from flowviz.sessions import file

    data = np.linspace(-1, 1, 10, dtype=np.float32).reshape(5, 2)
    net = None
    if trained:
        config = TrainConfig(steps=10, model=ModelConfig(width=4, depth=1))
        weights = build(config.model, seed=0).state_dict()
        net = {"weights": weights, "config": config, "step": 10, "losses": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.flowviz"
        file.save(path, Session(data=data, origin="drawn", count=5), net)
        with zipfile.ZipFile(path) as zf:
            return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, raw in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method if name == "data.npy" else zipfile.ZIP_DEFLATED
            zf.writestr(info, raw)
    return buf.getvalue()


def sess(name: str, change, expected: str, *, trained: bool = False) -> None:
    """A session file: change(meta) edits session.json in place (or returns the members to
    zip, or the file's bytes)."""
    members = _good_session(trained)
    meta = json.loads(members["session.json"])
    result = change(meta, members)
    if isinstance(result, bytes):
        SESSIONS[name] = (result, expected)
        return
    members["session.json"] = json.dumps(meta).encode()
    SESSIONS[name] = (_zip(result if isinstance(result, dict) else members), expected)


def _set(path: str, value):
    """change(): set session.json's field at the dotted path (e.g. session.count)."""

    def change(meta, _members):
        *parents, last = path.split(".")
        d = meta
        for key in parents:
            d = d[key]
        d[last] = value

    return change


def _with_member(name: str, raw: bytes | None = None):
    def change(_meta, members):
        members[name] = members.pop("data.npy") if raw is None else raw
        return members

    return change


def _flag(member: str, bits: int = 0, method: int | None = None):
    """change(): the zip with member's general-purpose flag bits or method number patched
    in both its headers (an encrypted or oddly compressed member, bytes unchanged)."""

    def change(meta, members):
        raw = bytearray(_zip(members))
        name = member.encode()
        for sig, flag_at, method_at, name_at in (
            (b"PK\x03\x04", 6, 8, 30),
            (b"PK\x01\x02", 8, 10, 46),
        ):
            at = raw.find(sig + b"", 0)
            while at >= 0:
                n = int.from_bytes(raw[at + (26 if sig == b"PK\x03\x04" else 28) :][:2], "little")
                if bytes(raw[at + name_at : at + name_at + n]) == name:
                    if bits:
                        raw[at + flag_at] |= bits
                    if method is not None:
                        raw[at + method_at : at + method_at + 2] = method.to_bytes(2, "little")
                at = raw.find(sig, at + 4)
        return bytes(raw)

    return change


def _npy_bytes(shape, descr: str = "<f4", fortran: bool = False, body: bytes = b"") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + body


def _weights_with(shape) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("net.0.weight.npy", _npy_bytes(shape))
    return buf.getvalue()


def _source(points: int, data: int = 100):
    """change(): data points and a drawn source of points (zeros: the file stays small)."""

    def change(meta, members):
        buf = io.BytesIO()
        np.save(buf, np.linspace(-1, 1, 2 * data, dtype=np.float32).reshape(data, 2))
        members["data.npy"] = buf.getvalue()
        meta["source"] = True
        meta["session"]["path"]["sigma_min"] = 0.1
        arr = np.zeros((points, 2), np.float32)
        buf = io.BytesIO()
        np.save(buf, arr)
        members["source.npy"] = buf.getvalue()
        return members

    return change


COUNT = "count must be a whole number from 1 to 1000000"
sess("count-2pow40.flowviz", _set("session.count", 2**40), f"{COUNT}, got 1099511627776")
sess("count-negative.flowviz", _set("session.count", -5), f"{COUNT}, got -5")
sess("count-text.flowviz", _set("session.count", "many"), "count must be a whole number")
sess("width-2pow40.flowviz", _set("session.training.width", 2**40), "training.width must be")
sess("depth-99.flowviz", _set("session.training.depth", 99), "training.depth must be")
sess("seed-negative.flowviz", _set("session.training.seed", -1), "training.seed must be")
sess("batch-1e9.flowviz", _set("session.training.batch_size", 10**9), "training.batch_size must")
sess("lr-text.flowviz", _set("session.training.lr", "fast"), "training.lr must be a number")
sess("sigma-0.9.flowviz", _set("session.path.sigma_min", 0.9), "path.sigma_min must be")
sess("particles-1e9.flowviz", _set("session.display.particles", 10**9), "particles must be in")
sess("center-number.flowviz", _set("session.camera.center", 1), "camera.center must be a list")
sess("center-huge.flowviz", _set("session.camera.center", [1e300, 0]), "camera.center must be")
sess("half-zero.flowviz", _set("session.camera.half", 0), "camera.half must be a number from")
sess("views-null.flowviz", _set("session.views", None), "views must be a list of")
sess("views-5.flowviz", _set("session.views", 5), "views must be a list of")
sess("views-unknown.flowviz", _set("session.views", ["3d"]), "views: unknown view '3d'")
sess("display-null.flowviz", _set("session.display", None), "display must be a mapping")
sess("session-list.flowviz", _set("session", []), "the field 'session' must be a mapping")
sess("origin-tables.flowviz", _set("session.origin", TABLES), "origin is 45000 characters long")
sess("member-tables.flowviz", _with_member(TABLES + ".npy"), "unexpected member '<table>")
sess("member-newline.flowviz", _with_member("data\nevil.npy"), "unexpected member 'data\\nevil")
sess("member-long.flowviz", _with_member("x" * 60000), "unexpected member 'xxxxx")
sess("encrypted.flowviz", _flag("data.npy", bits=1), "the member data.npy is encrypted")
sess("bzip2.flowviz", lambda _m, members: _zip(members, zipfile.ZIP_BZIP2), "method 12")
sess("method-99.flowviz", _flag("data.npy", method=99), "uses compression method 99")
sess(
    "fortran.flowviz",
    _with_member("data.npy", _npy_bytes((5, 2), fortran=True, body=bytes(40))),
    "data.npy is stored in column-major (Fortran) order",
)
sess(
    "data-negative-rows.flowviz",
    _with_member("data.npy", _npy_bytes((-1, 2))),
    "data.npy has shape (-1, 2)",
)
sess(
    "weights-overflow.flowviz",
    _with_member("weights.npz", _weights_with((2**62, 4))),
    "has shape (4611686018427387904, 4), not a weight of any network",
    trained=True,
)
sess(
    "weights-negative.flowviz",
    _with_member("weights.npz", _weights_with((-3, 4))),
    "weights.npz",
    trained=True,
)
sess(
    "trained-width-2pow40.flowviz",
    _set("trained.config.model.width", 2**40),
    "the stored training settings are invalid",
    trained=True,
)
sess("source-1e6.flowviz", _source(1_000_000), "a drawn source of 1,000,000 points is more")
sess("pairs-4e7.flowviz", _source(20_000, data=2000), "drawn source points make 4.0e+07 pairs")

# --------------------------------------------------------------------- lessons (issue 22)

LESSONS: dict[str, tuple[bytes, str]] = {}


def lesson(name: str, step: dict, expected: str) -> None:
    d = {"format": "flowviz.lesson", "version": 1, "title": "Attack",
         "steps": [{"title": "one", "text": "two", **step}]}  # fmt: skip
    LESSONS[name] = (json.dumps(d).encode(), expected)


lesson("center-number.lesson.json", {"session": {"camera": {"center": 1}}}, "camera.center")
lesson("count-2pow40.lesson.json", {"session": {"count": 2**40}}, COUNT)
lesson("count-negative.lesson.json", {"session": {"count": -5}}, COUNT)
lesson("width-2pow40.lesson.json", {"session": {"training": {"width": 2**40}}}, "training.width")
lesson("views-5.lesson.json", {"session": {"views": 5}}, "session views must be a list")
lesson("preset-2pow40.lesson.json", {"actions": ["preset moons 1099511627776"]}, "preset count")
lesson("tables-action.lesson.json", {"actions": [TABLES]}, "unknown action '<table>")


def main(folder: Path | None = None) -> dict[str, str]:
    """Write every file into folder (default files/) and expected.json beside this script
    (or into folder when one is given); returns name -> expected message."""
    out = folder or HERE / "files"
    out.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (content, message) in POINTS.items():
        (out / name).write_bytes(content)
        expected[name] = message
    for name, (content, message) in (*SESSIONS.items(), *LESSONS.items()):
        (out / name).write_bytes(content)
        expected[name] = message
    for name, (content, message) in CHECKPOINTS.items():
        data = content if isinstance(content, bytes) else _torch_bytes(content)
        (out / name).write_bytes(data)
        expected[name] = message
    listing = (folder or HERE) / "expected.json"
    listing.write_text(json.dumps(expected, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return expected


if __name__ == "__main__":
    found = main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"{len(found)} files")
