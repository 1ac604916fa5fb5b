from pathlib import Path

import pytest

from phasecollapse.cli import main
from phasecollapse.run.config import CONFIG_DIR, list_presets, load_config, resolve_config
from phasecollapse.models import check_options

CONFIGS = sorted(p for p in CONFIG_DIR.rglob("*.toml") if p.parent.name != "reproduce")  # reproduce/: table definitions


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.relative_to(CONFIG_DIR).as_posix())
def test_every_config_is_valid(path: Path) -> None:
    config = load_config(path)
    check_options(config.model.name, config.model.options)


def test_presets_ship_inside_the_package() -> None:
    import phasecollapse

    assert CONFIG_DIR == Path(phasecollapse.__file__).parent / "configs"
    assert len(list_presets()) == len(CONFIGS) >= 20 and {"budget/textures", "cifar10/lscat_skip", "imagenet/resnet18"} <= set(list_presets())


def test_a_config_is_a_file_or_else_a_preset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    textures = CONFIG_DIR / "budget" / "textures.toml"
    for name in ("budget/textures", "budget/textures.toml", "configs/budget/textures.toml"):  # the last: command lines recorded before 0.2
        assert resolve_config(name) == textures
    monkeypatch.chdir(tmp_path)
    (tmp_path / "budget").mkdir()
    (tmp_path / "budget" / "textures.toml").write_text("[optim]\nepochs = 7\n")
    assert load_config("budget/textures.toml").optim.epochs == 7  # an existing file wins
    assert load_config("budget/textures").optim.epochs == load_config(textures).optim.epochs != 7
    with pytest.raises(FileNotFoundError, match="config file not found: budget/nope .*packaged preset"):
        load_config("budget/nope")
    with pytest.raises(FileNotFoundError, match="config file not found"):
        resolve_config(textures.with_name("nope.toml"))  # an absolute path is never a preset name
    assert main(["presets"]) == 0
    assert "cifar10/lscat_skip\n" in capsys.readouterr().out


def test_paper_recipe_values() -> None:
    from phasecollapse.run.reproduce import read_table, resolve

    row = next(r for r in read_table("table2")[1] if r.name == "skip_cst")  # a table row: a preset and its set
    c = resolve(row, "paper", 0, "table2", Path("/tmp/unused"), None)
    assert (c.optim.lr, c.optim.momentum, c.optim.weight_decay, c.optim.epochs, c.optim.step_size, c.data.batch_size) == (0.01, 0.9, 1e-4, 300, 70, 128)
    assert c.model.options == {"nonlinearity": "cst"}
    row = next(r for r in read_table("table3")[1] if r.name == "thresh_frozen")
    r = resolve(row, "paper", 0, "table3", Path("/tmp/unused"), None)  # imagenet/resnet18 extends resnet18_base inside the package
    assert (r.optim.lr, r.optim.epochs, r.optim.step_size, r.data.batch_size) == (0.1, 90, 30, 256)
    assert r.model.options == {"nonlinearity": "thresh_frozen", "bias_free": True}


def test_packaged_configs_are_few_and_extend_at_most_twice() -> None:
    """A table row is one entry (a preset and its ``set``), not a file: the presets stay few, and
    no ``extends`` chain is deeper than two."""
    import tomllib

    files = sorted(CONFIG_DIR.rglob("*.toml"))
    assert len(files) < 45
    for path in files:
        depth, p = 0, path
        while "extends" in (raw := tomllib.loads(p.read_text())):
            p, depth = (p.parent / raw["extends"]).resolve(), depth + 1
        assert depth <= 2, path


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
