"""The dtypes the fast path computes in.

Inside ``torch.autocast`` the learned products of the fast path (the fused Std + P_j) run in
the autocast dtype (bf16); outside it, in the dtype of their input (:func:`compute_dtype`).

W's fixed spatial product runs in the dtype of its *input*, autocast or not
(:func:`operator_dtype`, under :func:`autocast_off`): the fp32 image of block 0 stays fp32 (the
paper path's FFT runs in fp32 too; a bf16 image alone doubled the fast path's bf16 error), while
later blocks, whose inputs are already bf16 under autocast, run in bf16. Only block 0's product
(3 input channels: the smallest) pays fp32, and it needs no backward (the image has no gradient).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch
from torch import Tensor


def compute_dtype(x: Tensor) -> torch.dtype:
    """The autocast dtype of x's device when autocast is on there, else x.dtype."""
    device = x.device.type
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype


def operator_dtype(x: Tensor) -> torch.dtype:
    """The dtype W's spatial product of x computes in: x's own (see the module docstring)."""
    return x.dtype


def autocast_off(x: Tensor) -> AbstractContextManager[None]:
    """Autocast disabled on x's device, so that a product runs in the dtype of its operands."""
    return torch.autocast(x.device.type, enabled=False)
