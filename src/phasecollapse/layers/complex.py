"""The one complex representation used throughout phasecollapse: *real pairs*.

A complex feature map z with C channels, z ∈ ℂ^{B×C×H×W}, is stored as a real tensor
x ∈ ℝ^{B×2C×H×W} whose channels interleave real and imaginary parts:

    x[:, 2c]     = Re z[:, c]
    x[:, 2c + 1] = Im z[:, c]

Why real pairs rather than torch complex dtypes: bf16 autocast, ``torch.compile``, DDP
bucketing and channels-last convolutions all work on real tensors and poorly (or not at all)
on complex ones. Why *interleaved* rather than [Re; Im] blocks: in channels-last memory
(B, H, W, 2C) the pair (Re, Im) of a coefficient is adjacent, exactly like torch's own
complex layout, and a grouped convolution with ``groups=C`` sees each complex channel as one
group of 2.

Modules record whether their input is real or complex (they are built for one or the other);
tensors carry no flag. These helpers convert for users and tests.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_feature_map(x: Tensor, name: str = "input") -> None:
    """Raise a clear error unless ``x`` is a real floating 4-D tensor (B, C, H, W)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_complex():
        raise TypeError(
            f"{name} is a torch complex tensor ({x.dtype}); phasecollapse layers take real pairs: "
            "convert with phasecollapse.layers.complex.from_complex(z)"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have 4 dimensions (B, C, H, W), got shape {tuple(x.shape)}")


def from_complex(z: Tensor) -> Tensor:
    """Torch complex (B, C, H, W) → real pairs (B, 2C, H, W), channel 2c = Re, 2c+1 = Im."""
    if not z.is_complex():
        raise TypeError(f"from_complex expects a complex tensor, got {z.dtype}")
    if z.dim() != 4:
        raise ValueError(f"from_complex expects (B, C, H, W), got shape {tuple(z.shape)}")
    b, c, h, w = z.shape
    return torch.view_as_real(z).permute(0, 1, 4, 2, 3).reshape(b, 2 * c, h, w)


def to_complex(x: Tensor) -> Tensor:
    """Real pairs (B, 2C, H, W) → torch complex (B, C, H, W) (complex64 for fp32/bf16/fp16 input)."""
    check_feature_map(x, "real-pair tensor")
    b, c2, h, w = x.shape
    if c2 % 2:
        raise ValueError(f"a real-pair tensor has an even channel count, got {c2}")
    pairs = x.float() if x.dtype in (torch.bfloat16, torch.float16) else x
    pairs = pairs.reshape(b, c2 // 2, 2, h, w)
    # torch.complex rather than view_as_complex: any memory layout (channels-last included)
    # and C = 0 (a block whose mixed input has no complex part) work alike.
    return torch.complex(pairs[:, :, 0], pairs[:, :, 1])


def pairs(x: Tensor) -> Tensor:
    """View real pairs (B, 2C, H, W) as (B, C, 2, H, W): ``[:, :, 0]`` is Re, ``[:, :, 1]`` Im."""
    return x.unflatten(1, (x.shape[1] // 2, 2))


def real_to_pairs(x: Tensor) -> Tensor:
    """Promote a real map (B, C, H, W) to real pairs (B, 2C, H, W) with zero imaginary part."""
    return torch.stack((x, torch.zeros_like(x)), dim=2).flatten(1, 2)
