"""``phasecollapse export-weights CHECKPOINT --name NAME --out DIR``: publish a trained checkpoint.

Writes ``DIR/NAME.safetensors`` (:func:`~phasecollapse.models.pretrained.weights_bytes`: the
weights the run evaluated, :func:`~phasecollapse.run.checkpoint.evaluated_state`, in fp32, with
the model name and options), adds or replaces the entry NAME of ``DIR/manifest.json`` (file,
SHA-256, model, options, data set, the test error measured from the exported weights by
``phasecollapse eval``'s code path, beside the one the run's own, compiled, evaluation recorded in
``results.json``, the recipe, commit and commands) and rewrites the model cards ``DIR/README.md`` from the
manifest, the three files together (:func:`~phasecollapse.run.atomic.write_files`). The published weights of the package are ``src/phasecollapse/weights``
(:data:`~phasecollapse.models.pretrained.WEIGHTS_DIR`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from ..models.pretrained import MANIFEST_FORMAT, manifest, weights_bytes
from .atomic import text, write_files
from .checkpoint import CheckpointError, evaluated_state, load, load_model_state
from .config import CONFIG_DIR, UNHASHED, config_hash, from_dict, load_config
from .experiment import build_model
from .provenance import command, finished_run, machines_of
from .train import evaluate_trained

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

#: The largest gap (points) between the measured and the recorded test error of an export: beyond
#: it the weights are not the ones the run evaluated. Below it, bf16 rounding of the compiled
#: training-time evaluation against the eager one (0.08 points measured on a cst network).
MAX_ERROR_GAP = 1.0


def checkpoint_errors(results: dict[str, Any], epoch: int, path: Path) -> tuple[float, float]:
    """(top-1, top-5) test error (%) ``results.json`` records for the checkpoint of ``epoch``
    (the run's final epoch, last.pt, or its best, best.pt)."""
    if results["final"]["epoch"] == epoch:
        return results["final"]["test_top1_err"], results["final"]["test_top5_err"]
    if results["best_epoch"] == epoch:
        return results["best_top1_err"], results["best_top5_err"]
    raise CheckpointError(f"checkpoint {path} is of epoch {epoch}, neither the final ({results['final']['epoch']}) nor the best ({results['best_epoch']}) epoch of its results.json")


def export_weights(checkpoint: str | os.PathLike[str], name: str, out: str | os.PathLike[str], data_root: str | None = None) -> dict[str, Any]:
    """Export ``checkpoint`` as the weights NAME in ``out`` (see the module docstring); returns the
    entry. ``data_root``: the test set, if it moved since training."""
    if not NAME.fullmatch(name):
        raise ValueError(f"weights name {name!r} must be letters, digits, '_', '.' or '-' (it names the file)")
    path, out = Path(checkpoint), Path(out)
    ckpt = load(path)
    results_path = path.parent / "results.json"
    if not results_path.is_file():
        raise CheckpointError(f"no results.json beside {path}: export the checkpoint of a finished run")
    results = finished_run(path.parent)
    run_top1, run_top5 = checkpoint_errors(results, ckpt["epoch"], path)
    config = from_dict(ckpt["config"])
    model = build_model(config)
    load_model_state(model, evaluated_state(ckpt), path)
    measured = evaluate_trained(model, config, data_root)
    top1, top5 = measured["test_top1_err"], measured["test_top5_err"]
    if abs(top1 - run_top1) > MAX_ERROR_GAP:
        raise CheckpointError(f"{path}: its weights measure {top1:.2f} % test error, its run recorded {run_top1:.2f} %: not the weights that run evaluated")
    entries = manifest(out)  # read before writing anything: a broken manifest stops the export
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.safetensors"
    data = weights_bytes(model.state_dict(), config.model.name, config.model.options)
    env = results["environment"]
    # The recipe without where it ran, but with the precision its final epoch was evaluated in,
    # so that evaluating the published weights by it measures the recorded error.
    recipe = {s: {k: v for k, v in table.items() if (s, k) not in UNHASHED - {("train", "precision")}} for s, table in config.to_dict().items()}
    entries[name] = {
        "file": target.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "model": config.model.name,
        "options": config.model.options,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dataset": config.data.dataset,
        "epoch": ckpt["epoch"],
        "test_top1_err": top1,
        "test_top5_err": top5,
        "run_test_top1_err": run_top1,
        "run_test_top5_err": run_top5,
        "config": recipe,
        "config_hash": config_hash(config),
        "commit": env["git_commit"],
        "machine": machines_of(results),
        "train_command": env["command"],
        "export_command": command(),
    }
    write_files({target: lambda f: f.write(data), out / "manifest.json": text(json.dumps({"format": MANIFEST_FORMAT, "weights": dict(sorted(entries.items()))}, indent=2) + "\n"), out / "README.md": text(model_cards(entries))})
    return entries[name]


def paper_epochs(dataset: str) -> int | None:
    """Epochs of the paper's recipe for ``dataset`` (the packaged preset ``DATASET/base``), None
    for a data set the paper does not train on."""
    preset = CONFIG_DIR / dataset / "base.toml"
    return load_config(str(preset)).optim.epochs if preset.is_file() else None


def model_cards(entries: dict[str, dict[str, Any]]) -> str:
    """``README.md`` of a weights folder: one model card per manifest entry."""
    lines = [
        "# Published weights",
        "",
        "Model cards generated from `manifest.json` by `phasecollapse export-weights` (do not edit by hand).",
        "Load with `phasecollapse.create_model(MODEL, pretrained=NAME)`; weights are safetensors (no pickle),",
        "checked against their SHA-256. Licence BSD-3-Clause, as the code; cite the paper (`CITATION.cff`).",
    ]
    for name, e in sorted(entries.items()):
        recipe = e["config"]
        lines += [
            "",
            f"## {name}",
            "",
            f"- Model: `{e['model']}` with options `{json.dumps(e['options'], sort_keys=True)}` ({e['parameters']:,} parameters).",
            f"- Test error on {e['dataset']}: **{e['test_top1_err']:.2f} %** top-1, {e['test_top5_err']:.2f} % top-5 (epoch {e['epoch']}; `phasecollapse eval {name}`"
            + (f"; the run's compiled evaluation recorded {e['run_test_top1_err']:.2f} %)." if "run_test_top1_err" in e else ")."),
            f"- Recipe: {recipe['optim']['epochs']} epochs, lr {recipe['optim']['lr']}, schedule {recipe['optim']['schedule']}, batch {recipe['data']['batch_size']}; config hash `{e['config_hash']}` (the full recipe is the entry's `config`).",
            f"- Trained by `{e['train_command']}` at commit `{e['commit']}`; exported by `{e['export_command']}`.",
            f"- File `{e['file']}`, SHA-256 `{e['sha256']}`.",
            *([f"- What it is not: the paper's training. It trained {recipe['optim']['epochs']} epochs at a CPU budget on {e['machine']}; the paper's {e['dataset']} recipe runs {paper} epochs, so its error sits above the poster's (the docs' reproduction tables set the two side by side)."] if (paper := paper_epochs(e["dataset"])) else []),
            "- Intended use: research on phase collapse and reproduction of the paper; not evaluated for any deployment.",
        ]
    return "\n".join(lines) + "\n"
