"""What a config builds: the model (checked against the data set's image size), the data
splits held in memory, and the per-rank loaders."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

import torch
from torch import nn

from ..data import DATASETS, cifar10, textures
from ..data.loader import TensorLoader
from ..data.validation import stratified_holdout
from ..models import create_model
from . import distributed
from .config import Config


def build_model(config: Config) -> nn.Module:
    """The registry model of the config, checked against the data set's image size."""
    model = create_model(config.model.name, **config.model.options)
    size = config.data.image_size if config.data.dataset == "imagenet" else DATASETS[config.data.dataset][0]
    expected = getattr(model, "input_size", None)
    if expected is not None and expected != size:
        raise ValueError(f"model {config.model.name} takes {expected}×{expected} images but data set {config.data.dataset} gives {size}×{size}")
    return model


def _imagenet() -> ModuleType:
    """:mod:`phasecollapse.data.imagenet`, which needs the optional torchvision (extra ``vision``)."""
    try:
        from ..data import imagenet
    except ModuleNotFoundError as err:
        raise RuntimeError(f"ImageNet folders need torchvision ({err}): pip install 'phasecollapse[vision]'") from err
    return imagenet


def check_classes(model: nn.Module, config: Config) -> None:
    """Raise a clear error when the data set has more classes than the model has outputs."""
    fc = model.fc if hasattr(model, "fc") else getattr(getattr(model, "head", None), "fc", None)
    if fc is None:
        return
    d = config.data
    if d.dataset == "imagenet":
        if not d.root:
            raise ValueError("data.root must name the ImageNet folder (with train/ and val/) for data.dataset = 'imagenet'")
        classes = _imagenet().num_classes(d.root)
    else:
        classes = DATASETS[d.dataset][1] or d.texture_classes
    if classes > fc.out_features:
        raise ValueError(f"data set {d.dataset} has {classes} classes but model {config.model.name} has {fc.out_features} outputs (set model.options.num_classes)")


Split = tuple[torch.Tensor, torch.Tensor]


def in_memory_splits(config: Config) -> tuple[Split, Split | None, Split]:
    """((train images, labels), validation or None, (test images, labels)) of CIFAR-10 (uint8) or
    textures (float). ``data.validation`` = n holds out n training images, stratified by class
    (:func:`~phasecollapse.data.validation.stratified_holdout`, ``data.validation_seed``), before
    ``data.train_subset`` (a fixed random subset of the rest); ``data.test_subset``: the first n."""
    d = config.data
    if d.dataset == "textures":
        (xtr, ytr), (xte, yte) = textures.splits(d.texture_classes, d.texture_train, d.texture_test, config.train.seed)
    elif d.dataset == "cifar10":
        xtr, ytr = cifar10.load_split(d.root or None, True, d.download)
        xte, yte = cifar10.load_split(d.root or None, False, d.download)
    else:
        raise ValueError(f"data set {d.dataset!r} is not held in memory")
    validation = None
    if d.validation:
        kept, held = stratified_holdout(ytr, d.validation, d.validation_seed)
        validation, (xtr, ytr) = (xtr[held], ytr[held]), (xtr[kept], ytr[kept])
    if d.train_subset:
        keep = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(1234 + config.train.seed))[: d.train_subset]
        xtr, ytr = xtr[keep], ytr[keep]
    if d.test_subset:
        xte, yte = xte[: d.test_subset], yte[: d.test_subset]
    return (xtr, ytr), validation, (xte, yte)


def build_loaders(config: Config, ctx: distributed.Context) -> tuple[Iterable[Any], Iterable[Any] | None, Iterable[Any]]:
    """(train, validation or None, test) iterables of (images, labels) batches for this rank."""
    d, per_rank = config.data, max(1, config.data.batch_size // ctx.world)
    if d.dataset == "imagenet":
        if d.validation:
            raise ValueError("data.validation is not supported for ImageNet folders yet (hold out a folder of train/ instead)")
        if not d.root:
            raise ValueError("data.root must name the ImageNet folder (with train/ and val/) for data.dataset = 'imagenet'")
        imagenet = _imagenet()
        train = imagenet.loader(d.root, True, per_rank, d.workers, d.image_size, config.train.seed, ctx.rank, ctx.world)
        test = imagenet.loader(d.root, False, per_rank, d.workers, d.image_size, config.train.seed, ctx.rank, ctx.world)
        return train, None, test
    (xtr, ytr), validation, (xte, yte) = in_memory_splits(config)
    common = dict(seed=config.train.seed, rank=ctx.rank, world=ctx.world, device=ctx.device)
    train = TensorLoader(xtr, ytr, per_rank, shuffle=True, augment=d.dataset == "cifar10", **common)
    val = None if validation is None else TensorLoader(*validation, per_rank, shuffle=False, augment=False, **common)
    test = TensorLoader(xte, yte, per_rank, shuffle=False, augment=False, **common)
    return train, val, test
