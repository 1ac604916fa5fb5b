"""Fast kernels: the paper's maths of :mod:`phasecollapse.layers` scheduled faster.

Tensors in, tensors out, never a module, and no import of a layer, model or run module. Each
kernel is held to its paper twin in ``layers/`` by a test (forward and gradient). Layers call
them when built with ``fast=True`` (the model option ``fast``, default on):

| kernel                          | paper twin                                         |
|---------------------------------|----------------------------------------------------|
| :func:`.modulus.modulus`        | |z| in :mod:`phasecollapse.layers.nonlinearities`  |
| :func:`.normalize.normalize`    | :class:`phasecollapse.layers.normalization.Normalization` |
| :func:`.std_projection.standardize_project` | P_j ∘ Std of a block (:mod:`phasecollapse.layers.block`) |
| :mod:`.banded`                  | W's spatial operator as one dense matrix product    |
| :mod:`.dtype`                   | (the dtype each product computes in: `compute_dtype`, `operator_dtype`) |
| :mod:`.mixed`                   | (per-column ↔ per-channel vectors of the mixed layout, used by Std and its kernel) |
| :mod:`.std_passes`              | (the fused Std + P_j's element-wise passes; bf16 ones compiled on the CPU) |
"""
