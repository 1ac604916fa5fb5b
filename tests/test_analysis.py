import json
from pathlib import Path

import torch

from phasecollapse.analysis.separation import fisher_ratio, ncm_error
from phasecollapse.cli import main
from phasecollapse.run.config import load_config
from phasecollapse.run.train import fit


def gaussian_clusters(separation: float, n: int = 400, dim: int = 20, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    means = torch.zeros(classes, dim)
    means[torch.arange(classes), torch.arange(classes)] = separation
    labels = torch.arange(classes).repeat_interleave(n)
    return means[labels] + torch.randn(len(labels), dim, generator=g), labels


def test_fisher_ratio_of_gaussian_clusters() -> None:
    # Means s·e_c (c < 3) with identity covariance in 20 dims: tr Σ_W = 20 and
    # tr Σ_B = Σ_c ‖s e_c − s/3 (1,1,1)‖² / 3 = s² · 2/3.
    for s in (0.0, 2.0, 6.0):
        f, y = gaussian_clusters(s, n=4000)
        assert abs(fisher_ratio(f, y) - s * s * 2 / 3 / 20) < 0.01 + 0.02 * s * s * 2 / 3 / 20


def test_ncm_error_of_gaussian_clusters() -> None:
    train, ytr = gaussian_clusters(6.0, seed=1)
    test, yte = gaussian_clusters(6.0, seed=2)
    # Bayes error of NCM between two means at distance 6·√2: Φ(−3√2) ≈ 1e-5 per pair.
    assert ncm_error(train, ytr, test, yte) < 1.0
    train, ytr = gaussian_clusters(0.0, seed=1)
    test, yte = gaussian_clusters(0.0, seed=2)
    assert 55 < ncm_error(train, ytr, test, yte) < 80  # chance is 66.7 %


def test_linear_probe_on_clusters() -> None:
    from phasecollapse.analysis.separation import linear_probe_error

    train, ytr = gaussian_clusters(6.0, n=200, seed=1)
    test, yte = gaussian_clusters(6.0, n=200, seed=2)
    assert linear_probe_error(train, ytr, test, yte) < 2.0


def test_translation_error_zero_at_zero_and_below_bound_for_band_limited_inputs() -> None:
    import math

    from phasecollapse.analysis.translation import frequency_grid, phase_shift_errors, spectral_moments
    from phasecollapse.layers.filters import FilterBank

    # One octave coarser than F0 (σ = 1.6, ξ = 3π/8): F0's ψ̂ wraps around ±π, so that for real
    # images the mirrored spectrum at −ξ passes through it (tested in the translation report).
    bank = FilterBank("j=1", 4, 1.6, 3 * math.pi / 8, 1.0, 1.6, False)
    psi = torch.from_numpy(bank.multipliers(32, 32)[2])  # θ = 0
    xi, sigma = spectral_moments(psi)
    assert abs(xi[0] - 3 * math.pi / 8) < 0.1 and abs(xi[1]) < 1e-9 and 0.3 < sigma < 1.5
    # Inputs band-limited to |ω − ξ| ≤ r: the error is at most r|τ|, for any shift.
    r = 0.6
    mask = ((frequency_grid(32, 32) - xi).norm(dim=-1) <= r).double()
    noise = torch.fft.fft2(torch.randn(16, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    images = torch.fft.ifft2(noise * (mask + mask.flip(0, 1).roll((1, 1), (0, 1)))).real
    shifts = torch.tensor([[0.0, 0.0], [0.3, 0.0], [0.0, 0.7], [1.0, 1.0], [1.5, -0.5]])
    errors = phase_shift_errors(images, psi, shifts)
    assert errors[0] < 1e-12
    bound = r * shifts.norm(dim=1)
    assert (errors[1:] <= bound[1:] + 1e-9).all(), (errors, bound)
    assert (errors[1:] > 0.05 * bound[1:]).all()  # and the bound is not vacuous


def test_phase_preserving_nonlinearities_keep_zero_means_modulus_does_not() -> None:
    from phasecollapse.analysis.symmetry import mean_ratio, symmetry_study
    from phasecollapse.data import textures
    from phasecollapse.layers.filters import filter_bank

    # Circularly symmetric synthetic z: ratio ≈ 0; its modulus: ratio 1.
    z = torch.randn(400, 3, 4, 4, dtype=torch.complex64)
    labels = torch.arange(2).repeat_interleave(200)
    assert mean_ratio(z, labels).max() < 0.1
    assert torch.allclose(mean_ratio(z.abs(), labels), torch.ones(2, 3, dtype=torch.float64))
    x, y = textures.generate(4, 32, seed=3)
    result = symmetry_study(x, y, filter_bank("F0", 4))
    averages = result["mean_ratio_average"]
    for name in ("z", "cst", "ms", "mc", "tanh"):
        assert averages[name] < 0.05, (name, averages)
    assert averages["mod"] == 1.0
    counts = torch.tensor(result["phase_histogram"][0])
    assert counts.min() > 0.5 * counts.mean()  # phases spread over the circle


def test_relu_identity_to_machine_precision() -> None:
    from phasecollapse.analysis.relu import dead_zone_abs, even_odd_parts, soft_threshold

    y = torch.randn(10000, dtype=torch.float64) * 3
    for b in (0.0, 0.5, 2.0):
        torch.testing.assert_close(torch.relu(y - b), dead_zone_abs(y, b) / 2 + soft_threshold(y, b) / 2, atol=1e-15, rtol=0)
        even, odd = even_odd_parts(y, b)
        torch.testing.assert_close(even, dead_zone_abs(y, b) / 2, atol=1e-15, rtol=0)
        torch.testing.assert_close(odd, soft_threshold(y, b) / 2, atol=1e-15, rtol=0)


def test_relu_energy_shares_of_a_bias_free_resnet() -> None:
    import phasecollapse as pc
    from phasecollapse.analysis.relu import relu_energy_shares

    shares = relu_energy_shares(pc.create_model("resnet20_cifar10"), torch.randn(16, 3, 32, 32))
    assert len(shares) == 1 + 2 * 9
    for s in shares:
        assert abs(s["even_share"] + s["odd_share"] - 1) < 1e-12
    # After BN (zero batch mean, no shift at init), b = 0: ReLU(y) = |y|/2 + y/2, equal energies.
    assert abs(shares[0]["even_share"] - 0.5) < 1e-6


def test_effective_rank_and_truncation() -> None:
    from phasecollapse.analysis.operators import effective_rank, rank_survival, singular_values
    from phasecollapse.layers.block import LScatBlock
    from phasecollapse.layers.filters import filter_bank

    u = torch.linalg.qr(torch.randn(8, 3, dtype=torch.complex128))[0]
    v = torch.linalg.qr(torch.randn(12, 3, dtype=torch.complex128))[0]
    low_rank = 2.0 * u @ v.mH  # three equal singular values
    s = singular_values(low_rank)
    assert abs(effective_rank(s) - 3) < 1e-9
    assert abs(effective_rank(torch.tensor([1.0, 0.0, 0.0])) - 1) < 1e-12
    block = LScatBlock(2, 8, filter_bank("F0", 4), complex_input=True)
    w = block.proj.complex_weight().to(torch.complex128)
    uu, ss, vh = torch.linalg.svd(w, full_matrices=False)
    with torch.no_grad():
        block.proj.weight.copy_(torch.view_as_real(((uu[:, :2] * ss[:2]) @ vh[:2]).to(torch.complex64)))
    x = torch.randn(4, 4, 8, 8)
    block.train()(x)  # running statistics
    kept = rank_survival(block, x, [1, 2, 8])
    assert 0 < kept[0] < 1 and abs(kept[1] - 1) < 1e-6 and abs(kept[2] - 1) < 1e-9


def test_checkpoint_analyses_end_to_end(tmp_path: Path) -> None:
    """separation and operators on trained checkpoints, via the CLI (channels-last bf16 runs)."""
    base = ["model.name='lscat_skip_cifar10'", "train.progress=false", "train.tensorboard=false", "train.channels_last=true", "train.precision='bf16'",
            "data.dataset='textures'", "data.texture_train=16", "data.texture_test=16", "data.batch_size=32", "optim.epochs=1"]
    runs = []
    for nl in ("mod", "cst"):
        fit(load_config(None, [*base, f"model.options={{width_factor=0.0625, nonlinearity='{nl}'}}", f"train.out_dir='{tmp_path / nl}'"]))
        runs.append(str(tmp_path / nl / "last.pt"))
    out = tmp_path / "analysis"
    assert main(["analyze", "separation", *runs, "--out", str(out), "--samples", "32", "--no-probe"]) == 0
    record = json.loads((out / "separation.json").read_text())
    models = record["models"]
    assert record["wall_s"] > 0 and record["environment"]["git_commit"]
    assert len(models) == 2 and all(len(m["blocks"]) == 8 for m in models.values())
    assert main(["analyze", "operators", runs[0], "--out", str(out)]) == 0
    blocks = json.loads((out / "operators.json").read_text())["blocks"]
    assert len(blocks) == 8 and all(abs(b["survival"][-1] - 1) < 1e-6 for b in blocks)
    assert (out / "separation.png").exists() and (out / "operators.png").exists()
