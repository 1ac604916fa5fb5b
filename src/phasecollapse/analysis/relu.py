"""ReLU = even part (dead-zone absolute value) + odd part (soft-thresholding) (poster panel).

For a threshold b ≥ 0 and every real y:

    ReLU(y − b) = ½ (|y| − b)₊ + ½ sign(y) (|y| − b)₊

The even part collapses the sign (the real phase), the odd part preserves it. For any b, the
even and odd parts of y ↦ ReLU(y − b) are E = ½(ReLU(y − b) + ReLU(−y − b)) and
O = ½(ReLU(y − b) − ReLU(−y − b)), which reduce to the two terms above when b ≥ 0.

What the poster claims is that the even part carries the classification: it creates class
means (like |z| for complex z) where the odd part, which keeps the sign, leaves the class
means of a sign-symmetric y at zero. In a trained network each ReLU input t is written
t = y − b per channel with b = −E[t] (y centred over the training images), and for the even
part E, the odd part O and the output ReLU(t) = E + O, flattened over channels and positions:

    Fisher ratio tr Σ_B / tr Σ_W (test images) and its label-permutation floor,
    nearest-class-mean error (class means on training images; chance 90 % on CIFAR-10),
    between-class share tr Σ_B(E) / (tr Σ_B(E) + tr Σ_B(O)) (and O's, its complement),

and the same Fisher ratio and NCM error for the input t itself: the separation that already
exists before the ReLU (in a residual network, the stream carries class means; for b < 0 the odd
part is y itself on |y| ≤ −b, and the even part the constant −b: a linear copy that transmits them).

(The *energy* shares ‖E‖² / (‖E‖² + ‖O‖²) are ½ for every b ≥ 0 and every network: E² = O²
pointwise. They measure nothing and are not reported.)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .separation import between_class_fraction, fisher_ratio, flat_features, ncm_error, permutation_test


def dead_zone_abs(y: Tensor, b: Tensor | float) -> Tensor:
    """(|y| − b)₊."""
    return F.relu(y.abs() - b)


def soft_threshold(y: Tensor, b: Tensor | float) -> Tensor:
    """sign(y)(|y| − b)₊."""
    return torch.sign(y) * F.relu(y.abs() - b)


def even_odd_parts(y: Tensor, b: Tensor | float) -> tuple[Tensor, Tensor]:
    """Even and odd parts in y of ReLU(y − b)."""
    plus, minus = F.relu(y - b), F.relu(-y - b)
    return (plus + minus) / 2, (plus - minus) / 2


def between_class_trace(features: Tensor, labels: Tensor) -> float:
    """tr Σ_B = Σ_c p_c ‖μ_c − μ‖² of features (N, D)."""
    return between_class_fraction(features, labels) * float(features.double().square().sum(1).mean())


def even_odd_separation(train: Tensor, train_labels: Tensor, test: Tensor, test_labels: Tensor, permutations: int = 10) -> dict[str, Any]:
    """Separation carried by the even part, the odd part and the whole ReLU(t) of ReLU inputs
    t (N, C, …) (train and test images), with b = −E_train[t] per channel."""
    dims = [0] + list(range(2, train.dim()))
    b = -train.double().mean(dims, keepdim=True)
    parts = {}
    for split, t in (("train", train), ("test", test)):
        even, odd = even_odd_parts(t.double() + b, b)
        parts[split] = {"input": flat_features(t), "even": flat_features(even), "odd": flat_features(odd), "relu": flat_features(even + odd)}
    out: dict[str, Any] = {"mean_threshold": float(b.mean()), "positive_threshold_share": float((b >= 0).double().mean())}
    for name in ("input", "even", "odd", "relu"):
        ftr, fte = parts["train"][name], parts["test"][name]
        out[name] = {"fisher": permutation_test(fisher_ratio, fte, test_labels, permutations), "ncm_err": ncm_error(ftr, train_labels, fte, test_labels)}
    be, bo = (between_class_trace(parts["test"][n], test_labels) for n in ("even", "odd"))
    out["even_between_share"] = be / (be + bo) if be + bo > 0 else float("nan")
    return out


def _relu_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU) or getattr(m, "name", None) == "relu"]


@torch.no_grad()
def relu_inputs(model: nn.Module, images: Tensor, batch_size: int = 250) -> dict[str, Tensor]:
    """The input t of every ReLU of ``model`` on ``images`` (eval mode): {name: (N, C, H, W)}."""
    inputs: dict[str, list[Tensor]] = {}
    hooks = [m.register_forward_hook(lambda mod, args, out, n=name: inputs.setdefault(n, []).append(args[0].detach().float())) for name, m in _relu_modules(model)]
    model.eval()
    try:
        for start in range(0, len(images), batch_size):
            model(images[start : start + batch_size])
    finally:
        for h in hooks:
            h.remove()
    if not inputs:
        raise ValueError(f"{type(model).__name__} has no ReLU to analyse")
    return {name: torch.cat(chunks) for name, chunks in inputs.items()}


def relu_separation(model: nn.Module, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], permutations: int = 10) -> list[dict[str, Any]]:
    """:func:`even_odd_separation` for every ReLU of ``model``, in forward order."""
    (xtr, ytr), (xte, yte) = train, test
    tr, te = relu_inputs(model, xtr), relu_inputs(model, xte)
    return [{"layer": name, **even_odd_separation(tr[name], ytr, te[name], yte, permutations)} for name in tr]
