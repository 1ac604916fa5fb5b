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


def test_relu_identity_to_machine_precision() -> None:
    from phasecollapse.analysis.relu import dead_zone_abs, even_odd_parts, soft_threshold

    y = torch.randn(10000, dtype=torch.float64) * 3
    for b in (0.0, 0.5, 2.0):
        torch.testing.assert_close(torch.relu(y - b), dead_zone_abs(y, b) / 2 + soft_threshold(y, b) / 2, atol=1e-15, rtol=0)
        even, odd = even_odd_parts(y, b)
        torch.testing.assert_close(even, dead_zone_abs(y, b) / 2, atol=1e-15, rtol=0)
        torch.testing.assert_close(odd, soft_threshold(y, b) / 2, atol=1e-15, rtol=0)


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
    block = LScatBlock(2, 8, filter_bank("F0", 4), complex_input=True, skip=False)
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
    base = ["model.name='lscat_cifar10'", "train.progress=false", "train.tensorboard=false", "train.channels_last=true", "train.precision='bf16'",
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


def test_the_study_registry_is_what_the_cli_and_report_run() -> None:
    """One list of studies (analysis/studies.py): the CLI offers exactly its names, each is a
    function of report.py whose parameters match the entry (checkpoints, data, probe) and
    whose default number of images is the entry's; wrong numbers of checkpoints are refused."""
    import inspect

    import pytest

    from phasecollapse.analysis import report
    from phasecollapse.analysis.studies import STUDIES
    from phasecollapse.cli import parser

    analyze = parser()._subparsers._group_actions[0].choices["analyze"]  # type: ignore[union-attr]
    assert next(a for a in analyze._actions if a.dest == "study").choices == list(STUDIES)
    for name, study in STUDIES.items():
        params = inspect.signature(getattr(report, name)).parameters
        assert params["samples"].default == study.samples, name
        assert ("data" in params) == study.data and ("data_dir" in params) == study.data, name
        assert ("probe" in params) == study.probe, name
        fewest, most = study.checkpoints
        assert ("checkpoint" in params) == (most == 1) and ("checkpoints" in params) == (most is None), name
        if most is not None:
            with pytest.raises(ValueError, match=f"analyze {name} takes"):
                report.run_study(name, Path("unused"), ["a.pt"] * (most + 1))
        if fewest:
            with pytest.raises(ValueError, match=f"analyze {name} takes"):
                report.run_study(name, Path("unused"), [])
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        report.run_study("nope", Path("unused"), [])
