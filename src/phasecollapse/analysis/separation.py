"""Class-mean separation across depth (poster panel; docs/faithfulness.md, *Analyses*).

For features f ∈ ℝ^D (a block output flattened over channels and space; complex maps count
their real and imaginary parts) with classes c of frequencies p_c, means μ_c and global mean μ:

    tr Σ_B = Σ_c p_c ‖μ_c − μ‖²,        tr Σ_W = Σ_c p_c E[‖f − μ_c‖² | c]
    Fisher ratio = tr Σ_B / tr Σ_W

and the nearest-class-mean (NCM) error: classify each test vector by the closest training
class mean (Euclidean). Phase-preserving representations of translation-invariant classes keep
zero class means, so their Fisher ratio stays near 0 and their NCM error near chance.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def flat_features(values: Tensor) -> Tensor:
    """(N, …) real or complex → (N, D) float64, complex entries as (Re, Im) pairs."""
    v = torch.view_as_real(values) if values.is_complex() else values
    return v.reshape(len(v), -1).double()


@torch.no_grad()
def block_features(model: nn.Module, images: Tensor, batch_size: int = 256) -> list[Tensor]:
    """Flattened outputs of every block of ``model.features`` on ``images``: list of (N, D_j) float32."""
    model.eval()
    chunks: list[list[Tensor]] = []
    for start in range(0, len(images), batch_size):
        outs = model.features(images[start : start + batch_size])
        chunks.append([o.float().flatten(1) for o in outs])
    return [torch.cat(per_block) for per_block in zip(*chunks)]


def class_means(features: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """(num_classes, D) means of ``features`` (N, D) per class."""
    sums = torch.zeros(num_classes, features.shape[1], dtype=torch.float64).index_add_(0, labels, features.double())
    return sums / torch.bincount(labels, minlength=num_classes).clamp_min(1).unsqueeze(1)


def fisher_ratio(features: Tensor, labels: Tensor) -> float:
    """tr Σ_B / tr Σ_W of features (N, D) with integer labels (N,)."""
    k = int(labels.max()) + 1
    f = features.double()
    means = class_means(f, labels, k)
    p = torch.bincount(labels, minlength=k).double() / len(labels)
    between = (p * (means - f.mean(0)).square().sum(1)).sum()
    within = (f - means[labels]).square().sum(1).mean()
    return float(between / within)


def between_class_fraction(features: Tensor, labels: Tensor) -> float:
    """Σ_c p_c ‖μ_c − μ‖² / E‖f‖² of features (N, D): the share of the energy in the class means
    beyond the global mean, per coordinate (for a flattened map: per channel *and position*,
    which is what a linear head sees)."""
    k = int(labels.max()) + 1
    f = features.double()
    p = torch.bincount(labels, minlength=k).double() / len(labels)
    return float((p * (class_means(f, labels, k) - f.mean(0)).square().sum(1)).sum() / f.square().sum(1).mean())


def permutation_test(statistic: Callable[[Tensor, Tensor], float], features: Tensor, labels: Tensor, permutations: int = 20, seed: int = 0) -> dict[str, float]:
    """``statistic(features, labels)`` against its label-permutation null (see the module docstring)."""
    g = torch.Generator().manual_seed(seed)
    observed = statistic(features, labels)
    null = torch.tensor([statistic(features, labels[torch.randperm(len(labels), generator=g)]) for _ in range(permutations)], dtype=torch.float64)
    std = float(null.std()) if permutations > 1 else float("nan")
    return {
        "observed": observed,
        "null_mean": float(null.mean()),
        "null_std": std,
        "z": (observed - float(null.mean())) / std if std > 0 else float("inf"),
        "p_value": (1 + int((null >= observed).sum())) / (1 + permutations),
    }


def ncm_error(train: Tensor, train_labels: Tensor, test: Tensor, test_labels: Tensor) -> float:
    """Nearest-class-mean test error (%) with class means estimated on the training features."""
    k = int(train_labels.max()) + 1
    means = class_means(train, train_labels, k)
    predicted = torch.cdist(test.double(), means).argmin(1)
    return 100.0 * float((predicted != test_labels).double().mean())


def linear_probe_error(train: Tensor, train_labels: Tensor, test: Tensor, test_labels: Tensor, steps: int = 100, weight_decay: float = 1e-4) -> float:
    """Test error (%) of a linear classifier on frozen features, standardised per feature with
    the training statistics (the BN of the linear head), trained to convergence by L-BFGS on the
    cross-entropy + weight_decay·‖W‖²."""
    mean, std = train.mean(0), train.std(0) + 1e-6
    a, b = (train - mean) / std, (test - mean) / std
    linear = nn.Linear(a.shape[1], int(train_labels.max()) + 1)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(linear(a), train_labels) + weight_decay * linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return 100.0 * float((linear(b).argmax(1) != test_labels).double().mean())


def separation_across_depth(model: nn.Module, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], probe: bool = True) -> list[dict[str, float]]:
    """Per block: Fisher ratio (test features), NCM error and linear-probe error (%)."""
    (xtr, ytr), (xte, yte) = train, test
    rows = []
    for j, (ftr, fte) in enumerate(zip(block_features(model, xtr), block_features(model, xte))):
        row = {"block": j + 1, "fisher_ratio": fisher_ratio(fte, yte), "ncm_err": ncm_error(ftr, ytr, fte, yte)}
        if probe:
            row["probe_err"] = linear_probe_error(ftr, ytr, fte, yte)
        rows.append(row)
    return rows
