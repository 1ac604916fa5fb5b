"""Batches of an in-memory data set (CIFAR-10, textures), augmented on the training device."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .transforms import as_model_input, random_crop_flip


@dataclass
class TensorLoader:
    """Batches of an in-memory data set, sharded across ``world`` ranks.

    ``images`` are uint8 (normalised on the fly with the ImageNet mean/std) or already float.
    Each epoch draws a permutation from a generator seeded by (seed, epoch) (when
    ``shuffle``), gives rank r the indices r, r + world, … of it, and yields
    (normalised float images, labels) on ``device``; ``augment`` applies random crop + flip.
    """

    images: Tensor
    labels: Tensor
    batch_size: int
    shuffle: bool
    augment: bool
    seed: int = 0
    rank: int = 0
    world: int = 1
    device: torch.device | str = "cpu"
    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self) -> Tensor:
        n = len(self.labels)
        if not self.shuffle:
            return torch.arange(self.rank, n, self.world)
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        perm = torch.randperm(n, generator=g)
        per_rank = n // self.world  # equal shards so that every rank runs the same number of steps
        return perm[self.rank * per_rank : (self.rank + 1) * per_rank] if self.world > 1 else perm

    def __len__(self) -> int:
        """Batches per epoch for this rank (no permutation drawn)."""
        n = len(self.labels)
        count = len(range(self.rank, n, self.world)) if not self.shuffle else (n // self.world if self.world > 1 else n)
        return (count + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        idx = self._indices()
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch + 7 * 10**9 + self.rank)
        for start in range(0, len(idx), self.batch_size):
            chosen = idx[start : start + self.batch_size]
            x = self.images[chosen].to(self.device, non_blocking=True)
            if self.augment:
                x = random_crop_flip(x, g)
            yield as_model_input(x), self.labels[chosen].to(self.device, non_blocking=True)
