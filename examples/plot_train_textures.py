"""
Train a small LScat on the textures
===================================

The embedded stationary textures need no download: train a narrow LScat + skip
(U = [Wx, ρ(Wx)]) for a few epochs with the training loop of ``phasecollapse train``, holding
out a validation split, and plot its learning curve from the run's ``metrics.csv``.
"""

import csv
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from phasecollapse.run.config import load_config
from phasecollapse.run.train import fit

out = Path(tempfile.mkdtemp()) / "textures"
config = load_config(None, [
    "model.name=lscat_skip_cifar10",
    "model.options={ width_factor = 0.0625, num_classes = 4 }",
    "data.dataset=textures", "data.texture_train=64", "data.texture_test=32", "data.batch_size=32",
    "data.validation=32",
    "optim.lr=0.05", "optim.epochs=3",
    "train.progress=false", "train.tensorboard=false", f"train.out_dir={out}",
])
summary = fit(config)
print(f"test error {summary['final']['test_top1_err']:.1f} %, validation error {summary['final']['val_top1_err']:.1f} %")

# %%
with open(out / "metrics.csv", newline="") as f:
    rows = list(csv.DictReader(f))
epochs = [int(r["epoch"]) for r in rows]
plt.plot(epochs, [float(r["train_top1_err"]) for r in rows], "o-", label="train")
plt.plot(epochs, [float(r["val_top1_err"]) for r in rows], "s-", label="validation")
plt.plot(epochs, [float(r["test_top1_err"]) for r in rows], "^-", label="test")
plt.xlabel("epoch")
plt.ylabel("error (%)")
plt.legend()
plt.show()
