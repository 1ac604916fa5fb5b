"""Markdown tables of a study's record (``results/analysis/NAME.json``), for the docs and users.

``markdown(name, record)`` renders the headline table of the studies that have one
(:data:`RENDERERS`); the docs build includes them, so no number of a study is typed by hand.
Networks are labelled by the non-linearity of their checkpoint (``"… (mod)"`` → ``mod``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..run.render import table

Record = dict[str, Any]


def _table(header: list[str], rows: list[list[str]]) -> str:
    return table(header, rows) + "\n"


def _net(label: str) -> str:
    """``"lscat_skip_cifar10 (mod)"`` → ``"mod"``; any other label as it is."""
    return label.rsplit("(", 1)[1].rstrip(")") if label.endswith(")") and "(" in label else label


def _pair(values: dict[str, float], digits: int = 3) -> str:
    return " / ".join(f"{v:.{digits}f}" for v in values.values())


def translation(record: Record) -> str:
    """Per bank and dilation a CIFAR-10 LScat uses: mean error, mean bound σ_x|τ| and flat-spectrum
    prediction σ|τ| at the summary's shift norms, then the ratio and fraction above the bound
    measured through the network's W (whole map and interior)."""
    used = [s for s in record["studies"] if s["blocks"].get("lscat_cifar10")]
    norms = " / ".join(used[0]["summary"]["error_mean"])
    rows = [[f"{s['bank']} @ 2^{s['j']}", ", ".join(str(b + 1) for b in s["blocks"]["lscat_cifar10"]), _pair(s["summary"]["error_mean"]), _pair(s["summary"]["bound_mean"]), _pair(s["summary"]["flat_prediction"])] for s in used]
    first = _table(["bank @ dilation", "CIFAR-10 blocks", f"mean error (\\|τ\\| = {norms} px)", "bound σ_x\\|τ\\| (mean)", "prediction σ\\|τ\\|"], rows)
    layer = [
        [f"{s['bank']} @ 2^{s['j']}", f"{s['summary']['ratio_max']:.3f}", f"{s['summary']['layer_ratio_max']:.2f}", f"{100 * s['summary']['layer_above_bound_fraction_max']:.0f} %", f"{s['summary']['layer_interior_ratio_max']:.2f}", f"{100 * s['summary']['layer_interior_above_bound_fraction_max']:.0f} %"]
        for s in record["studies"]
        if "layer_ratio_max" in s["summary"]
    ]
    second = _table(["bank @ dilation", "max error / σ_x\\|τ\\|, formula", "through W: max ratio", "images above the bound", "interior: max ratio", "interior: above the bound"], layer) if layer else ""
    return first + ("\n" + second if second else "")


def symmetry(record: Record) -> str:
    """First-layer class means per position (share of energy against its permutation floor, and
    the z-score) for each tensor of the image-level study."""
    tensors = record["image_level"]["tensors"]
    cm = {name: t["class_means"] for name, t in tensors.items()}
    return _table(["v (first layer)", *cm], [["share / floor", *(f"{c['observed']:.4f} / {c['null_mean']:.4f}" for c in cm.values())], ["z-score over the floor", *(f"{c['z']:.1f}" for c in cm.values())]])


def _per_block(networks: dict[str, Any], key: str, measures: list[tuple[str, Callable[[dict[str, Any]], float], str]]) -> str:
    blocks = [b["block"] for b in next(iter(networks.values()))[key]]
    rows = [[f"{title}, {_net(net)}", *(fmt.format(get(b)) for b in n[key])] for title, get, fmt in measures for net, n in networks.items()]
    return _table(["block", *map(str, blocks)], rows)


def separation(record: Record) -> str:
    """Fisher ratio, nearest-class-mean and linear-probe error per block and network."""
    measures = [("Fisher ratio", lambda b: b["fisher_ratio"], "{:.3f}"), ("NCM error %", lambda b: b["ncm_err"], "{:.1f}")]
    if "probe_err" in next(iter(record["models"].values()))["blocks"][0]:
        measures.append(("linear-probe error %", lambda b: b["probe_err"], "{:.1f}"))
    return _per_block(record["models"], "blocks", measures)


def skip(record: Record) -> str:
    """Per network and part of U (and all of U): linear-probe error per block (NCM error without
    probes), with the Fisher ratio's z-score over its permutation floor."""
    rows, blocks = [], None
    for net, n in record["networks"].items():
        blocks = [b["block"] for b in n["blocks"]]
        for part in n["blocks"][0]["parts"]:
            key = "probe_err" if "probe_err" in n["blocks"][0]["parts"][part] else "ncm_err"
            what = "probe" if key == "probe_err" else "NCM"
            rows.append([f"{_net(net)}: {what} error %, {part}", *(f"{b['parts'][part][key]:.1f}" for b in n["blocks"])])
            rows.append([f"{_net(net)}: Fisher z over floor, {part}", *(f"{b['parts'][part]['fisher']['z']:.0f}" for b in n["blocks"])])
    return _table(["block", *map(str, blocks or [])], rows)


def variability(record: Record) -> str:
    """Within-image (over shifts) / across-image variance of each ρ(z_j), per network."""
    networks = record["networks"]
    stages = [s["stage"] for s in next(iter(networks.values()))["stages"] if s["stage"].startswith("ρ")]
    rows = [[_net(net), *(f"{s['variance_ratio']:.2f}" for s in n["stages"] if s["stage"].startswith("ρ"))] for net, n in networks.items()]
    return _table(["stage", *stages], rows)


def operators(record: Record) -> str:
    """Per block's P_j (K × N): effective rank, singular values holding 90 % of ‖W‖², energy kept
    at rank ¼ min(K, N), orientation-shared energy (half plane) and basis-free equivariance, each
    against its null."""
    blocks = record["blocks"]

    def quarter(b: dict[str, Any]) -> str:
        k = -(-min(b["shape"]) // 4)  # ⌈min(K, N) / 4⌉
        return f"{b['survival'][b['ranks'].index(k)]:.2f}" if k in b["ranks"] else "–"

    rows = [
        ["W_j (K × N)", *(f"{b['shape'][0]} × {b['shape'][1]}" for b in blocks)],
        ["effective rank / min(K, N)", *(f"{b['effective_rank']:.1f} / {min(b['shape'])}" for b in blocks)],
        ["singular values for 90 % of ‖W‖²", *(str(b["energy_ranks"]["90%"]) for b in blocks)],
        ["output energy kept at rank ¼ min(K, N)", *(quarter(b) for b in blocks)],
        ["orientation-shared energy, half plane / null", *(f"{b['orientation_sharing']['half_plane']['fraction']:.2f} / {b['orientation_sharing']['half_plane']['null']:.2f}" for b in blocks)],
        ["basis-free equivariance ‖Π_G(WᴴW)‖²/‖WᴴW‖² / null", *(f"{b['orientation_sharing']['basis_free']['fraction']:.2f} / {b['orientation_sharing']['basis_free']['null']:.2f}" for b in blocks)],
    ]
    return _table(["block", *(str(b["block"]) for b in blocks)], rows)


#: The studies with a headline table.
RENDERERS: dict[str, Callable[[Record], str]] = {"translation": translation, "symmetry": symmetry, "separation": separation, "skip": skip, "variability": variability, "operators": operators}


def markdown(name: str, record: Record) -> str:
    """The table of study ``name`` (a key of :data:`RENDERERS`) from its record."""
    if name not in RENDERERS:
        raise ValueError(f"no table for study {name!r}; tables exist for {list(RENDERERS)}")
    return RENDERERS[name](record)
