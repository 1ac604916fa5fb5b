"""ImageNet from torchvision ``ImageFolder`` directories ``root/train`` and ``root/val`` (authors' ``main_block.py:651–664``).

Train: RandomResizedCrop(size) (scale 0.08–1, ratio 3/4–4/3), random horizontal flip,
to-tensor, ImageNet normalisation. Val: resize the short side to 256/224·size, centre crop
``size``. Worker processes load and decode; under DDP a ``DistributedSampler`` shards.

``train`` and ``val`` must hold the same class folders (:func:`classes`), else labels would
shift between the splits: a ``ValueError`` names the missing and extra classes. The model's
output count is checked by the caller against :func:`num_classes`. An image file PIL cannot
decode raises a ``ValueError`` naming the file (:func:`load_image`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, DistributedSampler
from torchvision import datasets, transforms

from .transforms import IMAGENET_MEAN, IMAGENET_STD


def transform(train: bool, size: int = 224) -> transforms.Compose:
    normalize = [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if train:
        return transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), *normalize])
    return transforms.Compose([transforms.Resize(round(size * 256 / 224)), transforms.CenterCrop(size), *normalize])


#: Class names listed in full in an error message; longer lists are cut with a count.
SHOWN_CLASSES = 20


def _split_classes(root: str | os.PathLike[str], split: str) -> list[str]:
    """The sorted class folder names of ``root/split`` (as ImageFolder numbers them)."""
    folder = Path(root) / split
    if not folder.is_dir():
        raise FileNotFoundError(f"ImageNet folder not found: {folder} (expected root/train and root/val in ImageFolder layout)")
    return datasets.folder.find_classes(str(folder))[0]


def _listing(names: list[str]) -> str:
    """``names`` joined, the first :data:`SHOWN_CLASSES` of them when there are more."""
    more = f" ... ({len(names)} in all)" if len(names) > SHOWN_CLASSES else ""
    return ", ".join(names[:SHOWN_CLASSES]) + more


def classes(root: str | os.PathLike[str]) -> list[str]:
    """The sorted class names of ``root/train``, checked to be exactly those of ``root/val``.

    Accepts only identical class folder sets: a class of train/ missing from val/, or one of
    val/ absent from train/, raises ``ValueError`` naming them (ImageFolder would otherwise
    number the classes of each split differently). A missing split folder raises ``FileNotFoundError``.
    """
    train, val = _split_classes(root, "train"), _split_classes(root, "val")
    missing, extra = sorted(set(train) - set(val)), sorted(set(val) - set(train))
    if missing or extra:
        problems = [f"{len(names)} {where}: {_listing(names)}" for names, where in ((missing, "missing from val/"), (extra, "extra in val/")) if names]
        raise ValueError(f"ImageNet under {root}: val/ and train/ hold different classes, so labels would shift; {'; '.join(problems)}")
    return train


def num_classes(root: str | os.PathLike[str]) -> int:
    """The number of classes of the ImageNet folder ``root`` (train/ and val/ checked to agree by :func:`classes`)."""
    return len(classes(root))


def load_image(path: str) -> Image.Image:
    """The RGB image at ``path`` (torchvision's default loader); a file PIL cannot read or
    decode (corrupt, truncated, not an image, a decompression bomb) raises ``ValueError`` naming it."""
    try:
        return datasets.folder.default_loader(path)
    except (OSError, Image.DecompressionBombError) as err:
        raise ValueError(f"corrupt image file {path}: {type(err).__name__}: {err}") from err


def image_folder(root: str | os.PathLike[str], train: bool, size: int = 224) -> datasets.ImageFolder:
    """The ImageFolder of ``root/train`` or ``root/val``, once :func:`classes` has checked that the splits agree."""
    classes(root)
    folder = Path(root) / ("train" if train else "val")
    return datasets.ImageFolder(str(folder), transform(train, size), loader=load_image)


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
