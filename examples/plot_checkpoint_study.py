"""
Load a checkpoint and run a study
=================================

Every study of ``phasecollapse analyze`` reads a trained checkpoint. Here a small LScat + skip
(U = [Wx, ρ(Wx)]) is trained on the textures, its checkpoint loaded as the studies load it
(``weights_only=True``, checksum verified), and the skip study asks which part of U carries the
class separation block by block: the linear copy Wx or its modulus ρ(Wx), each against its
label-permutation floor.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from phasecollapse.analysis.skip import skip_path_separation
from phasecollapse.data.transforms import as_model_input
from phasecollapse.run.checkpoint import load_trained
from phasecollapse.run.config import load_config
from phasecollapse.run.experiment import in_memory_splits
from phasecollapse.run.train import fit

out = Path(tempfile.mkdtemp()) / "run"
config = load_config(None, [
    "model.name=lscat_skip_cifar10",
    "model.options={ width_factor = 0.0625, num_classes = 4 }",
    "data.dataset=textures", "data.texture_train=64", "data.texture_test=32", "data.batch_size=32",
    "optim.lr=0.05", "optim.epochs=3",
    "train.progress=false", "train.tensorboard=false", f"train.out_dir={out}",
])
fit(config)

# %%
model, config = load_trained(out / "last.pt")
(xtr, ytr), _, (xte, yte) = in_memory_splits(config)
blocks = skip_path_separation(model, (as_model_input(xtr), ytr), (as_model_input(xte), yte), probe=False, permutations=5)
for name in ("Wx", "ρ(Wx)"):
    ratio = [b["parts"][name]["fisher"]["observed"] / b["parts"][name]["fisher"]["null_mean"] for b in blocks]
    plt.semilogy([b["block"] for b in blocks], ratio, "o-", label=name)
plt.axhline(1, color="k", lw=0.8, ls="--", label="permutation floor")
plt.xlabel("block")
plt.ylabel("Fisher ratio / its permutation floor")
plt.legend()
plt.show()
