"""``phasecollapse reproduce tableN``: run every row of a poster table, then write our errors
beside the poster's.

A table is a TOML file of the packaged ``configs/reproduce/`` listing its rows: a name, a label, the
poster's number (or none where the poster gives none), the config of each budget (``cpu``: the
budget recipes of ``configs/budget/``; ``paper``: the paper's recipes) and the seeds. For each
row and seed the runner resolves the config (``train.out_dir`` = ``OUT/runs/BUDGET/TABLE/ROW/seedS``)
and hashes it; then it

- skips a run whose ``results.json`` records the same hash (finished),
- refuses a run whose ``results.json`` records another hash (never overwrites a finished row),
- resumes a run whose ``last.pt`` exists (interrupted), else starts it.

It prints a progress line per run (run i of n, elapsed, ETA from the rows done), and writes
``OUT/tableN.json``, ``.md`` and ``.png`` (ours next to the poster's, mean and spread over
seeds, the budget of each row: epochs, widths, wall time, images/s, machine, commit).

A row may name ``runs = "TABLE/ROW"``: its run directories are those of another table's row
(``OUT/runs/BUDGET/TABLE/ROW/seedS``), reused when that row ran the same recipe (the config
hash ignores ``train.out_dir``); a table may name ``runs = "DIR"`` for all its rows
(``OUT/runs/BUDGET/DIR/ROW``). ``set = { "data.validation" = 5000 }``, in a table or in a row,
overrides keys of the rows' configs (the row's win): part of the recipe, so of the hash.

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
from .config import CONFIG_DIR, UNHASHED, Config, config_hashes, load_config
from .provenance import environment

TABLES = ("table1", "table2", "table3", "pj_tradeoff", "recipe", "curve")
KINDS = ("poster", "tradeoff", "curve")
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


def _raw_table(table: str, config_dir: Path) -> tuple[Path, dict[str, Any]]:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {TABLES}")
    path = config_dir / "reproduce" / f"{table}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"table definition not found: {path}")
    return path, tomllib.loads(path.read_text())


def read_table(table: str, config_dir: Path = CONFIG_DIR) -> tuple[str, list[Row]]:
    """(title, rows) of ``CONFIG_DIR/reproduce/TABLE.toml``."""
    path, raw = _raw_table(table, config_dir)
    prefix = raw.get("runs", table)
    rows = [
        Row(r["name"], r["label"], r.get("poster"), {b: str(path.parent / r[b]) for b in BUDGETS if b in r}, tuple(r.get("seeds", [0])), r.get("note", ""), r.get("runs", f"{prefix}/{r['name']}"), _assignments({**raw.get("set", {}), **r.get("set", {})}))
        for r in raw["rows"]
    ]
    return raw["title"], rows


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
    if kind not in KINDS:
        raise ValueError(f"table {table}: kind must be one of {KINDS}, got {kind!r}")
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
    """'finished', 'interrupted' or 'new'; raise if a finished run of another config is there.

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
    return "interrupted" if (out_dir / "last.pt").exists() else "new"


def _cost(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """P_j parameters (and the dense P_j's), all parameters and MACs per image of a registry LScat."""
    from ..models.complexity import complexity
    from ..models.registry import create_model

    c = complexity(create_model(model, **options))  # type: ignore[arg-type]
    return {k: c[k] for k in ("projection_params", "dense_projection_params", "params", "macs")}


def _machine(env: dict[str, Any] | None) -> str:
    if env is None:
        return "not recorded"
    return f"{env['cpu']} ({env['cpu_cores']} cores)" + (f", {env['gpu']}" if env.get("gpu") else "")


def _machines(run: dict[str, Any]) -> str:
    """The machine of a run, or of each stretch of epochs where it was resumed elsewhere."""
    segments = run.get("segments") or [{"from_epoch": 1, "environment": run["environment"]}]
    stretches: list[tuple[int, str]] = []  # (first epoch, machine), successive stretches on one machine merged
    for s in segments:
        machine = _machine(s["environment"])
        if not stretches or stretches[-1][1] != machine:
            stretches.append((s["from_epoch"], machine))
    if len(stretches) == 1:
        return stretches[0][1]
    ends = [first - 1 for first, _ in stretches[1:]] + [run["epochs_completed"]]
    return "; ".join(f"epochs {first}–{end}: {machine}" for (first, machine), end in zip(stretches, ends))


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
        "machine": _machines(first),
        "commit": list(dict.fromkeys(r["environment"]["git_commit"] for r in runs)),  # in seed order
        "config_hash": first.get("config_hash"),
        **({"cost": _cost(model, options)} if tradeoff else {}),
    }


def _order_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Our rows ranked by error beside the poster's ranking of the same rows, and every pair the
    two rankings put in opposite order (rows without a poster number are left out)."""
    ranked = [r for r in rows if r["poster_err"] is not None]
    if len(ranked) < 2:
        return []
    ours = " < ".join(r["label"] for r in sorted(ranked, key=lambda r: r["err_mean"]))
    poster = " < ".join(r["label"] for r in sorted(ranked, key=lambda r: r["poster_err"]))
    flips = [
        f"{a['label']} ({a['err_mean']:.2f} %) beats {b['label']} ({b['err_mean']:.2f} %) here; the poster has the opposite ({a['poster_err']} vs {b['poster_err']} %)"
        for a in ranked
        for b in ranked
        if a["err_mean"] < b["err_mean"] and a["poster_err"] > b["poster_err"]
    ]
    lines = ["", f"Ours, lowest error first: {ours}.", f"Poster: {poster}."]
    return lines + ([f"- Order differs: {f}." for f in flips] if flips else ["Same order."])


def _dense(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The trade-off's reference, the row named ``dense`` (the paper's dense P_j at the table's
    widths), if it has run. Other rows may have dense P_j too (a thinner network: the null model
    that saves P_j parameters without any structure); they are compared with it like the rest."""
    return next((r for r in rows if r["name"] == "dense"), None)


def _against(r: dict[str, Any], dense: dict[str, Any]) -> tuple[float, float]:
    """Row r against the reference dense row: (how many times fewer P_j parameters, error
    difference in points)."""
    return dense["cost"]["projection_params"] / r["cost"]["projection_params"], r["err_mean"] - dense["err_mean"]


def _tradeoff_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The dense row's error, and the Pareto front: the rows that no other row beats on both
    P_j parameters and error, each with its saving and its error against dense."""
    dense = _dense(rows)
    if dense is None or len(rows) < 2:
        return []

    def point(r: dict[str, Any]) -> tuple[int, float]:
        return r["cost"]["projection_params"], r["err_mean"]

    def dominated(r: dict[str, Any]) -> bool:  # another point no worse on both and not equal (so not r itself)
        n, e = point(r)
        return any(m <= n and f <= e and (m, f) != (n, e) for m, f in map(point, rows))

    front = sorted((r for r in rows if not dominated(r)), key=point)

    def cell(r: dict[str, Any]) -> str:
        saving, points = _against(r, dense)
        return f"{r['label']} ({r['err_mean']:.2f} %" + ("" if r is dense else f", {saving:.1f}× fewer P_j parameters, {points:+.2f} points") + ")"

    cells = [cell(r) for r in front]
    return ["", f"Dense P_j: {dense['err_mean']:.2f} % with {dense['cost']['projection_params']:,} P_j parameters.", "Pareto front (no other row has both fewer P_j parameters and a lower error), fewest parameters first: " + "; ".join(cells) + "."]


def _cell_text(text: str) -> str:
    """``text`` for a Markdown table cell: its pipes escaped (a label such as "|Δθ| ≤ 1")."""
    return text.replace("|", "\\|")


def short_commit(commit: str) -> str:
    """A commit as 7 hex digits, keeping its ``-dirty`` mark (the tree differed from it)."""
    return commit[:7] + ("-dirty" if "-dirty" in commit else "")


def write_table(table: str, title: str, budget: str, rows: list[dict[str, Any]], out: Path, wall_s: float, kind: str = "poster") -> None:
    """``OUT/TABLE.json``, ``.md`` and ``.png`` from the finished rows (``kind``: see :func:`table_kind`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record = {"table": table, "title": title, "budget": budget, "rows": rows, "wall_s": wall_s, "environment": environment()}
    (out / f"{table}.json").write_text(json.dumps(record, indent=2))

    def cell(r: dict[str, Any]) -> str:
        spread = f" ± {r['err_spread']:.2f}" if r["err_spread"] is not None else ""
        return f"{r['err_mean']:.2f}{spread}"

    validated = any(r.get("val_err_mean") is not None for r in rows)  # then choices are read off this column

    def val_cell(r: dict[str, Any]) -> str:
        if not validated:
            return ""
        return f" {r['val_err_mean']:.2f} |" if r.get("val_err_mean") is not None else " — |"

    lines = [f"# {title}", "", f"Budget `{budget}`; command `{record['environment']['command']}`.", ""]
    if kind == "tradeoff":
        lines += [
            "| row | test error (%) |" + (" validation error (%) |" if validated else "") + " vs dense (points) | P_j params | ÷ dense P_j | total params | MACs / image (M) | seeds | epochs | model options | wall time (min) | images/s | machine | commit |",
            "|---|---|" + ("---|" if validated else "") + "---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        dense = _dense(rows)
    else:
        lines += [
            "| row | ours: test error (%) | poster (%) |" + (" validation error (%) |" if validated else "") + " seeds | epochs | model options | wall time (min) | images/s | machine | commit |",
            "|---|---|---|" + ("---|" if validated else "") + "---|---|---|---|---|---|---|",
        ]
    for r in rows:
        walls = ", ".join(f"{w / 60:.0f}" for w in r["wall_s"])
        speed = ", ".join(f"{v:.0f}" for v in r["images_per_s"] if v)
        tail = f"{len(r['seeds'])} of {len(r['seeds_planned'])} | {r['epochs']} | `{json.dumps(r['options'])}` | {walls} | {speed} | {r['machine']} | {', '.join(short_commit(c) for c in r['commit'])} |"
        if kind == "tradeoff":
            c = r["cost"]
            macs = f"{c['macs'] / 1e6:.1f}" if c["macs"] is not None else "—"
            saving = delta = "—"
            if dense is not None:
                times, points = _against(r, dense)
                saving, delta = f"{times:.2f}", f"{points:+.2f}"
            lines.append(f"| {_cell_text(r['label'])} | {cell(r)} |{val_cell(r)} {delta} | {c['projection_params']:,} | {saving} | {c['params']:,} | {macs} | {tail}")
        else:
            poster = f"{r['poster_err']:.1f}" if r["poster_err"] is not None else "—"
            lines.append(f"| {_cell_text(r['label'])} | {cell(r)} | {poster} |{val_cell(r)} {tail}")
    notes = [f"- {r['label']}: {r['note']}" for r in rows if r["note"]]
    if notes:
        lines += ["", *notes]
    if kind == "poster":
        lines += _order_lines(rows)
    if kind == "tradeoff":
        lines += _tradeoff_lines(rows)
    (out / f"{table}.md").write_text("\n".join(lines) + "\n")

    if kind == "tradeoff":
        _plot_tradeoff(title, budget, rows, out / f"{table}.png")
        return
    if kind == "curve":
        _write_curves(title, rows, out / f"{table}.md", out / f"{table}.png")
        return
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(rows)), 3.8))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["err_mean"] for r in rows], 0.4, yerr=[r["err_spread"] or 0 for r in rows], label=f"ours ({budget} budget)")
    ax.bar([x + 0.2 for x in xs], [r["poster_err"] or 0 for r in rows], 0.4, label="poster (300 epochs, full width)")
    ax.set_xticks(list(xs), [r["label"] for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="CIFAR-10 test error (%)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / f"{table}.png", dpi=120)
    plt.close(fig)


def _write_curves(title: str, rows: list[dict[str, Any]], md: Path, png: Path) -> None:
    """Append the epoch-by-epoch test errors to ``md``; plot them against epochs and against the
    cumulative training time of each run (on its own machine, named in the legend)."""
    import matplotlib.pyplot as plt

    epochs = sorted({p["epoch"] for r in rows for p in r["curve"]})
    by_row = [{p["epoch"]: p for p in r["curve"]} for r in rows]
    lines = ["", "Test error (%) after each epoch (cumulative training time, min, on the row's machine):", ""]
    lines += ["| epoch | " + " | ".join(_cell_text(r["label"]) for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for e in epochs:
        cells = [f"{c[e]['test_top1_err']:.2f} ({c[e]['elapsed_s'] / 60:.1f})" if e in c else "—" for c in by_row]
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    md.write_text(md.read_text() + "\n".join(lines) + "\n")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for r in rows:
        a.plot([p["epoch"] for p in r["curve"]], [p["test_top1_err"] for p in r["curve"]], "o-", ms=3, label=r["label"])
        b.plot([p["elapsed_s"] / 60 for p in r["curve"]], [p["test_top1_err"] for p in r["curve"]], "o-", ms=3, label=f"{r['label']} ({r['machine']})")
    a.set(xlabel="epoch", ylabel="CIFAR-10 test error (%)", title=title)
    b.set(xlabel="training time (min, each run's machine)")
    a.legend(fontsize=7)
    b.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def _plot_tradeoff(title: str, budget: str, rows: list[dict[str, Any]], path: Path) -> None:
    """Test error against P_j parameters (log scale), one numbered marker per row, the numbers
    named in the legend: the reference dense P_j a star, dense P_j of thinner networks open
    squares, structured P_j dots; the target region of issue #14 shaded."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.4))
    dense_row = _dense(rows)
    for i, r in enumerate(rows, 1):
        c, dense = r["cost"], r is dense_row
        thinner = not dense and c["projection_params"] == c["dense_projection_params"]
        style = {"fmt": "*", "ms": 12, "color": "k"} if dense else {"fmt": "s", "ms": 7, "color": "k", "mfc": "white"} if thinner else {"fmt": "o", "ms": 6}
        ax.errorbar(c["projection_params"], r["err_mean"], yerr=r["err_spread"] or 0, capsize=3, label=f"{i}: {r['label']}", **style)
        ax.annotate(str(i), (c["projection_params"], r["err_mean"]), textcoords="offset points", xytext=(4, 3), fontsize=7)
        if dense:
            ax.axhline(r["err_mean"], color="k", lw=0.8, ls="--")
    if dense_row is not None:  # issue #14's target: ≥ 5× fewer P_j parameters at ≤ 1 point more error
        left = min(r["cost"]["projection_params"] for r in rows) / 1.2
        ax.fill_between([left, dense_row["cost"]["projection_params"] / 5], dense_row["err_mean"] - 0.5, dense_row["err_mean"] + 1, color="g", alpha=0.1, lw=0, label="target: ≥ 5× fewer, ≤ 1 point more")
    ax.set(xscale="log", xlabel="P_j parameters (real scalars, all blocks)", ylabel="test error (%)", title=f"{title}\n({budget} budget; ★ dense, □ dense in a thinner network, ● structured)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
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
        fit(config, resume=state == "interrupted")  # its results.json records the config hash
        done_s.append(time.perf_counter() - t0)
        _write_finished(table, title, budget, out, data_dir, config_dir, started)  # the table grows run by run
    return _write_finished(table, title, budget, out, data_dir, config_dir, started)


def _write_finished(table: str, title: str, budget: str, out: Path, data_dir: str | None, config_dir: Path, started: float) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    finished = _all_finished(table, budget, out, data_dir, config_dir)  # with --only: every row finished so far
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
            finished.append(_summary_row(row, [s for s, _ in done], [json.loads((Path(c.train.out_dir) / "results.json").read_text()) for _, c in done], tradeoff))
            if kind == "curve":  # the first finished seed's curve
                finished[-1]["curve"] = _curve(Path(done[0][1].train.out_dir))
    return finished
