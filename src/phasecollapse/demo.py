"""``phasecollapse demo``: the poster's Table 2 in minutes, on embedded stationary textures.

Trains a reduced-width LScat + skip twice, with the modulus (phase collapse) and with complex
soft-thresholding (phase-preserving), on :mod:`phasecollapse.data.textures` (no download), and,
when a CIFAR-10 directory is given or ``$PHASECOLLAPSE_CIFAR10_DIR`` is set, on a CIFAR-10
subset too. Prints the test errors and the class-mean separation at the last block, and
writes ``summary.json``, ``summary.md``, ``learning_curves.png`` and ``separation.png``.

Run from a source checkout, it also prints the checkout's committed CIFAR-10 result,
``results/reproduce/table2.json`` (``phasecollapse reproduce table2``: full CIFAR-10, 8 epochs at
a quarter of the paper's widths), labelled as committed, with its budget, machine and commit;
an installed package has no such file and leaves it out.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from .analysis.separation import block_features, fisher_ratio, ncm_error  # noqa: E402
from .run.atomic import figure, json_file, text, write_files  # noqa: E402
from .run.config import CONFIG_DIR, load_config  # noqa: E402
from .data.transforms import as_model_input  # noqa: E402
from .run.provenance import environment  # noqa: E402
from .run.render import markdown  # noqa: E402
from .run.checkpoint import load_trained  # noqa: E402
from .run.experiment import in_memory_splits  # noqa: E402
from .run.train import fit  # noqa: E402

NONLINEARITIES = {"cst": "LScat + skip (cst)", "mod": "LScat + skip (mod)"}

#: The demo's recipes (label, packaged preset). Budget settings, not the paper's recipe.
TEXTURES = ("textures (4 classes)", "budget/textures.toml")
CIFAR10 = ("CIFAR-10 subset", "budget/demo_cifar10_subset.toml")
ANALYSIS_SAMPLES = 1024


def source_checkout(package: Path = Path(__file__).resolve().parent) -> Path | None:
    """The root of the source checkout the package runs from (``ROOT/src/phasecollapse`` beside
    ``ROOT/pyproject.toml``: an editable install), or None (an installed wheel)."""
    root = package.parent.parent
    return root if package.parent.name == "src" and (root / "pyproject.toml").is_file() else None


#: The checkout's committed Table 2 (None for an installed package: then skipped).
CHECKOUT = source_checkout()
COMMITTED_TABLE2 = CHECKOUT / "results" / "reproduce" / "table2.json" if CHECKOUT else None


def committed_table2(path: Path | None = COMMITTED_TABLE2) -> str | None:
    """The committed Table 2 rows as text, labelled with their budget and provenance; None if absent."""
    if path is None or not path.exists():
        return None
    record = json.loads(path.read_text())
    shown = path.relative_to(CHECKOUT) if CHECKOUT and path.is_relative_to(CHECKOUT) else path
    return f"Committed result, not run now ({shown}):\n" + markdown(record).rstrip()


def _experiment(label: str, recipe: str, overrides: list[str], nonlinearity: str, out: Path) -> dict[str, Any]:
    run_dir = out / label.split()[0].lower() / nonlinearity
    config = load_config(CONFIG_DIR / recipe, [f"model.options.nonlinearity='{nonlinearity}'", "train.tensorboard=false", f"train.out_dir={run_dir}", *overrides])
    print(f"\n== {label}: {NONLINEARITIES[nonlinearity]} ==", flush=True)
    summary = fit(config)
    model, _ = load_trained(run_dir / "last.pt")
    (xtr, ytr), _, (xte, yte) = in_memory_splits(config)
    train_f = block_features(model, as_model_input(xtr[:ANALYSIS_SAMPLES]))
    test_f = block_features(model, as_model_input(xte[:ANALYSIS_SAMPLES]))
    ytr, yte = ytr[:ANALYSIS_SAMPLES], yte[:ANALYSIS_SAMPLES]
    curve = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {
        "dataset": label,
        "nonlinearity": nonlinearity,
        "test_top1_err": summary["final"]["test_top1_err"],
        "fisher_ratio": [fisher_ratio(f, yte) for f in test_f],
        "ncm_err": [ncm_error(a, ytr, b, yte) for a, b in zip(train_f, test_f)],
        "curve": [(row["epoch"], row["test_top1_err"]) for row in curve],
        "wall_s": summary["wall_s"],
    }


def _table(results: list[dict[str, Any]]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    cell = {(r["dataset"], r["nonlinearity"]): r for r in results}
    head = f"| {'':28} | " + " | ".join(f"{NONLINEARITIES[n]:>19}" for n in NONLINEARITIES) + " |"
    rule = "|" + "-" * 30 + "|" + "|".join("-" * 21 for _ in NONLINEARITIES) + "|"
    lines = ["Test error (%)", head, rule]
    lines += [f"| {d:28} | " + " | ".join(f"{cell[d, n]['test_top1_err']:19.1f}" for n in NONLINEARITIES) + " |" for d in datasets]
    lines += ["", "Class-mean separation at the last block: Fisher ratio tr Σ_B / tr Σ_W (NCM error %)", head, rule]
    lines += [f"| {d:28} | " + " | ".join(f"{cell[d, n]['fisher_ratio'][-1]:10.3f} ({cell[d, n]['ncm_err'][-1]:5.1f})  " for n in NONLINEARITIES) + " |" for d in datasets]
    return "\n".join(lines)


def _plots(results: list[dict[str, Any]]) -> tuple[plt.Figure, plt.Figure]:
    """The learning curves and the class separation per block, as two figures."""
    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        for r in (r for r in results if r["dataset"] == d):
            ep, err = zip(*r["curve"])
            ax.plot(ep, err, "o-", label=NONLINEARITIES[r["nonlinearity"]])
        ax.set(title=d, xlabel="epoch", ylabel="test error (%)", ylim=(0, 100))
        ax.legend()
    fig.tight_layout()
    curves = fig
    fig, axes = plt.subplots(2, len(datasets), figsize=(5 * len(datasets), 6.4), squeeze=False)
    for col, d in enumerate(datasets):
        for r in (r for r in results if r["dataset"] == d):
            blocks = range(1, len(r["fisher_ratio"]) + 1)
            axes[0, col].semilogy(blocks, [max(v, 1e-6) for v in r["fisher_ratio"]], "o-", label=NONLINEARITIES[r["nonlinearity"]])
            axes[1, col].plot(blocks, r["ncm_err"], "o-", label=NONLINEARITIES[r["nonlinearity"]])
        axes[0, col].set(title=f"{d}: class-mean separation", ylabel="Fisher ratio tr Σ_B / tr Σ_W")
        axes[1, col].set(xlabel="block", ylabel="nearest-class-mean error (%)", ylim=(0, 100))
        axes[0, col].legend()
    fig.tight_layout()
    return curves, fig


def run_demo(out_dir: str | os.PathLike[str] = "demo_output", cifar10_root: str | None = None, overrides: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the demo; returns one result dict per (data set, non-linearity). ``overrides``
    (``section.key=value``) apply to every recipe (the tests shrink them)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    extra = list(overrides or [])
    experiments = [(*TEXTURES, extra)]
    root = cifar10_root or os.environ.get("PHASECOLLAPSE_CIFAR10_DIR")
    if root:
        experiments.append((*CIFAR10, [f"data.root={root}", *extra]))
    results = [_experiment(label, recipe, overrides, nl, out) for label, recipe, overrides in experiments for nl in NONLINEARITIES]
    table = _table(results)
    committed = committed_table2()
    if committed:
        table += "\n\n" + committed
    curves, separation = _plots(results)
    wall = time.perf_counter() - start
    try:  # the four files together, or none
        summary = json_file({"results": results, "wall_s": wall, "environment": environment()}, out / "summary.json")
        write_files({out / "summary.md": text(f"# phasecollapse demo\n\n```\n{table}\n```\n\nWall time: {wall:.0f} s.\n"), out / "summary.json": summary, out / "learning_curves.png": figure(curves), out / "separation.png": figure(separation)})
    finally:
        plt.close(curves)
        plt.close(separation)
    print("\n" + table)
    print(f"\nPhase collapse (mod) separates the class means that complex soft-thresholding (cst) leaves at zero.\nWrote {out}/summary.md, summary.json, learning_curves.png, separation.png ({wall:.0f} s).")
    return results
