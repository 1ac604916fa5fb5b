"""Per-column ↔ per-channel vectors of the mixed layout (tensors in, tensors out).

The mixed layout (:mod:`phasecollapse.layers.standardization`) holds Cc complex channels as
real pairs, then Cr real channels: 2·Cc + Cr real columns. A statistic computed per real column
(a variance, say) becomes one per channel by summing each complex pair, and one per channel is
spread back over the columns by repeating it on both members of a pair:

    per_channel(v)  = [v_0 + v_1, …, v_{2Cc−2} + v_{2Cc−1}, v_{2Cc}, …]     (2·Cc + Cr,) → (Cc + Cr,)
    per_column(s)   = [s_0, s_0, …, s_{Cc−1}, s_{Cc−1}, s_{Cc}, …]        (Cc + Cr,) → (2·Cc + Cr,)
"""

from __future__ import annotations

import torch
from torch import Tensor


def per_channel(v: Tensor, complex_channels: int) -> Tensor:
    """(2·Cc + Cr,) per real column → (Cc + Cr,) per channel: each complex pair summed."""
    cc = 2 * complex_channels
    return torch.cat([v[:cc].view(-1, 2).sum(1), v[cc:]])


def per_column(v: Tensor, complex_channels: int) -> Tensor:
    """(Cc + Cr,) per channel → (2·Cc + Cr,) per real column: each complex channel's value on both of its columns."""
    return torch.cat([v[:complex_channels].repeat_interleave(2), v[complex_channels:]])
