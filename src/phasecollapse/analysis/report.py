"""``phasecollapse analyze …``: run a study, write ``NAME.json`` (numbers, provenance) and ``NAME.png``."""

from __future__ import annotations

import time

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ..data import cifar10, textures  # noqa: E402
from ..data.transforms import as_model_input  # noqa: E402
from ..layers.block import u_formula  # noqa: E402
from ..layers.filters import filter_bank  # noqa: E402
from ..models.lscat import LSCAT_PRESETS, LScat  # noqa: E402
from ..models.resnet import ResNet  # noqa: E402
from ..models.registry import full_options  # noqa: E402
from ..run.atomic import figure, json_file, write_files  # noqa: E402
from ..run.provenance import environment  # noqa: E402
from ..run.checkpoint import load_trained  # noqa: E402
from ..run.experiment import in_memory_splits  # noqa: E402
from .operators import effective_rank, energy_ranks, orientation_sharing, rank_survival, singular_values  # noqa: E402
from .relu import dead_zone_abs, relu_separation, soft_threshold  # noqa: E402
from .separation import separation_across_depth  # noqa: E402
from .skip import skip_path_separation  # noqa: E402
from .studies import STUDIES  # noqa: E402
from .symmetry import network_symmetry, wavelet_symmetry  # noqa: E402
from .translation import bank_translation_study, block_dilations, coarser, layer_translation_study  # noqa: E402
from .variability import lscat_stages, translation_variability  # noqa: E402


def _write(out: Path, name: str, payload: dict[str, Any], fig: plt.Figure, started: float) -> None:
    """``name``.json (payload, wall time since ``started`` = perf_counter() at the start, provenance)
    and ``name``.png, both or neither (:func:`~phasecollapse.run.atomic.write_files`)."""
    out.mkdir(parents=True, exist_ok=True)
    record = {**payload, "wall_s": time.perf_counter() - started, "environment": environment()}
    try:
        record_file = json_file(record, out / f"{name}.json")
        fig.tight_layout()
        write_files({out / f"{name}.json": record_file, out / f"{name}.png": figure(fig)})
    finally:
        plt.close(fig)
    print(f"wrote {out / name}.json and {out / name}.png")


def images(data: str, n: int, data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n test images (normalised float) and labels of ``textures`` or ``cifar10``."""
    if data == "textures":
        return textures.generate(4, max(1, n // 4), seed=1)
    if data == "cifar10":
        x, y = cifar10.load_split(data_dir, train=False)
        return as_model_input(x[:n]), y[:n]
    raise ValueError(f"unknown data {data!r}; expected 'textures' or 'cifar10'")


#: Shift directions of the translation study (rows, columns), unit norm.
TRANSLATION_DIRECTIONS = {"rows": (1.0, 0.0), "columns": (0.0, 1.0), "diagonal": (0.5**0.5, 0.5**0.5)}


def _blocks_at(bank: str, j: int) -> dict[str, list[int]]:
    """Blocks of each preset that apply ``bank`` at input stride 2^j (:func:`block_dilations`)."""
    dilations = {f"lscat_{ds}": block_dilations(len(p.widths), p.factorize_from, p.L) for ds, p in LSCAT_PRESETS.items()}
    return {net: [i for i, bj in enumerate(d) if bj == (bank, j)] for net, d in dilations.items()}


def _by_norm(values: list[float]) -> torch.Tensor:
    """Per-shift values (D·T,), direction-major → (D, T): D directions, T shift norms."""
    return torch.tensor(values, dtype=torch.float64).view(len(TRANSLATION_DIRECTIONS), -1)


def _summary(wavelets: list[dict[str, Any]], norms: torch.Tensor, at: tuple[float, ...]) -> dict[str, Any]:
    """Headline of one bank and dilation: max ratio E_x/(σ_x|τ|) (≤ 1), the largest fraction of
    images above σ|τ|, and at each |τ| in ``at``: the mean (over wavelets, directions, images) and
    max error, and the means of σ_x|τ| and of σ|τ| over wavelets."""
    index = [int((norms - t).abs().argmin()) for t in at]

    def at_norms(key: str, reduce: str) -> dict[str, float]:
        curves = torch.stack([_by_norm(w[key]) for w in wavelets])  # (K, D, T)
        curve = curves.mean((0, 1)) if reduce == "mean" else curves.amax((0, 1))
        return {f"{t:g}": float(curve[i]) for t, i in zip(at, index)}

    layer = {}
    for key in ("layer", "layer_interior"):  # dilation 2^0: measured through the W layer
        if f"{key}_ratio_max" in wavelets[0]:
            layer[f"{key}_ratio_max"] = max(r for w in wavelets for r in w[f"{key}_ratio_max"] if r is not None)
            layer[f"{key}_above_bound_fraction_max"] = max(f for w in wavelets for f in w[f"{key}_above_bound_fraction"])
            layer[f"{key}_error_mean"] = at_norms(f"{key}_error_mean", "mean")
    return {
        **layer,
        "ratio_max": max(r for w in wavelets for r in w["ratio_max"] if r is not None),
        "flat_exceeded_fraction_max": max(f for w in wavelets for f in w["flat_exceeded_fraction"]),
        "error_mean": at_norms("error_mean", "mean"),
        "error_max": at_norms("error_max", "max"),
        "bound_mean": at_norms("bound_mean", "mean"),
        "flat_prediction": at_norms("flat_prediction", "mean"),
    }


def _translation_panel(ax: plt.Axes, study: dict[str, Any], norms: torch.Tensor) -> None:
    """Per ψ_k vs |τ|: error mean over images and directions (solid) and max (dotted); the
    per-image bound σ_x|τ| from its mean to its max over images (band: its lower edge bounds the
    mean error, its upper edge the max); the flat-spectrum prediction σ|τ| (dashed)."""
    for w in study["wavelets"]:
        line = ax.plot(norms, _by_norm(w["error_mean"]).mean(0), "o-", ms=3, label=f"ψ_{w['k']} θ = {w['theta'] / torch.pi:+.2f}π")[0]
        ax.plot(norms, _by_norm(w["error_max"]).amax(0), ":", color=line.get_color())
        ax.fill_between(norms, _by_norm(w["bound_mean"])[0], _by_norm(w["bound_max"])[0], color=line.get_color(), alpha=0.12)
        ax.plot(norms, _by_norm(w["flat_prediction"])[0], "--", color=line.get_color(), alpha=0.7)
        if "layer_error_mean" in w:
            ax.plot(norms, _by_norm(w["layer_error_mean"]).mean(0), "x", ms=4, color=line.get_color())
    blocks = ", ".join(f"{net.split('_')[-1]} {b}" for net, b in study["blocks"].items() if b)
    ax.set(title=f"{study['name']}  (blocks: {blocks or 'none'})", xlabel="|τ| (input pixels)", ylim=(0, 2.1))  # E ≤ 2: |e^{iθ} − 1| ≤ 2
    summary = study["summary"]
    layer = f"; through W (×): {summary['layer_ratio_max']:.2f}, interior {summary['layer_interior_ratio_max']:.2f}" if "layer_ratio_max" in summary else ""
    ax.text(0.02, 0.97, f"max E/(σ_x|τ|) = {study['summary']['ratio_max']:.3f}{layer}", transform=ax.transAxes, va="top", fontsize=7)


def translation(out: Path, data: str, samples: int = STUDIES["translation"].samples, banks: tuple[str, ...] = ("N", "F0", "F1"), L: int = 4, dilations: tuple[int, ...] = (0, 1, 2), data_dir: str | None = None) -> dict[str, Any]:
    """Phase-shift errors E_x(τ) = ‖x_τ∗ψ − e^{−iξ·τ} x∗ψ‖/‖x∗ψ‖ of every ψ_k of each bank dilated
    by 2^j (the blocks at input stride 2^j, :mod:`.translation`), on gray images, for shifts of
    |τ| = 0 … 2 pixels along rows, columns and the diagonal; with the exact per-image bound σ_x|τ|
    and the flat-spectrum prediction σ|τ| (not a bound). N and F0 share their ψ_k (they differ in
    φ and subsampling), so their studies coincide."""
    started = time.perf_counter()
    x, _ = images(data, samples, data_dir)
    gray = x.mean(1)
    norms = torch.linspace(0, 2, 9, dtype=torch.float64)
    shifts = (torch.tensor(list(TRANSLATION_DIRECTIONS.values()), dtype=torch.float64)[:, None] * norms[:, None]).reshape(-1, 2)
    studies = []
    for j in dilations:
        for name in banks:
            wavelets = bank_translation_study(gray, coarser(filter_bank(name, L), j), shifts)
            if j == 0:  # the errors measured through the network's own W layer, beside the formula's
                wavelets = [{**w, **m} for w, m in zip(wavelets, layer_translation_study(gray, filter_bank(name, L), shifts))]
            study = {"bank": name, "j": j, "name": f"{name}@2^{j}", "blocks": _blocks_at(name, j), "wavelets": wavelets}
            studies.append({**study, "summary": _summary(wavelets, norms, (0.5, 1.0))})
    fig, axes = plt.subplots(len(dilations), len(banks), figsize=(4.2 * len(banks), 3.4 * len(dilations)), squeeze=False, sharey=True)
    for ax, study in zip(axes.flat, studies):
        _translation_panel(ax, study, norms)
    for ax in axes[:, 0]:
        ax.set_ylabel("‖x_τ∗ψ − e^{−iξ·τ} x∗ψ‖ / ‖x∗ψ‖")
    axes[0, 0].legend(fontsize=6, title="— mean, ··· max error; band σ_x|τ| (mean–max); -- σ|τ|", title_fontsize=6)
    fig.suptitle(f"translation as phase shift ({data}, {len(x)} images, L = {L})")
    payload = {"data": data, "images": len(x), "L": L, "directions": TRANSLATION_DIRECTIONS, "shift_norms": norms.tolist(), "shifts": shifts.tolist(), "studies": studies}
    _write(out, "translation", payload, fig, started)
    return payload


def separation(out: Path, checkpoints: list[str], samples: int = STUDIES["separation"].samples, probe: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    rows = {}
    for path in checkpoints:
        model, config = load_trained(path)
        rows[_network_label(config)] = {"checkpoint": str(path), "blocks": separation_across_depth(model, *_splits(config, samples), probe)}
    keys = ["fisher_ratio", "ncm_err"] + (["probe_err"] if probe else [])
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.8))
    for ax, key in zip(axes, keys):
        for label, r in rows.items():
            ax.plot([b["block"] for b in r["blocks"]], [b[key] for b in r["blocks"]], "o-", label=label)
        ax.set(xlabel="block", ylabel={"fisher_ratio": "Fisher ratio tr Σ_B / tr Σ_W", "ncm_err": "nearest-class-mean error (%)", "probe_err": "linear-probe error (%)"}[key])
        if key == "fisher_ratio" and all(b[key] > 0 for r in rows.values() for b in r["blocks"]):  # a ratio of 0 (no separation) has no log
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    _write(out, "separation", {"samples": samples, "models": rows}, fig, started)
    return rows


def _network_label(config: Any) -> str:
    """The model's name and its non-linearity (the option, else the model's default: ReLU for a ResNet)."""
    nonlinearity = full_options(config.model.name, config.model.options).get("nonlinearity")
    return config.model.name + (f" ({nonlinearity})" if nonlinearity else "")


def _splits(config: Any, samples: int) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    (xtr, ytr), _, (xte, yte) = in_memory_splits(config)
    return (as_model_input(xtr[:samples]), ytr[:samples]), (as_model_input(xte[:samples]), yte[:samples])


def _lscat(path: str, study: str) -> tuple[LScat, Any]:
    model, config = load_trained(path)
    if not isinstance(model, LScat):
        raise ValueError(f"analyze {study} reads the blocks of an LScat; {path} holds {config.model.name}")
    return model, config


def _excess(figure: dict[str, Any]) -> float:
    """A class-mean figure over its permutation floor (1 = at the floor)."""
    return figure["observed"] / figure["null_mean"]


def symmetry(out: Path, data: str, samples: int = STUDIES["symmetry"].samples, checkpoints: list[str] | None = None, data_dir: str | None = None, permutations: int = 20) -> dict[str, Any]:
    """x∗ψ of ``data`` images (bank F0, L = 4: block 1 of the CIFAR-10 LScat) and, per block,
    z_j, ρ(z_j) and x_j inside each trained LScat of ``checkpoints`` (:mod:`.symmetry`)."""
    started = time.perf_counter()
    x, y = images(data, samples, data_dir)
    image_level = wavelet_symmetry(x, y, filter_bank("F0", 4), permutations=permutations)
    networks = {}
    for path in checkpoints or []:
        model, config = _lscat(path, "symmetry")
        networks[_network_label(config)] = {"checkpoint": str(path), "blocks": network_symmetry(model, *_splits(config, samples)[1], permutations)}
    fig, axes = plt.subplots(1, 4 if networks else 2, figsize=(20 if networks else 10, 3.8), squeeze=False)
    axes = axes[0]
    tensors = image_level["tensors"]
    names = list(tensors)
    axes[0].bar(range(len(names)), [tensors[k]["class_means"]["observed"] for k in names], label="observed")
    axes[0].plot(range(len(names)), [tensors[k]["class_means"]["null_mean"] for k in names], "k_", ms=20, mew=2, label="label-permutation floor")
    axes[0].set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    axes[0].set(yscale="log", title=f"between-class share of energy, per position ({data})", ylabel="Σ p_c‖μ_c − μ‖² / E‖v‖²")
    axes[0].legend(fontsize=7)
    hist = torch.tensor(image_level["phase_given_modulus"])
    centres = (torch.arange(hist.shape[1]) + 0.5) / hist.shape[1] * 2 * torch.pi - torch.pi
    for q, h in enumerate(hist):
        axes[1].plot(centres, h, "o-", ms=3, label=f"|z| quartile {q + 1}")
    axes[1].set(title="phase of z = x∗ψ given its modulus", xlabel="arg z", ylabel="frequency", ylim=(0, None))
    axes[1].legend(fontsize=7)
    for label, net in networks.items():
        blocks = [b["block"] for b in net["blocks"]]
        line = axes[2].plot(blocks, [_excess(b["rho"]["class_means"]) for b in net["blocks"]], "o-", label=f"ρ(z_j), {label}")[0]
        axes[2].plot(blocks, [_excess(b["z"]["class_means"]) for b in net["blocks"]], "s--", color=line.get_color(), alpha=0.6, label=f"z_j, {label}")
        axes[3].plot(blocks, [b["z"]["pseudo_variance"] / b["z"]["pseudo_variance_null"] for b in net["blocks"]], "o-", color=line.get_color(), label=f"pseudo-variance, {label}")
        axes[3].plot(blocks, [b["z"]["phase_modulus_bits"] / b["z"]["phase_modulus_bits_null"] for b in net["blocks"]], "s--", color=line.get_color(), alpha=0.6, label=f"I(phase; modulus), {label}")
    if networks:
        axes[2].axhline(1, color="k", lw=0.8)
        axes[2].set(yscale="log", title="class means per position, over their floor", xlabel="block", ylabel="observed / permutation floor")
        axes[3].axhline(1, color="k", lw=0.8)
        axes[3].set(yscale="log", title="circular symmetry of z_j beyond the mean", xlabel="block", ylabel="observed / null floor")
        for ax in axes[2:]:
            ax.legend(fontsize=6)
    payload = {"data": data, "images": len(x), "permutations": permutations, "image_level": image_level, "networks": networks}
    _write(out, "symmetry", payload, fig, started)
    return payload


def relu(out: Path, checkpoint: str | None = None, samples: int = STUDIES["relu"].samples, permutations: int = 10) -> dict[str, Any]:
    """The identity ReLU = even + odd part, and (with a ResNet checkpoint) the class separation
    each part carries, layer by layer (:mod:`.relu`)."""
    started = time.perf_counter()
    y = torch.linspace(-3, 3, 601, dtype=torch.float64)
    b = 1.0
    lhs = torch.relu(y - b)
    rhs = dead_zone_abs(y, b) / 2 + soft_threshold(y, b) / 2
    payload: dict[str, Any] = {"threshold": b, "identity_max_abs_error": float((lhs - rhs).abs().max())}
    fig, axes = plt.subplots(1, 4 if checkpoint else 1, figsize=(20 if checkpoint else 5, 3.8), squeeze=False)
    axes = axes[0]
    axes[0].plot(y, lhs, "k", lw=3, alpha=0.4, label="ReLU(y − b)")
    axes[0].plot(y, dead_zone_abs(y, b) / 2, label="½ (|y| − b)₊  (even: collapses the sign)")
    axes[0].plot(y, soft_threshold(y, b) / 2, label="½ sign(y)(|y| − b)₊  (odd: preserves it)")
    axes[0].set(title=f"ReLU = even + odd part (b = {b})", xlabel="y")
    axes[0].legend(fontsize=7)
    if checkpoint:
        model, config = load_trained(checkpoint)
        if not isinstance(model, ResNet):
            raise ValueError(f"analyze relu measures the ReLUs of a ResNet; {checkpoint} holds {config.model.name}")
        layers = relu_separation(model, *_splits(config, samples), permutations)
        payload.update({"checkpoint": checkpoint, "samples": samples, "permutations": permutations, "layers": layers})
        idx = range(1, len(layers) + 1)
        for part, style in (("input", "x:"), ("even", "o-"), ("odd", "s-"), ("relu", "k.--")):
            line = axes[1].plot(idx, [r[part]["fisher"]["observed"] for r in layers], style, label=part)[0]
            axes[1].plot(idx, [r[part]["fisher"]["null_mean"] for r in layers], ":", color=line.get_color(), alpha=0.7)
            axes[2].plot(idx, [r[part]["ncm_err"] for r in layers], style, label=part)
        axes[1].set(yscale="log", title="Fisher ratio (dotted: permutation floor)", xlabel="ReLU layer", ylabel="tr Σ_B / tr Σ_W")
        axes[2].set(title="nearest-class-mean error", xlabel="ReLU layer", ylabel="error (%)")
        axes[3].bar(idx, [r["even_between_share"] for r in layers])
        axes[3].axhline(0.5, color="k", lw=0.8)
        axes[3].set(title="even part's share of tr Σ_B(E) + tr Σ_B(O)", xlabel="ReLU layer", ylim=(0, 1))
        for ax in axes[1:3]:
            ax.legend(fontsize=7)
    _write(out, "relu", payload, fig, started)
    return payload


SHIFTS = [(0, 1), (1, 0), (0, 2), (2, 0), (0, 4), (4, 0), (0, 8), (8, 0)]


def variability(out: Path, checkpoints: list[str], samples: int = STUDIES["variability"].samples) -> dict[str, Any]:
    """Translation variability per stage of each trained LScat (:mod:`.variability`)."""
    started = time.perf_counter()
    networks = {}
    for path in checkpoints:
        model, config = _lscat(path, "variability")
        x, _ = _splits(config, samples)[1]
        networks[_network_label(config)] = {"checkpoint": str(path), "stages": translation_variability(lscat_stages(model), x, SHIFTS)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for label, net in networks.items():
        stages = net["stages"]
        line = axes[0].plot(range(len(stages)), [s["variance_ratio"] for s in stages], "o-", label=label)[0]
        unit = [i for i, t in enumerate(SHIFTS) if max(t) == 1]
        axes[1].plot(range(len(stages)), [sum(s["relative_change"][i] for i in unit) / len(unit) for s in stages], "o-", color=line.get_color(), label=f"|τ| = 1, {label}")
        axes[1].plot(range(len(stages)), [s["other_image"] for s in stages], ":", color=line.get_color(), label=f"another image, {label}")
    names = [s["stage"] for s in next(iter(networks.values()))["stages"]] if networks else []
    for ax in axes:
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
        ax.legend(fontsize=6)
    axes[0].set(yscale="log", title="within-image (shifts) / across-image variance", ylabel="variance ratio")
    axes[1].set(title="relative change ‖Φ(x_τ) − Φ(x)‖ / ‖Φ(x)‖", ylabel="relative change")
    _write(out, "variability", {"samples": samples, "shifts": SHIFTS, "networks": networks}, fig, started)
    return networks


def skip(out: Path, checkpoints: list[str], samples: int = STUDIES["skip"].samples, probe: bool = True, permutations: int = 10) -> dict[str, Any]:
    """Class separation of the linear and the ρ path of U_j, per block (:mod:`.skip`)."""
    started = time.perf_counter()
    networks = {}
    for path in checkpoints:
        model, config = _lscat(path, "skip")
        networks[_network_label(config)] = {"checkpoint": str(path), "skip": model.blocks[0].skip, "u": u_formula(model.blocks[0].skip), "blocks": skip_path_separation(model, *_splits(config, samples), probe, permutations)}
    keys = ["probe_err", "ncm_err"] if probe else ["ncm_err"]
    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(5 * (len(keys) + 1), 3.8))
    for label, net in networks.items():
        blocks = [b["block"] for b in net["blocks"]]
        for name, style in zip(net["blocks"][0]["parts"], ("o-", "s-", "k.--")):
            for ax, key in zip(axes, keys):
                ax.plot(blocks, [b["parts"][name][key] for b in net["blocks"]], style, label=f"{name}, {label}")
            axes[-1].plot(blocks, [_excess(b["parts"][name]["fisher"]) for b in net["blocks"]], style, label=f"{name}, {label}")
    for ax, key in zip(axes, keys):
        ax.set(title={"probe_err": "linear probe on each part of Std(U_j)", "ncm_err": "nearest class mean"}[key], xlabel="block", ylabel="test error (%)")
    axes[-1].set(yscale="log", title="Fisher ratio over its permutation floor", xlabel="block", ylabel="observed / floor")
    for ax in axes:
        ax.legend(fontsize=6)
    _write(out, "skip", {"samples": samples, "permutations": permutations, "networks": networks}, fig, started)
    return networks


def operators(out: Path, checkpoint: str, samples: int = STUDIES["operators"].samples) -> dict[str, Any]:
    started = time.perf_counter()
    model, config = load_trained(checkpoint)
    if not isinstance(model, LScat):
        raise ValueError(f"analyze operators reads the P_j of an LScat; {checkpoint} holds {config.model.name}")
    _, _, (xte, _) = in_memory_splits(config)
    x = as_model_input(xte[:samples])
    rows, fig, orientation = [], plt.figure(figsize=(15, 3.8)), None
    ax1, ax2, ax3 = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)
    with torch.no_grad():
        for j, block in enumerate(model.blocks):
            s = singular_values(block.proj.complex_weight())
            n = len(s)
            ranks = sorted({max(1, round(n * f)) for f in (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)})
            survival = rank_survival(block, x, ranks)
            sharing = orientation_sharing(block, orientation)
            orientation = block.proj.output_orientation
            rows.append({"block": j + 1, "shape": list(block.proj.complex_weight().shape), "singular_values": s.tolist(), "effective_rank": effective_rank(s),
                         "energy_ranks": dict(zip(("50%", "90%", "99%"), energy_ranks(s))), "ranks": ranks, "survival": survival, "orientation_sharing": sharing})
            ax1.semilogy(range(1, n + 1), (s / s[0]).tolist(), label=f"P_{j + 1} (eff. rank {effective_rank(s):.0f}/{n})")
            ax2.plot([r / n for r in ranks], survival, "o-", label=f"P_{j + 1}")
            x = block(x)
    ax1.set(title="singular values of P_j (normalised)", xlabel="index", ylabel="s_i / s_1")
    ax2.set(title="output energy kept by a rank-r P_j", xlabel="r / full rank", ylabel="kept energy", ylim=(0, 1.02))
    for key, marker in (("cyclic", "o"), ("half_plane", "s"), ("basis_free", "^")):
        blocks = [r["block"] for r in rows if key in r["orientation_sharing"]]
        shares = [r["orientation_sharing"][key] for r in rows if key in r["orientation_sharing"]]
        line = ax3.plot(blocks, [v["fraction"] for v in shares], f"{marker}-", label=f"{key}: ‖Π(W)‖²/‖W‖²" if key != "basis_free" else "basis-free: ‖Π_G(WᴴW)‖²/‖WᴴW‖²")[0]
        ax3.plot(blocks, [v["null"] for v in shares], "--", color=line.get_color(), alpha=0.6, label=f"{key}: null ({'Gaussian' if key == 'basis_free' else 'unitary-init'} W)")
    ax3.set(title="orientation-shared energy of P_j", xlabel="block", ylabel="energy fraction", ylim=(0, 1.02))
    for ax in (ax1, ax2, ax3):
        ax.legend(fontsize=6)
    _write(out, "operators", {"checkpoint": checkpoint, "samples": samples, "blocks": rows}, fig, started)
    return {"blocks": rows}




def run_study(name: str, out: Path, checkpoints: list[str], data: str = "textures", data_dir: str | None = None, samples: int | None = None, probe: bool = True) -> dict[str, Any]:
    """Run the study ``name`` of :data:`~.studies.STUDIES` (unknown names and wrong numbers of
    checkpoints raise ValueError naming the choices); ``samples`` None: the study's default."""
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {list(STUDIES)}")
    study = STUDIES[name]
    study.check(checkpoints)
    if samples is not None and samples < 1:
        raise ValueError(f"--samples must be a positive number of images, got {samples}")
    kwargs: dict[str, Any] = {"samples": study.samples if samples is None else samples}
    if study.data:
        kwargs.update(data=data, data_dir=data_dir)
    if study.probe:
        kwargs["probe"] = probe
    if study.checkpoints == (1, 1) or study.checkpoints == (0, 1):
        kwargs["checkpoint"] = checkpoints[0] if checkpoints else None
    elif study.checkpoints[1] != 0:
        kwargs["checkpoints"] = checkpoints
    return globals()[name](out, **kwargs)
