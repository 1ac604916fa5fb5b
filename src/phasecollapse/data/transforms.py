"""Batched image transforms on tensors (docs/faithfulness.md, *Training recipes*): normalisation and crop + flip."""

from __future__ import annotations

import torch
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


def as_model_input(images: Tensor) -> Tensor:
    """Images as the models take them: uint8 (CIFAR-10) normalised by :func:`normalize`,
    float images (textures, already normalised) unchanged."""
    return normalize(images) if images.dtype == torch.uint8 else images
