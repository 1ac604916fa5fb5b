import json
from pathlib import Path

import pytest

from phasecollapse.cli import main


def test_bench_train_writes_results_and_ends_with_speedup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "train", "--model", "lscat_cifar10", "--width-factor", "0.0625", "--batch-size", "4", "--steps", "1", "--warmup", "1", "--no-compile", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("speedup: ") and out[-1].endswith("x")
    (record_path,) = tmp_path.glob("train_lscat_cifar10_w0.0625_b4_cpu.json")
    record = json.loads(record_path.read_text())
    sides = {r["side"]: r for r in record["results"]}
    assert set(sides) == {"authors", "fast"} and sides["authors"]["precision"] == "fp32" and sides["fast"]["precision"] == "bf16"
    assert all(r["images_per_s"] > 0 and r["peak_memory_mb"] > 0 for r in sides.values())
    assert record["speedup"] == pytest.approx(sides["fast"]["images_per_s"] / sides["authors"]["images_per_s"])
    assert record["environment"]["cpu"] and (tmp_path / record_path.name.replace(".json", ".md")).exists()
    assert record["wall_s"] >= sum(sum(r["step_s"]) for r in sides.values())


def test_bench_scat_against_kymatio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("kymatio")
    assert main(["bench", "scat", "--batch-size", "8", "--steps", "1", "--warmup", "0", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("speedup: ")
    assert len(list(tmp_path.glob("scat_*.json"))) == 1


def test_bench_train_compare_gauss_times_the_fast_step_in_both_product_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "train", "--compare", "gauss", "--precision", "fp32", "--model", "lscat_skip_cifar10", "--width-factor", "0.0625", "--batch-size", "4", "--steps", "1", "--warmup", "0", "--no-compile", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("speedup: ")
    (record_path,) = tmp_path.glob("train_gauss_fp32_*.json")
    record = json.loads(record_path.read_text())
    assert [(r["side"], r["variant"], r["precision"]) for r in record["results"]] == [("fast", "", "fp32"), ("fast+gauss", "gauss", "fp32")]
    assert record["compare"] == "gauss" and record["speedup"] == pytest.approx(record["results"][1]["images_per_s"] / record["results"][0]["images_per_s"])


def test_bench_build_times_both_initialisations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bench build: one row per model with both sides' seconds, and the initialisation put back."""
    from phasecollapse.layers import projection

    ours = projection.haar_q
    assert main(["bench", "build", "--model", "lscat_cifar10", "--steps", "1", "--warmup", "0", "--out", str(tmp_path)]) == 0
    assert projection.haar_q is ours
    (record_path,) = tmp_path.glob("build_*.json")
    (row,) = json.loads(record_path.read_text())["rows"]
    assert row["model"] == "lscat_cifar10" and row["params"] == 12_251_018 and row["householder_qr"] > 0 and row["cholesky_qr"] > 0
    assert "| lscat_cifar10 | 12,251,018 |" in capsys.readouterr().out


def test_bench_profile_splits_the_step_into_products_and_the_rest(tmp_path: Path) -> None:
    """bench profile: products + outside = the step; GEMMs are products, the fused kernel's
    forward and backward are found, and the record is named by the commit profiled."""
    assert main(["bench", "profile", "--model", "lscat_skip_cifar10", "--width-factor", "0.0625", "--batch-size", "4", "--steps", "1", "--warmup", "1", "--no-compile", "--precision", "fp32", "--out", str(tmp_path)]) == 0
    (record_path,) = (tmp_path / "profile").glob("profile_lscat_skip_cifar10_w0.0625_b4_fp32_cpu_*.json")
    record = json.loads(record_path.read_text())
    r = record["result"]
    assert record_path.stem.endswith(record["environment"]["git_commit"][:7])
    assert r["products_s"] > 0 and r["outside_s"] > 0 and r["products_s"] + r["outside_s"] == pytest.approx(r["step_s"])
    ops = {o["op"]: o for o in r["ops"]}
    assert ops["aten::mm"]["product"] and not ops["aten::mul"]["product"]
    assert r["products_s"] == pytest.approx(sum(o["self_s"] for o in r["ops"] if o["product"]))
    assert all(r["kernel_s"][name] > 0 for name in ("standardize_project", "_StdProjectBackward"))
