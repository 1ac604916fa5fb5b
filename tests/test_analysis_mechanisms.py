"""The mechanism studies on constructed cases whose answer is known both ways (issue #13)."""

import math

import pytest
import torch

import phasecollapse as pc
from phasecollapse.analysis.relu import even_odd_parts, even_odd_separation, relu_separation
from phasecollapse.analysis.separation import between_class_fraction, flat_features, permutation_test
from phasecollapse.analysis.skip import part_separation, skip_path_separation
from phasecollapse.analysis.symmetry import network_symmetry, phase_modulus_information, pseudo_variance, random_phases, wavelet_symmetry
from phasecollapse.analysis.variability import lscat_stages, translation_variability
from phasecollapse.data import textures
from phasecollapse.layers.filters import filter_bank


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def circular(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = gen(seed)
    return torch.complex(torch.randn(shape, generator=g), torch.randn(shape, generator=g))


LABELS = torch.arange(4).repeat_interleave(100)


def test_class_means_against_their_permutation_floor() -> None:
    z = circular((400, 3, 4, 4), 0)
    same_law = permutation_test(between_class_fraction, flat_features(z), LABELS, 30)
    assert same_law["p_value"] > 0.01 and abs(same_law["z"]) < 4
    # The finite-sample floor: with n = 100 per class and a zero mean, E share ≈ (classes − 1) / N.
    assert 0.5 * 3 / 400 < same_law["null_mean"] < 2 * 3 / 400
    shifted = z + 0.6 * (LABELS[:, None, None, None] == 2)  # one class's mean moves by 0.6 (noise variance 2)
    moved = permutation_test(between_class_fraction, flat_features(shifted), LABELS, 30)
    assert moved["p_value"] < 0.05 and moved["z"] > 10 and moved["observed"] > 3 * moved["null_mean"]


def test_pseudo_variance_and_phase_modulus_dependence_both_ways() -> None:
    z = circular((400, 2, 8, 8), 1)
    assert pseudo_variance(z).max() < 0.02
    elliptic = torch.complex(z.real * 2, z.imag * 0.5)  # E z² = 4 − 0.25 ≠ 0: not circular
    assert (pseudo_variance(elliptic) - 15 / 17).abs().max() < 0.02
    assert pseudo_variance(random_phases(elliptic)).max() < 0.02  # the null is circular again
    # Phase and modulus independent (circular Gaussian) vs the phase set by the modulus.
    free = phase_modulus_information(z)
    floor = phase_modulus_information(z, shuffle_seed=0)
    assert (free < 3 * floor + 0.005).all()
    tied = z.abs() * torch.exp(1j * (z.abs() * 2).clamp(max=math.pi - 1e-3))
    assert (phase_modulus_information(tied) > 0.5).all()
    assert (phase_modulus_information(tied, shuffle_seed=0) < 0.02).all()
    # Zeros (a soft threshold) have no phase: they do not tie a phase sector to the small moduli.
    thresholded = torch.where(z.abs() < 1, torch.zeros_like(z), z)
    assert (phase_modulus_information(thresholded) < 3 * phase_modulus_information(thresholded, shuffle_seed=0) + 0.005).all()


def test_law_figures_of_textures_wavelet_coefficients() -> None:
    """Textures are stationary and x → −x symmetric (data/textures.py): z = x∗ψ and every
    phase-preserving ρ(z) have zero class means at every position, |z| has class means."""
    x, y = textures.generate(4, 48, seed=3)
    result = wavelet_symmetry(x, y, filter_bank("F0", 4), permutations=10)["tensors"]
    for name in ("z", "cst", "ms", "mc", "tanh", "z, shifted images"):
        means = result[name]["class_means"]
        assert means["observed"] < 1.6 * means["null_mean"], (name, means)
    mod = result["mod"]["class_means"]
    assert mod["observed"] > 20 * mod["null_mean"] and mod["p_value"] < 0.1
    assert "pseudo_variance" not in result["mod"]  # a real tensor has no phase


def test_pseudo_variance_of_a_real_image_is_the_filter_overlap_with_its_mirror() -> None:
    """For real x and circular convolution, Σ_u (x∗ψ)(u)² = (1/HW) Σ_ω ψ̂(ω) ψ̂(−ω) |x̂(ω)|²: z is
    circular (E z² = 0) only where ψ̂ is analytic (ψ̂(ω) ψ̂(−ω) = 0). F0 at the image's scale
    reaches past ±π (docs/faithfulness.md, *Filter banks*), so x∗ψ of textures is measurably *not* circular."""
    x = textures.generate(4, 48, seed=3)[0][:, 0].double()
    psi = torch.from_numpy(filter_bank("F0", 4).multipliers(32, 32)[1:]).double()  # (L, H, W)
    z = torch.fft.ifft2(torch.fft.fft2(x)[:, None] * psi)
    mirror = psi.flip(-2, -1).roll((1, 1), (-2, -1))  # ψ̂(−ω) on the DFT grid
    power = torch.fft.fft2(x).abs().square().sum(0)
    predicted = (psi * mirror * power).sum((-2, -1)).abs() / (psi.square() * power).sum((-2, -1))
    torch.testing.assert_close(pseudo_variance(z), predicted, rtol=1e-9, atol=1e-12)
    assert predicted.max() > 0.2  # θ = 0 and π/2: the Morlet wraps around ±π
    analytic = psi * (psi > mirror)  # keep each frequency's larger side only: ψ̂(ω) ψ̂(−ω) = 0
    assert pseudo_variance(torch.fft.ifft2(torch.fft.fft2(x)[:, None] * analytic)).max() < 1e-12


def test_network_symmetry_phase_preserving_keeps_zero_class_means_modulus_creates_them() -> None:
    torch.manual_seed(0)
    x, y = textures.generate(4, 32, seed=5)
    excess = {}
    for nl in ("mod", "cst"):
        model = pc.create_model("lscat_cifar10", width_factor=0.0625, nonlinearity=nl, num_classes=4)
        blocks = network_symmetry(model, x, y, permutations=8)
        assert [b["block"] for b in blocks] == list(range(1, 9))
        excess[nl] = [b["rho"]["class_means"]["observed"] / b["rho"]["class_means"]["null_mean"] for b in blocks[:3]]
        if nl == "cst":  # an odd network of x → −x symmetric data: zero class means everywhere
            assert all(b["x"]["class_means"]["observed"] < 1.6 * b["x"]["class_means"]["null_mean"] for b in blocks)
    assert min(excess["mod"]) > 5 and max(excess["cst"]) < 1.6, excess


def test_even_odd_separation_finds_the_part_that_carries_the_classes() -> None:
    g = gen(2)
    labels = torch.arange(2).repeat_interleave(300)
    scale = torch.where(labels == 0, 0.5, 2.0)[:, None, None, None]
    by_size = torch.randn(600, 4, 3, 3, generator=g) * scale  # classes differ in |y|, not in sign
    by_sign = (torch.randn(600, 4, 3, 3, generator=g) * 0.5 + 1.0) * torch.where(labels == 0, -1.0, 1.0)[:, None, None, None]
    for t, carrier, other in ((by_size, "even", "odd"), (by_sign, "odd", "even")):
        r = even_odd_separation(t[::2], labels[::2], t[1::2], labels[1::2], permutations=10)
        assert r[carrier]["fisher"]["observed"] > 10 * r[carrier]["fisher"]["null_mean"]
        assert r[other]["fisher"]["observed"] < 3 * r[other]["fisher"]["null_mean"]
        assert r[carrier]["ncm_err"] < 20 and r[other]["ncm_err"] > 30
        assert (r["even_between_share"] > 0.9) == (carrier == "even") and (r["even_between_share"] < 0.1) == (carrier == "odd")


def test_even_odd_parts_of_relu_on_both_sides_of_zero_threshold() -> None:
    """b ≥ 0: E = ½(|y| − b)₊, O = ½ sign(y)(|y| − b)₊; b < 0 on |y| ≤ −b: O = y (not ½ y), E = −b."""
    y = torch.linspace(-3, 3, 61)
    e, o = even_odd_parts(y, 1.0)
    torch.testing.assert_close(e, 0.5 * torch.relu(y.abs() - 1))
    torch.testing.assert_close(o, 0.5 * torch.sign(y) * torch.relu(y.abs() - 1))
    e, o = even_odd_parts(y, -2.0)
    inside = y.abs() <= 2
    torch.testing.assert_close(o[inside], y[inside])
    torch.testing.assert_close(e[inside], torch.full_like(y[inside], 2.0))
    torch.testing.assert_close(e + o, torch.relu(y + 2.0))


def test_relu_separation_reads_every_relu_of_a_resnet() -> None:
    model = pc.create_model("resnet20_cifar10", bias_free=True)
    x = torch.randn(24, 3, 32, 32, generator=gen(3))
    y = torch.arange(3).repeat(8)
    layers = relu_separation(model, (x[:12], y[:12]), (x[12:], y[12:]), permutations=2)
    assert len(layers) == 1 + 2 * 9 and {"input", "even", "odd", "relu", "even_between_share"} <= set(layers[0])
    with pytest.raises(ValueError, match="no ReLU"):
        relu_separation(torch.nn.Identity(), (x, y), (x, y))


def test_translation_variability_invariant_vs_equivariant() -> None:
    x, _ = textures.generate(2, 8, seed=4)
    psi = torch.from_numpy(filter_bank("F0", 4).multipliers(32, 32)[1:])  # circular convolution: exact equivariance

    def stages(images: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        z = torch.fft.ifft2(torch.fft.fft2(images)[:, :, None] * psi).flatten(1, 2)
        return [("x∗ψ", z), ("mean |x∗ψ|", z.abs().mean((2, 3)))]

    rows = {r["stage"]: r for r in translation_variability(stages, x, [(0, 1), (3, 0), (5, 7)])}
    invariant, equivariant = rows["mean |x∗ψ|"], rows["x∗ψ"]
    assert max(invariant["relative_change"]) < 1e-5 and invariant["variance_ratio"] < 1e-9
    assert min(equivariant["relative_change"]) > 0.3 and equivariant["variance_ratio"] > 1
    assert equivariant["other_image"] > 0.5


def test_lscat_stages_and_skip_path_parts() -> None:
    torch.manual_seed(0)
    x, y = textures.generate(4, 8, seed=6)
    model = pc.create_model("lscat_cifar10", width_factor=0.0625, num_classes=4)
    rows = translation_variability(lscat_stages(model), x, [(0, 1)])
    assert [r["stage"] for r in rows[:2]] == ["ρ(z_1)", "x_1"] and len(rows) == 16
    blocks = skip_path_separation(model, (x[::2], y[::2]), (x[1::2], y[1::2]), probe=False, permutations=2)
    assert list(blocks[0]["parts"]) == ["x∗φ", "ρ(x∗ψ)", "U"] and len(blocks) == 8
    dims = blocks[1]["parts"]
    assert dims["x∗φ"]["dims"] + dims["ρ(x∗ψ)"]["dims"] == dims["U"]["dims"]
    skip = pc.create_model("lscat_skip_cifar10", width_factor=0.0625, nonlinearity="cst", num_classes=4)
    assert list(skip_path_separation(skip, (x[::2], y[::2]), (x[1::2], y[1::2]), probe=False, permutations=2)[0]["parts"]) == ["Wx", "ρ(Wx)", "U"]


def test_part_separation_informative_vs_not() -> None:
    g = gen(7)
    labels = torch.arange(3).repeat_interleave(100)
    signal = torch.randn(300, 5, 2, 2, generator=g) + 3 * torch.nn.functional.one_hot(labels, 5).float()[:, :, None, None]
    noise = torch.randn(300, 5, 2, 2, generator=g)
    good = part_separation(signal[::2], labels[::2], signal[1::2], labels[1::2], permutations=5)
    bad = part_separation(noise[::2], labels[::2], noise[1::2], labels[1::2], permutations=5)
    assert good["probe_err"] < 5 and good["ncm_err"] < 5 and good["fisher"]["p_value"] < 0.2
    assert bad["ncm_err"] > 40 and bad["fisher"]["observed"] < 3 * bad["fisher"]["null_mean"]


def test_internals_block_outputs_are_the_models() -> None:
    from phasecollapse.analysis.internals import lscat_internals
    from phasecollapse.layers.complex import from_complex

    for nl in ("mod", "cst"):
        model = pc.create_model("lscat_cifar10", width_factor=0.0625, nonlinearity=nl)
        x = torch.randn(6, 3, 32, 32, generator=gen(8))
        for b, out in zip(lscat_internals(model, x), model.eval().features(x)):
            torch.testing.assert_close(from_complex(b.x), out, atol=1e-5, rtol=1e-4)
