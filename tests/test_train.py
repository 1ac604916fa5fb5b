import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from phasecollapse.run.checkpoint import CheckpointError, evaluated_state, load
from phasecollapse.cli import main
from phasecollapse.run.config import load_config
from phasecollapse.run.experiment import build_model
from phasecollapse.run import distributed
from phasecollapse.run.train import build_ema, evaluate, evaluate_checkpoint, fit

TINY = ["model.name='lscat_cifar10'", "model.options={width_factor=0.0625}", "train.progress=false", "train.tensorboard=false"]
TEXTURES = [*TINY, "data.dataset='textures'", "data.texture_train=48", "data.texture_test=32", "data.batch_size=32", "optim.lr=0.05"]


def config(tmp_path: Path, *extra: str):
    return load_config(None, [*TEXTURES, f"train.out_dir={tmp_path}", *extra])


def test_cifar10_subset_learns_well_above_chance(tmp_path: Path, cifar10_dir: Path) -> None:
    # ResNet-20 (0.27 M parameters) learns fast from few images; this exercises the CIFAR-10
    # pipeline (pickles, batched augmentation, SGD, evaluation, logs) on the real data.
    overrides = ["model.name='resnet20_cifar10'", "model.options={}", "data.train_subset=8192", "data.test_subset=1000", "data.batch_size=64", "optim.lr=0.1"]
    c = load_config(None, [*TINY, *overrides, f"data.root={cifar10_dir}", "optim.epochs=2", f"train.out_dir={tmp_path}"])
    summary = fit(c)
    assert summary["best_top1_err"] < 72, summary  # chance is 90 %; measured 63.9 %
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and all(r["train_images_per_s"] > 0 for r in rows)
    assert (tmp_path / "metrics.csv").read_text().count("\n") == 3
    assert load(tmp_path / "best.pt")["epoch"] in (1, 2)


def test_ema_is_evaluated_with_the_live_statistics(tmp_path: Path) -> None:
    """The EMA averages the weights only; its Std statistics are the live model's (averaged
    statistics mix the variances of old weights: 66.9 % vs 22.3 % error on a real run)."""
    c = config(tmp_path, "optim.ema_decay=0.9")
    torch.manual_seed(0)
    model = build_model(c)
    ema = build_ema(model, c)
    assert ema is not None and build_ema(model, config(tmp_path)) is None
    ema.update_parameters(model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2)
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.mul_(100)
    ema.update_parameters(model)
    weights = dict(model.named_parameters())
    for name, p in ema.module.named_parameters():
        torch.testing.assert_close(p, weights[name] * 0.55)  # 0.9·(w/2) + 0.1·w
    for (name, a), b in zip(ema.module.named_buffers(), model.buffers(), strict=True):
        assert torch.equal(a, b), name  # averaged, running_var would be 0.9 + 0.1·100


def test_eval_of_an_ema_run_reports_the_ema_it_trained(tmp_path: Path) -> None:
    """``eval`` (and the analyses, through load_trained) use the weights the run evaluated: for an
    EMA run the average, whose error differs from the live weights'."""
    summary = fit(config(tmp_path, "optim.ema_decay=0.5", "optim.epochs=2"))
    ckpt = load(tmp_path / "last.pt")
    assert evaluate_checkpoint(tmp_path / "last.pt") == pytest.approx({k: summary["final"][k] for k in ("test_loss", "test_top1_err", "test_top5_err")})
    averaged = evaluated_state(ckpt)
    assert averaged.keys() == ckpt["model"].keys() and any(not torch.equal(averaged[k], v) for k, v in ckpt["model"].items())


class _Halves(torch.nn.Module):
    """Logits (sum of the left half, sum of the right half) of each image, or with ``mirrored``
    (sum, -sum) of the whole image: a mirror image swaps the first pair, leaves the second."""

    def __init__(self, mirrored: bool) -> None:
        super().__init__()
        self.mirrored = mirrored

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.shape[-1] // 2
        if self.mirrored:
            return torch.stack([x.sum((1, 2, 3)), -x.sum((1, 2, 3))], 1)
        return torch.stack([x[..., :w].sum((1, 2, 3)), x[..., w:].sum((1, 2, 3))], 1)


def test_flip_tta_averages_the_logits_of_an_image_and_its_mirror_image(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    batches = [(torch.rand(8, 3, 4, 6, generator=g), torch.randint(0, 2, (8,), generator=g)) for _ in range(3)]
    c, ctx = config(tmp_path), distributed.Context(0, 1, torch.device("cpu"))
    # Left half against right half: the mirror image swaps the logits, their mean is (s, s),
    # so every loss is log 2 with flip TTA, and differs without.
    halves = _Halves(mirrored=False)
    assert evaluate(halves, batches, c, ctx, flip=True)["test_loss"] == pytest.approx(torch.log(torch.tensor(2.0)).item())
    plain = torch.cat([torch.nn.functional.cross_entropy(halves(x), y, reduction="none") for x, y in batches]).mean().item()
    assert evaluate(halves, batches, c, ctx)["test_loss"] == pytest.approx(plain) and abs(plain - 0.6931) > 0.1
    # A network blind to mirroring: flip TTA changes nothing.
    whole = _Halves(mirrored=True)
    assert evaluate(whole, batches, c, ctx, flip=True) == pytest.approx(evaluate(whole, batches, c, ctx))


def test_a_run_records_its_final_error_with_flip_tta_beside_the_plain_one(tmp_path: Path) -> None:
    summary = fit(config(tmp_path, "optim.epochs=1"))
    flip = summary["final_flip_tta"]
    assert flip.keys() == {"test_loss", "test_top1_err", "test_top5_err"} and flip["test_loss"] != summary["final"]["test_loss"]
    assert json.loads((tmp_path / "results.json").read_text())["final_flip_tta"] == pytest.approx(flip)
    assert evaluate_checkpoint(tmp_path / "last.pt", flip=True) == pytest.approx(flip)


def _run_cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "phasecollapse", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def test_killed_run_resumes_bit_identically(tmp_path: Path) -> None:
    overrides = [*TEXTURES, "optim.epochs=3", "data.texture_train=96"]
    sets = sum((["--set", o] for o in overrides), [])
    ref_dir, killed_dir = tmp_path / "uninterrupted", tmp_path / "killed"
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    ref = _run_cli(["train", str(cfg), *sets, "--set", f"train.out_dir={ref_dir}"])
    assert ref.wait(300) == 0, ref.stdout.read().decode()
    proc = _run_cli(["train", str(cfg), *sets, "--set", f"train.out_dir={killed_dir}"])
    while not (killed_dir / "last.pt").exists():
        assert proc.poll() is None, "the run ended before its first checkpoint"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert load(killed_dir / "last.pt")["epoch"] < 3, "the kill came too late to test anything"
    resumed = _run_cli(["train", str(cfg), *sets, "--set", f"train.out_dir={killed_dir}", "--resume"])
    assert resumed.wait(300) == 0, resumed.stdout.read().decode()
    a, b = load(ref_dir / "last.pt"), load(killed_dir / "last.pt")
    assert a["epoch"] == b["epoch"] == 3
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for k in a["optimizer"]["state"]:
        assert torch.equal(a["optimizer"]["state"][k]["momentum_buffer"], b["optimizer"]["state"][k]["momentum_buffer"])


def test_torchrun_two_processes_gloo(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    sets = sum((["--set", o] for o in [*TEXTURES, "optim.epochs=2", f"train.out_dir={tmp_path / 'ddp'}"]), [])
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "phasecollapse", "train", str(cfg), *sets], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((tmp_path / "ddp" / "results.json").read_text())
    assert results["world_size"] == 2
    assert results["rank_weight_max_abs_diff"] == 0.0
    assert results["epochs_completed"] == 2


def test_image_folder_trains_one_step(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")  # ImageNet folders: the extra vision
    rng = torch.Generator().manual_seed(0)
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            folder = tmp_path / "imagenet" / split / cls
            folder.mkdir(parents=True)
            for i in range(3):
                pixels = torch.randint(0, 256, (40, 48, 3), generator=rng, dtype=torch.uint8).numpy()
                Image.fromarray(pixels).save(folder / f"{i}.png")
    c = load_config(None, [*TINY, "model.options={width_factor=0.0625, num_classes=2}", "data.dataset='imagenet'", f"data.root={tmp_path / 'imagenet'}", "data.image_size=32", "data.workers=1", "data.batch_size=6", "optim.epochs=1", f"train.out_dir={tmp_path / 'run'}"])
    summary = fit(c)
    assert summary["epochs_completed"] == 1 and 0 <= summary["final"]["test_top1_err"] <= 100
    # More classes than the model's outputs: a one-line error before training, not a traceback.
    one_output = load_config(None, [*TINY, "model.options={width_factor=0.0625, num_classes=1}", "data.dataset='imagenet'", f"data.root={tmp_path / 'imagenet'}", "data.image_size=32", f"train.out_dir={tmp_path / 'run1'}"])
    with pytest.raises(ValueError, match="imagenet has 2 classes but model lscat_cifar10 has 1 outputs"):
        fit(one_output)


def test_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FileNotFoundError, match="CIFAR-10 data directory not found"):
        fit(load_config(None, [*TINY, f"data.root={tmp_path / 'nowhere'}", f"train.out_dir={tmp_path}"]))
    with pytest.raises(ValueError, match="takes 32×32 images but data set imagenet gives 64×64"):
        fit(load_config(None, [*TINY, "data.dataset='imagenet'", "data.image_size=64", f"data.root={tmp_path}", f"train.out_dir={tmp_path}"]))
    with pytest.raises(ValueError, match="unknown config key"):
        load_config(None, ["train.epochs=3"])
    assert main(["train", str(tmp_path / "missing.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_corrupted_and_mismatched_checkpoints(tmp_path: Path) -> None:
    fit(config(tmp_path, "optim.epochs=1"))
    good = tmp_path / "last.pt"
    data = good.read_bytes()
    (tmp_path / "broken.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted"):
        evaluate_checkpoint(str(tmp_path / "broken.pt"))
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a phasecollapse checkpoint"):
        load(tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match=r"--resume refuses to change model.options: \{'width_factor': 0.0625\} → \{'width_factor': 0.125\}"):
        fit(config(tmp_path, "optim.epochs=2", "model.options={width_factor=0.125}"), resume=True)
    good.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupted"):
        fit(config(tmp_path, "optim.epochs=2"), resume=True)
    assert 0 <= evaluate_checkpoint(str(tmp_path / "best.pt"))["test_top1_err"] <= 100
