"""
A cheaper P_j
=============

P_j holds almost all of an LScat's weights. A structured P_j saves them: low rank (P_j = A B),
orientation-shared (weights that depend only on orientation differences) or grouped. Build each
in the same block, count its weights, and look at the dense matrix it stands for.
"""

import matplotlib.pyplot as plt
import torch

import phasecollapse as pc
from phasecollapse.models.complexity import complexity

structures = {
    "dense": "dense",
    "low rank 0.25": {"kind": "lowrank", "rank": 0.25},
    "orientation, cyclic": {"kind": "orientation", "symmetry": "cyclic"},
    "grouped, G = 4": {"kind": "grouped", "groups": 4},
}
fig, axes = plt.subplots(1, len(structures), figsize=(12, 3.2))
for ax, (name, spec) in zip(axes, structures.items()):
    model = pc.create_model("lscat_cifar10", width_factor=0.25, projection=spec)
    counts = complexity(model)
    weight = model.blocks[2].proj.complex_weight().detach()  # block 2's P_j as a dense complex matrix
    ax.imshow(weight.abs(), cmap="viridis", aspect="auto")
    ax.set_title(f"{name}\n{counts['projection_params']:,} P_j weights", fontsize=9)
    ax.set_xlabel("input channel of U")
    ax.set_ylabel("output channel")
fig.tight_layout()
plt.show()

# %%
# The structured operators run in the same blocks and train the same way:
x = torch.randn(2, 3, 32, 32)
print({name: tuple(pc.create_model("lscat_cifar10", width_factor=0.25, projection=spec)(x).shape) for name, spec in structures.items()})
