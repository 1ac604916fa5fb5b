"""
The building blocks on one image
================================

A filter bank, the wavelet transform W and the modulus: ``|x∗ψ_{j,θ}|`` for three scales j and the
four orientations θ of the CIFAR-10 banks, computed by cascading W with the bank F1 (which
subsamples by 2) on the low-pass x∗φ, as the blocks of an LScat do.
"""

import matplotlib.pyplot as plt
import torch

import phasecollapse as pc

# %%
# One image: a disc with oriented stripes, 32×32, one channel.
u = torch.arange(32.0) - 15.5
r, c = torch.meshgrid(u, u, indexing="ij")
image = ((r**2 + c**2 < 12**2) * (1 + torch.cos(0.9 * (r + 0.5 * c)))).float()[None, None]

# %%
# W with the bank F1: x ↦ (x∗φ, x∗ψ_θ) subsampled by 2; ρ = ``|·|`` collapses the phase.
bank = pc.filter_bank("F1", L=4)
W = pc.Wavelet(bank, in_channels=1, complex_input=False, algorithm="fft")
rho = pc.create_nonlinearity("mod", channels=4)

fig, axes = plt.subplots(3, 5, figsize=(10, 6))
x = image
for j in range(3):
    phi, psi = W(x)  # (1, 1, S/2, S/2), (1, 2·4, S/2, S/2) real pairs
    modulus = rho(psi)  # (1, 4, S/2, S/2)
    axes[j, 0].imshow(x[0, 0], cmap="gray")
    axes[j, 0].set_title(f"input, j = {j}", fontsize=8)
    for k in range(4):
        axes[j, k + 1].imshow(modulus[0, k].detach(), cmap="magma")
        axes[j, k + 1].set_title(f"|x∗ψ|, j = {j}, θ = {k}π/4", fontsize=8)
    x = phi  # the next scale reads the low-pass
for ax in axes.flat:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# The modulus is invariant to the phase of x∗ψ: multiplying the complex coefficients by
# e^{iα} changes them but not their modulus.
z = pc.to_complex(psi) * torch.exp(torch.tensor(0.7j))
assert torch.allclose(rho(pc.from_complex(z)), modulus, atol=1e-5)
print("‖x∗ψ‖ kept, phase collapsed:", float(modulus.norm()))
