"""
Phase collapse against a phase-preserving non-linearity
=======================================================

The same narrow LScat + skip trained on the textures with ρ = ``|·|`` (mod) and with complex
soft-thresholding (cst). The textures are stationary, so every x∗ψ has zero class mean: a
phase-preserving ρ keeps the class means at zero and leaves the linear classifier near chance;
the modulus turns band energies into class means. The Fisher ratio tr Σ_B / tr Σ_W of each block
output measures it.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from phasecollapse.analysis.separation import block_features, fisher_ratio
from phasecollapse.data.transforms import as_model_input
from phasecollapse.run.checkpoint import load_trained
from phasecollapse.run.config import load_config
from phasecollapse.run.experiment import in_memory_splits
from phasecollapse.run.train import fit

root = Path(tempfile.mkdtemp())
for rho in ("mod", "cst"):
    config = load_config(None, [
        "model.name=lscat_skip_cifar10",
        f"model.options={{ width_factor = 0.0625, num_classes = 4, nonlinearity = \"{rho}\" }}",
        "data.dataset=textures", "data.texture_train=64", "data.texture_test=32", "data.batch_size=32",
        "optim.lr=0.05", "optim.epochs=3",
        "train.progress=false", "train.tensorboard=false", f"train.out_dir={root / rho}",
    ])
    summary = fit(config)
    model, _ = load_trained(root / rho / "last.pt")
    _, _, (x, y) = in_memory_splits(config)
    ratios = [fisher_ratio(f.double(), y) for f in block_features(model, as_model_input(x))]
    plt.semilogy(range(1, len(ratios) + 1), ratios, "o-", label=f"{rho}: test error {summary['final']['test_top1_err']:.0f} %")
plt.xlabel("block")
plt.ylabel("Fisher ratio tr Σ_B / tr Σ_W")
plt.legend()
plt.show()
