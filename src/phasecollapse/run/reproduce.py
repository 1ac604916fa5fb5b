"""``phasecollapse reproduce tableN``: run every row of a poster table, then write our errors
beside the poster's.

A table is a TOML file of the packaged ``configs/reproduce/`` listing its rows: a name, a label, the
poster's number (or none where the poster gives none), the config of each budget (``cpu``: the
budget recipes of ``configs/budget/``; ``paper``: the paper's recipes) and the seeds. For each
row and seed the runner resolves the config (``train.out_dir`` = ``OUT/runs/BUDGET/TABLE/ROW/seedS``)
and hashes it; then it

- skips a run whose ``results.json`` records the same hash (finished),
- refuses a run whose ``results.json`` records another hash (never overwrites a finished row),
- resumes a run whose ``last.pt`` exists (interrupted), restarts one whose logs outlived its
  checkpoint (lost: a fresh clone keeps no ``last.pt``), else starts it.

It prints a progress line per run (run i of n, elapsed, ETA from the rows done), and writes
``OUT/tableN.json``, ``.md`` and ``.png`` (ours next to the poster's, mean and spread over
seeds, the budget of each row: epochs, widths, wall time, images/s, machine, commit).

A row may name ``runs = "TABLE/ROW"``: its run directories are those of another table's row
(``OUT/runs/BUDGET/TABLE/ROW/seedS``), reused when that row ran the same recipe (the config
hash ignores ``train.out_dir``); a table may name ``runs = "DIR"`` for all its rows
(``OUT/runs/BUDGET/DIR/ROW``). ``set = { "data.validation" = 5000 }``, in a table or in a row,
overrides keys of the rows' configs (the row's win): part of the recipe, so of the hash. A row
``like = "TABLE/ROW"`` takes another table's row's configs and ``set``.

A run recorded under the older preset names (``results.json`` without ``model_naming``:
``lscat_skip_*`` was U = [x∗φ, ρ(x∗ψ)]) is recognised by the hash its config had under those
names (:func:`run_state`), so it stays in the row of the network it trained. A table with ``kind = "tradeoff"`` (``pj_tradeoff``: the
structured P_j of issue #14) adds the cost of each row's model
(:func:`~phasecollapse.models.complexity.complexity`: P_j and total parameters, MACs per image)
and each row's error and P_j saving against the row named ``dense`` (the reference), names the
Pareto front, and plots the error against the P_j parameters instead of against the poster.
"""

from __future__ import annotations

import json
import statistics
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..layers.block import u_formula
from ..models.registry import migrate_name
from . import render
from .atomic import figure, json_file, text, write_files
from .config import CONFIG_DIR, UNHASHED, Config, config_hashes, load_config
from .provenance import environment, finished_run, machines_of

BUDGETS = ("cpu", "paper")


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    poster: float | None
    configs: dict[str, str]
    seeds: tuple[int, ...]
    note: str = ""
    runs: str = ""  # run directories relative to OUT/runs/BUDGET (default TABLE/ROW)
    overrides: tuple[str, ...] = ()  # KEY=VALUE over the row's config (the table's and the row's ``set``)
    fresh: tuple[int, ...] = ()  # seeds that played no part in choosing the row (it was chosen on validation): reported apart


def tables(config_dir: Path = CONFIG_DIR) -> list[str]:
    """The tables ``reproduce`` knows: the files ``configs/reproduce/TABLE.toml``."""
    return sorted(p.stem for p in (config_dir / "reproduce").glob("*.toml"))


def _raw_table(table: str, config_dir: Path) -> tuple[Path, dict[str, Any]]:
    if table not in tables(config_dir):
        raise ValueError(f"unknown table {table!r}; choose one of {tables(config_dir)}")
    path = config_dir / "reproduce" / f"{table}.toml"
    return path, tomllib.loads(path.read_text())


def read_table(table: str, config_dir: Path = CONFIG_DIR) -> tuple[str, list[Row]]:
    """(title, rows) of ``CONFIG_DIR/reproduce/TABLE.toml``."""
    path, raw = _raw_table(table, config_dir)
    prefix = raw.get("runs", table)
    rows = [
        Row(r["name"], r["label"], r.get("poster"), {b: str(path.parent / r[b]) for b in BUDGETS if b in r}, tuple(r.get("seeds", [0])), r.get("note", ""), r.get("runs", f"{prefix}/{r['name']}"), _assignments({**raw.get("set", {}), **r.get("set", {})}), tuple(r.get("fresh", [])))
        for r in (_like(r, table, config_dir) for r in raw["rows"])
    ]
    for row in rows:
        if not set(row.fresh) <= set(row.seeds):
            raise ValueError(f"{table}: row {row.name} has fresh seeds {list(row.fresh)} that are not among its seeds {list(row.seeds)}")
    return raw["title"], rows


def _like(row: dict[str, Any], table: str, config_dir: Path) -> dict[str, Any]:
    """A row with ``like = "TABLE/ROW"`` takes that row's budget configs and ``set`` (its own
    ``set`` wins): the same recipe under another table's protocol (e.g. a validation split)."""
    if "like" not in row:
        return row
    other, _, name = str(row["like"]).partition("/")
    base = next((r for r in _raw_table(other, config_dir)[1]["rows"] if r["name"] == name), None)
    if base is None or "like" in base:
        raise ValueError(f"{table}: row {row['name']} is like {row['like']!r}, which is not a row of its own recipe in table {other!r}")
    return {**{b: base[b] for b in BUDGETS if b in base}, **row, "set": {**base.get("set", {}), **row.get("set", {})}}


def _assignments(values: dict[str, Any]) -> tuple[str, ...]:
    """``{"data.validation": 5000}`` → ``("data.validation=5000",)`` (values in TOML syntax)."""

    def toml(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {toml(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(map(toml, v)) + "]"
        return json.dumps(v)

    return tuple(f"{k}={toml(v)}" for k, v in values.items())


def table_kind(table: str, config_dir: Path = CONFIG_DIR) -> str:
    """``"poster"`` (ours against the poster's numbers), ``"tradeoff"`` (error against model cost)
    or ``"curve"`` (test error epoch by epoch, against epochs and training time)."""
    kind = _raw_table(table, config_dir)[1].get("kind", "poster")
    if kind not in render.KINDS:
        raise ValueError(f"table {table}: kind must be one of {render.KINDS}, got {kind!r}")
    return kind


def _curve(run_dir: Path) -> list[dict[str, float]]:
    """Epoch, test error and cumulative training time (s) of a run, from its metrics.csv."""
    import csv

    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    elapsed, curve = 0.0, []
    for r in rows:
        elapsed += float(r["epoch_s"])
        curve.append({"epoch": int(r["epoch"]), "test_top1_err": float(r["test_top1_err"]), "elapsed_s": elapsed})
    return curve


def resolve(row: Row, budget: str, seed: int, table: str, out: Path, data_dir: str | None, settings: list[str] = ()) -> Config:  # type: ignore[assignment]
    """The row's config for ``seed``, its out_dir under ``out``; ``settings`` (KEY=VALUE) may set
    only keys that leave the config hash unchanged (:data:`~phasecollapse.run.config.UNHASHED`:
    device, compile, workers, ...), so that a finished row is recognised wherever it ran."""
    if budget not in row.configs:
        raise ValueError(f"row {row.name} of {table} has no {budget!r} recipe")
    for assignment in settings:
        key = tuple(assignment.split("=", 1)[0].strip().split("."))
        if key not in UNHASHED or key == ("train", "out_dir"):
            allowed = sorted(".".join(k) for k in UNHASHED if k != ("train", "out_dir"))
            raise ValueError(f"reproduce --set {assignment!r}: only settings that leave a run's result unchanged may be set here ({allowed}); change a recipe in its config file")
    run_dir = out / "runs" / budget / (row.runs or f"{table}/{row.name}") / f"seed{seed}"
    overrides = [*row.overrides, f"train.seed={seed}", f"train.out_dir={run_dir}", "train.tensorboard=false", *settings]
    return load_config(row.configs[budget], overrides + ([f"data.root={data_dir}"] if data_dir else []))


def run_state(config: Config) -> str:
    """'finished', 'interrupted', 'lost' or 'new'; raise if a finished run of another config is there.

    'lost': an unfinished run whose ``last.pt`` is gone (a fresh clone keeps a run folder's logs,
    never its checkpoints): nothing is left to resume, so it starts over in its folder.

    A run recorded under older preset names is compared with this config as it was written
    under those names (the swap of :func:`~phasecollapse.models.registry.migrate_name` is its
    own inverse)."""
    out_dir = Path(config.train.out_dir)
    results = out_dir / "results.json"
    if results.exists():
        record = json.loads(results.read_text())
        recorded, naming = record.get("config_hash"), record.get("model_naming", 1)
        then = replace(config, model=replace(config.model, name=migrate_name(config.model.name, naming)))
        if recorded not in config_hashes(then):
            raise ValueError(f"{out_dir} holds a finished run of another config (hash {recorded}, now {config_hashes(config)[0]}); reproduce never overwrites it: use another --out")
        return "finished"
    if (out_dir / "last.pt").exists():
        return "interrupted"
    from .train import RUN_FILES

    return "lost" if any((out_dir / name).exists() for name in RUN_FILES) else "new"


def _cost(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """P_j parameters (and the dense P_j's), all parameters and MACs per image of a registry LScat."""
    from ..models.complexity import complexity
    from ..models.registry import create_model

    c = complexity(create_model(model, **options))  # type: ignore[arg-type]
    return {k: c[k] for k in ("projection_params", "dense_projection_params", "params", "macs")}


def _seed_machines(seeds: list[int], runs: list[dict[str, Any]]) -> str:
    """The machine of a row's runs: one, or each seed's where they differ."""
    machines = [machines_of(r) for r in runs]
    return machines[0] if len(set(machines)) == 1 else "; ".join(f"seed {s}: {m}" for s, m in zip(seeds, machines))


def _summary_row(row: Row, seeds: list[int], runs: list[dict[str, Any]], tradeoff: bool = False) -> dict[str, Any]:
    errors = [r["final"]["test_top1_err"] for r in runs]
    val = [r["final"].get("val_top1_err") for r in runs]
    first = runs[0]
    options = first.get("options", {})
    model = migrate_name(first["model"], first.get("model_naming", 1))
    return {
        "name": row.name,
        "label": row.label,
        "note": row.note,
        "poster_err": row.poster,
        "err_mean": statistics.fmean(errors),
        "err_spread": (max(errors) - min(errors)) / 2 if len(errors) > 1 else None,
        "errors": errors,
        "val_err_mean": statistics.fmean(val) if None not in val else None,
        "val_errors": val,
        "seeds": seeds,
        "seeds_planned": list(row.seeds),
        "epochs": first["epochs_completed"],
        "model": model,
        **({"u": u_formula(model.startswith("lscat_skip_"))} if model.startswith("lscat_") else {}),
        "options": options,
        "wall_s": [r["wall_s"] for r in runs],
        "images_per_s": [r["final"].get("train_images_per_s") for r in runs],
        "machine": _seed_machines(seeds, runs),
        "commit": list(dict.fromkeys(r["environment"]["git_commit"] for r in runs)),  # in seed order
        "config_hash": first.get("config_hash"),
        **({"cost": _cost(model, options)} if tradeoff else {}),
        **({"fresh_seeds": [s for s in seeds if s in row.fresh], "fresh_errors": [e for s, e in zip(seeds, errors) if s in row.fresh]} if row.fresh else {}),
    }


def write_table(table: str, title: str, budget: str, rows: list[dict[str, Any]], out: Path, wall_s: float, kind: str = "poster") -> None:
    """``OUT/TABLE.json`` (the record), ``.md`` and ``.png`` (:mod:`.render`) from the finished
    rows, written together (:func:`~phasecollapse.run.atomic.write_files`): all three or none."""
    import matplotlib.pyplot as plt

    record = {"table": table, "title": title, "budget": budget, "kind": kind, "rows": rows, "wall_s": wall_s, "environment": environment()}
    fig = render.figure(record)
    try:
        write_files({out / f"{table}.json": json_file(record, out / f"{table}.json"), out / f"{table}.md": text(render.markdown(record)), out / f"{table}.png": figure(fig)})
    finally:
        plt.close(fig)


def reproduce(table: str, budget: str = "cpu", only: list[str] | None = None, out: str | Path = "results/reproduce", data_dir: str | None = None, config_dir: Path = CONFIG_DIR, train: bool = True, settings: list[str] = ()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    """Run (or skip, or resume) every row of ``table``; write the table; return its rows.

    ``settings``: KEY=VALUE of keys outside the hash (see :func:`resolve`), e.g. ``train.compile=false``.
    ``train=False`` runs nothing: it writes the table from the runs finished so far (runs
    gathered from several machines, say) and prints the state of every run."""
    from .train import fit

    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose one of {BUDGETS}")
    out = Path(out)
    title, rows = read_table(table, config_dir)
    names = [r.name for r in rows]
    unknown = sorted(set(only or []) - set(names))
    if unknown:
        raise ValueError(f"{table} has no row(s) {unknown}; its rows: {names}")
    rows = [r for r in rows if not only or r.name in only]
    # Seed-major: every row's first seed runs before any second seed, so a cut-off pass still
    # leaves one complete table.
    jobs = [(row, seed, resolve(row, budget, seed, table, out, data_dir, settings)) for k in range(max(len(r.seeds) for r in rows)) for row in rows for seed in row.seeds[k : k + 1]]
    states = [run_state(config) for _, _, config in jobs]  # refuse before running anything
    started, done_s = time.perf_counter(), []
    for i, ((row, seed, config), state) in enumerate(zip(jobs, states), 1):
        elapsed = time.perf_counter() - started
        eta = f", ETA {statistics.fmean(done_s) * (len(jobs) - i + 1) / 60:.0f} min" if done_s else ""
        print(f"[{table} {budget}] run {i}/{len(jobs)}: {row.name} seed {seed} ({state}); elapsed {elapsed / 60:.0f} min{eta}", flush=True)
        if state == "finished" or not train:
            continue
        t0 = time.perf_counter()
        fit(config, resume=state == "interrupted", overwrite=state == "lost")  # its results.json records the config hash
        done_s.append(time.perf_counter() - t0)
        _write_finished(table, title, budget, out, data_dir, config_dir, started)  # the table grows run by run
    return _write_finished(table, title, budget, out, data_dir, config_dir, started)


def _write_finished(table: str, title: str, budget: str, out: Path, data_dir: str | None, config_dir: Path, started: float) -> list[dict[str, Any]]:
    """Write the table of every run finished so far; with none, write nothing and raise."""
    finished = _all_finished(table, budget, out, data_dir, config_dir)  # with --only: every row finished so far
    if not finished:
        raise ValueError(f"{table}: no finished run under {out / 'runs' / budget}, so no table is written ({out / table}.md and .json are left as they are)")
    out.mkdir(parents=True, exist_ok=True)
    write_table(table, title, budget, finished, out, time.perf_counter() - started, table_kind(table, config_dir))
    return finished


def _all_finished(table: str, budget: str, out: Path, data_dir: str | None, config_dir: Path) -> list[dict[str, Any]]:
    _, rows = read_table(table, config_dir)
    kind, finished = table_kind(table, config_dir), []
    tradeoff = kind == "tradeoff"
    for row in rows:
        configs = [resolve(row, budget, seed, table, out, data_dir) for seed in row.seeds]
        done = [(seed, c) for seed, c in zip(row.seeds, configs) if run_state(c) == "finished"]
        if done:  # a row shows the seeds finished so far
            finished.append(_summary_row(row, [s for s, _ in done], [finished_run(Path(c.train.out_dir)) for _, c in done], tradeoff))
            if kind == "curve":  # the first finished seed's curve
                finished[-1]["curve"] = _curve(Path(done[0][1].train.out_dir))
    return finished
