"""CIFAR-10 held in memory as uint8, augmented in batches on the training device (spec C.4).

Train: random crop 32 from the image zero-padded by 4, random horizontal flip; then to [0, 1]
and normalisation with the ImageNet mean/std (the authors' choice for both data sets, G.15).
Test: normalisation only. Augmentation draws from a ``torch.Generator`` seeded by
(seed, epoch), so an epoch's batches are reproducible and a resumed run sees the same data.

The data directory is the torchvision root holding ``cifar-10-batches-py``: the ``root``
argument, else the ``PHASECOLLAPSE_CIFAR10_DIR`` environment variable, else
``~/.cache/phasecollapse/cifar10``. When the files are absent, ``download=True`` fetches them
with torchvision (online only); otherwise a ``FileNotFoundError`` names the path and the fix.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ENV_VAR = "PHASECOLLAPSE_CIFAR10_DIR"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """The CIFAR-10 root: argument, else $PHASECOLLAPSE_CIFAR10_DIR, else ~/.cache/phasecollapse/cifar10."""
    if root:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "phasecollapse" / "cifar10"


def _ensure(root: Path, download: bool) -> Path:
    folder = root / FOLDER
    if folder.is_dir():
        return folder
    if download:
        from torchvision.datasets import CIFAR10

        try:
            CIFAR10(str(root), download=True)
        except Exception as err:  # no network, or a refused download
            raise FileNotFoundError(f"CIFAR-10 is not in {folder} and downloading it failed ({err}); copy the python-pickle data set there or set {ENV_VAR}") from err
        return folder
    raise FileNotFoundError(
        f"CIFAR-10 data directory not found: {folder} (expected data_batch_1..5 and test_batch). "
        f"Pass the root holding {FOLDER} (data.root / --data-dir), set {ENV_VAR}, or allow download"
    )


def load_split(root: str | os.PathLike[str] | None, train: bool, download: bool = False) -> tuple[Tensor, Tensor]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one split, read from the pickles."""
    folder = _ensure(resolve_root(root), download)
    images, labels = [], []
    for name in TRAIN_FILES if train else ["test_batch"]:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 file missing: {path}")
        with path.open("rb") as f:
            entry = pickle.load(f, encoding="latin1")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry["labels"], dtype=np.int64))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))


def normalize(images: Tensor, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD) -> Tensor:
    """uint8 (B, 3, H, W) → float32 ((x/255) − mean)/std."""
    m = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255 - m) / s


def random_crop_flip(images: Tensor, generator: torch.Generator, padding: int = 4) -> Tensor:
    """Batched augmentation on uint8 (B, C, H, W): zero-pad by ``padding``, crop H×W at a random
    offset per image, flip horizontally with probability ½ per image."""
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator).to(images.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(images.device)
    rows = (dy[:, None] + torch.arange(h, device=images.device))[:, None, :, None]
    cols = torch.arange(w, device=images.device).expand(b, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]
    return padded[torch.arange(b, device=images.device)[:, None, None, None], torch.arange(images.shape[1], device=images.device)[None, :, None, None], rows, cols[:, None, None, :]]


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
        n = len(self._indices())
        return (n + self.batch_size - 1) // self.batch_size

    @property
    def num_samples(self) -> int:
        return len(self._indices())

    def __iter__(self):
        idx = self._indices()
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch + 7 * 10**9 + self.rank)
        for start in range(0, len(idx), self.batch_size):
            chosen = idx[start : start + self.batch_size]
            x = self.images[chosen].to(self.device, non_blocking=True)
            if self.augment:
                x = random_crop_flip(x, g)
            yield (normalize(x) if x.dtype == torch.uint8 else x), self.labels[chosen].to(self.device, non_blocking=True)
