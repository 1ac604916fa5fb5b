"""The dtype our hand-written autograd Functions compute in.

Inside ``torch.autocast`` the matrix products of the fast path (W's operator, the fused
Std + P_j) run in the autocast dtype (bf16); outside it, in the dtype of their input.
"""

from __future__ import annotations

import torch
from torch import Tensor


def compute_dtype(x: Tensor) -> torch.dtype:
    """The autocast dtype of x's device when autocast is on there, else x.dtype."""
    device = x.device.type
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
