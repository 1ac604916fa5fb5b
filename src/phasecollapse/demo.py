"""``phasecollapse demo``: the poster's Table 2 in minutes, on embedded stationary textures.

Trains a reduced-width LScat + skip twice, with the modulus (phase collapse) and with complex
soft-thresholding (phase-preserving), on :mod:`phasecollapse.data.textures` (no download), and,
when a CIFAR-10 directory is given or ``$PHASECOLLAPSE_CIFAR10_DIR`` is set, on a CIFAR-10
subset too. Prints the test errors and the class-mean separation at the last block, and
writes ``summary.json``, ``summary.md``, ``learning_curves.png`` and ``separation.png``.
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
from .config import load_config  # noqa: E402
from .data.cifar10 import normalize  # noqa: E402
from .provenance import environment  # noqa: E402
from .train import fit, in_memory_splits, load_trained  # noqa: E402

NONLINEARITIES = {"cst": "LScat + skip (cst)", "mod": "LScat + skip (mod)"}

#: The embedded defaults: (label, config overrides). Budget settings, not the paper's recipe.
TEXTURES = ("textures (4 classes)", ["data.dataset='textures'", "data.texture_classes=4", "data.texture_train=256", "data.texture_test=128", "data.batch_size=64", "optim.lr=0.05", "optim.epochs=3", "model.options.width=0.125"])
CIFAR10 = ("CIFAR-10 subset", ["data.dataset='cifar10'", "data.train_subset=5000", "data.test_subset=1000", "data.batch_size=64", "optim.lr=0.05", "optim.epochs=2", "model.options.width=0.125", "train.precision='bf16'", "train.channels_last=true"])
ANALYSIS_SAMPLES = 1024


def _as_float(images: torch.Tensor) -> torch.Tensor:
    """Model inputs: CIFAR-10 uint8 images normalised as in training; textures as they are."""
    return normalize(images) if images.dtype == torch.uint8 else images


def _experiment(label: str, overrides: list[str], nonlinearity: str, out: Path) -> dict[str, Any]:
    run_dir = out / label.split()[0].lower() / nonlinearity
    config = load_config(None, ["model.name='lscat_skip_cifar10'", f"model.options.nonlinearity='{nonlinearity}'", "train.tensorboard=false", f"train.out_dir={run_dir}", *overrides])
    print(f"\n== {label}: {NONLINEARITIES[nonlinearity]} ==", flush=True)
    summary = fit(config)
    model, _ = load_trained(run_dir / "last.pt")
    (xtr, ytr), (xte, yte) = in_memory_splits(config)
    train_f = block_features(model, _as_float(xtr[:ANALYSIS_SAMPLES]))
    test_f = block_features(model, _as_float(xte[:ANALYSIS_SAMPLES]))
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


def _plots(results: list[dict[str, Any]], out: Path) -> None:
    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        for r in (r for r in results if r["dataset"] == d):
            ep, err = zip(*r["curve"])
            ax.plot(ep, err, "o-", label=NONLINEARITIES[r["nonlinearity"]])
        ax.set(title=d, xlabel="epoch", ylabel="test error (%)", ylim=(0, 100))
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=120)
    plt.close(fig)
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
    fig.savefig(out / "separation.png", dpi=120)
    plt.close(fig)


def run_demo(out_dir: str | os.PathLike[str] = "demo_output", cifar10_root: str | None = None) -> list[dict[str, Any]]:
    """Run the demo; returns one result dict per (data set, non-linearity)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    experiments = [TEXTURES]
    root = cifar10_root or os.environ.get("PHASECOLLAPSE_CIFAR10_DIR")
    if root:
        experiments.append((CIFAR10[0], [*CIFAR10[1], f"data.root={root}"]))
    results = [_experiment(label, overrides, nl, out) for label, overrides in experiments for nl in NONLINEARITIES]
    table = _table(results)
    _plots(results, out)
    wall = time.perf_counter() - start
    (out / "summary.md").write_text(f"# phasecollapse demo\n\n```\n{table}\n```\n\nWall time: {wall:.0f} s.\n")
    (out / "summary.json").write_text(json.dumps({"results": results, "wall_s": wall, "environment": environment()}, indent=2))
    print("\n" + table)
    print(f"\nPhase collapse (mod) separates the class means that complex soft-thresholding (cst) leaves at zero.\nWrote {out}/summary.md, summary.json, learning_curves.png, separation.png ({wall:.0f} s).")
    return results
