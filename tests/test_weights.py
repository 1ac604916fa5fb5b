"""Trained weights: export a checkpoint, load it back by file, manifest name, True or URL, and the
errors that name the file and the problem; the published entries reach their test error."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from phasecollapse import create_model
from phasecollapse.cli import main
from phasecollapse.models import pretrained
from phasecollapse.models.pretrained import WeightsError, manifest, save_weights, sha256_file
from phasecollapse.run.checkpoint import CheckpointError, load_trained
from phasecollapse.run.config import load_config
from phasecollapse.run.train import evaluate_checkpoint, fit
from phasecollapse.run.weights import export_weights

MODEL = "lscat_skip_cifar10"
TINY = [f"model.name='{MODEL}'", "model.options={width_factor=0.0625}", "data.dataset='textures'", "data.texture_train=48", "data.texture_test=32", "data.batch_size=32", "optim.epochs=1", "train.progress=false", "train.tensorboard=false"]


@pytest.mark.parametrize("name", sorted(manifest()))
def test_published_weights_reach_their_test_error(name: str, request: pytest.FixtureRequest) -> None:
    """``phasecollapse eval NAME``'s code path on the test set of the entry's recipe."""
    entry = manifest()[name]
    root = request.getfixturevalue("cifar10_dir") if entry["dataset"] == "cifar10" else None
    assert abs(evaluate_checkpoint(name, root and str(root))["test_top1_err"] - entry["test_top1_err"]) <= 0.05


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    fit(load_config(None, [*TINY, f"train.out_dir={out}"]))
    return out


@pytest.fixture
def published(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    """The run exported as "tiny" into a weights folder that stands for the package's."""
    weights = tmp_path / "weights"
    entry = export_weights(run / "last.pt", "tiny", weights)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    return weights, entry


def _same_outputs(a: nn.Module, b: nn.Module) -> None:
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(x), b.eval()(x), atol=1e-6, rtol=1e-6)


def test_export_writes_weights_manifest_and_model_card(run: Path, published: tuple[Path, dict[str, Any]]) -> None:
    weights, entry = published
    results = json.loads((run / "results.json").read_text())
    file = weights / "tiny.safetensors"
    header = json.loads(file.read_bytes()[8 : 8 + int.from_bytes(file.read_bytes()[:8], "little")])
    assert header["__metadata__"]["model"] == MODEL and json.loads(header["__metadata__"]["options"]) == {"width_factor": 0.0625}
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} <= {"F32", "I64"}
    assert manifest(weights) == {"tiny": entry}
    assert entry["sha256"] == sha256_file(file) and entry["bytes"] == file.stat().st_size
    assert entry["run_test_top1_err"] == results["final"]["test_top1_err"] and entry["epoch"] == 1
    assert entry["test_top1_err"] == evaluate_checkpoint(run / "last.pt")["test_top1_err"]  # measured from the weights
    assert abs(entry["test_top1_err"] - entry["run_test_top1_err"]) <= 1.0
    assert (entry["commit"], entry["train_command"]) == (results["environment"]["git_commit"], results["environment"]["command"])
    assert "out_dir" not in entry["config"]["train"] and "root" not in entry["config"]["data"]
    card = (weights / "README.md").read_text()
    assert "## tiny" in card and entry["sha256"] in card
    model, _ = load_trained(run / "last.pt")
    loaded = create_model(MODEL, pretrained=file)
    _same_outputs(loaded, model)
    assert evaluate_checkpoint("tiny")["test_top1_err"] == entry["test_top1_err"]  # the same weights, the same recipe and data
    again = export_weights(run / "last.pt", "tiny", weights)  # re-export: the entry is replaced, not doubled
    assert manifest(weights) == {"tiny": again}
    assert again["sha256"] == entry["sha256"]  # the same weights, the same file (metadata in key order)
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    assert entry["machine"].endswith(", " + json.loads((run / "config.json").read_text())["train"]["precision"])


def test_published_weights_by_name_or_true(run: Path, published: tuple[Path, dict[str, Any]]) -> None:
    model, _ = load_trained(run / "last.pt")
    _same_outputs(create_model(MODEL, pretrained="tiny"), model)
    _same_outputs(create_model(MODEL, pretrained=True, fast=False), model)  # options of how it computes may differ
    with pytest.raises(WeightsError, match="were trained with width_factor=0.0625; create_model got width_factor=0.125"):
        create_model(MODEL, pretrained=True, width_factor=0.125)
    with pytest.raises(WeightsError, match="'tiny' are for model lscat_skip_cifar10, not lscat_cifar10"):
        create_model("lscat_cifar10", pretrained="tiny")
    with pytest.raises(WeightsError, match="0 published weights for resnet20_cifar10"):
        create_model("resnet20_cifar10", pretrained=True)
    with pytest.raises(WeightsError, match="neither a weights file, a URL nor a published entry .*published: tiny"):
        create_model(MODEL, pretrained="nope")


def test_loading_errors_name_the_file_and_the_problem(published: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    weights, _ = published
    file = weights / "tiny.safetensors"
    data = bytearray(file.read_bytes())
    data[-1] ^= 1
    file.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=f"weights file {file}: SHA-256 .* does not match the expected"):
        create_model(MODEL, pretrained="tiny")
    state = create_model(MODEL, width_factor=0.0625).state_dict()
    missing = tmp_path / "missing.safetensors"
    save_weights(missing, {k: v for k, v in state.items() if k != "head.fc.bias"}, MODEL, {"width_factor": 0.0625})
    with pytest.raises(WeightsError, match=f"weights {missing} do not fit model {MODEL}: .*Missing key.*head.fc.bias"):
        create_model(MODEL, pretrained=missing)
    save_weights(other := tmp_path / "other.safetensors", state, "lscat_cifar10", {"width_factor": 0.0625})
    with pytest.raises(WeightsError, match=f"weights {other} are for model lscat_cifar10, not {MODEL}"):
        create_model(MODEL, pretrained=other)
    (junk := tmp_path / "junk.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(WeightsError, match=f"weights file {junk} is not a readable safetensors file"):
        create_model(MODEL, pretrained=junk)
    from safetensors.torch import save_file

    save_weights(unknown := tmp_path / "unknown.safetensors", state, MODEL, {"width_factor": 0.0625, "depth": 3})
    with pytest.raises(WeightsError, match=f"weights {unknown}: model '{MODEL}' has no option\\(s\\) \\['depth'\\]"):
        create_model(MODEL, pretrained=unknown)
    save_file({"w": torch.zeros(1)}, str(foreign := tmp_path / "foreign.safetensors"))
    with pytest.raises(WeightsError, match=f"{foreign} is not a phasecollapse weights file"):
        create_model(MODEL, pretrained=foreign)


def test_weights_by_url_are_cached_and_checked(run: Path, published: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights, entry = published
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    remote = tmp_path / "remote" / "tiny.safetensors"
    remote.parent.mkdir()
    shutil.move(weights / "tiny.safetensors", remote)
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / "phasecollapse" / "tiny.safetensors"
    model, _ = load_trained(run / "last.pt")
    with pytest.raises(WeightsError, match="'tiny': .* is missing and the manifest gives no url"):
        create_model(MODEL, pretrained="tiny")
    with pytest.raises(WeightsError, match="no SHA-256 to check it against; append #sha256=HEX"):
        create_model(MODEL, pretrained=(remote.parent / "renamed.safetensors").as_uri())
    with pytest.raises(WeightsError, match="invalid hash value"):
        create_model(MODEL, pretrained=remote.as_uri() + "#sha256=" + "0" * 64)
    assert not cached.exists()
    _same_outputs(create_model(MODEL, pretrained=remote.as_uri() + f"#sha256={entry['sha256']}"), model)
    assert sha256_file(cached) == entry["sha256"]
    cached.unlink()
    (weights / "manifest.json").write_text(json.dumps({"format": pretrained.MANIFEST_FORMAT, "weights": {"tiny": {**entry, "url": remote.as_uri()}}}))
    _same_outputs(create_model(MODEL, pretrained="tiny"), model)  # the manifest's url, its sha256
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("downloaded again"))
    _same_outputs(create_model(MODEL, pretrained=remote.as_uri()), model)  # cached; the hash of the manifest entry with that file name


def test_export_weights_command(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-weights", str(run / "last.pt"), "--name", "tiny", "--out", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "tiny.safetensors").is_file()
    assert main(["export-weights", str(run / "last.pt"), "--name", "../escape", "--out", str(tmp_path)]) == 2
    assert "weights name '../escape' must be" in capsys.readouterr().err
    assert main(["export-weights", str(tmp_path / "none.pt"), "--name", "x", "--out", str(tmp_path)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_weights_bytes_are_the_same_for_the_same_weights() -> None:
    """safetensors writes its metadata in hash order, different from call to call; the export
    sorts it, so the same weights always have the same SHA-256 (and the file still loads)."""
    state = create_model(MODEL, width_factor=0.0625).state_dict()
    files = {pretrained.weights_bytes(state, MODEL, {"width_factor": 0.0625}) for _ in range(10)}
    assert len(files) == 1
    from safetensors.torch import load

    assert load(files.pop()).keys() == state.keys()


def test_published_weights_by_name_in_eval_analyze_and_models(run: Path, published: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Where a checkpoint goes, the name of published weights may go: the same network, the
    recipe of its manifest entry, so the same evaluation and the same study."""
    from phasecollapse.analysis.report import run_study

    _, entry = published
    assert evaluate_checkpoint("tiny") == evaluate_checkpoint(run / "last.pt")
    by_name = run_study("separation", tmp_path / "a", ["tiny"], samples=32, probe=False)
    by_file = run_study("separation", tmp_path / "b", [str(run / "last.pt")], samples=32, probe=False)
    assert [r["blocks"] for r in by_name.values()] == [r["blocks"] for r in by_file.values()]
    capsys.readouterr()
    assert main(["models", "--weights"]) == 0
    assert capsys.readouterr().out.startswith(f"tiny  {MODEL} " + '{"width_factor": 0.0625}' + f"  {entry['test_top1_err']:.2f} % test error (textures, epoch 1)")
    with pytest.raises(CheckpointError, match="checkpoint not found: nope, nor published weights of that name \\(published: tiny\\)"):
        load_trained("nope")


def test_export_refuses_weights_that_do_not_reach_their_runs_error(run: Path, tmp_path: Path) -> None:
    """The export measures the weights it writes; a run folder whose results.json records another
    error than its checkpoint reaches (here edited 30 points down) is refused, nothing written."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    results = json.loads((copy / "results.json").read_text())
    results["final"]["test_top1_err"] -= 30
    (copy / "results.json").write_text(json.dumps(results))
    with pytest.raises(CheckpointError, match="not the weights that run evaluated"):
        export_weights(copy / "last.pt", "tiny", tmp_path / "weights")
    assert not (tmp_path / "weights").exists()
