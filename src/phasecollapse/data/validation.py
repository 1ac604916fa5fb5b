"""A validation split held out of the training set, stratified by class."""

from __future__ import annotations

import torch
from torch import Tensor


def stratified_holdout(labels: Tensor, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """(kept, held) indices of ``labels`` (N,): ``held`` takes n images, each class in proportion
    to its share of the N (largest remainders; ties to the lowest class), drawn at random with
    ``seed``; ``kept`` is the rest. Both sorted. Raise ValueError unless 0 < n < N and every class
    keeps at least one training image."""
    total = len(labels)
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n < total:
        raise ValueError(f"data.validation must hold out between 1 and {total - 1} of the {total} training images, got {n!r}")
    classes, counts = labels.unique(return_counts=True)
    quota = counts.double() * n / total
    take = quota.floor().long()
    extra = (quota - take).argsort(descending=True, stable=True)[: n - int(take.sum())]
    take[extra] += 1
    short = [int(c) for c, t, k in zip(classes, take, counts) if t >= k]
    if short:
        raise ValueError(f"data.validation = {n} would leave class(es) {short} without a training image")
    g = torch.Generator().manual_seed(seed)
    held = torch.cat([torch.nonzero(labels == c).flatten()[torch.randperm(int(k), generator=g)[: int(t)]] for c, k, t in zip(classes, counts, take)])
    mask = torch.ones(total, dtype=torch.bool)
    mask[held] = False
    return torch.nonzero(mask).flatten(), held.sort().values
