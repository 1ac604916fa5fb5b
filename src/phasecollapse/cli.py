"""The ``phasecollapse`` command line.

    phasecollapse train CONFIG|PRESET [--set section.key=value …] [--resume] [--data-dir DIR]
    phasecollapse eval CHECKPOINT|WEIGHTS [--data-dir DIR] [--set …] [--flip]
    phasecollapse export-weights CHECKPOINT --name NAME --out DIR
    phasecollapse reproduce table1|table2|table3|pj_tradeoff|recipe|curve [--budget cpu|paper] [--only ROW …]
    phasecollapse models [--params | --weights]
    phasecollapse presets
    phasecollapse demo [--out DIR] [--data-dir DIR]
    phasecollapse bench train --model NAME --batch-size B --steps N [--compare gauss|passes] [--precision fp32] | bench profile --model NAME | bench scat | bench matmul | bench build
    phasecollapse analyze STUDY [CHECKPOINT|WEIGHTS …] [--out DIR]   (the studies: analyze -h, analysis/studies.py)

Experiments are config files, or presets shipped in the package (``cifar10/lscat_skip``,
``budget/textures``, … : ``phasecollapse presets``); ``--set`` overrides any key, validated.
``--data-dir`` names the data set's root in every subcommand (CIFAR-10: the folder holding
``cifar-10-batches-py``; default ``$PHASECOLLAPSE_CIFAR10_DIR``); it sets ``data.root``.
Multi-GPU / multi-node: ``torchrun --nproc_per_node=N -m phasecollapse train CONFIG``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .analysis.studies import STUDIES
from .bench.speed import COMPARISONS
from .run.allocator import keep_freed_memory


def not_a_file(out: Path) -> None:
    """Raise a one-line error when ``out`` or a folder above it is a file."""
    blocker = next((p for p in (out, *out.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ValueError(f"cannot write results to {out}: {blocker} is a file, not a folder")


def writable_dir(path: str) -> Path:
    """Create ``path`` and check it takes files, before any long computation writes there."""
    out = Path(path)
    not_a_file(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"cannot write results to {out}: {err.strerror or err}") from err
    return out


def _train(args: argparse.Namespace) -> int:
    from .run.config import load_config
    from .run.train import fit, note_unused_root

    config = load_config(args.config, [*args.set, *([f"data.root={args.data_dir}"] if args.data_dir else [])])
    note_unused_root(args.data_dir, config.data.dataset)
    summary = fit(config, resume=args.resume, overwrite=args.overwrite)
    print(json.dumps({k: summary[k] for k in ("model", "best_top1_err", "best_top5_err", "best_epoch", "wall_s")}, indent=2))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .run.train import evaluate_checkpoint

    print(json.dumps(evaluate_checkpoint(args.checkpoint, args.data_dir, args.set, args.flip), indent=2))
    return 0


def _export_weights(args: argparse.Namespace) -> int:
    from .run.weights import export_weights

    entry = export_weights(args.checkpoint, args.name, args.out, args.data_dir)
    print(f"wrote {Path(args.out) / entry['file']} (test error {entry['test_top1_err']:.2f} %, sha256 {entry['sha256'][:12]}…) and its manifest entry {args.name!r}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from .models import create_model, list_models
    from .models.pretrained import manifest

    if args.weights:
        for name, e in sorted(manifest().items()):
            print(f"{name}  {e['model']} {json.dumps(e['options'], sort_keys=True)}  {e['test_top1_err']:.2f} % test error ({e['dataset']}, epoch {e['epoch']})")
        return 0
    for name in list_models():
        line = name
        if args.params:
            line += f"  {sum(p.numel() for p in create_model(name).parameters()):,}"
        print(line)
    return 0


def _presets(args: argparse.Namespace) -> int:
    from .run.config import list_presets

    print("\n".join(list_presets()))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    writable_dir(args.out)
    run_demo(args.out, args.data_dir)
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from .analysis import report

    out = writable_dir(args.out)
    study = STUDIES[args.study]
    if args.data_dir and (not study.data or args.data == "textures"):
        why = "the textures data set is generated, not read" if study.data else f"analyze {args.study} reads the data set of each checkpoint's config"
        print(f"phasecollapse analyze: note: --data-dir {args.data_dir} is unused: {why}", file=sys.stderr)
    report.run_study(args.study, out, args.checkpoints, args.data, args.data_dir, args.samples, not args.no_probe)
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from .run.reproduce import reproduce

    if args.table_only:
        not_a_file(Path(args.out))  # and create nothing: a table with no finished run is not written
    else:
        writable_dir(args.out)
    reproduce(args.table, args.budget, args.only, args.out, args.data_dir, train=not args.table_only, settings=args.set)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench.speed import bench_scat, bench_train

    for name, value, least in (("--steps", args.steps, 1), ("--warmup", args.warmup, 0), ("--batch-size", args.batch_size, 1)):
        if value < least:
            raise ValueError(f"{name} must be ≥ {least}, got {value}")
    if args.compare is not None and args.what != "train":
        raise ValueError("--compare applies to bench train only")
    writable_dir(args.out)
    if args.what == "profile":
        from .bench.profile import bench_profile

        bench_profile(args.model or "lscat_skip_cifar10", args.batch_size, args.steps, args.warmup, args.width_factor, args.device, str(Path(args.out) / "profile"), use_compile=not args.no_compile, precision=args.precision)
    elif args.what == "train":
        bench_train(args.model or "lscat_skip_cifar10", args.batch_size, args.steps, args.warmup, args.width_factor, args.device, args.out, use_compile=not args.no_compile, compare=args.compare, precision=args.precision)
    elif args.what == "matmul":
        from .bench.matmul import bench_matmul

        bench_matmul(args.out, args.steps)
    elif args.what == "build":
        from .bench.build import MODELS, bench_build

        bench_build(args.out, MODELS if args.model is None else (args.model,), args.steps, args.warmup)
    else:
        bench_scat(args.batch_size, args.steps, args.warmup, args.device, args.out)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="phasecollapse", description="Phase-collapse networks (Guth, Zarka, Mallat, ICLR 2022)")
    p.add_argument("--version", action="version", version=f"phasecollapse {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the experiment of a config file")
    t.add_argument("config", help="a TOML config file, or a packaged preset when no such file exists (e.g. cifar10/lscat_skip, budget/textures; `phasecollapse presets` lists them)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. optim.lr=0.05 (repeatable)")
    t.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    t.add_argument("--overwrite", action="store_true", help="start over in an OUT_DIR that holds a run (deletes its checkpoints, metrics and results)")
    t.add_argument("--data-dir", help="data root (sets data.root; CIFAR-10 default: $PHASECOLLAPSE_CIFAR10_DIR)")
    t.set_defaults(run=_train)
    e = sub.add_parser("eval", help="evaluate a checkpoint, or published weights by name, on its test set")
    e.add_argument("checkpoint", help="a checkpoint file, or the name of published weights (phasecollapse models --weights)")
    e.add_argument("--data-dir", help="data root, if it moved since training")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    e.add_argument("--flip", action="store_true", help="flip test-time augmentation: the mean of the logits of each image and its mirror image")
    e.set_defaults(run=_eval)
    w = sub.add_parser("export-weights", help="publish a trained checkpoint: NAME.safetensors (evaluated weights, fp32) and its manifest entry and model card in DIR")
    w.add_argument("checkpoint", help="last.pt or best.pt of a finished run (its results.json beside it)")
    w.add_argument("--name", required=True, help="the weights' name (create_model(MODEL, pretrained=NAME))")
    w.add_argument("--out", required=True, help="the weights folder (the package's: src/phasecollapse/weights)")
    w.add_argument("--data-dir", help="the test set's data root, if it moved since training (the export measures the weights' test error)")
    w.set_defaults(run=_export_weights)
    r = sub.add_parser("reproduce", help="run every row of a poster table (resumable), then write it beside the poster's numbers")
    from .run.reproduce import tables

    r.add_argument("table", help=f"a table of configs/reproduce/ ({', '.join(tables())})")
    r.add_argument("--budget", choices=["cpu", "paper"], default="cpu", help="cpu: the packaged budget recipes, presets budget/… (default); paper: the paper's recipes (for a GPU)")
    r.add_argument("--only", nargs="+", metavar="ROW", help="run only these rows (names in the packaged table definition phasecollapse/configs/reproduce/TABLE.toml)")
    r.add_argument("--out", default="results/reproduce", help="where the runs and the table go")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting that leaves results unchanged (train.device, train.compile, data.workers, ...), repeatable")
    r.add_argument("--table-only", action="store_true", help="train nothing: write the table from the runs finished so far")
    r.add_argument("--data-dir", help="CIFAR-10 root (default: $PHASECOLLAPSE_CIFAR10_DIR)")
    r.set_defaults(run=_reproduce)
    m = sub.add_parser("models", help="list the model registry")
    m.add_argument("--params", action="store_true", help="also print parameter counts (builds every model)")
    m.add_argument("--weights", action="store_true", help="list the published weights instead: name, model, options, test error")
    m.set_defaults(run=_models)
    ps = sub.add_parser("presets", help="list the packaged config presets (for train CONFIG)")
    ps.set_defaults(run=_presets)
    d = sub.add_parser("demo", help="phase collapse vs complex soft-thresholding on embedded textures (~3 min on 2 CPU cores)")
    d.add_argument("--out", default="demo_output", help="output directory for the table and plots")
    d.add_argument("--data-dir", default=None, help="CIFAR-10 root for an extra short run (default: $PHASECOLLAPSE_CIFAR10_DIR if set)")
    d.set_defaults(run=_demo)
    b = sub.add_parser("bench", help="training-step and scattering throughput, reference vs fast path")
    b.add_argument("what", choices=["train", "profile", "scat", "matmul", "build"])
    b.add_argument("--model", default=None, help="train, profile: the model (default lscat_skip_cifar10); build: one model (default: the LScat presets)")
    b.add_argument("--width-factor", type=float, default=None, help="multiplier of the LScat widths (model option width_factor)")
    b.add_argument("--batch-size", type=int, default=128)
    b.add_argument("--steps", type=int, default=5, help="timed steps per side")
    b.add_argument("--warmup", type=int, default=2)
    b.add_argument("--device", default="cpu", help="cpu or cuda")
    b.add_argument("--no-compile", action="store_true", help="fast side without torch.compile (skips ~2 min of compilation)")
    b.add_argument("--compare", choices=sorted(COMPARISONS), default=None, help="train: time the fast step in two variants instead of authors vs fast: gauss, the fused Std + P_j with four real products and with Gauss's three; passes, its element-wise passes as written and compiled")
    b.add_argument("--precision", choices=["bf16", "fp32"], default="bf16", help="train, profile: the fast side's precision (fp32 on CPUs that emulate bf16: bench matmul)")
    b.add_argument("--out", default="results/bench")
    b.set_defaults(run=_bench)
    a = sub.add_parser("analyze", help="measure why phase collapse works (JSON + PNG)", description="\n".join(f"{x.usage()}\n    {x.measures}" for x in STUDIES.values()), formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("study", choices=list(STUDIES))
    a.add_argument("checkpoints", nargs="*", help="trained checkpoints, or names of published weights (how many, of which network: see above)")
    a.add_argument("--out", default="results/analysis", help="output directory")
    a.add_argument("--data", default="textures", choices=["textures", "cifar10"], help=f"images for {', '.join(n for n, x in STUDIES.items() if x.data)}")
    a.add_argument("--data-dir", default=None, help="CIFAR-10 root (default: $PHASECOLLAPSE_CIFAR10_DIR)")
    a.add_argument("--samples", type=int, default=None, help="images per split (default: " + ", ".join(f"{n} {x.samples}" for n, x in STUDIES.items()) + ")")
    a.add_argument("--no-probe", action="store_true", help=f"skip the linear probes of {', '.join(n for n, x in STUDIES.items() if x.probe)} (faster)")
    a.set_defaults(run=_analyze)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    keep_freed_memory()
    try:
        data_dir = getattr(args, "data_dir", None)
        if data_dir and not Path(data_dir).is_dir():
            raise ValueError(f"--data-dir {data_dir}: no such folder")
        return args.run(args)
    except (ValueError, TypeError, OSError, RuntimeError) as err:
        message = f"{err.filename}: {err.strerror}" if isinstance(err, OSError) and err.filename and err.strerror else str(err)  # not "[Errno N] …"
        print(f"phasecollapse {args.command}: error: {' '.join(line.strip() for line in message.splitlines() if line.strip())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
