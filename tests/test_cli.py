"""The headless command line: train, sample, and one-line errors for user mistakes."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flowviz import cli

ROOT = Path(__file__).resolve().parents[1]


def run(*args, timeout=120):
    # One OpenMP thread: these runs are tiny, and two threads spinning on a shared two-core
    # machine made the training run below 9 s instead of 2.5 s.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def assert_one_line_error(out, *fragments):
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("flowviz: error: "), out.stderr
    assert sum(line.startswith("flowviz: error:") for line in lines) == 1
    for fragment in fragments:
        assert fragment in lines[-1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short headless training run shared by the sampling tests."""
    out = tmp_path_factory.mktemp("cli") / "run.pt"
    res = run(
        "train",
        "--data",
        "moons",
        "--n",
        300,
        "--steps",
        60,
        "--seed",
        0,
        "--width",
        32,
        "--depth",
        2,
        "--out",
        out,
        "--quiet",
    )
    assert res.returncode == 0, res.stderr
    assert "saved" in res.stdout and "after 60 steps" in res.stdout
    assert res.stderr == ""  # --quiet: no progress bar
    return out


def test_train_writes_a_loadable_checkpoint(trained):
    from flowviz.core import checkpoint, data

    ck = checkpoint.load(trained)
    assert ck.step == 60 and ck.config.steps == 60 and ck.config.model.width == 32
    assert ck.data.shape == (300, 2)
    np.testing.assert_array_equal(ck.data.numpy(), data.preset("moons", 300, seed=0).numpy())


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_sample_writes_finite_points(trained, tmp_path, suffix):
    from flowviz.core import data

    out = tmp_path / f"s{suffix}"
    res = run(
        "sample",
        "--checkpoint",
        trained,
        "--n",
        200,
        "--steps",
        10,
        "--solver",
        "midpoint",
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr
    pts = data.load_points(out).numpy()
    assert pts.shape == (200, 2) and np.isfinite(pts).all()
    # 60 steps already pull the noise towards the moons (|x| <~ 3), away from N(0, I)'s tails.
    assert np.abs(pts).max() < 6


def test_sample_in_process_is_seeded(trained, tmp_path, capsys):
    from flowviz.core import data

    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    base = ["sample", "--checkpoint", str(trained), "--n", "50", "--steps", "4", "--solver", "rk4"]
    assert cli.main([*base, "--out", str(a)]) == 0
    assert cli.main([*base, "--out", str(b)]) == 0
    assert cli.main([*base, "--seed", "1", "--out", str(c)]) == 0
    assert "wrote 50 samples" in capsys.readouterr().out
    assert np.array_equal(data.load_points(a), data.load_points(b))
    assert not np.array_equal(data.load_points(a), data.load_points(c))


def test_train_in_process_with_a_point_file_and_progress_bar(tmp_path, capsys):
    from flowviz.core import checkpoint, data

    pts = tmp_path / "drawn.csv"
    data.save_points(pts, data.preset("circles", 40, seed=0))
    out = tmp_path / "r.pt"
    args = ["train", "--data", str(pts), "--steps", "12", "--width", "8", "--depth", "1"]
    assert cli.main([*args, "--device", "cpu", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "training on cpu (40 points)" in err and "12/12" in err
    assert checkpoint.load(out).data.shape == (40, 2)


# ---------------------------------------------------------------------------- errors


def test_unknown_preset(tmp_path):
    out = run("train", "--data", "bananas", "--steps", 5, "--out", tmp_path / "x.pt", "--quiet")
    assert_one_line_error(out, "bananas", "moons")
    assert not (tmp_path / "x.pt").exists()


def test_missing_checkpoint(tmp_path):
    out = run("sample", "--checkpoint", tmp_path / "nope.pt", "--out", tmp_path / "s.npy")
    assert_one_line_error(out, "nope.pt", "no such file")


def test_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip archive at all" * 50)
    out = run("sample", "--checkpoint", bad, "--out", tmp_path / "s.npy")
    assert_one_line_error(out, "bad.pt")
    assert not (tmp_path / "s.npy").exists()


def test_bad_out_extension(trained, tmp_path):
    out = run(
        "sample", "--checkpoint", trained, "--n", 10, "--steps", 2, "--out", tmp_path / "s.png"
    )
    assert_one_line_error(out, "s.png", "unsupported file type")
    assert list(tmp_path.iterdir()) == []


def test_divergence_with_a_huge_learning_rate(tmp_path):
    out = run(
        "train",
        "--data",
        "moons",
        "--n",
        100,
        "--steps",
        50,
        "--lr",
        "1e6",
        "--width",
        16,
        "--depth",
        2,
        "--out",
        tmp_path / "x.pt",
    )  # with the progress bar: the error must still be a line of its own
    assert_one_line_error(out, "diverged")
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "--steps", "0"], ["steps"]),
        (["train", "--n", "0", "--steps", "2"], ["point count"]),
        (["train", "--data", "missing.csv", "--steps", "2"], ["missing.csv", "no such file"]),
        (["train", "--activation", "sparkle", "--steps", "2"], ["sparkle"]),
        (["train", "--sigma-min", "1.5", "--steps", "2"], ["sigma_min"]),
        (["train", "--source", "circles.csv", "--steps", "2"], ["circles.csv"]),
        (["train", "--batch-size", "1", "--steps", "2"], ["batch"]),
    ],
)
def test_bad_training_options_in_process(tmp_path, capsys, monkeypatch, args, fragments):
    monkeypatch.chdir(tmp_path)
    assert cli.main([*args, "--quiet", "--out", "x.pt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flowviz: error: ")
    assert all(f in err[0] for f in fragments)
    assert not (tmp_path / "x.pt").exists()


def test_output_folder_that_does_not_exist_fails_before_training(tmp_path, capsys):
    """A typo in --out must not cost a whole training run (this one would take hours)."""
    out = tmp_path / "no" / "such" / "dir" / "run.pt"
    started = time.perf_counter()
    code = cli.main(["train", "--steps", "10000000", "--quiet", "--out", str(out)])
    assert code == 2
    assert time.perf_counter() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flowviz: error: ") and "dir" in err[0]


def test_an_error_after_the_progress_bar_is_on_a_line_of_its_own(tmp_path, capsys, monkeypatch):
    from flowviz.core import training

    def run_then_diverge(self):
        yield training.TrainReport(step=10, cfm_loss=3.0, fm_loss=1.0)
        raise training.DivergenceError("training diverged at step 20 (loss nan)")

    monkeypatch.setattr(training.Trainer, "run", run_then_diverge)
    code = cli.main(["train", "--steps", "30", "--n", "50", "--out", str(tmp_path / "x.pt")])
    assert code == 2
    lines = capsys.readouterr().err.splitlines()
    assert "10/30" in lines[-2]
    assert lines[-1] == "flowviz: error: training diverged at step 20 (loss nan)"
    assert not (tmp_path / "x.pt").exists()


def test_sample_into_a_missing_folder(trained, tmp_path, capsys):
    out = tmp_path / "nowhere" / "s.npy"
    assert cli.main(["sample", "--checkpoint", str(trained), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("flowviz: error: --out ")


@pytest.mark.parametrize("args", [["--n", "0"], ["--steps", "0"]])
def test_bad_sampling_options_in_process(trained, tmp_path, capsys, args):
    code = cli.main(
        ["sample", "--checkpoint", str(trained), *args, "--out", str(tmp_path / "s.npy")]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("flowviz: error: ")


def test_argparse_mistakes_exit_non_zero_without_traceback(tmp_path):
    out = run(
        "sample", "--checkpoint", tmp_path / "x.pt", "--out", tmp_path / "s.npy", "--solver", "heun"
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "invalid choice" in out.stderr
