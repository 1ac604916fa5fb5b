"""Fault injection against the run machinery: overwrite protection, honest resume, non-finite
values, checkpoint corruption, bad options and unwritable folders. Each test reproduces a
defect found by trying the CLI and library as a demanding user would."""

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import phasecollapse as pc
from phasecollapse.cli import main
from phasecollapse.run import checkpoint
from phasecollapse.run.checkpoint import CheckpointError, load
from phasecollapse.run.config import load_config
from phasecollapse.run.train import MetricsLog, NonFiniteLossError, fit

TINY = ["model.name='lscat_cifar10'", "model.options={width_factor=0.0625}", "train.progress=false", "train.tensorboard=false"]
TEXTURES = [*TINY, "data.dataset='textures'", "data.texture_train=32", "data.texture_test=16", "data.batch_size=32", "optim.lr=0.05"]


def config(out: Path, *extra: str):
    return load_config(None, [*TEXTURES, f"train.out_dir={out}", *extra])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    fit(config(out, "optim.epochs=2"))
    return out


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_a_fresh_run_refuses_a_folder_holding_a_run(finished_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(finished_run)
    with pytest.raises(ValueError, match="already holds a run .*--resume.*--overwrite"):
        fit(config(finished_run, "optim.epochs=1", "optim.lr=0.5"))
    assert _snapshot(finished_run) == before  # nothing touched: best.pt, metrics, results
    cfg = finished_run / "c.toml"
    cfg.write_text("")
    args = ["train", str(cfg), *sum((["--set", o] for o in TEXTURES), []), "--set", f"train.out_dir={finished_run}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--overwrite" in err
    cfg.unlink()


def test_overwrite_starts_over_deliberately(tmp_path: Path) -> None:
    fit(config(tmp_path, "optim.epochs=2"))
    fit(config(tmp_path, "optim.epochs=1"), overwrite=True)
    rows = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1]  # not appended to the old rows
    assert json.loads((tmp_path / "results.json").read_text())["epochs_completed"] == 1


def test_resume_refuses_changed_options_and_names_them(finished_run: Path) -> None:
    before = _snapshot(finished_run)
    with pytest.raises(ValueError, match=r"refuses to change optim.lr: 0.05 → 0.5"):
        fit(config(finished_run, "optim.epochs=3", "optim.lr=0.5"), resume=True)
    with pytest.raises(ValueError, match=r"already completed 2 of optim.epochs = 2"):
        fit(config(finished_run, "optim.epochs=2"), resume=True)
    with pytest.raises(ValueError, match=r"refuses to change optim.epochs: 2 → 1"):
        fit(config(finished_run, "optim.epochs=1"), resume=True)
    with pytest.raises(ValueError, match=r"optim.epochs: 2 → 4"):  # a one-cycle schedule depends on the number of epochs
        fit(config(finished_run, "optim.epochs=4", "optim.schedule='onecycle'"), resume=True)
    assert _snapshot(finished_run) == before  # results.json is never rewritten by a refused resume


def test_resume_applies_more_epochs_of_a_step_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fit(config(tmp_path, "optim.epochs=1"))
    summary = fit(config(tmp_path, "optim.epochs=2"), resume=True)
    assert "--resume: applying optim.epochs: 1 → 2" in capsys.readouterr().err
    assert summary["epochs_completed"] == 2
    assert [json.loads(r)["epoch"] for r in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_drops_metric_rows_of_epochs_without_checkpoint(tmp_path: Path) -> None:
    fit(config(tmp_path, "optim.epochs=1"))
    # A kill after epoch 2's row but before its checkpoint leaves a row that --resume must drop.
    log = MetricsLog(tmp_path, tensorboard=False, epochs_done=1)
    log.write({"epoch": 2, "lr": 0.05, "train_loss": 1.0})
    fit(config(tmp_path, "optim.epochs=2"), resume=True)
    epochs = [json.loads(r)["epoch"] for r in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    csv_epochs = [line.split(",")[0] for line in (tmp_path / "metrics.csv").read_text().splitlines()[1:]]
    assert epochs == [1, 2] and csv_epochs == ["1", "2"]


def test_resume_needs_optimizer_state(tmp_path: Path) -> None:
    fit(config(tmp_path, "optim.epochs=1"))
    state = load(tmp_path / "last.pt")
    del state["optimizer"], state["checksum"]
    checkpoint.save_atomic(state, tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="no optimizer state"):
        fit(config(tmp_path, "optim.epochs=2"), resume=True)


@pytest.mark.parametrize("assignment", ["optim.lr=nan", "optim.lr=inf", "optim.lr=0", "optim.momentum=nan", "optim.momentum=1.5", "optim.gamma=nan", "optim.gamma=-1", "optim.gamma=0", "optim.weight_decay=-inf", "optim.label_smoothing=1.0"])
def test_non_finite_and_out_of_range_options_are_refused(assignment: str) -> None:
    with pytest.raises(ValueError, match=assignment.split("=")[0]):
        load_config(None, [assignment])


@pytest.mark.parametrize("options,message", [("{width_factor='abc'}", "width_factor"), ("{width_factor=inf}", "width_factor"), ("{L=0}", "L "), ("{widths=[0, 4]}", "widths")])
def test_bad_model_options_give_one_line_errors(tmp_path: Path, options: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    assert main(["train", str(cfg), "--set", f"model.options={options}", "--set", f"train.out_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_extends_must_be_a_path(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("extends = 5\n")
    with pytest.raises(ValueError, match="extends must be a relative path"):
        load_config(cfg)


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fit(config(tmp_path, "optim.epochs=1"))
    good = (tmp_path / "last.pt").read_bytes()
    import phasecollapse.run.train as train

    real = train.F.cross_entropy
    calls = {"n": 0}

    def poisoned(*args, **kwargs):  # the loss of the second step of the resumed epoch is NaN
        calls["n"] += 1
        out = real(*args, **kwargs)
        return out * math.nan if calls["n"] == 2 else out

    monkeypatch.setattr(train.F, "cross_entropy", poisoned)
    with pytest.raises(NonFiniteLossError, match="training loss is nan at epoch 2, step 2"):
        fit(config(tmp_path, "optim.epochs=2"), resume=True)
    assert (tmp_path / "last.pt").read_bytes() == good


@pytest.mark.parametrize("name", ["lscat_cifar10", "scat_cifar10", "resnet20_cifar10"])
def test_non_finite_images_are_refused_at_the_model_entry(name: str) -> None:
    model = pc.create_model(name, **({"width_factor": 0.0625} if "lscat" in name else {}))
    x = torch.randn(2, 3, 32, 32)
    x[1, 2, 5, 7] = math.nan
    stats = [b.clone() for b in model.buffers()]
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        model(x)
    assert all(torch.equal(a, b) for a, b in zip(stats, model.buffers()))  # running statistics untouched
    x[1, 2, 5, 7] = math.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        model(x)
    model.check_finite = False  # the check can be turned off (the caller vouches for the data)
    model.eval()(torch.randn(2, 3, 32, 32))


def test_fuzzed_checkpoints_are_refused_with_a_checkpoint_error(finished_run: Path, tmp_path: Path) -> None:
    data = (finished_run / "last.pt").read_bytes()
    rng = random.Random(0)
    for i in range(60):
        path = tmp_path / f"fuzz{i}.pt"
        kind = i % 3
        if kind == 0:
            path.write_bytes(rng.randbytes(rng.randrange(1, 4096)))
        elif kind == 1:
            path.write_bytes(data[: rng.randrange(1, len(data))])
        else:  # bit flips anywhere in a valid checkpoint
            flipped = bytearray(data)
            for _ in range(rng.randrange(1, 4)):
                pos = rng.randrange(len(flipped))
                flipped[pos] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError):
            load(path)


def test_a_bit_flip_inside_a_tensor_is_caught_by_the_checksum(finished_run: Path, tmp_path: Path) -> None:
    state = load(finished_run / "last.pt")
    weight = next(iter(state["model"].values()))
    weight.view(-1)[0] = weight.view(-1)[0] + 1e-3  # a valid file whose contents changed
    torch.save(state, tmp_path / "tampered.pt")
    with pytest.raises(CheckpointError, match="checksum"):
        load(tmp_path / "tampered.pt")


def test_a_mismatched_checkpoint_names_the_mismatch(finished_run: Path) -> None:
    model = pc.create_model("lscat_cifar10", width_factor=0.125)
    with pytest.raises(CheckpointError, match=r"size mismatch for blocks\.0\.proj\.weight"):
        checkpoint.load_model_state(model, load(finished_run / "last.pt")["model"], finished_run / "last.pt")


def test_unwritable_output_folders_fail_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot write the run's files"):
        fit(config(blocker / "run", "optim.epochs=1"))
    for args in (["analyze", "symmetry", "--out", str(blocker / "x")], ["bench", "scat", "--out", str(blocker / "x"), "--steps", "1"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "cannot write results" in err


def test_silent_nonsense_is_refused(finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = str(finished_run / "last.pt")
    cases = [
        (["analyze", "separation", ckpt, "--samples", "0", "--out", str(tmp_path)], "--samples must be a positive"),
        (["analyze", "relu", ckpt, "--out", str(tmp_path)], "ResNet"),
        (["eval", ckpt, "--set", "model.options={width_factor=0.5}"], "cannot change it"),
        (["bench", "train", "--steps", "0", "--out", str(tmp_path)], "--steps must be ≥ 1"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (args, err)
    assert not list(tmp_path.glob("*.json"))  # nothing half-written


def test_progress_bars_stay_out_of_logs(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    overrides = [o for o in TEXTURES if not o.startswith("train.progress")] + ["train.progress=true", "optim.epochs=2", f"train.out_dir={tmp_path / 'run'}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "phasecollapse", "train", str(cfg), *sum((["--set", o] for o in overrides), [])], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stdout + out.stderr and "it/s" not in out.stderr  # no bar redraws in a file or pipe
    assert sum(line.startswith("epoch ") for line in out.stdout.splitlines()) == 2  # one line per epoch instead


def test_resumed_run_records_where_each_stretch_of_epochs_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run resumed on another machine, or at another precision, names both in its results and
    in the reproduce tables; a checkpoint from before segments were kept marks its epochs 'not
    recorded', at the precision of its saved config."""
    from phasecollapse.run import train
    from phasecollapse.run.provenance import machines_of

    fit(config(tmp_path, "optim.epochs=1", "train.precision=fp32"))
    other = {**train.environment(), "cpu": "Other CPU", "cpu_cores": 16, "gpu": "Some GPU"}
    monkeypatch.setattr(train, "environment", lambda: other)
    summary = fit(config(tmp_path, "optim.epochs=2", "train.precision=bf16"), resume=True)
    assert [(s["from_epoch"], s["precision"]) for s in summary["segments"]] == [(1, "fp32"), (2, "bf16")]
    assert machines_of(summary).startswith("epochs 1–1: ") and machines_of(summary).endswith("epochs 2–2: Other CPU (16 cores), Some GPU, bf16")
    assert json.loads((tmp_path / "results.json").read_text())["segments"] == summary["segments"]
    monkeypatch.undo()
    state = load(tmp_path / "last.pt")
    state.pop("segments")
    checkpoint.save_atomic(state, tmp_path / "last.pt")
    (tmp_path / "results.json").unlink()
    summary = fit(config(tmp_path, "optim.epochs=3", "train.precision=fp32"), resume=True)
    assert [s["environment"] is None for s in summary["segments"]] == [True, False]
    assert machines_of(summary).startswith("epochs 1–2: not recorded, bf16; epochs 3–3: ") and machines_of(summary).endswith(", fp32")
    same = {**summary, "segments": [summary["segments"][1], {**summary["segments"][1], "from_epoch": 3}]}
    assert "epochs" not in machines_of(same)  # one machine throughout: named once
