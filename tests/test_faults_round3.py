"""Fault injection, round 3 (issue #26): concurrent runs into one folder, results files that a
failed write leaves half-written or a NaN makes invalid, options accepted and ignored, and errors
that do not name what failed. The size-limit tests run the CLI in a child process under
``RLIMIT_FSIZE`` (``ulimit -f``); the concurrency test starts two real trainings."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from phasecollapse.cli import main
from phasecollapse.run import checkpoint
from phasecollapse.run.checkpoint import CheckpointError, load, load_trained
from phasecollapse.run.config import load_config
from phasecollapse.run.train import fit

TINY = ["model.name='lscat_skip_cifar10'", "model.options={width_factor=0.0625}", "train.progress=false", "train.tensorboard=false"]
TEXTURES = [*TINY, "data.dataset='textures'", "data.texture_train=32", "data.texture_test=16", "data.batch_size=32", "optim.lr=0.05"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def config(out: Path, *extra: str):
    return load_config(None, [*TEXTURES, f"train.out_dir={out}", *extra])


def train_args(cfg: Path, out: Path, *extra: str) -> list[str]:
    """``train`` CLI arguments of the tiny textures run into ``out`` (``cfg``: an empty config file)."""
    cfg.write_text("")
    return ["train", str(cfg), *sum((["--set", o] for o in [*TEXTURES, f"train.out_dir={out}"]), []), *extra]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-epoch run; tests copy what they change."""
    out = tmp_path_factory.mktemp("run")
    fit(config(out, "optim.epochs=1"))
    return out


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "[Errno" not in err, err
    return err


def _under_file_size_limit(args: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    """``phasecollapse ARGS`` in a child process whose files may not exceed ``limit`` bytes."""
    code = f"import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); from phasecollapse.cli import main; sys.exit(main({args!r}))"
    return subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=600)


def _no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.rglob("*.tmp")]


def test_a_second_run_into_a_busy_folder_is_refused_and_a_killed_runs_lock_blocks_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = train_args(tmp_path / "c.toml", out, "--set", "optim.epochs=3", "--set", "data.texture_train=96")
    cli = [sys.executable, "-m", "phasecollapse"]
    first = subprocess.Popen([*cli, *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.2)
    second = subprocess.Popen([*cli, *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = {first.pid: first, second.pid: second}
    while all(p.poll() is None for p in procs.values()):
        time.sleep(0.05)
    refused = next(p for p in procs.values() if p.poll() is not None)
    holder = next(p for p in procs.values() if p is not refused)
    assert holder.poll() is None, "the refusal must come while the other run holds the folder"
    err = refused.stderr.read().strip()
    assert refused.returncode == 2 and len(err.splitlines()) == 1, err
    assert f"{out} is in use by another run (process {holder.pid} on " in err
    while not (out / "last.pt").exists():  # kill the holder mid-run: its lock file stays behind
        assert holder.poll() is None, holder.stderr.read()
        time.sleep(0.02)
    holder.send_signal(signal.SIGKILL)
    holder.wait(60)
    assert (out / ".lock").exists() and load(out / "last.pt")["epoch"] < 3
    resumed = subprocess.run([*cli, *args, "--resume"], env=ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert [line.split(",")[0] for line in (out / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]


def test_a_table_without_finished_runs_is_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "table2.md").write_text("earlier table\n")
    (tmp_path / "table2.json").write_text("{}\n")
    for out in (tmp_path, tmp_path / "new"):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        assert main(["reproduce", "table2", "--table-only", "--out", str(out)]) == 2
        assert "no finished run" in _one_line_error(capsys)
        assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, no folder created
    assert (tmp_path / "table2.md").read_text() == "earlier table\n"


def test_a_results_pair_is_written_whole_or_not_at_all_under_a_file_size_limit(finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "analysis"
    done = _under_file_size_limit(["analyze", "separation", str(finished_run / "last.pt"), "--samples", "16", "--no-probe", "--out", str(out)], 16 * 1024)
    err = done.stderr.strip().splitlines()[-1]  # after matplotlib's warnings
    assert done.returncode == 2 and err.startswith("phasecollapse analyze: error: "), done.stderr
    assert f"cannot write {out / 'separation.png'}: file too large: the file-size limit (ulimit -f) is 16,384 bytes" in err
    assert sorted(p.name for p in out.iterdir()) == []  # not the JSON without its PNG, no temporary


def test_bench_results_name_the_file_under_a_file_size_limit(tmp_path: Path) -> None:
    done = _under_file_size_limit(["bench", "train", "--model", "resnet20_cifar10", "--batch-size", "2", "--steps", "1", "--warmup", "0", "--no-compile", "--out", str(tmp_path)], 1024)
    err = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr
    assert f"cannot write {tmp_path / 'train_resnet20_cifar10_b2_cpu.json'}: file too large" in err and "[Errno" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no 1,024-byte invalid JSON


def test_a_failed_checkpoint_write_names_the_file_and_the_cause(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _under_file_size_limit(train_args(tmp_path / "c.toml", out, "--set", "optim.epochs=1"), 100_000)
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1, err
    assert f"cannot write {out / 'best.pt'}: file too large: the file-size limit (ulimit -f) is 100,000 bytes" in err
    assert "enforce fail" not in err
    _no_temporaries(out)


def test_resume_and_overwrite_together_are_refused(finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    assert main(train_args(tmp_path / "c.toml", finished_run, "--set", "optim.epochs=2", "--resume", "--overwrite")) == 2
    assert "--resume and --overwrite exclude each other" in _one_line_error(capsys)
    assert {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()} == before


def test_a_missing_data_dir_is_refused_and_an_unused_one_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert main(train_args(tmp_path / "c.toml", tmp_path / "run", "--data-dir", str(missing))) == 2
    assert f"--data-dir {missing}: no such folder" in _one_line_error(capsys)
    assert not (tmp_path / "run").exists()
    assert main(train_args(tmp_path / "c.toml", tmp_path / "run", "--set", "optim.epochs=1", "--data-dir", str(tmp_path))) == 0
    assert f"the data folder {tmp_path} is unused: the textures data set is generated" in capsys.readouterr().err


def test_non_finite_weights_are_refused_and_results_never_hold_nan(finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = load(finished_run / "last.pt")
    for t in state["model"].values():
        if t.is_floating_point():
            t.fill_(math.nan)
    first = next(k for k, t in state["model"].items() if t.is_floating_point())
    checkpoint.save_atomic(state, tmp_path / "nan.pt")  # a valid checksum over NaN weights
    for args in (["analyze", "separation", str(tmp_path / "nan.pt"), "--samples", "16", "--no-probe", "--out", str(tmp_path / "a")], ["eval", str(tmp_path / "nan.pt")]):
        assert main(args) == 2
        assert f"checkpoint {tmp_path / 'nan.pt'}: {first} holds " in _one_line_error(capsys)
    assert not list((tmp_path / "a").iterdir())
    from phasecollapse.run import atomic

    path = tmp_path / "r.json"
    with pytest.raises(ValueError, match=r"r\.json: models\.lscat\.blocks\[1\]\.fisher_ratio = nan is not a finite number"):
        atomic.write_json(path, {"models": {"lscat": {"blocks": [{"fisher_ratio": 1.0}, {"fisher_ratio": math.nan}]}}})
    assert not path.exists()


def test_resume_accepts_an_option_given_at_its_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fit(config(tmp_path / "run", "optim.epochs=1"))
    args = train_args(tmp_path / "c.toml", tmp_path / "run", "--set", "optim.epochs=2", "--set", "model.options.wavelet='auto'", "--resume")
    assert main(args) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "results.json").read_text())["epochs_completed"] == 2
    assert "model.options" not in capsys.readouterr().err  # neither refused nor "applied"
    args = train_args(tmp_path / "c.toml", tmp_path / "run", "--set", "optim.epochs=3", "--set", "model.options.wavelet='fft'", "--resume")
    assert main(args) == 2 and "refuses to change model.options" in _one_line_error(capsys)


def test_an_out_folder_that_is_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for args in (["demo", "--out", str(blocker)], ["reproduce", "table2", "--out", str(blocker)], ["reproduce", "table2", "--table-only", "--out", str(blocker)]):
        assert main(args) == 2
        assert f"{blocker} is a file, not a folder" in _one_line_error(capsys)


def test_checkpoint_defects_are_named(finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = load(finished_run / "last.pt")
    torch.save({**state, "format": "phasecollapse-checkpoint-v1"}, tmp_path / "v1.pt")
    with pytest.raises(CheckpointError, match=r"v1\.pt is a phasecollapse checkpoint of an older format \('phasecollapse-checkpoint-v1'\)"):
        load(tmp_path / "v1.pt")
    torch.save({k: v for k, v in state.items() if k != "checksum"}, tmp_path / "unsummed.pt")
    with pytest.raises(CheckpointError, match="unsummed.pt lacks checksum"):
        load(tmp_path / "unsummed.pt")
    state["config"]["train"]["bogus"] = 1
    checkpoint.save_atomic(state, tmp_path / "bogus.pt")
    with pytest.raises(CheckpointError, match=r"the config stored in checkpoint .*bogus\.pt is not valid for this version: unknown config key train\.bogus"):
        load_trained(tmp_path / "bogus.pt")
    assert main(["eval", str(tmp_path / "bogus.pt")]) == 2
    assert "config stored in checkpoint" in _one_line_error(capsys)


def test_the_separation_label_names_the_models_own_nonlinearity(tmp_path: Path) -> None:
    from phasecollapse.analysis import report
    from phasecollapse.models import create_model

    cfg = load_config(None, [*TEXTURES, "model.name='resnet20_cifar10'", "model.options={}"])
    state = {"format": checkpoint.FORMAT, "model": create_model("resnet20_cifar10").state_dict(), "config": cfg.to_dict(), "epoch": 0}
    checkpoint.save_atomic(state, tmp_path / "resnet.pt")
    rows = report.separation(tmp_path / "a", [str(tmp_path / "resnet.pt")], samples=16, probe=False)
    assert list(rows) == ["resnet20_cifar10 (relu)"]


def test_a_run_whose_data_check_fails_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="CIFAR-10 data directory not found"):
        fit(load_config(None, [*TINY, f"data.root={tmp_path / 'nowhere'}", f"train.out_dir={tmp_path / 'runs' / 'a'}"]))
    assert not (tmp_path / "runs").exists()
