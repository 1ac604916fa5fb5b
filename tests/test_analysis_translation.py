"""Translation as phase shift: the exact per-image bound E_x(τ) ≤ σ_x|τ| (analysis.translation)."""

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from phasecollapse.analysis.translation import (
    bank_translation_study,
    block_dilations,
    coarser,
    data_bandwidths,
    frequency_grid,
    layer_phase_shift_errors,
    phase_shift_errors,
    spectral_moments,
)
from phasecollapse.layers.complex import to_complex
from phasecollapse.layers.filters import filter_bank
from phasecollapse.layers.wavelet import Wavelet

#: Zero, integer, sub-pixel, negative and diagonal shifts (rows, columns), in pixels.
SHIFTS = torch.tensor([[0.0, 0.0], [0.25, 0.0], [0.0, 0.5], [1.0, 0.0], [0.3, 0.3], [1.0, 1.0], [-0.7, 0.4], [1.5, -0.5], [0.0, -2.0]], dtype=torch.float64)


def psi(bank: str, j: int, k: int, size: int = 32) -> torch.Tensor:
    """ψ̂_k (size, size) of ``bank`` dilated by 2^j (L = 4)."""
    return torch.from_numpy(coarser(filter_bank(bank, 4), j).multipliers(size, size)[1 + k])


def random_images(n: int, size: int = 32, complex_: bool = False, seed: int = 0) -> torch.Tensor:
    """White noise and its cumulative sums (a steep, natural-like spectrum), (n, size, size)."""
    g = torch.Generator().manual_seed(seed)
    dtype = torch.complex128 if complex_ else torch.float64
    white = torch.randn(n, size, size, dtype=dtype, generator=g)
    return torch.cat([white, white.cumsum(1).cumsum(2)])


def single_frequency(size: int, index: tuple[int, int]) -> torch.Tensor:
    """e^{iω0·u} with ω0 = 2π·index/size on the grid, (1, size, size) complex."""
    u = torch.arange(size, dtype=torch.float64)
    phase = 2 * math.pi * (index[0] * u[:, None] + index[1] * u[None, :]) / size
    return torch.exp(1j * phase)[None]


def omega_at(size: int, index: tuple[int, int]) -> torch.Tensor:
    """ω0 (2,) of a grid index, represented in [−π, π)²."""
    return frequency_grid(size, size)[index]


@pytest.mark.parametrize("bank", ["N", "F0", "F1"])
@pytest.mark.parametrize("j", [0, 1, 2])
@pytest.mark.parametrize("complex_", [False, True])
def test_bound_holds_per_image_on_random_images(bank: str, j: int, complex_: bool) -> None:
    x = random_images(8, complex_=complex_, seed=j)
    for k in range(4):
        m = psi(bank, j, k)
        errors = phase_shift_errors(x, m, SHIFTS)  # (S, N)
        bound = data_bandwidths(x, m) * SHIFTS.norm(dim=1)[:, None]
        assert errors[0].abs().max() < 1e-12
        assert (errors <= bound + 1e-12).all(), (bank, j, k, (errors / bound)[1:].max())
        assert (errors[1:] / bound[1:]).max() > 0.5  # and not vacuous


def test_bound_holds_and_flat_prediction_fails_on_cifar10(cifar10_dir: Path) -> None:
    from phasecollapse.data import cifar10
    from phasecollapse.data.transforms import as_model_input

    gray = as_model_input(cifar10.load_split(str(cifar10_dir), train=False)[0][:128]).mean(1)
    exceeded = {}
    for bank in ("F0", "F1"):
        for j in (0, 1, 2):
            for w in bank_translation_study(gray, coarser(filter_bank(bank, 4), j), SHIFTS):
                ratios = [r for r in w["ratio_max"] if r is not None]
                assert w["ratio_max"][0] is None and len(ratios) == len(SHIFTS) - 1
                assert max(ratios) <= 1 + 1e-12, (bank, j, w["k"], max(ratios))
                assert w["error_mean"][0] == 0 and all(p <= b + 1e-12 for p, b in zip(w["error_pooled"], w["bound_pooled"]))
                exceeded[bank, j, w["k"]] = max(w["flat_exceeded_fraction"])
    # The flat-spectrum σ|τ| is not a bound on natural images (the committed CIFAR-10 case: F0@2^1).
    assert max(exceeded[("F0", 1, k)] for k in range(4)) > 0.1


def test_bound_is_tight_for_a_single_frequency_near_tau_zero() -> None:
    m = psi("F1", 1, 1)  # θ = 0: ξ ≈ (π/(2√2), 0)
    xi, _ = spectral_moments(m)
    index = (4, 2)  # ω0 − ξ ≈ (−0.33, 0.39): off-centre, inside ψ̂'s support
    x = single_frequency(32, index)
    delta = omega_at(32, index) - xi
    assert data_bandwidths(x, m)[0] == pytest.approx(float(delta.norm()), rel=1e-12)
    along = delta / delta.norm()
    shifts = torch.stack([t * along for t in (1e-3, 0.1, 1.0)] + [torch.tensor([0.5, 0.5], dtype=torch.float64)])
    errors = phase_shift_errors(x, m, shifts)[:, 0]
    exact = (torch.exp(-1j * (shifts @ delta)) - 1).abs()
    torch.testing.assert_close(errors, exact, rtol=1e-10, atol=1e-14)
    ratio = errors / (delta.norm() * shifts.norm(dim=1))
    assert ratio[0] > 1 - 1e-6 and ratio[1] > 0.999 and (ratio <= 1).all()
    assert ratio[3] < 0.9  # τ not along ω0 − ξ: Cauchy–Schwarz is strict


def test_flat_prediction_is_exceeded_by_spectra_far_from_xi_but_the_true_bound_holds() -> None:
    m = psi("F0", 1, 1)  # θ = 0, ξ ≈ (3π/8, 0), σ ≈ 0.6
    xi, sigma = spectral_moments(m)
    far, near = (11, 0), (6, 0)  # ω0 = 2π·(11, 0)/32: |ω0 − ξ| ≈ 0.93 > σ; 2π·(6, 0)/32 ≈ ξ
    omega_far = omega_at(32, far)
    assert (omega_far - xi).norm() > 1.2 * sigma and m[far] > 0.1 * m.max()  # inside the support
    x = torch.cat([single_frequency(32, far), single_frequency(32, near)])
    tau = torch.tensor([[0.1, 0.0], [0.5, 0.0]], dtype=torch.float64)
    errors = phase_shift_errors(x, m, tau)  # (2 shifts, 2 images)
    flat = sigma * tau.norm(dim=1)
    assert (errors[:, 0] > flat).all()  # the far image exceeds σ|τ| …
    assert (errors[:, 1] < flat).all()  # … the one at ξ does not
    assert (errors <= data_bandwidths(x, m) * tau.norm(dim=1)[:, None] + 1e-12).all()  # σ_x|τ| holds for both


def test_wrapped_frequencies_need_the_shift_representative_not_the_nearest_one() -> None:
    m = psi("F0", 0, 1)  # θ = 0, ξ ≈ (2.45, 0): ψ̂ reaches past π, ψ̂(−π, 0) ≈ 0.8
    xi, _ = spectral_moments(m)
    x = single_frequency(32, (16, 0))  # the Nyquist row, represented as ω0 = (−π, 0)
    nearest = float((math.pi - xi[0]).abs())  # |ω0 + 2π − ξ|: the representative nearest ξ
    assert m[16, 0] > 0.5 and data_bandwidths(x, m)[0] == pytest.approx(math.pi + float(xi[0]))
    sub_pixel, integer = phase_shift_errors(x, m, torch.tensor([[0.5, 0.0], [1.0, 0.0]], dtype=torch.float64))[:, 0]
    assert sub_pixel > 2 * nearest * 0.5  # the nearest representative does not bound sub-pixel shifts …
    assert integer <= nearest * 1.0  # … only integer ones, for which every representative agrees
    assert sub_pixel <= data_bandwidths(x, m)[0] * 0.5  # σ_x with ω ∈ [−π, π) does


def _central_psi(layer: Wavelet, x: torch.Tensor) -> torch.Tensor:
    """x∗ψ_k (N, L, n, n) of periodic images x (N, n, n) with the Wavelet layer: the 3×3 tiling
    puts n pixels between the central tile and the reflection borders (the filters' tails there
    are < 1e-13), so the central tile is the circular convolution on the n-grid."""
    n = x.shape[-1]
    _, out = layer(x.float().repeat(1, 3, 3)[:, None])
    return to_complex(out).to(torch.complex128)[..., n : 2 * n, n : 2 * n]


@pytest.mark.parametrize(("bank", "j"), [("F0", 0), ("F1", 0), ("F0", 1), ("F1", 2)])
def test_integer_shift_errors_match_torch_roll_and_the_wavelet_layer(bank: str, j: int) -> None:
    x = random_images(3, seed=1)
    shifts = torch.tensor([[0, 0], [1, 0], [0, -2], [3, 1], [2, 2]])
    # The actual layer, ``fft`` pipeline, not subsampled so that every pixel enters the norms.
    layer = Wavelet(replace(coarser(filter_bank(bank, 4), j), subsample=False), 1, complex_input=False, algorithm="fft")
    z = _central_psi(layer, x)  # (N, L, n, n)
    rolled = torch.cat([torch.roll(x, tuple(tau.tolist()), (1, 2)) for tau in shifts])
    shifted = _central_psi(layer, rolled).unflatten(0, (len(shifts), len(x)))  # (S, N, L, n, n)
    for k in range(4):
        m = psi(bank, j, k)
        xi, _ = spectral_moments(m)
        fourier = torch.fft.ifft2(torch.fft.fft2(x.to(torch.complex128)) * m)
        torch.testing.assert_close(z[:, k], fourier, rtol=0, atol=1e-4 * float(fourier.abs().max()))
        phase = torch.exp(-1j * (shifts.double() @ xi))[:, None, None, None]
        direct = (shifted[:, :, k] - phase * z[:, k]).flatten(2).norm(dim=2) / z[:, k].flatten(1).norm(dim=1)
        torch.testing.assert_close(direct, phase_shift_errors(x, m, shifts.double()), rtol=1e-4, atol=1e-5)


def test_errors_measured_through_the_layer_match_the_formula_away_from_the_borders_only() -> None:
    """Images that vanish at the borders: the W layer (reflection padding, FFT pipeline) computes
    the periodic convolution, so the measured errors equal the formula's (sub-pixel shifts too).
    White noise fills the borders, where padding and periodic shift disagree: they differ."""
    n, r = 32, torch.arange(32).double() - 15.5
    window = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 4.0**2))
    bank = filter_bank("F0", 4)
    multipliers = torch.from_numpy(bank.multipliers(n, n))[1:]
    for images, agree in ((random_images(4, seed=3) * window, True), (random_images(4, seed=3), False)):
        measured = layer_phase_shift_errors(images, bank, SHIFTS)
        formula = torch.stack([phase_shift_errors(images, m, SHIFTS) for m in multipliers])
        gap = float((measured - formula).abs().max())
        assert (gap < 2e-3) == agree, gap


def test_block_dilations_follow_the_network_subsampling() -> None:
    # docs/faithfulness.md, *Filter banks*: CIFAR-10 subsamples at blocks 1, 3, 5, 7; ImageNet at blocks 0, 2, …, 10.
    assert block_dilations(8, 0, 4) == [("F0", 0), ("F1", 0), ("F0", 1), ("F1", 1), ("F0", 2), ("F1", 2), ("F0", 3), ("F1", 3)]
    assert block_dilations(11, 1, 8)[:5] == [("N", 0), ("F0", 1), ("F1", 1), ("F0", 2), ("F1", 2)]
    assert block_dilations(11, 1, 8)[-1] == ("F1", 5)


def test_translation_report_writes_the_bound_and_the_prediction(tmp_path: Path) -> None:
    from phasecollapse.analysis.report import translation

    payload = translation(tmp_path, "textures", samples=8, banks=("N", "F0"), dilations=(0, 1))
    record = json.loads((tmp_path / "translation.json").read_text())
    assert (tmp_path / "translation.png").stat().st_size > 0 and record["images"] == payload["images"] == 8
    studies = {(s["bank"], s["j"]): s for s in record["studies"]}
    assert set(studies) == {("N", 0), ("F0", 0), ("N", 1), ("F0", 1)}
    assert studies["N", 0]["blocks"] == {"lscat_cifar10": [], "lscat_imagenet": [0]}
    assert studies["F0", 1]["blocks"] == {"lscat_cifar10": [2], "lscat_imagenet": [1]}
    for s in studies.values():
        assert 0 < s["summary"]["ratio_max"] <= 1
        assert ("layer_ratio_max" in s["summary"]) == (s["j"] == 0)  # measured through W at 2^0
        if s["j"] == 0:
            assert 0 < s["summary"]["layer_ratio_max"] and 0 <= s["summary"]["layer_above_bound_fraction_max"] <= 1
            assert s["summary"]["layer_interior_above_bound_fraction_max"] <= s["summary"]["layer_above_bound_fraction_max"] + 0.5
        assert s["summary"]["error_mean"]["1"] <= s["summary"]["bound_mean"]["1"]
    # N and F0 share ψ_k: the same errors.
    assert studies["N", 1]["wavelets"][1]["error_mean"] == studies["F0", 1]["wavelets"][1]["error_mean"]
