"""Every file of the kept corpus (tests/corpus) through the command line: exit status 2,
one line on stderr that names the file and the problem, no traceback, nothing written.

Points files are given as --data and as --source, checkpoints to `sample`. The cases come
from corpus.cases(), so the window's open/load actions can run the same list.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import FILES, cases

from flowviz import cli

ROOT = Path(__file__).resolve().parents[1]
USES = [(c, use) for c in cases("points") for use in ("data", "source")] + [
    (c, "checkpoint") for c in cases("checkpoint")
]


def command(path: Path, use: str, out: Path) -> list[str]:
    if use == "data":
        return ["train", "--data", str(path), "--steps", "1", "--quiet", "--out", str(out / "r.pt")]
    if use == "source":
        args = ["train", "--source", str(path), "--sigma-min", "0.1", "--n", "20", "--steps", "1"]
        return [*args, "--quiet", "--out", str(out / "r.pt")]
    return [
        "sample",
        "--checkpoint",
        str(path),
        "--n",
        "5",
        "--steps",
        "1",
        "--out",
        str(out / "s.npy"),
    ]


def check(code: int, stderr: str, case, out: Path) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("flowviz: error: ")
    assert case.name in lines[0], "the message must name the file"
    assert case.expected in lines[0]
    assert list(out.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize(("case", "use"), USES, ids=[f"{use}-{case.name}" for case, use in USES])
def test_every_corpus_file_gives_one_clear_line(case, use, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    before = case.path.read_bytes()
    code = cli.main(command(case.path, use, out))
    check(code, capsys.readouterr().err, case, out)
    assert case.path.read_bytes() == before


SUBPROCESS = ["header-1e11-rows.npy", "pickle-evil.pt"]  # a process costs seconds


@pytest.mark.parametrize("name", SUBPROCESS)
def test_a_few_through_a_real_process(name, tmp_path):
    """The real entry point: no warning line, no traceback, exit status 2."""
    (case,) = [c for c in cases() if c.name == name]
    out = tmp_path / "out"
    out.mkdir()
    use = "checkpoint" if case.kind == "checkpoint" else "data"
    res = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *command(case.path, use, out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    check(res.returncode, res.stderr, case, out)


def export_command(path: Path, out: Path) -> list[str]:
    return ["export", "--session", str(path), "--out", str(out / "x.gif"), "--frames", "2",
            "--size", "64x64", "--quiet"]  # fmt: skip


def check_short(stderr: str) -> None:
    """File-controlled text is shortened: the message stays within 200 characters."""
    line = stderr.strip().removeprefix("flowviz: error: ")
    assert len(line) <= 200, line


@pytest.mark.parametrize("case", cases("session"), ids=lambda c: c.name)
def test_every_session_file_gives_one_clear_line(case, tmp_path, capsys):
    """export --session: one line naming the file and the field, nothing written."""
    out = tmp_path / "out"
    out.mkdir()
    code = cli.main(export_command(case.path, out))
    err = capsys.readouterr().err
    check(code, err, case, out)
    check_short(err)


@pytest.mark.parametrize("case", cases("lesson"), ids=lambda c: c.name)
def test_every_lesson_file_gives_one_clear_line(case):
    from flowviz import lessons

    with pytest.raises(ValueError) as caught:
        lessons.load(case.path)
    text = str(caught.value)
    assert text.startswith(case.name) and case.expected in text, text
    assert "\n" not in text


SESSION_PROCESSES = ["count-2pow40.flowviz", "member-tables.flowviz", "source-1e6.flowviz"]


def test_session_files_through_a_real_process(tmp_path):
    """The real entry point (one process, run concurrently): exit status 2, one line."""
    procs = {}
    for name in SESSION_PROCESSES:
        (case,) = [c for c in cases("session") if c.name == name]
        out = tmp_path / name
        out.mkdir()
        cmd = [sys.executable, str(ROOT / "main.py"), *export_command(case.path, out)]
        procs[case, out] = subprocess.Popen(
            cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
    for (case, out), proc in procs.items():
        _, err = proc.communicate(timeout=180)
        check(proc.returncode, err, case, out)
        check_short(err)


def test_the_corpus_is_whole():
    listed = cases()
    assert len(listed) >= 60
    assert {c.kind for c in listed} == {"points", "checkpoint", "session", "lesson"}
    assert sorted(p.name for p in FILES.iterdir()) == sorted(c.name for c in listed)
    assert all(c.expected for c in listed)


def test_make_corpus_regenerates_the_same_cases(tmp_path):
    make = importlib.import_module("corpus.make_corpus")
    regenerated = make.main(tmp_path)
    assert regenerated == {c.name: c.expected for c in cases()}
    for c in cases("points"):  # plain bytes, no timestamps: identical
        assert (tmp_path / c.name).read_bytes() == c.path.read_bytes(), c.name
