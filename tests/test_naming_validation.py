"""The poster's reading of the preset names (0.2.0) and the validation split (issue #25)."""

import json
from pathlib import Path

import pytest
import torch

import phasecollapse as pc
from phasecollapse.data.validation import stratified_holdout
from phasecollapse.layers.block import LScatBlock
from phasecollapse.layers.filters import filter_bank
from phasecollapse.models.registry import migrate_name
from phasecollapse.run.checkpoint import FORMAT, checksum, load_trained
from phasecollapse.run.config import config_hash, load_config
from phasecollapse.run.reproduce import reproduce
from phasecollapse.run.train import fit



def test_skip_is_the_linear_copy_of_wx_beside_its_modulus() -> None:
    """LScat + skip: U = [Wx, ρ(Wx)]; ρ sees all (1 + L)·C channels of Wx, and the first part is Wx."""
    block = LScatBlock(3, 8, filter_bank("F0", 4), complex_input=True, nonlinearity="mod", skip=True)
    assert block.rho.channels == 5 * 3
    x = torch.randn(2, 6, 8, 8)
    phi, psi = block.wavelet(x)
    wx, rho = block.parts(x)
    torch.testing.assert_close(wx, torch.cat([phi, psi], 1))
    assert rho.shape[1] == 15 and (rho >= 0).all()
    assert pc.create_model("lscat_skip_cifar10", width_factor=0.0625).blocks[0].skip
    assert not pc.create_model("lscat_cifar10", width_factor=0.0625).blocks[0].skip


def test_the_authors_parameter_totals_under_the_new_names() -> None:
    counts = {n: sum(p.numel() for p in pc.create_model(n).parameters()) for n in ("lscat_cifar10", "lscat_skip_cifar10")}
    assert counts == {"lscat_cifar10": 12_251_018, "lscat_skip_cifar10": 24_459_018}


def test_migrate_name_swaps_the_lscat_presets_of_naming_1_only() -> None:
    assert migrate_name("lscat_skip_cifar10", 1) == "lscat_cifar10" and migrate_name("lscat_imagenet", 1) == "lscat_skip_imagenet"
    assert migrate_name("lscat_skip_cifar10", 2) == "lscat_skip_cifar10" and migrate_name("resnet20_cifar10", 1) == "resnet20_cifar10"
    with pytest.raises(ValueError, match="unknown model naming 7"):
        migrate_name("lscat_cifar10", 7)


def test_a_v2_checkpoint_loads_as_the_network_it_was_trained_as(tmp_path: Path) -> None:
    """A checkpoint of format v2 named its U = |W|x network ``lscat_skip_cifar10``: it loads as
    today's ``lscat_cifar10`` (no skip), with its weights, and the same v3 file under the same
    name would be the other network (whose shapes the weights do not fit)."""
    trained = pc.create_model("lscat_cifar10", width_factor=0.0625)  # U = |W|x
    config = load_config(None, ["model.name=lscat_skip_cifar10", "model.options={ width_factor = 0.0625 }"]).to_dict()
    state = {"format": "phasecollapse-checkpoint-v2", "model": trained.state_dict(), "config": config, "epoch": 1}
    torch.save({**state, "checksum": checksum(state)}, tmp_path / "old.pt")
    model, loaded = load_trained(tmp_path / "old.pt")
    assert loaded.model.name == "lscat_cifar10" and not model.blocks[0].skip
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model(x), trained.eval()(x))
    new = {**state, "format": FORMAT}
    torch.save({**new, "checksum": checksum(new)}, tmp_path / "new.pt")
    with pytest.raises(ValueError, match="does not match the model"):
        load_trained(tmp_path / "new.pt")


def test_table_only_places_a_run_of_the_older_naming_in_its_row(tmp_path: Path) -> None:
    """A results.json without ``model_naming`` whose hash is that of the config under the old name
    (lscat_skip_cifar10 for today's lscat_cifar10) is tabled in the lscat_cifar10 row; recorded
    under the new naming, the same hash is another network's and is refused."""
    configs = tmp_path / "configs"
    (configs / "reproduce").mkdir(parents=True)
    (configs / "lscat.toml").write_text('[model]\nname = "lscat_cifar10"\n[data]\ndataset = "textures"\n')
    (configs / "reproduce" / "table1.toml").write_text('title = "t"\n[[rows]]\nname = "lscat"\nlabel = "LScat"\ncpu = "../lscat.toml"\nruns = "table1/old_lscat_skip"\n')
    run = tmp_path / "out" / "runs" / "cpu" / "table1" / "old_lscat_skip" / "seed0"
    run.mkdir(parents=True)
    old = load_config(configs / "lscat.toml", ["model.name=lscat_skip_cifar10"])
    record = {"model": "lscat_skip_cifar10", "options": {}, "config_hash": config_hash(old), "epochs_completed": 1, "final": {"test_top1_err": 12.5}, "wall_s": 1.0, "environment": {"cpu": "x", "cpu_cores": 2, "git_commit": "abc"}}
    (run / "results.json").write_text(json.dumps(record))
    rows = reproduce("table1", out=tmp_path / "out", config_dir=configs, train=False)
    assert rows[0]["model"] == "lscat_cifar10" and rows[0]["errors"] == [12.5] and rows[0]["u"] == "U = |W|x = [x∗φ, ρ(x∗ψ)]"
    (run / "results.json").write_text(json.dumps({**record, "model_naming": 2}))
    with pytest.raises(ValueError, match="holds a finished run of another config"):
        reproduce("table1", out=tmp_path / "out", config_dir=configs, train=False)


def test_stratified_holdout_keeps_class_shares_and_is_disjoint() -> None:
    labels = torch.arange(10).repeat_interleave(torch.tensor([500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 900]))
    kept, held = stratified_holdout(labels, 900, seed=3)
    assert len(held) == 900 and len(kept) == len(labels) - 900 and not set(kept.tolist()) & set(held.tolist())
    share = torch.bincount(labels[held], minlength=10).double() / 900
    torch.testing.assert_close(share, torch.bincount(labels).double() / len(labels), atol=1 / 900, rtol=0)
    assert torch.equal(held, stratified_holdout(labels, 900, seed=3)[1]) and not torch.equal(held, stratified_holdout(labels, 900, seed=4)[1])
    for bad in (0, len(labels), 2.5):
        with pytest.raises(ValueError, match="data.validation"):
            stratified_holdout(labels, bad, 0)  # type: ignore[arg-type]


def test_validation_is_logged_recorded_and_chooses_best(tmp_path: Path) -> None:
    config = load_config(None, [*_tiny_overrides(tmp_path), "data.validation=16", "data.validation_seed=5"])
    summary = fit(config)
    assert summary["validation"] == {"images": 16, "seed": 5, "stratified": True}
    assert 0 <= summary["final"]["val_top1_err"] <= 100 and summary["best_val_top1_err"] == summary["final"]["val_top1_err"]
    assert "val_top1_err" in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert json.loads((tmp_path / "run" / "results.json").read_text())["model_naming"] == 2
    without = load_config(None, _tiny_overrides(tmp_path))
    assert config_hash(without) != config_hash(config)
    assert config_hash(load_config(None, [*_tiny_overrides(tmp_path), "data.validation=0"])) == config_hash(without)


def _tiny_overrides(tmp_path: Path) -> list[str]:
    return ["model.name=lscat_skip_cifar10", "model.options={ width_factor = 0.0625, num_classes = 4 }", "data.dataset=textures", "data.texture_train=32", "data.texture_test=16", "data.batch_size=32", "optim.epochs=2", "optim.lr=0.05", "train.progress=false", "train.tensorboard=false", f"train.out_dir={tmp_path / 'run'}"]
