from pathlib import Path

import pytest

from phasecollapse.run.config import load_config
from phasecollapse.models import check_options

CONFIGS = sorted(p for p in (Path(__file__).parents[1] / "configs").rglob("*.toml") if p.parent.name != "reproduce")  # reproduce/: table definitions


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_config_is_valid(path: Path) -> None:
    config = load_config(path)
    check_options(config.model.name, config.model.options)


def test_paper_recipe_values() -> None:
    c = load_config(Path(__file__).parents[1] / "configs/cifar10/table2/skip_cst.toml")
    assert (c.optim.lr, c.optim.momentum, c.optim.weight_decay, c.optim.epochs, c.optim.step_size, c.data.batch_size) == (0.01, 0.9, 1e-4, 300, 70, 128)
    assert c.model.options == {"nonlinearity": "cst"}
    r = load_config(Path(__file__).parents[1] / "configs/imagenet/table3/resnet18_thresh_frozen.toml")
    assert (r.optim.lr, r.optim.epochs, r.optim.step_size, r.data.batch_size) == (0.1, 90, 30, 256)
    assert r.model.options == {"nonlinearity": "thresh_frozen", "bias_free": True}


def test_overrides(tmp_path: Path) -> None:
    c = load_config(None, ["optim.lr=0.05", "train.out_dir=runs/x", "model.options.width_factor=0.5", "train.precision='bf16'"])
    assert c.optim.lr == 0.05 and c.train.out_dir == "runs/x" and c.model.options == {"width_factor": 0.5} and c.train.precision == "bf16"


@pytest.mark.parametrize(
    "override,message",
    [
        ("optim.lrr=0.1", "unknown config key optim.lrr"),
        ("optimizer.lr=0.1", r"unknown config section \[optimizer\]"),
        ("optim.lr=fast", "must be a number"),
        ("optim.epochs=1.5", "must be an integer"),
        ("data.batch_size=0", "must be positive"),
        ("train.precision=fp16", "must be one of"),
        ("train.compile=1", "true or false"),
        ("optim.lr", "section.key=value"),
    ],
)
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_extends_cycle_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ValueError, match="cycle"):
        load_config(tmp_path / "a.toml")
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[optim\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")
