import json
from pathlib import Path

import pytest

from phasecollapse.run.config import CONFIG_DIR
from phasecollapse.run.reproduce import read_table, reproduce, resolve

TINY = """
[model]
name = "lscat_cifar10"
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
                assert config.train.out_dir.endswith(f"{budget}/{row.runs}/seed{row.seeds[0]}")
    assert (CONFIG_DIR / "budget" / "cifar10_lscat_skip_60min.toml").exists()


def test_reproduce_runs_skips_resumes_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configs = tiny_tables(tmp_path / "configs")
    out = tmp_path / "out"
    rows = reproduce("table2", "cpu", None, out, None, configs)
    assert [r["name"] for r in rows] == ["mod", "cst"] and rows[0]["errors"] and len(rows[0]["errors"]) == 2
    record = json.loads((out / "table2.json").read_text())
    assert record["rows"][0]["poster_err"] == 7.7 and (out / "table2.md").read_text().count("| mod |") == 1
    assert (out / "table2.png").stat().st_size > 0
    md = (out / "table2.md").read_text()
    mod, cst = rows[0]["err_mean"], rows[1]["err_mean"]
    assert ("Same order." in md) == (mod < cst) and ("Order differs: cst" in md) == (cst < mod)
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
    # An unfinished run whose checkpoint is gone (a fresh clone keeps its logs only) starts over.
    (out / "runs/cpu/table2/cst/seed0/results.json").unlink()
    (out / "runs/cpu/table2/cst/seed0/last.pt").unlink()
    reproduce("table2", "cpu", ["cst"], out, None, configs)
    assert "cst seed 0 (lost)" in capsys.readouterr().out and (out / "runs/cpu/table2/cst/seed0/results.json").exists()
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


def test_pj_tradeoff_table_resolves_and_reuses_table2_dense_runs() -> None:
    from phasecollapse.run.config import config_hash
    from phasecollapse.run.reproduce import table_kind

    _, rows = read_table("pj_tradeoff")
    assert table_kind("pj_tradeoff") == "tradeoff" and table_kind("table2") == "poster"
    out = Path("/tmp/unused")
    dense = resolve(rows[0], "cpu", 0, "pj_tradeoff", out, None)
    noskip_mod = resolve(next(r for r in read_table("table2")[1] if r.name == "noskip_mod"), "cpu", 0, "table2", out, None)
    assert dense.train.out_dir == noskip_mod.train.out_dir and config_hash(dense) == config_hash(noskip_mod)
    for row in rows[1:]:
        config = resolve(row, "cpu", row.seeds[0], "pj_tradeoff", out, None)
        assert config.train.out_dir.endswith(f"cpu/pj_tradeoff/{row.name}/seed0")
        options = config.model.options
        if row.name.startswith("dense"):  # the null model: the dense P_j of a thinner network
            assert "projection" not in options and "tied" not in options and options["width_factor"] < dense.model.options["width_factor"]
        elif row.name.startswith("tied"):  # sharing across depth: groups of ≥ 2 blocks
            assert options["tied"] and all(len(group) >= 2 for group in options["tied"])
        else:
            assert options["projection"]["kind"] in ("lowrank", "orientation", "grouped") and "tied" not in options
        with pytest.raises(ValueError, match="no 'paper' recipe"):
            resolve(row, "paper", 0, "pj_tradeoff", out, None)


def test_reproduce_tradeoff_table_adds_costs_and_reuses_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configs = tmp_path / "configs"
    (configs / "reproduce").mkdir(parents=True)
    (configs / "mod.toml").write_text(TINY.format(nl="mod", epochs=1))
    (configs / "lowrank.toml").write_text('extends = "mod.toml"\n[model]\noptions = { projection = { kind = "lowrank", rank = 0.25 } }\n')
    (configs / "reproduce" / "table2.toml").write_text('title = "tiny"\n[[rows]]\nname = "mod"\nlabel = "mod"\ncpu = "../mod.toml"\n')
    (configs / "reproduce" / "pj_tradeoff.toml").write_text(
        'title = "tiny trade-off"\nkind = "tradeoff"\n'
        '[[rows]]\nname = "dense"\nlabel = "dense"\ncpu = "../mod.toml"\nruns = "table2/mod"\n'
        '[[rows]]\nname = "lowrank"\nlabel = "low rank, |A B|"\ncpu = "../lowrank.toml"\n'
    )
    out = tmp_path / "out"
    reproduce("table2", "cpu", None, out, None, configs)
    mtime = (out / "runs/cpu/table2/mod/seed0/last.pt").stat().st_mtime_ns
    capsys.readouterr()
    rows = reproduce("pj_tradeoff", "cpu", None, out, None, configs)
    printed = capsys.readouterr().out
    assert "dense seed 0 (finished)" in printed and "lowrank seed 0 (new)" in printed  # the Table 2 run is reused
    assert (out / "runs/cpu/table2/mod/seed0/last.pt").stat().st_mtime_ns == mtime
    dense, lowrank = rows
    assert dense["cost"]["projection_params"] == dense["cost"]["dense_projection_params"]
    assert lowrank["cost"]["projection_params"] < dense["cost"]["projection_params"] and lowrank["cost"]["macs"] < dense["cost"]["macs"]
    assert lowrank["cost"]["params"] < dense["cost"]["params"] and lowrank["images_per_s"][0] > 0
    md = (out / "pj_tradeoff.md").read_text()
    assert "| vs dense (points) | P_j params | ÷ dense P_j | total params | MACs / image (M) |" in md and f"| +0.00 | {dense['cost']['projection_params']:,} | 1.00 |" in md
    assert f"Dense P_j: {dense['err_mean']:.2f} % test error" in md and "Pareto front" in md
    header, row = next(line for line in md.splitlines() if line.startswith("| row")), next(line for line in md.splitlines() if line.startswith("| low rank"))
    assert row.startswith("| low rank, \\|A B\\| |") and row.replace("\\|", "").count("|") == header.count("|")  # a label's pipes do not split its row
    assert json.loads((out / "pj_tradeoff.json").read_text())["rows"][1]["cost"] == lowrank["cost"]
    assert (out / "pj_tradeoff.png").stat().st_size > 0


def test_recipe_ablation_adds_one_knob_per_row() -> None:
    """The packaged reproduce/recipe.toml: each row differs from the one above in exactly its knob."""
    import dataclasses

    _, rows = read_table("recipe")
    flat = []
    for row in rows:
        config = dataclasses.asdict(resolve(row, "cpu", 0, "recipe", Path("/tmp/unused"), None))
        flat.append({(section, key): value for section, values in config.items() if isinstance(values, dict) for key, value in values.items() if key != "out_dir"})
    changed = [sorted(k for k in b if a.get(k) != b[k]) for a, b in zip(flat, flat[1:])]
    assert changed == [
        [("optim", "schedule"), ("optim", "warmup_epochs")],
        [("optim", "lr")],
        [("optim", "nesterov")],
        [("optim", "label_smoothing")],
        [("optim", "weight_decay")],
        [("optim", "ema_decay")],
    ], changed
    assert flat[0][("optim", "epochs")] == 6 and flat[0][("optim", "lr")] == 0.01


def test_table_only_trains_nothing_and_tables_the_finished_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configs = tiny_tables(tmp_path / "configs", epochs=1)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="no finished run under .*runs/cpu, so no table is written"):
        reproduce("table2", "cpu", None, out, None, configs, train=False)
    assert not out.exists()  # an empty table would replace a real one: nothing is written
    assert "mod seed 0 (new)" in capsys.readouterr().out
    reproduce("table2", "cpu", ["cst"], out, None, configs)  # a run gathered from elsewhere
    (out / "table2.json").unlink()
    rows = reproduce("table2", "cpu", None, out, None, configs, train=False)
    assert [r["name"] for r in rows] == ["cst"] and not (out / "runs/cpu/table2/mod").exists()
    assert len(json.loads((out / "table2.json").read_text())["rows"]) == 1


def test_settings_outside_the_hash_only(tmp_path: Path) -> None:
    """reproduce --set may change where and how a run computes (compile, device, precision),
    never the recipe; a row finished either way is the same row, and hashes recorded before
    compile and device left the hash, and before precision did, still identify it."""
    from phasecollapse.run.config import UNHASHED, config_hash, config_hashes

    configs = tiny_tables(tmp_path / "configs", epochs=1)
    _, rows = read_table("table2", configs)
    eager = resolve(rows[0], "cpu", 0, "table2", tmp_path, None, ["train.compile=false", "train.device=cpu", "train.precision=fp32"])
    compiled = resolve(rows[0], "cpu", 0, "table2", tmp_path, None, ["train.compile=true", "train.precision=bf16"])
    assert not eager.train.compile and compiled.train.compile and eager.train.precision != compiled.train.precision
    assert config_hash(eager) == config_hash(compiled)
    all_hashed = config_hash(compiled, UNHASHED - {("train", "compile"), ("train", "device"), ("train", "precision")})
    precision_hashed = config_hash(compiled, UNHASHED - {("train", "precision")})
    for legacy in (all_hashed, precision_hashed):
        assert legacy != config_hash(eager) and legacy in config_hashes(compiled) and legacy in config_hashes(eager)
    assert precision_hashed != config_hash(eager, UNHASHED - {("train", "precision")})  # the bf16 run's old hash is not the fp32 one's
    other = resolve(rows[1], "cpu", 0, "table2", tmp_path, None, ["train.compile=true"])
    assert all_hashed not in config_hashes(other) and precision_hashed not in config_hashes(other)
    for bad in ("optim.lr=0.1", "train.out_dir=/tmp/x", "model.name=resnet20_cifar10"):
        with pytest.raises(ValueError, match="leave a run's result unchanged"):
            resolve(rows[0], "cpu", 0, "table2", tmp_path, None, [bad])


def test_curve_table_reads_each_runs_epochs(tmp_path: Path) -> None:
    """kind = "curve": the epoch-by-epoch test errors of every finished row, equal to its metrics."""
    import csv

    configs = tiny_tables(tmp_path / "configs", epochs=2)
    (configs / "reproduce" / "curve.toml").write_text(
        'title = "tiny curve"\nkind = "curve"\n'
        '[[rows]]\nname = "mod"\nlabel = "mod"\ncpu = "../mod.toml"\nruns = "table2/mod"\n'
        '[[rows]]\nname = "cst"\nlabel = "cst"\ncpu = "../cst.toml"\n'
    )
    out = tmp_path / "out"
    reproduce("table2", "cpu", ["mod"], out, None, configs)
    rows = reproduce("curve", "cpu", None, out, None, configs, train=False)  # cst not run: left out
    assert [r["name"] for r in rows] == ["mod"]
    with open(out / "runs/cpu/table2/mod/seed0/metrics.csv", newline="") as f:
        metrics = list(csv.DictReader(f))
    assert [p["test_top1_err"] for p in rows[0]["curve"]] == [float(m["test_top1_err"]) for m in metrics]
    assert rows[0]["curve"][-1]["elapsed_s"] == pytest.approx(sum(float(m["epoch_s"]) for m in metrics))
    md = (out / "curve.md").read_text()
    assert "| epoch | mod |" in md and md.count("\n| 2 | ") == 1 and (out / "curve.png").stat().st_size > 0


def test_order_lines_flag_every_pair_ranked_against_the_poster() -> None:
    from phasecollapse.run.render import _order_lines

    rows = [{"label": "skip", "err_mean": 10.0, "poster_err": 7.7}, {"label": "noskip", "err_mean": 8.0, "poster_err": 11.7}, {"label": "scat", "err_mean": 30.0, "poster_err": 27.7}, {"label": "new", "err_mean": 1.0, "poster_err": None}]
    lines = _order_lines(rows)
    assert "Ours, lowest error first: noskip < skip < scat." in lines and "Poster: skip < noskip < scat." in lines
    assert [line for line in lines if line.startswith("- Order differs")] == ["- Order differs: noskip (8.00 %) beats skip (10.00 %) here; the poster has the opposite (11.7 vs 7.7 %)."]
    rows[1]["err_mean"] = 12.0
    assert _order_lines(rows)[-1] == "Same order." and _order_lines(rows[3:]) == []


def test_machines_names_each_stretch_and_merges_successive_ones_on_one_machine(tmp_path: Path) -> None:
    """Each stretch of epochs with its machine and precision; successive stretches alike merge;
    a run recorded before precision was recorded per stretch takes its config.json's."""
    from phasecollapse.run.provenance import finished_run, machines_of

    cpu = {"cpu": "AMD EPYC", "cpu_cores": 2, "gpu": None}
    gpu = {"cpu": "Intel Xeon", "cpu_cores": 16, "gpu": "NVIDIA H200"}

    def run(*segments: tuple[int, dict | None, str]) -> dict:
        return {"epochs_completed": 8, "environment": cpu, "segments": [{"from_epoch": e, "environment": env, "precision": p} for e, env, p in segments]}

    assert machines_of(run((1, gpu, "fp32"), (5, cpu, "bf16"), (6, cpu, "bf16"))) == "epochs 1–4: Intel Xeon (16 cores), NVIDIA H200, fp32; epochs 5–8: AMD EPYC (2 cores), bf16"
    assert machines_of(run((1, None, "bf16"), (5, cpu, "bf16"), (7, gpu, "bf16"))) == "epochs 1–4: not recorded, bf16; epochs 5–6: AMD EPYC (2 cores), bf16; epochs 7–8: Intel Xeon (16 cores), NVIDIA H200, bf16"
    assert machines_of(run((1, cpu, "bf16"), (3, cpu, "bf16"))) == "AMD EPYC (2 cores), bf16"
    assert machines_of(run((1, cpu, "bf16"), (3, cpu, "fp32"))) == "epochs 1–2: AMD EPYC (2 cores), bf16; epochs 3–8: AMD EPYC (2 cores), fp32"
    (tmp_path / "config.json").write_text(json.dumps({"train": {"precision": "bf16"}}))
    (tmp_path / "results.json").write_text(json.dumps({"epochs_completed": 8, "environment": cpu, "segments": [{"from_epoch": 1, "environment": None}, {"from_epoch": 5, "environment": cpu}]}))
    assert machines_of(finished_run(tmp_path)) == "epochs 1–4: not recorded, bf16; epochs 5–8: AMD EPYC (2 cores), bf16"
    (tmp_path / "results.json").write_text(json.dumps({"epochs_completed": 8, "environment": cpu}))  # no segments at all
    assert machines_of(finished_run(tmp_path)) == "AMD EPYC (2 cores), bf16"
    (tmp_path / "config.json").unlink()  # a folder holding results.json alone: no precision to name
    assert machines_of(finished_run(tmp_path)) == "AMD EPYC (2 cores)"


def test_tradeoff_pareto_front_names_the_undominated_rows() -> None:
    """Constructed rows whose front is known: dominated rows are left out, ties on both are kept."""
    from phasecollapse.run.render import _tradeoff_lines

    def row(label: str, params: int, err: float, own_dense: int = 1000) -> dict:
        return {"name": label, "label": label, "err_mean": err, "cost": {"projection_params": params, "dense_projection_params": own_dense}}

    rows = [row("dense", 1000, 10.0), row("a", 100, 10.5), row("b", 200, 12.0), row("c", 500, 9.0), row("d", 100, 10.5)]
    lines = _tradeoff_lines(rows)
    assert lines[1] == "Dense P_j: 10.00 % test error with 1,000 P_j parameters."
    front = lines[2].split(": ", 1)[1]
    assert "a (10.50 %, 10.0× fewer P_j parameters, +0.50 points)" in front and "d (" in front and "c (9.00 %, 2.0× fewer P_j parameters, -1.00 points)" in front
    assert "b (" not in front and "dense (" not in front  # b: a is cheaper and better; dense: c is
    assert _tradeoff_lines(rows[:3])[2].endswith("a (10.50 %, 10.0× fewer P_j parameters, +0.50 points); dense (10.00 %).")
    assert _tradeoff_lines([row("a", 100, 10.5), row("b", 200, 12.0)]) == []  # no dense row: nothing to compare with
    # A dense P_j in a thinner network (its own dense count is its count) is not the reference,
    # listed first or not: its saving and error are against the row named dense.
    thin = row("thin", 50, 11.0, own_dense=50)
    lines = _tradeoff_lines([thin, *rows[:3]])
    assert lines[1] == "Dense P_j: 10.00 % test error with 1,000 P_j parameters." and "thin (11.00 %, 20.0× fewer P_j parameters, +1.00 points)" in lines[2]


def test_tradeoff_front_is_chosen_on_validation_when_every_row_has_it() -> None:
    """With validation errors the front and the gaps are read off them, never off the test errors
    (which here rank the other way)."""
    from phasecollapse.run.render import _tradeoff_lines

    def row(label: str, params: int, test: float, val: float | None) -> dict:
        return {"name": label, "label": label, "err_mean": test, "val_err_mean": val, "cost": {"projection_params": params, "dense_projection_params": 1000}}

    rows = [row("dense", 1000, 10.0, 11.0), row("a", 100, 12.0, 11.5), row("b", 100, 11.0, 13.0)]
    lines = _tradeoff_lines(rows)
    assert lines[1] == "Dense P_j: 11.00 % validation error with 1,000 P_j parameters."
    assert "a (11.50 %, 10.0× fewer P_j parameters, +0.50 points)" in lines[2] and "b (" not in lines[2]
    rows[2]["val_err_mean"] = None  # one row without: back to the test errors
    assert "b (11.00 %" in _tradeoff_lines(rows)[2] and "a (" not in _tradeoff_lines(rows)[2]


def test_a_row_names_the_machine_of_each_seed_where_they_differ() -> None:
    from phasecollapse.run.reproduce import _seed_machines

    def run(env: dict, precision: str) -> dict:
        return {"environment": env, "epochs_completed": 10, "segments": [{"from_epoch": 1, "environment": env, "precision": precision}]}

    gpu, cpu = {"cpu": "Intel Xeon", "cpu_cores": 16, "gpu": "NVIDIA H200"}, {"cpu": "AMD EPYC", "cpu_cores": 2}
    assert _seed_machines([0, 1], [run(gpu, "bf16"), run(cpu, "bf16")]) == "seed 0: Intel Xeon (16 cores), NVIDIA H200, bf16; seed 1: AMD EPYC (2 cores), bf16"
    assert _seed_machines([0, 1], [run(cpu, "bf16"), run(cpu, "bf16")]) == "AMD EPYC (2 cores), bf16"
    assert _seed_machines([0, 1], [run(cpu, "bf16"), run(cpu, "fp32")]) == "seed 0: AMD EPYC (2 cores), bf16; seed 1: AMD EPYC (2 cores), fp32"


def test_fresh_seeds_are_reported_apart_in_the_table_and_the_headline(tmp_path: Path) -> None:
    """A row chosen on validation names the seeds that played no part in the choice (``fresh``):
    the record keeps their errors alone, the trade-off says them against dense, and the README
    headline shows them rather than the mean over every seed; a fresh seed that is not one of the
    row's seeds is refused by name."""
    from phasecollapse.run.render import _tradeoff_lines, headline

    configs = tmp_path / "configs"
    (configs / "reproduce").mkdir(parents=True)
    (configs / "mod.toml").write_text(TINY.format(nl="mod", epochs=1))
    (configs / "reproduce" / "pj_tradeoff.toml").write_text(
        'title = "tiny"\nkind = "tradeoff"\n[[rows]]\nname = "dense"\nlabel = "dense"\ncpu = "../mod.toml"\n'
        '[[rows]]\nname = "tied2_w112"\nlabel = "chosen"\ncpu = "../mod.toml"\nset = { "optim.lr" = 0.2 }\nseeds = [0, 1]\nfresh = [1]\n'
    )
    dense, chosen = reproduce("pj_tradeoff", "cpu", None, tmp_path / "out", None, configs)
    assert "fresh_seeds" not in dense and chosen["fresh_seeds"] == [1] and chosen["fresh_errors"] == [chosen["errors"][1]]
    line = _tradeoff_lines([dense, chosen])[-1]
    assert line.startswith(f"Fresh seeds of chosen (seeds 1, no part in choosing it): test error {chosen['errors'][1]:.2f}, {chosen['errors'][1]:.2f} %, {chosen['errors'][1] - dense['err_mean']:+.2f} points against dense")
    assert line.endswith(f"over all 2 of its seeds {chosen['err_mean']:.2f} ± {chosen['err_spread']:.2f} %.")
    shown = next(l for l in headline({"pj_tradeoff": {"rows": [dense, chosen]}}).splitlines() if "fresh seeds" in l)
    assert shown.endswith(f"| {chosen['errors'][1]:.2f} | — | 1 |")
    (configs / "reproduce" / "pj_tradeoff.toml").write_text((configs / "reproduce" / "pj_tradeoff.toml").read_text().replace("fresh = [1]", "fresh = [2]"))
    with pytest.raises(ValueError, match=r"row tied2_w112 has fresh seeds \[2\] that are not among its seeds \[0, 1\]"):
        read_table("pj_tradeoff", configs)
