"""What each channel of W's outputs, of U and of a block's output holds, in tensor order.

One :class:`Channel` per channel along dimension 1 of the tensor, real pairs included (complex
channel n is tensor channels 2n = Re and 2n + 1 = Im, :mod:`.complex`):

    W x (:meth:`~.wavelet.Wavelet.meta`): ``phi`` channel c = x_c∗φ (real, or a pair for complex x);
        ``psi`` complex channel c·L + k = x_c∗ψ_k, orientation θ_k (:func:`~.filters.angles`).
    U (:meth:`~.block.LScatBlock.meta`): the columns of :func:`~.block.u_layout` in the mixed
        layout (complex columns as pairs first, then real columns), each the linear copy of a
        channel of W x or ρ of it: skip, U = [W x ; ρ(W x)]; no skip, U = |W| x = [x∗φ ; ρ(x∗ψ)].
    x_j, the block's output: K learned complex channels (outputs of P_j) as pairs; an orientation
        P_j (:mod:`.structured_projection`) gives output o = g·L + θ' the orientation θ'.

A block filters at one scale: in an LScat, the scale of a channel is the index j of its block
(``model.blocks[j].meta()``); ``bank`` names the filters (:func:`~.filters.filter_bank`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .filters import FilterBank, angles
from .structured_projection import ULayout

Kind = Literal["lowpass", "wavelet", "learned"]
Branch = Literal["linear", "rho"]
Part = Literal["re", "im"]


@dataclass(frozen=True)
class Channel:
    """One tensor channel.

    kind: ``"lowpass"`` (x∗φ), ``"wavelet"`` (x∗ψ_k) or ``"learned"`` (an output of P_j).
    bank: the filter bank (``"N"``, ``"F0"``, ``"F1"``). channel: the complex (or real) channel
    it belongs to (psi: c·L + k; U: the column; output: o). input_channel: c, the channel of the
    block input x it comes from (None for learned). orientation: k of ψ_k, or θ' of an
    orientation P_j's output (else None); theta: its angle in radians. part: ``"re"`` / ``"im"``
    of a real pair, None for a real channel. branch (U only): ``"linear"`` (W x itself) or
    ``"rho"`` (ρ of it).
    """

    kind: Kind
    bank: str
    channel: int
    input_channel: int | None = None
    orientation: int | None = None
    theta: float | None = None
    part: Part | None = None
    branch: Branch | None = None


@dataclass(frozen=True)
class BlockChannels:
    """The channels of one block: W x (``phi``, ``psi``), U (``u``) and its output x_j (``out``)."""

    phi: list[Channel]
    psi: list[Channel]
    u: list[Channel]
    out: list[Channel]


def _expand(channels: list[Channel], complex_: bool) -> list[Channel]:
    """Per-channel entries → per-tensor-channel ones (a real pair each when ``complex_``)."""
    if not complex_:
        return channels
    return [Channel(c.kind, c.bank, c.channel, c.input_channel, c.orientation, c.theta, part, c.branch) for c in channels for part in ("re", "im")]


def wavelet_channels(bank: FilterBank, in_channels: int, complex_input: bool) -> tuple[list[Channel], list[Channel]]:
    """(phi, psi) channels of W x for C = ``in_channels`` inputs (see the module docstring)."""
    thetas = angles(bank.L)
    phi = [Channel("lowpass", bank.name, c, c) for c in range(in_channels)]
    psi = [Channel("wavelet", bank.name, c * bank.L + k, c, k, float(thetas[k])) for c in range(in_channels) for k in range(bank.L)]
    return _expand(phi, complex_input), _expand(psi, True)


def u_channels(layout: ULayout, bank: FilterBank) -> list[Channel]:
    """The channels of U in the mixed layout, from its :class:`ULayout` (the order of
    :func:`~.block.u_parts`)."""
    thetas = angles(bank.L)
    columns: list[Channel] = []
    for part, rho in zip(layout.parts, layout.rho):
        branch: Branch = "rho" if rho else "linear"
        if part == "phi":
            columns += [Channel("lowpass", bank.name, len(columns) + c, c, branch=branch) for c in range(layout.in_channels)]
        else:
            columns += [Channel("wavelet", bank.name, len(columns) + n, n // layout.L, n % layout.L, float(thetas[n % layout.L]), branch=branch) for n in range(layout.in_channels * layout.L)]
    cc = layout.complex_columns
    return _expand(columns[:cc], True) + columns[cc:]


def output_channels(bank: FilterBank, out_channels: int, orientation: bool) -> list[Channel]:
    """x_j's K learned complex channels as pairs; with an orientation P_j, o has orientation o mod L."""
    thetas = angles(bank.L)
    return _expand([Channel("learned", bank.name, o, None, o % bank.L, float(thetas[o % bank.L])) if orientation else Channel("learned", bank.name, o) for o in range(out_channels)], True)
