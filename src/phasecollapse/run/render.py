"""Rendering of a reproduction table: its Markdown and its figure, from the record that
``phasecollapse reproduce`` writes as ``TABLE.json`` (title, budget, kind, rows, environment).

One renderer for ``reproduce``, the demo and the documentation build, so a table reads the same
wherever it is shown. Kinds: ``poster`` (ours beside the poster's numbers, and the two rankings),
``tradeoff`` (error against P_j parameters, each row against the row named ``dense``, the
Pareto front) and ``curve`` (test error epoch by epoch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KINDS = ("poster", "tradeoff", "curve")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (no trailing newline): the header, its rule, one line per row of cells."""
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, ["---"] * len(header), *rows])


def kind_of(record: dict[str, Any]) -> str:
    """A record's kind (records written before it was stored: told by what the rows hold)."""
    if "kind" in record:
        return record["kind"]
    rows = record["rows"]
    return "tradeoff" if rows and "cost" in rows[0] else "curve" if rows and "curve" in rows[0] else "poster"


def markdown(record: dict[str, Any]) -> str:
    """The table of a record as Markdown (a title, the command, the rows, then per kind: the
    rankings, the Pareto front or the epoch-by-epoch errors)."""
    title, budget, rows, kind = record["title"], record["budget"], record["rows"], kind_of(record)

    def cell(r: dict[str, Any]) -> str:
        return _mean_text(r["err_mean"], r["err_spread"])

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
    if kind == "tradeoff":
        lines += _tradeoff_lines(rows)
    elif kind == "curve":
        lines += _curve_lines(rows)
    else:
        lines += _order_lines(rows)
    return "\n".join(lines) + "\n"


def figure(record: dict[str, Any]) -> Any:
    """The table's matplotlib figure: bars against the poster, the trade-off plot or the curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title, budget, rows, kind = record["title"], record["budget"], record["rows"], kind_of(record)
    if kind == "tradeoff":
        return _plot_tradeoff(title, budget, rows)
    if kind == "curve":
        return _plot_curves(title, rows)
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(rows)), 3.8))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["err_mean"] for r in rows], 0.4, yerr=[r["err_spread"] or 0 for r in rows], label=f"ours ({budget} budget)")
    ax.bar([x + 0.2 for x in xs], [r["poster_err"] or 0 for r in rows], 0.4, label="poster (300 epochs, full width)")
    ax.set_xticks(list(xs), [r["label"] for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="CIFAR-10 test error (%)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    on = "val_err_mean" if all(r.get("val_err_mean") is not None for r in rows) else "err_mean"  # choose on validation when held out

    def point(r: dict[str, Any]) -> tuple[int, float]:
        return r["cost"]["projection_params"], r[on]

    def dominated(r: dict[str, Any]) -> bool:  # another point no worse on both and not equal (so not r itself)
        n, e = point(r)
        return any(m <= n and f <= e and (m, f) != (n, e) for m, f in map(point, rows))

    front = sorted((r for r in rows if not dominated(r)), key=point)

    def cell(r: dict[str, Any]) -> str:
        saving = dense["cost"]["projection_params"] / r["cost"]["projection_params"]
        return f"{r['label']} ({r[on]:.2f} %" + ("" if r is dense else f", {saving:.1f}× fewer P_j parameters, {r[on] - dense[on]:+.2f} points") + ")"

    which = "validation error" if on == "val_err_mean" else "test error"
    cells = [cell(r) for r in front]
    return ["", f"Dense P_j: {dense[on]:.2f} % {which} with {dense['cost']['projection_params']:,} P_j parameters.", f"Pareto front by {which} (no other row has both fewer P_j parameters and a lower {which}), fewest parameters first: " + "; ".join(cells) + "."] + _fresh_lines(rows, dense)


def fresh(r: dict[str, Any]) -> tuple[float, float | None] | None:
    """(mean, half range) of a row's test errors on its fresh seeds, those that played no part in
    choosing it (``fresh`` in its table config), or None where it has none finished."""
    errors = r.get("fresh_errors") or []
    if not errors:
        return None
    return sum(errors) / len(errors), (max(errors) - min(errors)) / 2 if len(errors) > 1 else None


def _mean_text(mean: float, spread: float | None) -> str:
    return f"{mean:.2f}" + (f" ± {spread:.2f}" if spread is not None else "")


def _fresh_lines(rows: list[dict[str, Any]], dense: dict[str, Any]) -> list[str]:
    """For each row with fresh seeds: its test error on them alone, against dense, beside its error
    over all its seeds (of which the others took part in a choice)."""
    lines = []
    for r in rows:
        stats = fresh(r)
        if stats is None:
            continue
        seeds, errors = ", ".join(map(str, r["fresh_seeds"])), ", ".join(f"{e:.2f}" for e in r["fresh_errors"])
        lines.append(
            f"Fresh seeds of {r['label']} (seeds {seeds}, no part in choosing it): test error {errors}, {_mean_text(*stats)} %, "
            f"{stats[0] - dense['err_mean']:+.2f} points against dense ({_mean_text(dense['err_mean'], dense['err_spread'])} %); over all {len(r['seeds'])} of its seeds {_mean_text(r['err_mean'], r['err_spread'])} %."
        )
    return [""] + lines if lines else []


def _cell_text(text: str) -> str:
    """``text`` for a Markdown table cell: its pipes escaped (a label such as "|Δθ| ≤ 1")."""
    return text.replace("|", "\\|")


def short_commit(commit: str) -> str:
    """A commit as 7 hex digits, keeping its ``-dirty`` mark (the tree differed from it)."""
    return commit[:7] + ("-dirty" if "-dirty" in commit else "")


def _curve_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The epoch-by-epoch test errors of every row, as Markdown lines."""
    epochs = sorted({p["epoch"] for r in rows for p in r["curve"]})
    by_row = [{p["epoch"]: p for p in r["curve"]} for r in rows]
    lines = ["", "Test error (%) after each epoch (cumulative training time, min, on the row's machine):", ""]
    lines += ["| epoch | " + " | ".join(_cell_text(r["label"]) for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for e in epochs:
        cells = [f"{c[e]['test_top1_err']:.2f} ({c[e]['elapsed_s'] / 60:.1f})" if e in c else "—" for c in by_row]
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    return lines


def _plot_curves(title: str, rows: list[dict[str, Any]]) -> Any:
    """The test errors against epochs and against the cumulative training time of each run (on
    its own machine, named in the legend)."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for r in rows:
        a.plot([p["epoch"] for p in r["curve"]], [p["test_top1_err"] for p in r["curve"]], "o-", ms=3, label=r["label"])
        b.plot([p["elapsed_s"] / 60 for p in r["curve"]], [p["test_top1_err"] for p in r["curve"]], "o-", ms=3, label=f"{r['label']} ({r['machine']})")
    a.set(xlabel="epoch", ylabel="CIFAR-10 test error (%)", title=title)
    b.set(xlabel="training time (min, each run's machine)")
    a.legend(fontsize=7)
    b.legend(fontsize=6)
    fig.tight_layout()
    return fig


def _plot_tradeoff(title: str, budget: str, rows: list[dict[str, Any]]) -> Any:
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
    return fig


#: The README's headline: (table, row name, label) of the rows it shows.
HEADLINE = (
    ("table1", "scat", "Scat (fixed scattering)"),
    ("table1", "lscat", "LScat, U = \\|W\\|x"),
    ("table1", "lscat_skip", "LScat + skip, U = [Wx, ρ(Wx)]"),
    ("table1", "resnet20", "ResNet-20"),
    ("table2", "skip_mod", "LScat + skip, ρ = mod (phase collapse), 8 epochs"),
    ("table2", "skip_cst", "LScat + skip, ρ = cst (phase-preserving), 8 epochs"),
    ("table2", "noskip_mod", "LScat, ρ = mod, dense P_j, 8 epochs"),
    ("pj_tradeoff", "tied2_w112", "LScat, ρ = mod, one P_j for blocks 2–7 (5.3× fewer P_j weights), 8 epochs, fresh seeds"),
)
README_MARKERS = ("<!-- headline: python -m phasecollapse.run.render README.md -->", "<!-- end headline -->")


def headline(records: dict[str, dict[str, Any]]) -> str:
    """The README's small results table: the :data:`HEADLINE` rows of the given table records
    (rows not finished yet are left out), ours beside the poster's; a row chosen on validation
    shows its fresh seeds only (:func:`fresh`)."""
    lines = ["| CIFAR-10 test error (%) | ours, CPU budget | poster | seeds |", "|---|---|---|---|"]
    for table, name, label in HEADLINE:
        row = next((r for r in records.get(table, {}).get("rows", []) if r["name"] == name), None)
        if row is None:
            continue
        mean, spread = fresh(row) or (row["err_mean"], row["err_spread"])
        poster = f"{row['poster_err']:.1f}" if row["poster_err"] is not None else "—"
        lines.append(f"| {label} | {_mean_text(mean, spread)} | {poster} | {len(row.get('fresh_seeds') or row['seeds'])} |")
    return "\n".join(lines)


def update_readme(readme: Path, results: Path) -> str:
    """Rewrite the headline block of ``readme`` (between :data:`README_MARKERS`) from
    ``results/TABLE.json``; return the new text."""
    start, end = README_MARKERS
    text = readme.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{readme} has no headline block ({start} … {end})")
    records = {t: json.loads((results / f"{t}.json").read_text()) for t in {t for t, _, _ in HEADLINE} if (results / f"{t}.json").exists()}
    before, rest = text.split(start, 1)
    return before + start + "\n" + headline(records) + "\n" + end + rest.split(end, 1)[1]


if __name__ == "__main__":  # python -m phasecollapse.run.render README.md
    import sys

    from .atomic import write_text

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    write_text(target, update_readme(target, target.resolve().parent / "results" / "reproduce"))
