"""Structured P_j: channel operators with fewer parameters than the dense complex K×N matrix.

Each is a :class:`~.projection.Projection`: it materialises the dense complex W (K, N) it
represents, so Std + P_j runs through the same fused kernel. The saving is in parameters; in
multiply-accumulates only where ``factors()`` is used (low rank). The model option
``projection`` picks one (:func:`projection_spec`); :func:`create_projection` builds it.

Notation. U has N = Cc + Cr columns (:class:`ULayout`, in the mixed-layout order of
:func:`~.block.u_parts`): low-pass columns ``phi`` (column c holds x_c∗φ, or ρ of it) and wavelet
columns ``psi`` (column c·L + k holds x_c∗ψ_k, or ρ of it), for the C channels x_c of the block input.

``lowrank`` (size ``rank``)
    W = A B with A ∈ ℂ^{K×r}, B ∈ ℂ^{r×N}: r(K + N) complex parameters. ``rank`` is an integer
    (capped at min(K, N)) or a fraction of min(K, N). Init: A = U_r, B = V_rᴴ of the SVD of a
    complex Gaussian K×N matrix, a rank-r partial isometry (r = min(K, N): the dense init's law).
    Fast path: the fused kernel with B, then one GEMM with A, when that costs fewer MACs.
    Weight decay acts on ‖A‖² + ‖B‖² (the factorised regulariser, ≥ 2‖W‖_*), not on ‖W‖².
``orientation`` (options ``symmetry``, ``bandwidth``)
    Output channel o = g'·L + θ' (K/L groups × L orientations, the order c·L + k of W's ψ
    output). A column carries its wavelet orientation k (psi columns) and, from the second block
    on, the orientation θ of its parent channel c = g·L + θ (an output of the previous P). The
    weight of column u in output (g', θ') depends only on (part of U, g, θ − θ', k − θ'):
    rotating every orientation index by one step rotates the output's by one step. About K·N/L
    complex parameters.
``grouped`` (size ``groups`` = G)
    Block-diagonal by parent channel: output o reads only the columns (low-pass and L wavelet
    coefficients) of the parent channels c with ⌊c·G/C⌋ = o mod G. The interleaved output order
    makes each group of the next block read channels of every group of this one (a channel
    shuffle). K·N/G complex parameters. Block 0, whose parents are the 3 colours, stays dense.

**Which orientation symmetry holds.** The L angles θ_k = (L/2 − 1 − k)·π/L cover a half turn
(docs/faithfulness.md, *Orientations*; :func:`~.filters.angles`), one step k → k + 1 being a rotation by −π/L, and
ψ_{θ+π} = conj ψ_θ (real, centred envelope). For a *real* input, x∗ψ_{θ+π} = conj(x∗ψ_θ): the
modulus |x∗ψ_k| is π-periodic, the L angles are a full period and a rotation permutes them
cyclically (Z_L), exactly. For a *complex* input (every block after the first),
|x∗ψ_{θ+π}| = |conj(x)∗ψ_θ| ≠ |x∗ψ_θ|: the L angles are half of the 2L of a full turn and a
rotation carries ψ_{L−1} onto the conjugate half-plane, which U does not hold (nor a complex
ρ(x∗ψ_k) of a real x: it wraps onto its conjugate, which P_j, without conjugation, cannot use).
An operator equivariant on the full turn has weights that depend on orientation differences mod
2L; restricted to the half turn we hold these are any function of the integer difference
−(L−1) … L−1: a Toeplitz structure (2L − 1 values per index instead of L). ``symmetry``:

- ``"half_plane"`` (default, what holds): differences mod L (cyclic) on π-periodic indices (the
  wavelet index of the real-valued columns of block 0; the channel orientation of the block
  after a block whose indices were all cyclic), integer differences (Toeplitz) elsewhere;
- ``"cyclic"``: differences mod L on every index, the prior that identifies the missing
  conjugate half-plane with the one present; exact only where ``half_plane`` is cyclic.

``bandwidth`` b (optional): weights vanish where an orientation difference exceeds b steps
(circular distance on cyclic indices).

**Shared entries** (``orientation``, ``grouped``): entry W[o, u] = q_t / √m_t for its class of shared entries
t = index[o, u] (m_t entries share it; −1: a structural zero). The q_t are orthonormal
coordinates of the subspace of such matrices, so ‖W‖² = ‖q‖² (weight decay acts on ‖W‖², as
for the dense P_j) and an SGD step on q is the dense step projected onto the subspace (Π).
Init: Π of the polar factor U Vᴴ of Π(G), G complex Gaussian. The polar factor of an equivariant
(or block-diagonal) matrix is equivariant (block-diagonal), so for cyclic ties without
bandwidth, and for ``grouped``, W is an exact isometry like the dense init; otherwise it is the
nearest structured matrix to one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..kernels.dtype import autocast_off
from .projection import ComplexProjection, Projection, mixed_real_matrix

KINDS = ("dense", "lowrank", "orientation", "grouped")
SYMMETRIES = ("half_plane", "cyclic")
_OPTIONS = {"dense": (), "lowrank": ("rank",), "orientation": ("symmetry", "bandwidth"), "grouped": ("groups",)}
_REQUIRED = {"lowrank": "rank", "grouped": "groups"}


@dataclass(frozen=True)
class ProjectionSpec:
    """The model option ``projection``: a kind and its size parameters (see the module docstring)."""

    kind: str = "dense"
    rank: int | float | None = None
    symmetry: str = "half_plane"
    bandwidth: int | None = None
    groups: int | None = None


def projection_spec(value: ProjectionSpec | str | dict[str, object]) -> ProjectionSpec:
    """Validate ``projection``: a kind (``"dense"``, ``"orientation"``) or a table such as
    ``{ kind = "lowrank", rank = 0.25 }``; raise ValueError naming what is wrong."""
    if isinstance(value, ProjectionSpec):
        return value
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        raise ValueError(f"model option projection must be a kind {KINDS} or a table {{ kind = ..., ... }}, got {value!r}")
    kind = value.get("kind")
    if kind not in _OPTIONS:
        raise ValueError(f"unknown projection kind {kind!r}; expected one of {KINDS}")
    extra = sorted(set(value) - {"kind", *_OPTIONS[kind]})
    if extra:
        raise ValueError(f"projection kind {kind!r} takes the options {list(_OPTIONS[kind])}, not {extra}")
    needed = _REQUIRED.get(kind)
    if needed is not None and needed not in value:
        raise ValueError(f'projection kind {kind!r} needs {needed}: e.g. projection = {{ kind = "{kind}", {needed} = {0.25 if needed == "rank" else 4} }}')
    spec = ProjectionSpec(**value)  # type: ignore[arg-type]

    def integer(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if kind == "lowrank" and not ((integer(spec.rank) and spec.rank >= 1) or (isinstance(spec.rank, float) and 0 < spec.rank <= 1)):
        raise ValueError(f"projection rank must be an integer ≥ 1 or a fraction in (0, 1] of min(K_j, N_j), got {spec.rank!r}")
    if spec.symmetry not in SYMMETRIES:
        raise ValueError(f"projection symmetry must be one of {SYMMETRIES}, got {spec.symmetry!r}")
    if spec.bandwidth is not None and not (integer(spec.bandwidth) and spec.bandwidth >= 0):
        raise ValueError(f"projection bandwidth must be an integer ≥ 0 (orientation steps), got {spec.bandwidth!r}")
    if kind == "grouped" and not (integer(spec.groups) and spec.groups >= 2):
        raise ValueError(f"projection groups must be an integer ≥ 2, got {spec.groups!r}")
    return spec


@dataclass(frozen=True)
class ULayout:
    """What the columns of U hold: ``parts`` ("phi" or "psi") in mixed-layout order, each the
    linear copy of W x's or ρ of it (``rho``), the first ``complex_columns`` columns complex;
    C = ``in_channels`` parent channels, L orientations."""

    in_channels: int
    L: int
    complex_input: bool
    parts: tuple[str, ...]
    complex_columns: int
    rho: tuple[bool, ...]

    def columns(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per column: part index, parent channel c, wavelet orientation k (−1 for phi), real-valued."""
        part, parent, k = [], [], []
        for i, kind in enumerate(self.parts):
            j = torch.arange(self.in_channels * (1 if kind == "phi" else self.L))
            part.append(torch.full_like(j, i))
            parent.append(j if kind == "phi" else j // self.L)
            k.append(torch.full_like(j, -1) if kind == "phi" else j % self.L)
        part_, parent_, k_ = torch.cat(part), torch.cat(parent), torch.cat(k)
        return part_, parent_, k_, torch.arange(len(part_)) >= self.complex_columns


def orientation_index(layout: ULayout, out_channels: int, symmetry: str = "half_plane", bandwidth: int | None = None, channel_orientation: str | None = None) -> tuple[Tensor, str]:
    """(index (K, N) of the classes of shared entries, −1 for zeros; the outputs' orientation: "cyclic" or "toeplitz").

    ``channel_orientation``: None when the parent channels carry no orientation (block 0, or
    parents from a non-orientation P), else how theirs wraps ("cyclic" or "toeplitz").
    """
    L, K = layout.L, out_channels
    if K % L:
        raise ValueError(f"an orientation P_j needs K_j divisible by L = {L} (K_j/L groups × L orientations), got K_j = {K}")
    part, parent, k, real = layout.columns()
    k_cyclic = torch.full_like(real, True) if symmetry == "cyclic" else real & (not layout.complex_input)
    axes = [(k, k_cyclic, k >= 0)]  # (value, cyclic, present) per column
    group = parent
    if channel_orientation is not None:
        if layout.in_channels % L:
            raise ValueError(f"parent channels with an orientation index come in groups of L = {L}, got C = {layout.in_channels}")
        group = parent // L
        axes.append((parent % L, torch.full_like(real, channel_orientation == "cyclic" or symmetry == "cyclic"), torch.full_like(real, True)))
    radix = 2 * L - 1
    code = (part * (int(group.max()) + 1) + group).expand(L, -1)
    keep = torch.ones(L, len(part), dtype=torch.bool)
    out_theta = torch.arange(L)[:, None]
    for value, cyclic, present in axes:
        d = value - out_theta  # (L, N), in −(L−1) … L−1
        wrapped = d % L
        slot = torch.where(cyclic, wrapped, d + L - 1).where(present, 0)
        if bandwidth is not None:
            keep &= ~present | (torch.where(cyclic, torch.minimum(wrapped, L - wrapped), d.abs()) <= bandwidth)
        code = code * radix + slot
    _, classes = torch.unique(code[keep], return_inverse=True)
    per_theta = torch.full((L, len(part)), -1, dtype=torch.long)
    per_theta[keep] = classes
    n = int(classes.max()) + 1
    index = torch.where(per_theta >= 0, per_theta + n * torch.arange(K // L)[:, None, None], -1).reshape(K, -1)
    all_cyclic = all(bool(cyclic[present].all()) for _, cyclic, present in axes)
    return index, "cyclic" if all_cyclic else "toeplitz"


def grouped_index(layout: ULayout, out_channels: int, groups: int) -> Tensor:
    """Index (K, N) of the block-diagonal structure: output o reads parent group o mod G (−1: zero)."""
    C = layout.in_channels
    if C % groups or out_channels % groups:
        raise ValueError(f"a grouped P_j needs C_j = {C} input and K_j = {out_channels} output channels divisible by groups = {groups}")
    _, parent, _, _ = layout.columns()
    inside = (torch.arange(out_channels) % groups)[:, None] == (parent // (C // groups))[None, :]
    index = torch.full(inside.shape, -1, dtype=torch.long)
    index[inside] = torch.arange(int(inside.sum()))
    return index


def tie_counts(index: Tensor) -> Tensor:
    """m_t: the number of entries of each class of shared entries of ``index`` (D,)."""
    return torch.bincount(index[index >= 0], minlength=int(index.max()) + 1)


def shared_entry_coordinates(index: Tensor, w: Tensor) -> Tensor:
    """Orthonormal coordinates q (D,) of Π(w), the projection of a complex (K, N) matrix w onto
    the matrices whose entries ``index`` shares: q_t = Σ_{index = t} w / √m_t, so ‖Π(w)‖ = ‖q‖."""
    inside = index >= 0
    total = torch.zeros(int(index.max()) + 1, dtype=w.dtype, device=w.device).index_add_(0, index[inside], w[inside])
    return total * tie_counts(index).to(w.real.dtype).rsqrt()


def shared_entry_matrix(index: Tensor, q: Tensor, scale: Tensor) -> Tensor:
    """The matrix of coordinates q (D, …): entry q_t·scale_t at index t (scale = 1/√m), 0 at −1."""
    entries = q * scale.view(-1, *[1] * (q.dim() - 1)).to(q.real.dtype if q.is_complex() else q.dtype)
    return torch.cat([entries, entries.new_zeros(1, *q.shape[1:])])[index]  # index −1 reads the appended zero


class SharedEntryProjection(Projection):
    """P_j whose entries are shared by class, ``index`` (K, N): W[o, u] = q_t / √m_t, t = index[o, u]."""

    def __init__(self, complex_channels: int, real_channels: int, out_channels: int, index: Tensor, output_orientation: str | None = None) -> None:
        super().__init__(complex_channels, real_channels, out_channels)
        if index.shape != (out_channels, complex_channels + real_channels):
            raise ValueError(f"shared-entry index of shape {tuple(index.shape)} does not fit a {out_channels}×{complex_channels + real_channels} P_j")
        self.output_orientation = output_orientation
        scale = tie_counts(index).double().rsqrt()
        # Not a buffer: an EMA of the model (AveragedModel with buffers) would average it, and
        # its integer average (n·d + n·(1 − d) in float32, truncated) is not always n.
        self.index = index
        self.register_buffer("scale", scale.float(), persistent=False)
        g = torch.complex(torch.randn(index.shape, dtype=torch.float64), torch.randn(index.shape, dtype=torch.float64))
        u, _, vh = torch.linalg.svd(shared_entry_matrix(index, shared_entry_coordinates(index, g), scale), full_matrices=False)
        self.weight = nn.Parameter(torch.view_as_real(shared_entry_coordinates(index, u @ vh)).float().contiguous())

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        self.index = fn(self.index)  # moves with the module; dtype casts leave integer tensors alone
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, parameters={self.weight.shape[0]} complex"

    def pairs(self) -> Tensor:
        return shared_entry_matrix(self.index, self.weight, self.scale)


class LowRankProjection(Projection):
    """P_j = A B with A (K, r) and B (r, N) complex, stored as real pairs ``a``, ``b``."""

    def __init__(self, complex_channels: int, real_channels: int, out_channels: int, rank: int) -> None:
        super().__init__(complex_channels, real_channels, out_channels)
        n = complex_channels + real_channels
        if not 1 <= rank <= min(out_channels, n):
            raise ValueError(f"rank must be in 1 … min(K, N) = {min(out_channels, n)}, got {rank}")
        self.rank = rank
        g = torch.complex(torch.randn(out_channels, n), torch.randn(out_channels, n)).to(torch.complex128)
        u, _, vh = torch.linalg.svd(g, full_matrices=False)
        self.a = nn.Parameter(torch.view_as_real(u[:, :rank].to(torch.complex64)).contiguous())
        self.b = nn.Parameter(torch.view_as_real(vh[:rank].to(torch.complex64)).contiguous())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.rank}"

    def pairs(self) -> Tensor:
        a, b = self.a, self.b
        with autocast_off(a):  # W in the parameters' dtype, as the dense weight
            re = a[..., 0] @ b[..., 0] - a[..., 1] @ b[..., 1]
            im = a[..., 0] @ b[..., 1] + a[..., 1] @ b[..., 0]
        return torch.stack([re, im], -1)

    def factors(self) -> tuple[Tensor, Tensor] | None:
        """(R, L): R (2r, 2·Cc + Cr) the real matrix of B on the mixed layout, L (2K, 2r) that of A
        on r complex channels (L R = ``real_weight()``), when they cost fewer MACs per pixel."""
        columns, rows = 2 * self.complex_channels + self.real_channels, 2 * self.out_channels
        if 2 * self.rank * (columns + rows) >= rows * columns:
            return None
        return mixed_real_matrix(self.b[..., 0], self.b[..., 1], self.complex_channels), mixed_real_matrix(self.a[..., 0], self.a[..., 1], self.rank)


def block_rank(rank: int | float, out_channels: int, in_channels: int) -> int:
    """The rank of one block: an integer capped at min(K, N), or a fraction of min(K, N) (≥ 1)."""
    full = min(out_channels, in_channels)
    return min(rank, full) if isinstance(rank, int) else max(1, round(rank * full))


def create_projection(spec: ProjectionSpec | str | dict[str, object], complex_channels: int, real_channels: int, out_channels: int, layout: ULayout, input_orientation: str | None = None) -> Projection:
    """The P_j of ``spec`` for a block whose U has the given layout (``input_orientation``: the
    previous P's ``output_orientation``)."""
    spec = projection_spec(spec)
    cc, cr, k = complex_channels, real_channels, out_channels
    if spec.kind == "dense" or (spec.kind == "grouped" and not layout.complex_input):
        return ComplexProjection(cc, cr, k)
    if spec.kind == "lowrank":
        assert spec.rank is not None
        return LowRankProjection(cc, cr, k, block_rank(spec.rank, k, cc + cr))
    if spec.kind == "grouped":
        assert spec.groups is not None
        return SharedEntryProjection(cc, cr, k, grouped_index(layout, k, spec.groups))
    index, orientation = orientation_index(layout, k, spec.symmetry, spec.bandwidth, input_orientation)
    return SharedEntryProjection(cc, cr, k, index, orientation)
