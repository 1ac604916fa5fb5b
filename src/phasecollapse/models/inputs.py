"""The check every model runs on its input images before the first layer."""

from __future__ import annotations

import torch
from torch import Tensor

from ..layers.complex import check_feature_map


def check_images(x: Tensor, channels: int, size: int | None, finite: bool = True) -> None:
    """Raise a clear error unless x is a real (B, channels, size, size) batch (any size when
    ``size`` is None) with finite values.

    The finiteness check (one reduction over the batch, ~0.1 ms for 128 CIFAR images) keeps a
    NaN or inf pixel from poisoning Std's and BatchNorm's running statistics; a model skips it
    when its attribute ``check_finite`` is False, and inside ``torch.compile`` (a data-dependent
    branch would break the graph; the training loop's data are finite by construction).
    """
    check_feature_map(x, "image batch")
    if x.shape[1] != channels or (size is not None and tuple(x.shape[2:]) != (size, size)):
        expected = f"(B, {channels}, {size}, {size})" if size is not None else f"(B, {channels}, H, W)"
        raise ValueError(f"this model takes images of shape {expected}, got {tuple(x.shape)}")
    if finite and not torch.compiler.is_compiling() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"the image batch holds {bad} NaN or infinite values; refusing it (set model.check_finite = False to skip this check)")
