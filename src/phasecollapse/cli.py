"""The ``phasecollapse`` command line.

    phasecollapse train CONFIG [--set section.key=value …] [--resume]
    phasecollapse eval CHECKPOINT [--data-dir DIR] [--set …]
    phasecollapse models
    phasecollapse demo [--out DIR] [--cifar10 DIR]

Experiments are config files (``configs/``); ``--set`` overrides any key, validated.
Multi-GPU / multi-node: ``torchrun --nproc_per_node=N -m phasecollapse train CONFIG``.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__


def _train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .train import fit

    config = load_config(args.config, args.set)
    summary = fit(config, resume=args.resume)
    print(json.dumps({k: summary[k] for k in ("model", "best_top1_err", "best_top5_err", "best_epoch", "wall_s")}, indent=2))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .train import evaluate_checkpoint

    print(json.dumps(evaluate_checkpoint(args.checkpoint, args.data_dir, args.set), indent=2))
    return 0


def _models(args: argparse.Namespace) -> int:
    from .models import create_model, list_models

    for name in list_models():
        line = name
        if args.params:
            line += f"  {sum(p.numel() for p in create_model(name).parameters()):,}"
        print(line)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.out, args.cifar10)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="phasecollapse", description="Phase-collapse networks (Guth, Zarka, Mallat, ICLR 2022)")
    p.add_argument("--version", action="version", version=f"phasecollapse {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the experiment of a config file")
    t.add_argument("config", help="TOML config (see configs/)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. optim.lr=0.05 (repeatable)")
    t.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    t.set_defaults(run=_train)
    e = sub.add_parser("eval", help="evaluate a checkpoint on its test set")
    e.add_argument("checkpoint")
    e.add_argument("--data-dir", help="data root, if it moved since training")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    e.set_defaults(run=_eval)
    m = sub.add_parser("models", help="list the model registry")
    m.add_argument("--params", action="store_true", help="also print parameter counts (builds every model)")
    m.set_defaults(run=_models)
    d = sub.add_parser("demo", help="phase collapse vs complex soft-thresholding on embedded textures (~3 min on 2 CPU cores)")
    d.add_argument("--out", default="demo_output", help="output directory for the table and plots")
    d.add_argument("--cifar10", default=None, help="CIFAR-10 root for an extra short run (default: $PHASECOLLAPSE_CIFAR10_DIR if set)")
    d.set_defaults(run=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"phasecollapse {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
