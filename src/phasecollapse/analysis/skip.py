"""Which path of U carries the class separation: the linear one or the modulus one (poster:
"skip connections allow keeping some spatial information").

In LScat + skip, U_j = [Wx ; ρ(Wx)]: the linear copy Wx (which keeps the phase, like a ResNet
shortcut keeps its input) beside the phase-collapsed path ρ(Wx). Without skip, U_j = |W|x =
[x∗φ ; ρ(x∗ψ)]: the low-pass x∗φ passes linearly, but it is part of |W| itself.
Per block, on Std(U_j) (what P_j reads, :mod:`~.internals`), for each part and for all of U_j:
Fisher ratio tr Σ_B / tr Σ_W with its label-permutation floor, nearest-class-mean error and
the error of a linear probe (:mod:`~.separation`), with features flattened over channels and
positions.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..models.lscat import LScat
from .internals import lscat_internals
from .separation import fisher_ratio, flat_features, linear_probe_error, ncm_error, permutation_test


def part_separation(train: Tensor, train_labels: Tensor, test: Tensor, test_labels: Tensor, probe: bool = True, permutations: int = 10) -> dict[str, Any]:
    """Fisher ratio (test, with its permutation floor), NCM and linear-probe errors (%) of features (N, …)."""
    ftr, fte = flat_features(train), flat_features(test)
    out: dict[str, Any] = {"dims": ftr.shape[1], "fisher": permutation_test(fisher_ratio, fte, test_labels, permutations), "ncm_err": ncm_error(ftr, train_labels, fte, test_labels)}
    if probe:
        out["probe_err"] = linear_probe_error(ftr.float(), train_labels, fte.float(), test_labels)
    return out


def skip_path_separation(model: LScat, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], probe: bool = True, permutations: int = 10) -> list[dict[str, Any]]:
    """Per block: :func:`part_separation` of each part of Std(U_j) and of all of it."""
    (xtr, ytr), (xte, yte) = train, test
    n = len(xtr)
    rows = []
    for b in lscat_internals(model, torch.cat([xtr, xte])):  # one block's tensors at a time
        parts = {**b.parts, "U": torch.cat(list(b.parts.values()), 1)}
        rows.append({"block": b.block, "parts": {name: part_separation(v[:n], ytr, v[n:], yte, probe, permutations) for name, v in parts.items()}})
    return rows
