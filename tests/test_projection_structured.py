"""Structured P_j (issue #14): low rank, orientation-shared, grouped; their dense twins, symmetry,
parameter counts, options, checkpoints and the factored fast path."""

from pathlib import Path

import pytest
import torch
from torch import Tensor

from phasecollapse import create_model
from phasecollapse.layers.block import LScatBlock
from phasecollapse.layers.filters import filter_bank
from phasecollapse.layers.projection import ComplexProjection
from phasecollapse.layers.standardization import Standardization
from phasecollapse.layers.structured_projection import LowRankProjection, ULayout, block_rank, tie_counts, shared_entry_coordinates
from phasecollapse.models.complexity import complexity
from phasecollapse.kernels.std_projection import factored_standardize_project
from phasecollapse.layers.wavelet import fft_wavelet_transform

TINY = {"width_factor": 0.0625}  # K = 4, 8, 16, 32 × 5
SPECS = [
    {"kind": "lowrank", "rank": 0.25},
    {"kind": "lowrank", "rank": 1.0},
    {"kind": "lowrank", "rank": 3},
    "orientation",
    {"kind": "orientation", "symmetry": "cyclic"},
    {"kind": "orientation", "symmetry": "half_plane", "bandwidth": 1},
    {"kind": "grouped", "groups": 2},
]


def _layout_block(complex_input: bool, channels: int, out: int, projection: object, skip: bool = False, nonlinearity: str = "mod", orientation: str | None = None) -> LScatBlock:
    return LScatBlock(channels, out, filter_bank("F0", 4), complex_input, nonlinearity, skip, projection=projection, input_orientation=orientation)


VARIANTS = [("lscat_cifar10", "mod", spec) for spec in SPECS] + [(name, nl, spec) for name, nl in (("lscat_skip_cifar10", "mod"), ("lscat_cifar10", "cst")) for spec in (SPECS[0], SPECS[3])]


@pytest.mark.parametrize("name,nl,spec", VARIANTS, ids=str)
def test_structure_runs_as_its_dense_materialisation(name: str, nl: str, spec: object) -> None:
    """fast (fused kernel on the materialised weight, or the two factors) = paper path (the
    materialised weight as a 1×1 conv) = a dense model holding the materialised weights."""
    torch.manual_seed(0)
    fast = create_model(name, nonlinearity=nl, projection=spec, **TINY).double()
    slow = create_model(name, nonlinearity=nl, projection=spec, fast=False, **TINY).double()
    dense = create_model(name, nonlinearity=nl, **TINY).double()
    slow.load_state_dict(fast.state_dict())
    state = {k: v for k, v in fast.state_dict().items() if ".proj." not in k}
    state |= {f"blocks.{j}.proj.weight": b.proj.pairs().detach() for j, b in enumerate(fast.blocks)}
    dense.load_state_dict(state)
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    outs = []
    for model in (fast, slow, dense):
        y = model(x)
        (y.square().sum() + y[:, 0].sum()).backward()
        outs.append((y.detach(), [b.std.running_mean for b in model.blocks]))
    for y, running in outs[1:]:
        torch.testing.assert_close(y, outs[0][0], rtol=1e-7, atol=1e-9)
        for a, b in zip(running, outs[0][1]):
            torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)
    # gradients: fast and paper path agree parameter by parameter; every one is finite
    for (n, p), (_, q) in zip(fast.named_parameters(), slow.named_parameters()):
        assert torch.isfinite(p.grad).all(), n
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=1e-9, msg=n)


@pytest.mark.parametrize("gauss", [False, True], ids=["four_products", "gauss"])
def test_factored_kernel_equals_its_twin_forward_and_gradient(gauss: bool) -> None:
    torch.manual_seed(0)
    cc, cr = 3, 5
    proj = LowRankProjection(cc, cr, 6, 2).double()
    assert proj.factors() is not None  # 2·2·(11 + 12) = 92 < 12·11 MACs per pixel
    std = Standardization(cc, cr).double()
    parts = [(torch.randn(4, 2 * cc, 5, 5, dtype=torch.float64) * 2 + 1).requires_grad_(), (torch.randn(4, cr, 5, 5, dtype=torch.float64) - 3).requires_grad_()]
    ref = proj(std(torch.cat(parts, 1)))
    got, mean, var = factored_standardize_project(parts, *proj.factors(), cc, std.eps, gauss=gauss)
    torch.testing.assert_close(got, ref)
    g = torch.randn_like(ref)
    grads_ref = torch.autograd.grad(ref, [*parts, proj.a, proj.b], g)
    grads_got = torch.autograd.grad(got, [*parts, proj.a, proj.b], g)
    for a, b in zip(grads_got, grads_ref):
        torch.testing.assert_close(a, b)


def test_lowrank_of_full_rank_is_a_dense_reparametrisation() -> None:
    torch.manual_seed(0)
    k, cc, cr = 5, 4, 3
    lr = LowRankProjection(cc, cr, k, min(k, cc + cr)).double()
    w = lr.complex_weight().detach()
    torch.testing.assert_close(w @ w.mH, torch.eye(k, dtype=torch.complex128))  # unitary init: W Wᴴ = I (K < N)
    target = torch.randn(k, cc + cr, dtype=torch.complex128)  # any dense W: A = I, B = W
    with torch.no_grad():
        lr.a.copy_(torch.view_as_real(torch.eye(k, dtype=torch.complex128)))
        lr.b.copy_(torch.view_as_real(target))
    dense = ComplexProjection(cc, cr, k).double()
    with torch.no_grad():
        dense.weight.copy_(torch.view_as_real(target))
    x = torch.randn(2, 2 * cc + cr, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(lr(x), dense(x))
    # chain rule of W = A B on the real-pair gradients: G_A = G_W Bᴴ, G_B = Aᴴ G_W
    g = torch.randn(2, 2 * k, 3, 3, dtype=torch.float64)
    lr(x).backward(g)
    dense(x).backward(g)
    gw = torch.view_as_complex(dense.weight.grad)
    a, b = torch.view_as_complex(lr.a.detach()), torch.view_as_complex(lr.b.detach())
    torch.testing.assert_close(torch.view_as_complex(lr.a.grad), gw @ b.mH)
    torch.testing.assert_close(torch.view_as_complex(lr.b.grad), a.mH @ gw)


def _shifted_columns(layout: ULayout, channel_orientation: str | None, cyclic: bool) -> torch.Tensor:
    """For each column of U, the column one orientation step further (every orientation index
    + 1); −1 where a Toeplitz index leaves the half turn. ``cyclic``: every index wraps; else
    only the π-periodic ones (the wavelet index of block 0's real columns, a cyclic channel index)."""
    L, c = layout.L, layout.in_channels
    part, parent, k, real = layout.columns()
    starts = torch.tensor([0, *torch.tensor([c if p == "phi" else c * L for p in layout.parts]).cumsum(0).tolist()[:-1]])
    k_wraps = torch.full_like(real, cyclic) | (real & (not layout.complex_input))
    new_k = torch.where(k_wraps, (k + 1) % L, k + 1)
    inside = (k < 0) | (new_k < L)
    new_parent = parent
    if channel_orientation is not None:
        theta = parent % L
        new_theta = (theta + 1) % L if cyclic or channel_orientation == "cyclic" else theta + 1
        inside &= new_theta < L
        new_parent = parent - theta + new_theta.clamp(max=L - 1)
    column = starts[part] + torch.where(k < 0, new_parent, new_parent * L + new_k.clamp(max=L - 1))
    return torch.where(inside, column, -1)


def _equivariance_defect(w: torch.Tensor, shifted: torch.Tensor, L: int, output_cyclic: bool) -> float:
    """max |W[(g, θ + 1), shift(u)] − W[(g, θ), u]| over the entries inside the window."""
    rows = torch.arange(w.shape[0])
    theta = rows % L
    next_rows = torch.where(theta + 1 < L, rows + 1, rows + 1 - L)
    keep_rows = torch.ones_like(rows, dtype=torch.bool) if output_cyclic else theta + 1 < L
    keep_cols = shifted >= 0
    return float((w[rows[keep_rows]][:, keep_cols] - w[next_rows[keep_rows]][:, shifted[keep_cols]]).abs().max())


def test_cyclic_orientation_operator_is_exactly_equivariant_and_dense_is_not() -> None:
    """Cyclic ties: shifting every orientation index of U by one step shifts the output's by one
    step, exactly (entries are gathered from the same parameter), at block 0 and after."""
    torch.manual_seed(0)
    spec = {"kind": "orientation", "symmetry": "cyclic"}
    for complex_input, c, orientation in ((False, 3, None), (True, 8, "cyclic")):
        block = _layout_block(complex_input, c, 8, spec, orientation=orientation)
        w = block.proj.complex_weight().detach()
        shift = _shifted_columns(block.layout, orientation, cyclic=True)
        assert sorted(shift.tolist()) == list(range(w.shape[1]))  # a permutation of U's columns
        assert _equivariance_defect(w, shift, 4, True) == 0.0
        u = torch.randn(w.shape[1], dtype=torch.complex64)
        rotated = torch.empty_like(u)
        rotated[shift] = u  # every orientation index of the input one step further
        torch.testing.assert_close(w @ rotated, (w @ u).view(-1, 4).roll(1, 1).flatten())
        dense = _layout_block(complex_input, c, 8, "dense").proj.complex_weight().detach()
        assert _equivariance_defect(dense, shift, 4, True) > 0.1  # negative control


def test_half_plane_orientation_is_toeplitz_where_the_bank_is_a_half_turn() -> None:
    """half_plane ties: cyclic on block 0's real wavelet columns (and on the channel index after
    it), Toeplitz elsewhere: shift-invariant inside the half turn, free where a cyclic structure
    would wrap; a dense W is neither."""
    torch.manual_seed(0)
    for complex_input, c, orientation, wraps in ((False, 3, None, True), (True, 8, "cyclic", False), (True, 8, "toeplitz", False)):
        block = _layout_block(complex_input, c, 8, "orientation", orientation=orientation)
        assert block.proj.output_orientation == ("cyclic" if wraps else "toeplitz")
        w = block.proj.complex_weight().detach()
        layout = block.layout
        shift = _shifted_columns(layout, orientation, cyclic=False)
        assert _equivariance_defect(w, shift, 4, wraps) == 0.0
        if not wraps:  # strictly more than circulant: the wrap-around entries are free
            assert _equivariance_defect(w, _shifted_columns(layout, orientation, cyclic=True), 4, True) > 1e-3
        dense = _layout_block(complex_input, c, 8, "dense").proj.complex_weight().detach()
        assert _equivariance_defect(dense, shift, 4, wraps) > 0.1


def test_block0_with_orientation_sharing_is_rotation_equivariant() -> None:
    """Physical check at block 0 (real image, F0 bank, no subsampling, FFT W): rotating the image
    by 90° (two steps of π/4) rotates x_1 and moves its orientation index by 2, exactly; the
    dense P_0 does not."""
    torch.manual_seed(0)
    x = torch.randn(6, 3, 16, 16)
    rot = lambda t: torch.rot90(t, 1, (-2, -1))  # noqa: E731
    for projection, equivariant in (("orientation", True), ({"kind": "orientation", "symmetry": "cyclic"}, True), ("dense", False)):
        block = LScatBlock(3, 8, filter_bank("F0", 4), False, skip=False, wavelet="fft", input_size=16, projection=projection)
        y, y_rot = block(x).detach(), block(rot(x)).detach()
        expected = rot(y.view(6, 2, 4, 2, 16, 16).roll(2, 2).reshape(6, 16, 16, 16))
        assert (float((y_rot - expected).abs().max()) < 1e-5) == equivariant


def test_the_wavelet_orientations_are_a_full_period_for_real_inputs_only() -> None:
    """The premise of half_plane: |rot(x)∗ψ_k| = rot|x∗ψ_{k+2}| (90°, L = 4) holds for every k
    when x is real (π-periodic modulus); for a complex x the wrapping k meet conj(x) instead."""
    torch.manual_seed(0)
    bank = filter_bank("F0", 4)
    rot = lambda t: torch.rot90(t, 1, (-2, -1))  # noqa: E731
    mod = lambda z: fft_wavelet_transform(z.to(torch.complex128), bank)[0, 0, 1:].abs()  # (L, H, W)  # noqa: E731
    real = torch.randn(1, 1, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(mod(rot(real)), rot(mod(real).roll(-2, 0)))
    z = torch.randn(1, 1, 16, 16, dtype=torch.complex128)
    a, b = mod(rot(z)), rot(mod(z).roll(-2, 0))
    torch.testing.assert_close(a[:2], b[:2])  # k = 0, 1 ← k = 2, 3: inside the half turn
    assert float((a[2:] - b[2:]).abs().max()) > 0.1  # wrapping k: not the same coefficient …
    torch.testing.assert_close(a[2:], rot(mod(z.conj())[:2]))  # … but that of conj(z)


def _dense_params(model: torch.nn.Module) -> list[tuple[int, int]]:
    return [(b.proj.out_channels, b.proj.complex_channels + b.proj.real_channels) for b in model.blocks]


@pytest.mark.parametrize("name", ["lscat_cifar10", "lscat_skip_cifar10"])
def test_parameter_counts_match_the_formulas(name: str) -> None:
    L = 4
    shapes = _dense_params(create_model(name, **TINY))
    count = lambda spec: [sum(p.numel() for p in b.proj.parameters()) for b in create_model(name, projection=spec, **TINY).blocks]  # noqa: E731
    assert count({"kind": "lowrank", "rank": 0.25}) == [2 * block_rank(0.25, k, n) * (k + n) for k, n in shapes]
    assert count({"kind": "lowrank", "rank": 5}) == [2 * min(5, k, n) * (k + n) for k, n in shapes]
    assert count({"kind": "grouped", "groups": 4}) == [2 * k * n // (1 if j == 0 else 4) for j, (k, n) in enumerate(shapes)]
    assert count({"kind": "orientation", "symmetry": "cyclic"}) == [2 * k * n // L for k, n in shapes]
    # half_plane, skip + mod: block 0 cyclic (K·N/L); block 1: channel index cyclic, wavelet
    # index Toeplitz: per (output group, parent group) L (φ) + L·(2L−1) (ψ); later blocks both
    # Toeplitz: (2L−1) (φ) + (2L−1)² − L(L−1) (ψ: the difference pairs that occur together).
    if name == "lscat_cifar10":
        groups = [(k // L, n // (1 + L) // L) for k, n in shapes]
        later = (2 * L - 1) + (2 * L - 1) ** 2 - L * (L - 1)
        expected = [2 * shapes[0][0] * shapes[0][1] // L, 2 * groups[1][0] * groups[1][1] * (L + L * (2 * L - 1))]
        expected += [2 * go * g * later for go, g in groups[2:]]
        assert count("orientation") == expected


def test_unitary_style_initialisation() -> None:
    torch.manual_seed(0)
    for spec, exact in (({"kind": "orientation", "symmetry": "cyclic"}, True), ({"kind": "grouped", "groups": 2}, True), ("orientation", False)):
        model = create_model("lscat_cifar10", projection=spec, **TINY)
        for j, b in enumerate(model.blocks):
            w = b.proj.complex_weight().detach().to(torch.complex128)
            gram = w @ w.mH if w.shape[0] <= w.shape[1] else w.mH @ w
            error = float((gram - torch.eye(len(gram))).abs().max())
            assert error < 1e-5 if exact or j == 0 else 0.01 < error < 1, (spec, j, error)


def test_orientation_coordinates_are_orthonormal() -> None:
    """‖W‖² = ‖q‖² (weight decay on q is decay on ‖W‖²), and Π is a projection."""
    torch.manual_seed(0)
    block = _layout_block(True, 8, 8, "orientation", orientation="toeplitz")
    w, q = block.proj.complex_weight().detach(), torch.view_as_complex(block.proj.weight.detach())
    torch.testing.assert_close(w.abs().square().sum(), q.abs().square().sum())
    torch.testing.assert_close(shared_entry_coordinates(block.proj.index, w), q)
    g = torch.randn(w.shape, dtype=torch.complex128)
    qg = shared_entry_coordinates(block.proj.index, g)
    assert float(qg.abs().square().sum()) < float(g.abs().square().sum())
    assert int(tie_counts(block.proj.index).sum()) == w.numel()


@pytest.mark.parametrize("spec", SPECS[:1] + SPECS[3:5] + SPECS[6:], ids=str)
def test_model_option_end_to_end(spec: object) -> None:
    torch.manual_seed(0)
    model = create_model("lscat_cifar10", projection=spec, **TINY)
    x = torch.randn(4, 3, 32, 32)
    with torch.autocast("cpu", torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x), torch.arange(4))
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_dense_default_is_the_paper_model() -> None:
    torch.manual_seed(0)
    a = create_model("lscat_cifar10", **TINY).state_dict()
    torch.manual_seed(0)
    b = create_model("lscat_cifar10", projection="dense", **TINY).state_dict()
    torch.manual_seed(0)
    c = create_model("lscat_cifar10", projection={"kind": "dense"}, **TINY).state_dict()
    assert all(torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]) for k in a)
    assert all(isinstance(blk.proj, ComplexProjection) for blk in create_model("lscat_cifar10", **TINY).blocks)


@pytest.mark.parametrize(
    "spec,message",
    [
        ("sparse", "unknown projection kind 'sparse'"),
        ({"rank": 3}, "unknown projection kind None"),
        ("lowrank", "needs rank"),
        ({"kind": "lowrank", "rank": 0}, "rank must be an integer ≥ 1 or a fraction"),
        ({"kind": "lowrank", "rank": 1.5}, "rank must be"),
        ({"kind": "lowrank", "rank": True}, "rank must be"),
        ({"kind": "lowrank", "rank": 2, "groups": 2}, r"takes the options \['rank'\], not \['groups'\]"),
        ({"kind": "orientation", "symmetry": "full"}, "symmetry must be one of"),
        ({"kind": "orientation", "bandwidth": -1}, "bandwidth must be an integer ≥ 0"),
        ({"kind": "grouped", "groups": 1}, "groups must be an integer ≥ 2"),
        ("grouped", "needs groups"),
        (3, "must be a kind"),
    ],
)
def test_bad_projection_options_raise_clear_errors(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_model("lscat_cifar10", projection=spec, **TINY)


def test_shapes_that_do_not_fit_a_structure_name_the_block() -> None:
    with pytest.raises(ValueError, match=r"block 0 \(K = 6\): an orientation P_j needs K_j divisible by L = 4"):
        create_model("lscat_cifar10", widths=[6, 8], projection="orientation")
    with pytest.raises(ValueError, match=r"block 1 \(K = 9\): a grouped P_j needs .* divisible by groups = 2"):
        create_model("lscat_cifar10", widths=[8, 9], projection={"kind": "grouped", "groups": 2})


@pytest.mark.parametrize("spec", [{"kind": "lowrank", "rank": 0.25}, {"kind": "orientation", "bandwidth": 1}, {"kind": "grouped", "groups": 2}], ids=str)
def test_checkpoint_round_trip(tmp_path: Path, spec: dict) -> None:
    loaded, model, x = _round_trip(tmp_path, f"{{width_factor=0.0625, projection={_toml(spec)}}}")
    torch.testing.assert_close(loaded(x), model.eval()(x), rtol=0, atol=0)


def _round_trip(tmp_path: Path, options: str) -> tuple[torch.nn.Module, torch.nn.Module, Tensor]:
    """(the model loaded from a checkpoint of a fresh ``lscat_cifar10`` with these model
    options (TOML), the model, the batch that set its running statistics)."""
    from phasecollapse.run.checkpoint import FORMAT, load_trained, save_atomic
    from phasecollapse.run.config import load_config
    from phasecollapse.run.experiment import build_model

    config = load_config(None, ["model.name='lscat_cifar10'", f"model.options={options}", "data.dataset='textures'"])
    torch.manual_seed(0)
    model = build_model(config)
    x = torch.randn(4, 3, 32, 32)
    model(x)  # running statistics
    save_atomic({"format": FORMAT, "model": model.state_dict(), "config": config.to_dict(), "epoch": 1}, tmp_path / "last.pt")
    torch.manual_seed(1)  # another init: every weight must come from the file
    loaded, _ = load_trained(tmp_path / "last.pt")
    return loaded, model, x


def _toml(spec: dict) -> str:
    return "{" + ", ".join(f"{k}={v!r}".replace("'", '"') for k, v in spec.items()) + "}"


def test_complexity_counts() -> None:
    dense = create_model("lscat_cifar10", **TINY)
    c = complexity(dense)
    shapes, sizes = _dense_params(dense), [b.output_size for b in dense.blocks]
    assert c["projection_params"] == c["dense_projection_params"] == sum(2 * k * n for k, n in shapes)
    assert c["params"] == sum(p.numel() for p in dense.parameters())
    real_cols = [b.proj.complex_channels * 2 + b.proj.real_channels for b in dense.blocks]
    assert c["projection_macs"] == sum(2 * k * m * s * s for (k, _), m, s in zip(shapes, real_cols, sizes))
    assert c["macs"] == c["projection_macs"] + c["wavelet_macs"] + c["head_macs"] and c["wavelet_macs"] > 0
    lr = complexity(create_model("lscat_cifar10", projection={"kind": "lowrank", "rank": 0.1}, **TINY))
    ranks = [block_rank(0.1, k, n) for k, n in shapes]
    factored = [2 * r * (m + 2 * k) if 2 * r * (m + 2 * k) < 2 * k * m else 2 * k * m for r, (k, _), m in zip(ranks, shapes, real_cols)]
    assert lr["projection_macs"] == sum(f * s * s for f, s in zip(factored, sizes)) < c["projection_macs"]
    assert lr["wavelet_macs"] == c["wavelet_macs"]
    slow = complexity(create_model("lscat_cifar10", projection={"kind": "lowrank", "rank": 0.1}, fast=False, **TINY))
    assert slow["projection_macs"] == c["projection_macs"]  # the paper path multiplies by the materialised W
    assert complexity(create_model("lscat_cifar10", wavelet="fft", **TINY))["macs"] is None


def test_orientation_shared_energy_on_known_cases() -> None:
    """analyze operators' orientation-shared energy: 1 for an orientation-shared W (the
    basis-free measure still 1 after an output rotation, the literal one not), its null value
    dim/(K·N) on average for unitary-initialised W; the basis-free floor (Gaussian W) below 1."""
    from phasecollapse.analysis.operators import gram_shared_fraction, gram_shared_fraction_null, orientation_sharing, orientation_shift, shared_fraction, shared_fraction_null
    from phasecollapse.layers.projection import unitary_init

    torch.manual_seed(0)
    block = _layout_block(True, 8, 8, {"kind": "orientation", "symmetry": "cyclic"}, orientation="cyclic")
    index, w = block.proj.index, block.proj.complex_weight().detach()
    shift = orientation_shift(block.layout, channel_orientation=True)
    assert abs(shared_fraction(w, index) - 1) < 1e-12 and abs(gram_shared_fraction(w, shift) - 1) < 1e-10
    rotated = unitary_init(8, 8) @ w  # the same operator in another output basis
    assert shared_fraction(rotated, index) < 0.5 and abs(gram_shared_fraction(rotated, shift) - 1) < 1e-5
    assert shared_fraction_null(index) == 1 / 4  # K·N/L tie classes
    draws = torch.tensor([shared_fraction(unitary_init(*w.shape), index) for _ in range(200)])
    assert abs(float(draws.mean()) - 0.25) < 3 * float(draws.std()) / 200**0.5
    null, sd = gram_shared_fraction_null(tuple(w.shape), shift, draws=20)
    assert null + 5 * sd < 1
    dense = _layout_block(True, 8, 8, "dense")
    report = orientation_sharing(dense, None)
    assert set(report) == {"cyclic", "half_plane", "basis_free"} and all(0 < v["fraction"] < 1 for v in report.values())


@pytest.mark.parametrize("spec", [{"kind": "lowrank", "rank": 0.25}, {"kind": "orientation", "symmetry": "cyclic"}], ids=str)
def test_compiled_structured_block_equals_eager(spec: dict) -> None:
    """The budget recipes compile the model: the tied gather and the factored path compile."""
    torch.manual_seed(0)
    block = LScatBlock(4, 8, filter_bank("F0", 4), True, skip=False, input_size=8, projection=spec)
    assert (block.proj.factors() is not None) == (spec["kind"] == "lowrank")
    x = torch.randn(4, 8, 8, 8).contiguous(memory_format=torch.channels_last)
    probe = torch.randn(4, 16, 8, 8)
    results = []
    for fn in (block, torch.compile(block)):
        xi = x.clone().requires_grad_()
        y = fn(xi)
        results.append((y.detach(), *torch.autograd.grad((y * probe).sum(), [xi, *block.proj.parameters()])))
    for a, b in zip(results[1], results[0]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_weight_ema_keeps_the_tie_index() -> None:
    """An EMA of the weights (optim.ema_decay, :func:`build_ema`) averages the tied coordinates and
    leaves the structure alone."""
    from phasecollapse.run.config import load_config
    from phasecollapse.run.train import build_ema

    torch.manual_seed(0)
    model = create_model("lscat_cifar10", projection={"kind": "orientation", "symmetry": "cyclic"}, widths=[256, 256])
    ema = build_ema(model, load_config(None, ["optim.ema_decay=0.9"]))
    assert ema is not None
    ema.update_parameters(model)  # the first update copies
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2)
    ema.update_parameters(model)
    for a, b in zip(ema.module.blocks, model.blocks):
        assert torch.equal(a.proj.index, b.proj.index)
        torch.testing.assert_close(a.proj.weight, b.proj.weight * 0.55)  # 0.9·(w/2) + 0.1·w


TIED = {"widths": [4, 8, 12, 12, 12, 12], "tied": [[3, 4, 5]]}  # blocks 3–5: 12 × 60 each


def test_tied_blocks_share_one_projection_and_its_gradient() -> None:
    """tied: one P module (one weight) for the group; its gradient is the sum of the blocks'
    gradients as if the weights were separate copies; Std, ρ and N stay per block."""
    torch.manual_seed(0)
    tied = create_model("lscat_cifar10", **TIED)
    torch.manual_seed(0)
    free = create_model("lscat_cifar10", widths=TIED["widths"])
    with torch.no_grad():
        for j in (4, 5):
            free.blocks[j].proj.weight.copy_(tied.blocks[3].proj.weight)
    assert tied.blocks[5].proj is tied.blocks[3].proj and tied.blocks[5].std is not tied.blocks[3].std
    assert sum(p.numel() for p in tied.parameters()) == sum(p.numel() for p in free.parameters()) - 2 * free.blocks[4].proj.weight.numel()
    x = torch.randn(6, 3, 32, 32)
    torch.testing.assert_close(tied(x), free(x), rtol=0, atol=0)  # copies of one weight: the same function
    tied(x).square().sum().backward()
    free(x).square().sum().backward()
    summed = sum(free.blocks[j].proj.weight.grad for j in (3, 4, 5))
    torch.testing.assert_close(tied.blocks[3].proj.weight.grad, summed, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(summed, free.blocks[3].proj.weight.grad)


def test_tied_complexity_counts_a_shared_projection_once() -> None:
    c, free = complexity(create_model("lscat_cifar10", **TIED)), complexity(create_model("lscat_cifar10", widths=TIED["widths"]))
    assert [b["tied_to"] for b in c["blocks"]] == [None, None, None, None, 3, 3]
    per_block = [b["projection_params"] for b in free["blocks"]]
    assert c["projection_params"] == sum(per_block[:4]) and c["dense_projection_params"] == free["dense_projection_params"]
    assert c["projection_macs"] == free["projection_macs"] and c["params"] == free["params"] - sum(per_block[4:])
    # with a structure too: the tie index must agree, and it counts once
    both = complexity(create_model("lscat_cifar10", widths=[4, 8, 12, 12, 12, 12], tied=[[4, 5]], projection={"kind": "orientation", "symmetry": "cyclic"}))
    assert both["blocks"][5]["projection_params"] == 0 and both["blocks"][5]["tied_to"] == 4


@pytest.mark.parametrize("tied,message", [
    ([[1, 2]], r"blocks 1 and 2 cannot share P_j"),
    ([[3, 9]], r"tied blocks \[9\] out of range: the model has blocks 0 … 5"),
    ([[3, 4], [4, 5]], r"block\(s\) \[4\] appear twice"),
    ([[2]], r"a list of ≥ 2 block indices"),
    ("2,3", r"a list of lists of block indices"),
], ids=str)
def test_bad_tied_options_raise_clear_errors(tied: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_model("lscat_cifar10", widths=TIED["widths"], tied=tied)
    # same shape, another structure: block 1's parents carry a cyclic orientation, block 2's a Toeplitz one
    with pytest.raises(ValueError, match=r"blocks 1 and 2 cannot share P_j: .*parameters=32 complex.* against .*parameters=44 complex"):
        create_model("lscat_cifar10", widths=[4, 4, 4], tied=[[1, 2]], projection="orientation")


def test_tied_checkpoint_round_trip_keeps_the_sharing(tmp_path: Path) -> None:
    loaded, model, x = _round_trip(tmp_path, "{widths=[4, 8, 12, 12, 12, 12], tied=[[3, 4, 5]]}")
    torch.testing.assert_close(loaded(x), model.eval()(x), rtol=0, atol=0)
    assert loaded.blocks[5].proj is loaded.blocks[3].proj
