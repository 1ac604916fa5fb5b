import math

import numpy as np
import pytest

from phasecollapse.layers.filters import angles, block_banks, filter_bank, gabor_2d, lowpass_2d, morlet_2d


def peak(mult: np.ndarray) -> tuple[float, float, float]:
    """(value, |ω|, angle in degrees) of the maximum of a multiplier on its DFT grid."""
    P, Q = mult.shape
    i, j = np.unravel_index(np.argmax(mult), mult.shape)
    w1 = 2 * math.pi * (i if i < P / 2 else i - P) / P
    w2 = 2 * math.pi * (j if j < Q / 2 else j - Q) / Q
    return float(mult[i, j]), math.hypot(w1, w2), math.degrees(math.atan2(w2, w1))


@pytest.mark.parametrize("name,L,P", [("N", 8, 228), ("F0", 4, 36), ("F1", 4, 36), ("F1", 8, 20)])
def test_wavelets_have_zero_mean(name: str, L: int, P: int) -> None:
    mult = filter_bank(name, L).multipliers(P, P)
    assert np.abs(mult[1:, 0, 0]).max() < 1e-6


def test_lowpass_dc_values() -> None:
    assert filter_bank("N", 8).multipliers(36, 36)[0, 0, 0] == pytest.approx(1.0000, abs=1e-4)
    assert filter_bank("F0", 4).multipliers(36, 36)[0, 0, 0] == pytest.approx(1.0073, abs=1e-4)


def test_f0_peaks_and_angle_order() -> None:
    mult = filter_bank("F0", 4).multipliers(36, 36)
    peaks = [peak(m) for m in mult[1:]]
    for value, radius, _ in peaks:
        assert 0.969 <= value <= 0.973
        assert 2.43 <= radius <= 2.48
    assert [round(a) for _, _, a in peaks] == [45, 0, -45, -90]


def test_f1_and_n_peaks() -> None:
    for value, radius, _ in (peak(m) for m in filter_bank("F1", 4).multipliers(36, 36)[1:]):
        assert value == pytest.approx(0.991, abs=2e-3)
        assert 2.21 <= radius <= 2.28
    n = filter_bank("N", 8).multipliers(228, 228)
    for value, radius, _ in (peak(m) for m in n[1:]):
        assert 0.969 <= value <= 0.974
        assert radius == pytest.approx(2.42, abs=0.03)
    assert n[0, 114, 0] == pytest.approx(0.085, abs=1e-3)  # φ̂ at the Nyquist frequency


def test_angles_and_slants() -> None:
    np.testing.assert_allclose(angles(4), [math.pi / 4, 0, -math.pi / 4, -math.pi / 2])
    np.testing.assert_allclose(angles(8), [(3 - k) * math.pi / 8 for k in range(8)])
    assert filter_bank("F0", 4).psi_slant == 1.0
    assert filter_bank("N", 8).psi_slant == 0.5
    assert filter_bank("F1", 4).psi_slant == pytest.approx(1.0)
    assert filter_bank("F1", 8).psi_slant == pytest.approx(math.sqrt(0.2))
    assert filter_bank("F1", 8).psi_sigma == pytest.approx(0.8 * math.sqrt(1.5))
    assert filter_bank("F1", 8).psi_xi == pytest.approx(math.pi / math.sqrt(2))


def test_gabor_envelope_width_follows_slant() -> None:
    # θ = 0: wave vector along rows; σ along rows, σ/s along columns.
    g = np.abs(gabor_2d(64, 64, 2.0, 0.0, 0.0, slant=0.5))
    assert g[2, 0] / g[0, 0] == pytest.approx(math.exp(-(2**2) / (2 * 2.0**2)), rel=1e-6)
    assert g[0, 2] / g[0, 0] == pytest.approx(math.exp(-(2**2) * 0.25 / (2 * 2.0**2)), rel=1e-6)


def test_morlet_sums_to_zero_and_lowpass_is_real() -> None:
    assert abs(morlet_2d(20, 20, 0.8, 0.3, 2.0, 0.7).sum()) < 1e-12
    assert lowpass_2d(20, 20, 0.8).dtype == np.float64


def test_block_banks() -> None:
    assert block_banks(8, 0) == ["F0", "F1"] * 4
    assert block_banks(11, 1) == ["N"] + ["F0", "F1"] * 5


def test_bad_bank_names() -> None:
    with pytest.raises(ValueError, match="unknown filter bank 'F2'"):
        filter_bank("F2", 4)
    with pytest.raises(ValueError, match="L must be"):
        angles(0)


def test_compact_kernels_match_multipliers() -> None:
    bank = filter_bank("F1", 4)
    k = bank.compact_kernels(1e-5)
    assert k.shape[-1] % 2 == 1
    r = k.shape[-1] // 2
    full = np.zeros((1 + bank.L, 40, 40), complex)
    full[:, np.r_[-r : r + 1][:, None], np.r_[-r : r + 1][None, :]] = k
    np.testing.assert_allclose(np.fft.fft2(full).real, bank.multipliers(40, 40), atol=1e-4)
