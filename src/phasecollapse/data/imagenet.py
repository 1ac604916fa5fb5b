"""ImageNet from torchvision ``ImageFolder`` directories ``root/train`` and ``root/val`` (spec C.4).

Train: RandomResizedCrop(size) (scale 0.08–1, ratio 3/4–4/3), random horizontal flip,
to-tensor, ImageNet normalisation. Val: resize the short side to 256/224·size, centre crop
``size``. Worker processes load and decode; under DDP a ``DistributedSampler`` shards.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler
from torchvision import datasets, transforms

from .transforms import IMAGENET_MEAN, IMAGENET_STD


def transform(train: bool, size: int = 224) -> transforms.Compose:
    normalize = [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if train:
        return transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), *normalize])
    return transforms.Compose([transforms.Resize(round(size * 256 / 224)), transforms.CenterCrop(size), *normalize])


def image_folder(root: str | os.PathLike[str], train: bool, size: int = 224) -> datasets.ImageFolder:
    folder = Path(root) / ("train" if train else "val")
    if not folder.is_dir():
        raise FileNotFoundError(f"ImageNet folder not found: {folder} (expected root/train and root/val in ImageFolder layout)")
    return datasets.ImageFolder(str(folder), transform(train, size))


def loader(
    root: str | os.PathLike[str],
    train: bool,
    batch_size: int,
    workers: int,
    size: int = 224,
    seed: int = 0,
    rank: int = 0,
    world: int = 1,
) -> DataLoader:
    """A DataLoader over ``root/train`` or ``root/val``; sharded with DistributedSampler when world > 1."""
    data = image_folder(root, train, size)
    sampler = DistributedSampler(data, world, rank, shuffle=train, seed=seed) if world > 1 else None
    g = torch.Generator().manual_seed(seed)
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        generator=g,
    )
