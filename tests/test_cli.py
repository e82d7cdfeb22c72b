"""The headless command line: train, sample, and one-line errors for user mistakes."""

import os
import subprocess
import sys
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
    # It diverges by the first report: nothing better than the initial weights to save.
    assert_one_line_error(out, "diverged", "nothing saved")
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "--steps", "0"], ["steps"]),
        (["train", "--n", "0", "--steps", "2"], ["--n must be a whole number from 1 to"]),
        (["train", "--data", "missing.csv", "--steps", "2"], ["missing.csv", "no such file"]),
        (["train", "--activation", "sparkle", "--steps", "2"], ["sparkle"]),
        (["train", "--sigma-min", "1.5", "--steps", "2"], ["--sigma-min", "0 to 0.5"]),
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


@pytest.fixture
def no_training(monkeypatch):
    """Makes any training (or Trainer construction) fail the test: the error must come first."""
    from flowviz.core import training

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the error")

    monkeypatch.setattr(training.Trainer, "__init__", refuse)


def test_output_folder_that_does_not_exist_fails_before_training(tmp_path, capsys, no_training):
    """A typo in --out must not cost a whole training run (this one would take hours)."""
    out = tmp_path / "no" / "such" / "dir" / "run.pt"
    code = cli.main(["train", "--steps", "10000000", "--quiet", "--out", str(out)])
    assert code == 2
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
    assert lines[-1] == (
        "flowviz: error: training diverged at step 20 (loss nan); "
        f"saved the weights of step 10 to {tmp_path / 'x.pt'}"
    )


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


# ------------------------------------------------------------- hardening (issue 12)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flowviz: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seed", "-1"], "--seed must be a whole number from 0 to 4294967295, got -1"),
        (
            ["--seed", str(2**64)],
            f"--seed must be a whole number from 0 to 4294967295, got {2**64}",
        ),
        (["--seed", "8589934592"], "--seed must be a whole number"),
        (["--poly-n", "inf"], "--poly-n must be a number from 0.1 to 10, got inf"),
        (["--poly-n", "1e-9"], "--poly-n must be a number from 0.1 to 10, got 1e-09"),
        (["--lr", "nan"], "--lr must be a number from 1e-09 to 1e+09, got nan"),
        (["--width", "2048"], "--width must be a whole number from 1 to 1024, got 2048"),
        (["--depth", "13"], "--depth must be a whole number from 1 to 12"),
        (["--batch-size", "20000"], "--batch-size must be a whole number from 2 to 16384"),
        (["--batch-size", "5000", "--coupling", "sinkhorn"], "--batch-size must be a whole number"),
        (["--steps", "20000000"], "--steps must be a whole number from 1 to 10000000"),
        (["--n", "2000000"], "--n must be a whole number from 1 to 1000000"),
    ],
)
def test_out_of_range_settings_are_refused_before_any_work(
    tmp_path, capsys, no_training, args, fragment
):
    assert cli.main(["train", *args, "--quiet", "--out", str(tmp_path / "x.pt")]) == 2
    assert fragment in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_the_largest_allowed_values_are_accepted(tmp_path, capsys, monkeypatch):
    """The edges of limits' ranges pass the CLI (the window will share them)."""
    from flowviz.core import training

    seen = []
    monkeypatch.setattr(training.Trainer, "run", lambda self: iter(seen.append(self) or ()))
    args = ["train", "--seed", str(2**32 - 1), "--poly-n", "10", "--path", "polynomial"]
    args += ["--sigma-min", "0.5", "--lr", "1e-9", "--batch-size", "4096", "--coupling", "ot"]
    args += ["--width", "4", "--depth", "12", "--n", "20", "--quiet"]
    assert cli.main([*args, "--out", str(tmp_path / "edge.pt")]) == 0, capsys.readouterr().err
    assert seen[0].config.seed == 2**32 - 1 and seen[0].config.model.depth == 12


def test_train_refuses_to_overwrite_its_data(tmp_path, capsys, no_training):
    from flowviz.core import data

    pts = tmp_path / "mypoints.csv"
    data.save_points(pts, data.preset("moons", 30, seed=0))
    before = pts.read_bytes()
    assert cli.main(["train", "--data", str(pts), "--out", str(pts), "--quiet"]) == 2
    assert "is also the --data file" in one_error_line(capsys)
    assert pts.read_bytes() == before
    # Through another spelling of the same path, and for --source.
    other = str(tmp_path / "." / "mypoints.csv")
    assert cli.main(["train", "--source", str(pts), "--out", other, "--quiet"]) == 2
    assert "is also the --source file" in one_error_line(capsys)
    assert pts.read_bytes() == before


def test_sample_refuses_to_overwrite_its_checkpoint(trained, tmp_path, capsys):
    odd = tmp_path / "weights.npy"  # a checkpoint with a point-file name
    odd.write_bytes(trained.read_bytes())
    assert cli.main(["sample", "--checkpoint", str(odd), "--out", str(odd)]) == 2
    assert "is also the --checkpoint file" in one_error_line(capsys)
    assert odd.read_bytes() == trained.read_bytes()


@pytest.mark.parametrize("name", ["run.csv", "run.npy", "run", "run.pt.bak"])
def test_train_output_must_be_a_pt_file(tmp_path, capsys, no_training, name):
    assert cli.main(["train", "--quiet", "--out", str(tmp_path / name)]) == 2
    assert "a checkpoint is written as .pt" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_sample_output_must_be_a_point_file(trained, tmp_path, capsys):
    assert cli.main(["sample", "--checkpoint", str(trained), "--out", str(tmp_path / "s.pt")]) == 2
    assert "a point set is written as .npy or .csv" in one_error_line(capsys)


def test_out_naming_a_folder_fails_before_training(tmp_path, capsys, no_training):
    folder = tmp_path / "results.pt"
    folder.mkdir()
    assert cli.main(["train", "--quiet", "--out", str(folder)]) == 2
    assert f"--out {folder}: is a folder" in one_error_line(capsys)


def test_out_naming_a_read_only_file_fails_before_training(tmp_path, capsys, no_training):
    out = tmp_path / "keep.pt"
    out.write_bytes(b"precious")
    out.chmod(0o444)
    assert cli.main(["train", "--quiet", "--out", str(out)]) == 2
    assert f"--out {out}: the file is read-only" in one_error_line(capsys)
    assert out.read_bytes() == b"precious"


def test_out_in_an_unwritable_folder_names_the_users_path(tmp_path, capsys, monkeypatch):
    """Whatever refuses the write (permissions, a read-only mount), the message names
    --out and its folder, never the hidden temporary file."""
    import tempfile

    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}abcd1234{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "run.pt"
    assert cli.main(["train", "--quiet", "--steps", "5", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert f"--out {out}: cannot write in {tmp_path} (Permission denied)" in line
    assert ".tmp" not in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_really(tmp_path, capsys, no_training):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert cli.main(["train", "--quiet", "--out", str(folder / "run.pt")]) == 2
        assert "cannot write in" in one_error_line(capsys)
    finally:
        folder.chmod(0o755)


def test_sample_count_above_the_limit_is_refused_before_loading(tmp_path, capsys):
    # The checkpoint does not even exist: the count is checked first.
    args = ["sample", "--checkpoint", str(tmp_path / "none.pt"), "--n", "2000000"]
    assert cli.main([*args, "--out", str(tmp_path / "s.npy")]) == 2
    assert "--n must be a whole number from 1 to 1000000, got 2000000" in one_error_line(capsys)


def test_sample_keeps_no_trajectory_and_chunks_agree(trained, tmp_path, monkeypatch, capsys):
    """sample integrates with final_state (one state at a time), in chunks that give the
    same points as one piece."""
    from flowviz.core import data, solvers

    def whole_trajectory(**kwargs):
        raise AssertionError("sample must not keep the whole trajectory")

    monkeypatch.setattr(solvers, "integrate", whole_trajectory)
    base = ["sample", "--checkpoint", str(trained), "--n", "300", "--steps", "5", "--seed", "4"]
    assert cli.main([*base, "--out", str(tmp_path / "one.npy")]) == 0
    monkeypatch.setattr(cli, "_sample_chunk", lambda width: 7)
    assert cli.main([*base, "--out", str(tmp_path / "many.npy")]) == 0
    one, many = data.load_points(tmp_path / "one.npy"), data.load_points(tmp_path / "many.npy")
    assert one.shape == (300, 2)
    np.testing.assert_allclose(many.numpy(), one.numpy(), rtol=1e-5, atol=1e-6)
    capsys.readouterr()


def _interrupt_after(monkeypatch, step: int, exc: BaseException):
    """Trainer.run trains for real, then raises exc after the report of `step`."""
    from flowviz.core import training

    real = training.Trainer.run

    def run(self):
        for report in real(self):
            yield report
            if report.step >= step:
                raise exc

    monkeypatch.setattr(training.Trainer, "run", run)


NET = ["--n", "60", "--width", "8", "--depth", "1", "--quiet"]
SMALL = [*NET, "--steps", "100"]


def test_ctrl_c_saves_the_weights_so_far(tmp_path, capsys, monkeypatch):
    from flowviz.core import checkpoint

    _interrupt_after(monkeypatch, 50, KeyboardInterrupt())
    out = tmp_path / "run.pt"
    assert cli.main(["train", *SMALL, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"flowviz: interrupted at step 50; saved the weights of step 50 to {out}"]
    ck = checkpoint.load(out)
    assert ck.step == 50 and ck.config.steps == 100


def test_ctrl_c_before_any_step_saves_nothing(tmp_path, capsys, monkeypatch):
    from flowviz.core import training

    def run(self):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(training.Trainer, "run", run)
    assert cli.main(["train", *SMALL, "--out", str(tmp_path / "run.pt")]) == 130
    assert "nothing saved" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_divergence_saves_the_last_finite_weights(tmp_path, capsys, monkeypatch):
    """Weights turned to NaN after step 25: the trainer notices at the next report, puts
    back the weights of step 25, and the CLI saves those (finite) with their step."""
    import torch

    from flowviz.core import checkpoint, training

    real = training.Trainer.run

    def run(self):
        for report in real(self):
            yield report
            if report.step == 25:
                with torch.no_grad():
                    for p in self.model.parameters():
                        p.fill_(float("nan"))

    monkeypatch.setattr(training.Trainer, "run", run)
    out = tmp_path / "run.pt"
    assert cli.main(["train", *SMALL, "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert "training diverged at step 50" in line
    assert f"saved the weights of step 25 to {out}" in line
    ck = checkpoint.load(out)  # loads: so its weights are finite
    assert ck.step == 25


def test_a_growing_loss_is_warned_about_once(tmp_path, capsys):
    out = tmp_path / "run.pt"
    assert cli.main(["train", *NET, "--steps", "30", "--lr", "1e3", "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("flowviz: warning: the loss grew to ")
    assert "learning rate is probably too high" in err[0]


def test_a_normal_run_has_no_warning(tmp_path, capsys):
    assert cli.main(["train", *NET, "--steps", "50", "--out", str(tmp_path / "r.pt")]) == 0
    assert capsys.readouterr().err == ""


def test_a_folder_as_data_is_not_said_to_be_missing(tmp_path, capsys, no_training):
    folder = tmp_path / "points.csv"
    folder.mkdir()
    assert cli.main(["train", "--data", str(folder), "--out", str(tmp_path / "r.pt")]) == 2
    assert one_error_line(capsys) == "flowviz: error: points.csv: is a folder, not a file"


def test_a_read_error_names_the_file(tmp_path, capsys, monkeypatch):
    import errno
    from pathlib import Path

    from flowviz.core import data

    pts = tmp_path / "disk.csv"
    data.save_points(pts, [[1.0, 2.0]])

    def eio(self):
        raise OSError(errno.EIO, "Input/output error", str(self))

    monkeypatch.setattr(Path, "read_bytes", eio)
    assert cli.main(["train", "--data", str(pts), "--out", str(tmp_path / "r.pt")]) == 2
    assert one_error_line(capsys) == (
        "flowviz: error: disk.csv: cannot be read (Input/output error)"
    )
    assert cli.main(["sample", "--checkpoint", str(pts), "--out", str(tmp_path / "s.npy")]) == 2
    assert "disk.csv: cannot be read (Input/output error)" in one_error_line(capsys)


# ------------------------------------------------- core helpers the command line relies on


def test_limits_import_without_torch_or_qt():
    """The window reads limits at start-up, before torch is loaded."""
    code = "import sys, flowviz.core.limits; print(sorted({'torch', 'PySide6'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_limit_ranges_check_type_and_bounds():
    from flowviz.core import limits

    assert limits.SEED.check(2**32 - 1) == 2**32 - 1
    for bad in (-1, 2**32, 1.0, True, "3", None):
        assert not limits.SEED.contains(bad)
    for bad in (float("nan"), float("inf"), 0.0, 10.5):
        assert not limits.POLY_N.contains(bad)
    assert limits.POLY_N.contains(2) and limits.POLY_N.contains(0.1)
    with pytest.raises(ValueError, match=r"^seed must be a whole number, got '3'$"):
        limits.SEED.check("3")
    assert limits.batch_size_range("sinkhorn").hi < limits.batch_size_range("independent").hi


def test_loss_watch_warns_once_on_growth_and_not_on_a_small_wobble():
    from flowviz.core.training import LossWatch

    watch = LossWatch(initial=4.0)
    assert [watch.update(v) for v in (3.0, 0.01, 0.5, 2.0)] == [None] * 4  # 200x 0.01, < initial
    msg = watch.update(500.0, step=75)
    assert msg.startswith("the loss grew to 500 at step 75, 5e+04 times its lowest value 0.01")
    assert watch.update(1e6) is None  # once per run
    fresh = LossWatch()  # without the untrained loss: the first one fed stands in
    assert fresh.update(1e5) is None and fresh.update(2e7) is not None


def test_reports_carry_the_growth_warning():
    from flowviz.core import data, model, training

    cfg = training.TrainConfig(steps=10, lr=1e3, report_every=5, model=model.ModelConfig(8, 1))
    reports = list(training.Trainer(data=data.preset("moons", 50), config=cfg).run())
    assert reports[0].warning and "learning rate" in reports[0].warning
    assert reports[1].warning is None
    calm = training.TrainConfig(steps=10, report_every=5, model=model.ModelConfig(8, 1))
    assert all(
        r.warning is None
        for r in training.Trainer(data=data.preset("moons", 50), config=calm).run()
    )


def test_final_state_is_the_last_row_of_the_trajectory():
    import torch

    from flowviz.core import solvers

    x0 = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    grid = solvers.time_grid(7)
    for method in solvers.METHODS:

        def v(x, t):
            return torch.sin(3 * x + t) - x

        traj = solvers.integrate(velocity=v, x0=x0, t_grid=grid, method=method)
        last = solvers.final_state(velocity=v, x0=x0, t_grid=grid, method=method)
        assert torch.equal(last, traj[-1])
    with pytest.raises(ValueError, match="unknown solver"):
        solvers.final_state(velocity=v, x0=x0, t_grid=grid, method="heun")
