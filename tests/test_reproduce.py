import json
from pathlib import Path

import pytest

from phasecollapse.run.config import CONFIG_DIR
from phasecollapse.run.reproduce import read_table, reproduce, resolve

TINY = """
[model]
name = "lscat_skip_cifar10"
options = {{ nonlinearity = "{nl}", width_factor = 0.0625 }}
[data]
dataset = "textures"
texture_train = 32
texture_test = 16
batch_size = 32
[optim]
lr = 0.05
epochs = {epochs}
[train]
progress = false
"""


def tiny_tables(root: Path, epochs: int = 2) -> Path:
    (root / "reproduce").mkdir(parents=True, exist_ok=True)
    for nl in ("mod", "cst"):
        (root / f"{nl}.toml").write_text(TINY.format(nl=nl, epochs=epochs))
    (root / "reproduce" / "table2.toml").write_text(
        'title = "tiny"\n'
        '[[rows]]\nname = "mod"\nlabel = "mod"\nposter = 7.7\ncpu = "../mod.toml"\nseeds = [0, 1]\n'
        '[[rows]]\nname = "cst"\nlabel = "cst"\nposter = 22.5\ncpu = "../cst.toml"\n'
    )
    return root


def test_every_shipped_table_resolves_for_both_budgets() -> None:
    for table in ("table1", "table2", "table3"):
        _, rows = read_table(table)
        for row in rows:
            for budget in ("cpu", "paper"):
                config = resolve(row, budget, row.seeds[0], table, Path("/tmp/unused"), None)
                assert config.train.out_dir.endswith(f"{budget}/{table}/{row.name}/seed{row.seeds[0]}")
    assert (CONFIG_DIR / "budget" / "cifar10_lscat_skip_60min.toml").exists()


def test_reproduce_runs_skips_resumes_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configs = tiny_tables(tmp_path / "configs")
    out = tmp_path / "out"
    rows = reproduce("table2", "cpu", None, out, None, configs)
    assert [r["name"] for r in rows] == ["mod", "cst"] and rows[0]["errors"] and len(rows[0]["errors"]) == 2
    record = json.loads((out / "table2.json").read_text())
    assert record["rows"][0]["poster_err"] == 7.7 and (out / "table2.md").read_text().count("| mod |") == 1
    assert (out / "table2.png").stat().st_size > 0
    printed = capsys.readouterr().out  # seed-major: every row's first seed before any second seed
    assert printed.index("run 1/3: mod seed 0") < printed.index("run 2/3: cst seed 0") < printed.index("run 3/3: mod seed 1")
    # Finished rows are skipped (same resolved config): nothing retrained.
    mtime = (out / "runs/cpu/table2/mod/seed0/last.pt").stat().st_mtime_ns
    reproduce("table2", "cpu", ["mod"], out, None, configs)
    assert "(finished)" in capsys.readouterr().out
    assert (out / "runs/cpu/table2/mod/seed0/last.pt").stat().st_mtime_ns == mtime
    # An interrupted run (no results.json, a last.pt) is resumed, not restarted.
    (out / "runs/cpu/table2/cst/seed0/results.json").unlink()
    reproduce("table2", "cpu", ["cst"], out, None, configs)
    assert "cst seed 0 (interrupted)" in capsys.readouterr().out
    assert len(json.loads((out / "table2.json").read_text())["rows"]) == 2  # the partial call keeps every finished row
    # A changed recipe never overwrites a finished row.
    tiny_tables(configs, epochs=3)
    before = (out / "runs/cpu/table2/mod/seed0/results.json").read_bytes()
    with pytest.raises(ValueError, match="holds a finished run of another config"):
        reproduce("table2", "cpu", ["mod"], out, None, configs)
    assert (out / "runs/cpu/table2/mod/seed0/results.json").read_bytes() == before


def test_reproduce_rejects_unknown_rows_and_budgets(tmp_path: Path) -> None:
    configs = tiny_tables(tmp_path / "configs")
    with pytest.raises(ValueError, match="has no row"):
        reproduce("table2", "cpu", ["nope"], tmp_path / "out", None, configs)
    with pytest.raises(ValueError, match="no 'paper' recipe"):
        reproduce("table2", "paper", None, tmp_path / "out", None, configs)
    with pytest.raises(ValueError, match="unknown table"):
        reproduce("table9", "cpu", None, tmp_path / "out", None, configs)
