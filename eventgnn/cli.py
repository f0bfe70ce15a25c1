"""The ``eventgnn`` command: the only module that reads ``argv``.

Each subcommand parses its arguments here and calls the library with plain values or config
dataclasses; nothing below this module sees an argparse namespace. The built-in default data is
resolved here, so training never reaches into the generator. Each subcommand imports what it runs
when it runs: ``eventgnn --help`` and ``eventgnn convert`` do not load torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path


def _add_common_training(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="folder of Parquet shards (default: the built-in dataset)")
    p.add_argument(
        "--epochs", type=int, help="maximum number of epochs (early stopping may end sooner)"
    )
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--out", help="run directory to write")
    p.add_argument("--config", help="YAML config file")
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="dotted config overrides")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand. Long (one block of declarations per subcommand,
    no logic): read as a flat list, it is the command-line reference."""
    parser = argparse.ArgumentParser(
        prog="eventgnn",
        description="Graph-network event classification: pretrain, finetune, evaluate, compare.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "convert", help="convert Delphes / NanoAOD / ntuple / Parquet files to Parquet shards"
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--format", default="auto", choices=["auto", "delphes", "nanoaod", "ntuple", "parquet"]
    )
    _add_reader_options(p)
    p.add_argument("--process", help="process name stored in the record (default: the file name)")
    p.add_argument(
        "--chunk-size",
        type=int,
        help="entries converted at a time (bounded memory; one shard each; default 500,000); "
        "0: whole files",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="remake shards in --out that were made from other inputs or options "
        "(default: stop and say what differs)",
    )
    p.set_defaults(handler=cmd_convert)

    p = sub.add_parser("generate", help="generate events with Pythia 8 + fastjet + detector model")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--process", help="process name(s), comma-separated")
    g.add_argument("--catalog", help="catalog name (for example pretrain12)")
    p.add_argument("--lhe", help="MadGraph LHE file (plain or .gz) to shower; needs --process")
    p.add_argument(
        "--events",
        type=int,
        help="events per process (default 1000; with --lhe: every event of the file)",
    )
    p.add_argument("--seed", type=int, default=1, help="base random seed")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    p.add_argument("--shard", help="run part I of N of the request (I/N, 0-based), for array jobs")
    p.add_argument("--shard-events", type=int, help="events per shard")
    p.add_argument("--no-mpi", action="store_true", help="switch off multiparton interactions")
    p.add_argument("--out", default="data", help="output folder")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="remake shards in --out that were made with other settings "
        "(default: stop and say what differs)",
    )
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("pretrain", help="pretrain on many processes (multiclass or multilabel)")
    p.add_argument("--task", default="multiclass", choices=["multiclass", "multilabel"])
    _add_common_training(p)
    p.set_defaults(handler=cmd_pretrain)

    p = sub.add_parser(
        "finetune", help="finetune a pretrained run (or train from scratch) on a binary task"
    )
    p.add_argument(
        "--task",
        help="task name from the catalog (for example wh_vs_zh), SIGNAL_vs_BACKGROUND process "
        "names of --data, or a task file (YAML naming signal and background samples)",
    )
    p.add_argument(
        "--signal",
        nargs="+",
        metavar="PATH",
        help="signal files, folders or globs (with --background)",
    )
    p.add_argument(
        "--background", nargs="+", metavar="PATH", help="background files, folders or globs"
    )
    p.add_argument(
        "--from",
        dest="from_run",
        metavar="RUN|NAME|scratch",
        help="pretrained run directory, shipped model name (eventgnn models), or 'scratch'; "
        "default: the shipped default model where this version ships one, else from scratch",
    )
    p.add_argument("--mode", default="full", choices=["full", "frozen", "frozen-decoder"])
    p.add_argument("--train-size", type=int, help="training events (per class)")
    p.add_argument(
        "--kfold",
        type=int,
        metavar="K",
        help="train K models, each tested on one fold of the events (split by a hash of each "
        "event's identity) and trained on the others; predict then scores every event with the "
        "model that did not see it",
    )
    _add_common_training(p)
    p.set_defaults(handler=cmd_finetune)

    p = sub.add_parser("evaluate", help="evaluate a run on a dataset")
    p.add_argument(
        "--model", required=True, metavar="RUN|NAME", help="run directory or shipped model name"
    )
    p.add_argument("--data", help="folder of Parquet shards (default: the run's test data)")
    p.add_argument(
        "--out",
        help="output folder for metrics and plots (default: RUN/evaluate; for a shipped model "
        "./evaluate-NAME)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        help="events read and scored at a time (bounded memory; default 200,000); 0: all at once",
    )
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser(
        "predict", help="score every entry of your files (Parquet or a ROOT friend tree)"
    )
    p.add_argument(
        "--model", required=True, metavar="RUN|NAME", help="run directory or shipped model name"
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders (ROOT, Parquet)")
    p.add_argument("--out", metavar="FILE", help="output .parquet or .root file")
    p.add_argument(
        "--into",
        metavar="FILE:TREE",
        help="instead of --out: write a new ROOT FILE holding the input's TREE with the scores "
        "added as branches eventgnn_* (every branch copied and checked)",
    )
    p.add_argument(
        "--allow-training-files",
        action="store_true",
        help="score files the model trained on without the warning",
    )
    p.add_argument(
        "--keep", default="", metavar="BRANCH,...", help="input branches to copy to the output"
    )
    _add_reader_options(p)
    p.add_argument(
        "--chunk-size",
        type=int,
        help="entries read and scored at a time (bounded memory; default 200,000); 0: each "
        "file at once",
    )
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser(
        "info", help="describe a run or shipped model: config, parameters, metrics (and card)"
    )
    p.add_argument("run", metavar="RUN|NAME")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("models", help="the shipped pretrained models and their cards")
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="print this model's card (the short table)"
    )
    p.add_argument("--full", action="store_true", help="print NAME's whole card (YAML)")
    p.add_argument(
        "--check",
        action="store_true",
        help="regenerate events of NAME's processes here and compare its accuracy with the card",
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print NAME's card as the Markdown section of docs/models.md (the default view)",
    )
    p.add_argument("--events", type=int, default=200, help="--check: events per process")
    p.add_argument("--jobs", type=int, default=1, help="--check: generator processes")
    p.set_defaults(handler=cmd_models)

    p = sub.add_parser("scan", help="accuracy versus training size for several setups and seeds")
    p.add_argument("--task", required=True)
    p.add_argument("--sizes", required=True, help="comma-separated training sizes")
    p.add_argument("--seeds", type=int, default=5, help="ensemble size")
    p.add_argument("--setups", default="scratch,multiclass,multilabel")
    p.add_argument("--data", help="folder of Parquet shards (default: the built-in dataset)")
    p.add_argument(
        "--pretrained",
        nargs="*",
        default=[],
        metavar="SETUP=RUN|NAME",
        help="pretrained run or shipped model for each setup (default: pretrain on the "
        "built-in data)",
    )
    p.add_argument("--epochs", type=int, help="maximum epochs per run")
    p.add_argument("--out", default="scan", help="output folder")
    p.add_argument("--first-seed", type=int, default=0, help="seeds are FIRST..FIRST+K-1")
    p.add_argument(
        "--jobs", type=int, default=1, help="scan points trained at once (worker processes)"
    )
    p.add_argument("--pretrain-data", help="data for pretraining runs the scan makes itself")
    p.add_argument("--pretrain-epochs", type=int, help="maximum epochs of those pretraining runs")
    p.add_argument(
        "--pretrain-set",
        nargs="*",
        default=[],
        metavar="key.sub=value",
        help="config overrides for those pretraining runs",
    )
    p.add_argument("overrides", nargs="*", metavar="key.sub=value")
    p.set_defaults(handler=cmd_scan)

    p = sub.add_parser("cka", help="CKA similarity of latent representations between runs")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--vs", nargs="+", required=True, metavar="RUN")
    p.add_argument("--data", help="events to compare on (default: the runs' test data)")
    p.add_argument("--kernel", default="linear", choices=["linear", "rbf"])
    p.add_argument("--events", type=int, default=5000, help="number of events used")
    p.add_argument("--out", help="folder for the CKA table and heatmap")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="RBF width as a fraction of the median pairwise distance",
    )
    p.add_argument(
        "--layers",
        action="store_true",
        help="also a layer-by-layer CKA heatmap: first RUN vs first --vs run",
    )
    p.set_defaults(handler=cmd_cka)

    p = sub.add_parser(
        "export", help="export a run's model to ONNX: raw graph tensors in, logits out"
    )
    p.add_argument(
        "--model", required=True, metavar="RUN|NAME", help="run directory or shipped model name"
    )
    p.add_argument("--onnx", required=True, metavar="FILE.onnx", help="ONNX file to write")
    p.add_argument(
        "--exporter",
        choices=["dynamo", "legacy"],
        help="torch.onnx exporter: dynamo (torch.export-based; the default where torch has it) "
        "or legacy (TorchScript-based)",
    )
    p.add_argument(
        "--opset", type=int,
        help="ONNX opset (default: the exporter's own); one the exporter cannot write is refused",
    )  # fmt: skip
    p.add_argument(
        "--no-check",
        action="store_true",
        help="skip the onnxruntime-against-PyTorch check of the written file",
    )
    p.set_defaults(handler=cmd_export)
    _describe(parser, sub)
    return parser


EXAMPLES = {
    "convert": "eventgnn convert sig/*.root --out data/sig --process sig",
    "generate": "eventgnn generate --process wh,zh --events 5000 --jobs 2 --out data",
    "pretrain": "eventgnn pretrain --task multilabel --data data --epochs 100 train.lr=3e-4",
    "finetune": "eventgnn finetune --task wh_vs_zh --train-size 1000 --seed 1 --threads 1\n"
    "  eventgnn finetune --task my_analysis.yaml --from scratch --out runs/mine",
    "evaluate": "eventgnn evaluate --model runs/finetune-wh_vs_zh-full-seed0 --data other/",
    "predict": "eventgnn predict --model runs/mine sample.root --out scores.root --keep event\n"
    "  eventgnn predict --model runs/mine nano.root --into nano_scored.root:Events",
    "info": "eventgnn info runs/finetune-wh_vs_zh-full-seed0",
    "models": "eventgnn models pretrain12-multiclass-v1",
    "scan": "eventgnn scan --task wh_vs_zh --sizes 1000,10000 --seeds 5 --jobs 2",
    "cka": "eventgnn cka runs/scan/scratch/* --vs runs/scan/multiclass/*",
    "export": "eventgnn export --model runs/mine --onnx mine.onnx",
}
"""One example per command, shown at the end of its ``--help``."""

OVERRIDES = """common key.sub=value overrides, with their defaults (given after the options; a run's
config.yaml lists every key):
  train.lr=1e-4 train.batch_size=128 train.epochs=50 train.patience=10 train.min_epochs=25
  train.num_threads=N train.device=auto|cpu|cuda train.balance=false train.plots=true
  model.hidden=64 model.iterations=4 (a finetune keeps its pretrained model's architecture)
  finetune.head_lr=1e-4 finetune.backbone_lr=1e-5 finetune.head=new|classes"""

THREADED = ("pretrain", "finetune", "evaluate", "predict", "cka")
"""Commands whose torch threads ``--threads`` sets."""


def _describe(parser: argparse.ArgumentParser, sub) -> None:
    """Each command's ``--help``: its one-line summary as description, an example, and for the
    training commands the common overrides; ``--threads`` where torch computes; ``--version``."""
    from ._core.version import __version__

    parser.add_argument("--version", action="version", version=f"eventgnn {__version__}")
    summaries = {a.dest: a.help for a in sub._choices_actions}
    for name, p in sub.choices.items():
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.description = summaries[name]
        p.epilog = f"example:\n  {EXAMPLES[name]}"
        if name in ("pretrain", "finetune", "scan"):
            p.epilog += "\n\n" + OVERRIDES
        if name in THREADED:
            p.add_argument(
                "--threads",
                type=int,
                metavar="N",
                help="torch threads (default: the cores not busy with other jobs when the "
                "command starts; more threads than free cores make a small model slower)",
            )


def _add_reader_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--branch-map", help="YAML branch map (flat ntuples)")
    p.add_argument("--btag-branch", help="NanoAOD b-tag discriminant branch")
    p.add_argument("--btag-threshold", type=float, help="NanoAOD b-tag threshold")


def _reader_options(args) -> dict:
    """The reader options given on the command line (only those given)."""
    given = {
        "branch_map": args.branch_map,
        "btag_branch": args.btag_branch,
        "btag_threshold": args.btag_threshold,
    }
    return {k: v for k, v in given.items() if v is not None}


def _chunk_size(given: int | None, default: int) -> int | None:
    """``--chunk-size``: not given -> the library's ``default``; 0 -> None (all at once)."""
    return default if given is None else (given or None)


def cmd_convert(args) -> None:
    from ._core.fileio import clip
    from .events.io import CONVERT_CHUNK_EVENTS, convert
    from .events.parquet import SHARD_SUFFIX

    options = _reader_options(args)
    if args.process:
        options["process"] = args.process
    chunk_size = _chunk_size(args.chunk_size, CONVERT_CHUNK_EVENTS)
    written = convert(
        args.inputs,
        args.out,
        format=args.format,
        chunk_size=chunk_size,
        overwrite=args.overwrite,
        **options,
    )
    print(f"wrote {len(written)} shard(s) to {args.out}")
    others = sorted(set(Path(args.out).glob(f"*{SHARD_SUFFIX}")) - set(written))
    if others:  # earlier conversions into the same folder: read as data with these
        gone = [p.name for p in others if not _recorded_input_exists(p)]
        print(
            f"note: {args.out} also holds {len(others)} shard(s) of other inputs "
            f"({clip(', '.join(p.name for p in others))}), read as data together with these"
            + (f"; the input of {clip(', '.join(gone))} no longer exists" if gone else "")
        )


def _recorded_input_exists(shard: Path) -> bool:
    """Whether the input file a shard's record names still exists (True without a record)."""
    import json

    from .events.parquet import record_path

    try:
        path = json.loads(record_path(shard).read_text())["input"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return Path(path).exists()


def cmd_generate(args) -> None:
    from ._core.fileio import safe_name
    from .catalog.processes import get_catalog
    from .events.parquet import dataset_files
    from .generate.run import generate, parse_shard

    if args.catalog:
        processes = list(get_catalog(args.catalog))
    else:
        processes = [p.strip() for p in args.process.split(",") if p.strip()]
    for name in processes:  # a name is a folder under --out: no "../" or absolute paths
        safe_name(name, "--process")
    lhe = Path(args.lhe) if args.lhe else None
    if lhe is not None and (args.catalog or len(processes) != 1):
        raise ValueError("--lhe FILE needs exactly one --process NAME")
    events = args.events
    if lhe is not None:
        from .events.lhe import check_lhe

        # refuse a malformed file up front, naming the line and the event (Pythia would only
        # say that it failed, or silently produce nothing); also counts the events
        n_lhe = check_lhe(lhe, max_events=events)
        events = n_lhe if events is None else events
    if events is None:
        events = 1000
    paths = generate(
        processes,
        Path(args.out),
        events,
        seed=args.seed,
        jobs=args.jobs,
        shard=parse_shard(args.shard) if args.shard else None,
        mpi=not args.no_mpi,
        shard_events=args.shard_events,
        lhe=lhe,
        overwrite=args.overwrite,
    )
    print(f"{len(paths)} shard(s) in {args.out}")
    # --data OUT reads every shard under OUT: say so when it holds more than this command made
    made = {Path(p).resolve() for p in paths}
    others = [p for p in dataset_files(args.out) if p.resolve() not in made]
    if others:
        print(
            f"{args.out} also holds {len(others)} shard(s) this command did not make (first: "
            f"{others[0]}); a finetune or pretrain on {args.out} reads them all"
        )


def _run_config(args, command: str):
    """YAML config (if any) -> dotted overrides -> explicit flags, as a validated RunConfig."""
    from .config import build_run_config

    finetuning = command == "finetune"
    threads = [f"train.num_threads={args.threads}"] if args.threads else []
    return build_run_config(
        command,
        config_file=args.config,
        overrides=[*args.overrides, *threads],
        objective=None if finetuning else args.task,
        task=args.task if finetuning else None,
        data=args.data,
        out=args.out,
        pretrained=args.from_run if finetuning else None,
        epochs=args.epochs,
        seed=args.seed,
        mode=args.mode if finetuning else None,
        train_size=args.train_size if finetuning else None,
    )


def _default_data(role: str, processes: list[str] | None = None) -> str:
    """The built-in dataset for ``role`` (``pretrain``, or ``downstream`` with ``processes``),
    generated on first use (rank 0 first under ``torchrun``)."""
    from .generate.default import ensure_default_data
    from .train.distributed import rank_zero_first

    return str(rank_zero_first(lambda: ensure_default_data(role, processes=processes)))


def cmd_pretrain(args) -> None:
    from .train.distributed import init_distributed, shutdown_distributed
    from .train.runs import pretrain

    rank, _ = init_distributed()  # a no-op outside torchrun
    config = _run_config(args, "pretrain")
    if config.train.num_threads is None:  # else the training sets it (--threads is one way)
        _set_threads(None)
    if config.data is None:
        config = replace(config, data=_default_data("pretrain"))
    pretrain(config, log=print if rank == 0 else lambda s: None)
    shutdown_distributed()


def cmd_finetune(args) -> None:
    from .catalog.registry import SCRATCH, model_file
    from .catalog.resolve import resolve_task
    from .train.distributed import init_distributed, shutdown_distributed
    from .train.finetune import finetune, finetune_kfold

    rank, _ = init_distributed()
    config = _run_config(args, "finetune")
    if config.train.num_threads is None:
        _set_threads(None)
    if config.pretrained not in (None, SCRATCH):  # a wrong name: before any data is generated
        model_file(config.pretrained)
    spec = resolve_task(config.task, args.signal or (), args.background or ())
    if config.data is None and (spec.samples is None or spec.samples.from_data()):
        config = replace(config, data=_default_data("downstream", spec.builtin_processes()))
    log = print if rank == 0 else lambda s: None
    # without --from (and without 'pretrained' in a config file): the shipped default model
    if args.kfold is not None:
        finetune_kfold(config, spec, args.kfold, log=log, use_default=True)
    else:
        finetune(config, spec, log=log, use_default=True)
    shutdown_distributed()


def cmd_evaluate(args) -> None:
    from .train.evaluate import EVALUATE_CHUNK_EVENTS, evaluate_run

    chunk_size = _chunk_size(args.chunk_size, EVALUATE_CHUNK_EVENTS)
    evaluate_run(args.model, data=args.data, out=args.out, chunk_size=chunk_size)


def cmd_predict(args) -> None:
    from .deploy.predict import PREDICT_CHUNK_ENTRIES, predict_files

    keep = [k.strip() for k in args.keep.split(",") if k.strip()]
    chunk_size = _chunk_size(args.chunk_size, PREDICT_CHUNK_ENTRIES)
    into = None
    if args.into is not None:
        file, sep, tree = args.into.rpartition(":")
        if not (sep and file and tree):
            raise ValueError(
                f"--into {args.into}: expected FILE:TREE (for example nano.root:Events)"
            )
        into = (file, tree)
    predict_files(
        args.model, args.inputs, args.out, keep=keep, options=_reader_options(args),
        chunk_size=chunk_size, into=into, allow_training_files=args.allow_training_files,
    )  # fmt: skip


def cmd_info(args) -> None:
    from .train.runs import run_info

    print(run_info(args.run))


def cmd_models(args) -> None:
    from ._core.errors import RegistryError
    from .catalog.registry import (
        card_markdown,
        card_summary,
        format_card,
        get_card,
        list_models,
        model_dirs,
        none_message,
    )

    given = [f for f, on in (("--check", args.check), ("--markdown", args.markdown),
                             ("--full", args.full)) if on]  # fmt: skip
    if given and not args.name:
        raise RegistryError(f"models {given[0]}: name the model")
    if args.full and args.markdown:
        raise RegistryError("models: --full and --markdown are two views of a card; give one")
    if args.check:
        from .deploy.publish import check_model

        check_model(args.name, events=args.events, jobs=args.jobs)
        return
    if args.name:
        card = get_card(args.name)
        print(format_card(card) if args.full else card_markdown(card).rstrip("\n"))
        return
    cards = list_models()
    if not cards:
        print(none_message())
        return
    print(f"{len(cards)} model(s) in {', '.join(str(d) for d in model_dirs())}:")
    for card in cards:
        print(card_summary(card))
    print("eventgnn models NAME prints a model's card (--full: all of it)")


def cmd_scan(args) -> None:
    from ._core.fileio import safe_name
    from .analysis.scan import BASELINE, ScanConfig, run_scan
    from .catalog.resolve import resolve_task
    from .train.objectives import PRETRAIN_KINDS

    pretrained = {}
    for item in args.pretrained:
        setup, sep, run = item.partition("=")
        if not sep or not setup or not run:
            raise ValueError(f"--pretrained expects SETUP=RUN, got '{item}'")
        if "." in setup:  # --pretrained takes every word after it
            raise ValueError(
                f"'{item}' after --pretrained looks like a config override: put overrides "
                "before --pretrained, or after --"
            )
        pretrained[setup] = run
    try:
        sizes = tuple(int(n) for n in args.sizes.split(",") if n.strip())
    except ValueError:
        raise ValueError(f"--sizes expects comma-separated integers, got '{args.sizes}'") from None
    setups = tuple(s.strip() for s in args.setups.split(",") if s.strip())
    for setup in setups:  # setup names are folders under --out
        safe_name(setup, "--setups entry")
    for setup in pretrained:
        safe_name(setup, "--pretrained setup")
    unknown = set(setups) - set(pretrained) - {BASELINE} - set(PRETRAIN_KINDS)
    if unknown:  # refused before any default data is generated
        setup = sorted(unknown)[0]
        raise ValueError(
            f"setup '{setup}' has no pretrained run: give one with --pretrained {setup}=RUN "
            "(only multiclass and multilabel are pretrained by the scan)"
        )
    spec = resolve_task(args.task)
    data = args.data or _default_data("downstream", spec.builtin_processes())
    pretrain_data = args.pretrain_data
    if pretrain_data is None and set(setups) - set(pretrained) - {BASELINE}:
        pretrain_data = _default_data("pretrain")
    config = ScanConfig(
        task=spec,
        sizes=sizes,
        seeds=args.seeds,
        setups=setups,
        out=args.out,
        data=data,
        pretrained=pretrained,
        epochs=args.epochs,
        overrides=tuple(args.overrides),
        first_seed=args.first_seed,
        pretrain_data=pretrain_data,
        pretrain_epochs=args.pretrain_epochs,
        pretrain_overrides=tuple(args.pretrain_set),
        jobs=args.jobs,
    )
    run_scan(config)


def cmd_cka(args) -> None:
    from .analysis.compare import compare_runs, write_cka

    result = compare_runs(
        args.runs, args.vs, data=args.data, kernel=args.kernel, n_events=args.events,
        threshold=args.threshold,
    )  # fmt: skip
    print(
        f"{args.kernel} CKA over {result.n_events} events, {len(result.runs_a)} x "
        f"{len(result.runs_b)} runs: {result.mean:.4f} +- {result.std:.4f}"
    )
    if args.out:
        write_cka(args.out, result, layers=args.layers, data=args.data, n_events=args.events)
        print(f"wrote {args.out}")


def cmd_export(args) -> None:
    from .deploy.export import CHECK_TOLERANCE, export_onnx

    result = export_onnx(
        args.model, args.onnx, exporter=args.exporter, opset=args.opset, check=not args.no_check
    )
    check = (
        "not checked"
        if result.max_difference is None
        else f"onnxruntime matches PyTorch to {result.max_difference:.2g} (<= {CHECK_TOLERANCE:g})"
    )
    print(f"wrote {result.path} ({result.exporter} exporter, opset {result.opset}; {check})")


_USER_ERRORS = (ValueError, OSError, RuntimeError, ImportError)
"""Exceptions whose message is written for the user (bad input, missing file, unknown name)."""


MAX_ERROR_CHARS = 1000
"""An error line longer than this is cut in the middle (a message quoting a huge value)."""


def error_line(command: str, err: BaseException) -> str:
    """The one line printed for ``err``: whitespace collapsed (uproot, pyarrow and torch write
    messages over several lines), prefixed by the exception type where the message alone would
    not say what went wrong (an unexpected internal error, or an empty message), and cut to
    :data:`MAX_ERROR_CHARS` (its start names the file or key, its end often the remedy)."""
    text = " ".join(str(err).split())
    if not text or not isinstance(err, _USER_ERRORS):
        text = f"{type(err).__name__}: {text or 'no message'} (--debug shows the traceback)"
    if len(text) > MAX_ERROR_CHARS:
        half = MAX_ERROR_CHARS // 2
        text = f"{text[:half]} [... {len(text) - 2 * half:,} characters cut ...] {text[-half:]}"
    return f"eventgnn {command}: error: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 success, 1 error, 130 interrupted).

    Errors print one line to stderr, never a traceback; ``--debug`` (anywhere on the command
    line, or ``EVENTGNN_DEBUG=1``) re-raises them so the traceback shows.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted after the subcommand too ("eventgnn pretrain ... --debug"): the
    # subparsers do not know it, so take it out before parsing (but not after a "--")
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end] or os.environ.get("EVENTGNN_DEBUG", "") not in ("", "0")
    argv = [a for i, a in enumerate(argv) if not (a == "--debug" and i < end)]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in THREADED and args.command not in ("pretrain", "finetune"):
            _set_threads(args.threads)  # the training commands: with their config
        args.handler(args)
    except KeyboardInterrupt:
        print("eventgnn: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for the user; --debug shows the traceback
        if debug:
            raise
        print(error_line(args.command, err), file=sys.stderr)
        return 1
    return 0


def _set_threads(given: int | None) -> None:
    """Torch's thread count: ``--threads``, else the cores free when the command starts (each
    rank's share of the cores under ``torchrun``), said when fewer than all."""
    import torch

    from ._core.system import cpu_count, free_cores

    if given is not None:
        if given < 1:
            raise ValueError(f"--threads: expected a positive number of threads, got {given}")
        torch.set_num_threads(given)
        return
    ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cores = max(1, cpu_count() // ranks)
    n = cores if ranks > 1 else min(cores, free_cores())
    torch.set_num_threads(n)
    if n < cores:
        print(
            f"torch threads: {n} ({cores - n} of {cores} cores busy with other jobs; "
            "--threads N chooses)"
        )


if __name__ == "__main__":
    sys.exit(main())
