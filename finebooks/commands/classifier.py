"""``finebooks classifier``: bootstrap labels, train, and evaluate quality classifiers.

    finebooks classifier bootstrap --clean GOLD:formfeed --noisy OCR:trove --ocr-gt PAIRS -o labelled.jsonl
    finebooks classifier train --data labelled.jsonl --output models/quality [--backend sklearn]
    finebooks classifier eval --model models/quality --data labelled.jsonl --output reports/quality

Scoring is the ``score_quality_classifier`` recipe stage (``model: models/quality``); dropping is
``metadata_filter: {key: quality_score, min: ...}``. See docs/classifier.md.
"""

from __future__ import annotations

import argparse
import json
import sys

from finebooks.cli import parse_json_object

NAME = "classifier"
HELP = "quality classifiers: bootstrap labels, train (fastText/scikit-learn), evaluate"


def _columns(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    g = p.add_argument_group("columns")
    g.add_argument("--text-column", default="text" if defaults else None)
    g.add_argument("--label-column", default="label" if defaults else None, help="class label column")
    g.add_argument("--score-column", default=None,
                   help="numeric score column (a score task: Spearman/MAE instead of accuracy/AUC)")
    g.add_argument("--id-column", default="id" if defaults else None)
    g.add_argument("--group-column", default="group" if defaults else None,
                   help="rows of one group are never split apart (default: the id)")
    g.add_argument("--source-column", default="source" if defaults else None,
                   help="reported per source by eval")
    g.add_argument("--hf-options", type=parse_json_object, default={},
                   help="load_dataset options for --data hf:NAME, e.g. '{\"split\": \"train\"}'")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="classifier_command", required=True, metavar="ACTION")

    b = sub.add_parser("bootstrap", help="build a labelled JSONL file from unlabelled collections",
                       description="Build a labelled JSONL file (id, group, source, label|score, text). "
                                   "SPEC is PATH[:FORMAT[:GLOB]] with a reader format (finebooks formats).")
    b.add_argument("-o", "--output", required=True, help="labelled JSON Lines file to write")
    b.add_argument("--clean", action="append", default=[], metavar="SPEC", help="clean transcriptions (label clean)")
    b.add_argument("--noisy", action="append", default=[], metavar="SPEC", help="raw OCR (label noisy)")
    b.add_argument("--ocr-gt", action="append", default=[], metavar="DIR",
                   help="OCR/ground-truth pairs (ICDAR 2017/2019 files or gt/ + OCR page folders)")
    b.add_argument("--min-error", type=float, default=0.02,
                   help="--ocr-gt: label the OCR side noisy only at this word error or more (else leave it out)")
    b.add_argument("--pages-by-ocr-quality", metavar="SPEC",
                   help="label pages of one collection by score_ocr_quality (>= --high clean, <= --low noisy)")
    b.add_argument("--high", type=float, default=0.9)
    b.add_argument("--low", type=float, default=0.6)
    b.add_argument("--language", default="en", help="default language for --pages-by-ocr-quality")
    b.add_argument("--labels", help="external labels file (JSONL/Parquet: id + label or score), joined to --books")
    b.add_argument("--books", metavar="SPEC", help="the books --labels refers to")
    b.add_argument("--id-column", default="id")
    b.add_argument("--label-column", default="label")
    b.add_argument("--score-column", default=None)
    b.add_argument("--repair", default=",".join(_default_repairs()),
                   help="repair stages applied to every book before labelling (comma list, or 'none')")
    b.add_argument("--group-depth", type=int, default=0,
                   help="group books by their first N path components (copies of one book in one group)")
    b.add_argument("--min-chars", type=int, default=200, help="skip texts shorter than this")

    t = sub.add_parser("train", help="train a model (book-level held-out split; content-hashed model file)")
    t.add_argument("--data", required=True, help="labelled Parquet/JSONL file or folder, or hf:DATASET")
    t.add_argument("-o", "--output", required=True, help="model folder (MODELS/<name>-<sha>.bin + card + LATEST)")
    t.add_argument("--name", default="quality", help="model file name prefix")
    t.add_argument("--backend", choices=["fasttext", "sklearn"], default="fasttext")
    t.add_argument("--positive", help="the good class (default: 'clean' when present; numeric classes need none)")
    t.add_argument("--chunk-chars", type=int, default=1000, help="characters per chunk (training and scoring)")
    t.add_argument("--min-chars", type=int, default=200, help="shorter chunks are dropped")
    t.add_argument("--max-chunks-per-book", type=int, default=64, help="training chunks per row (evenly spaced)")
    t.add_argument("--score-max-chunks", type=int, default=32, help="chunks per book when scoring (card default)")
    t.add_argument("--heldout", type=float, default=0.2, help="share of groups held out")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-balance", action="store_true", help="do not down-sample classes to the smallest")
    t.add_argument("--params", type=parse_json_object, default={},
                   help="backend parameters, e.g. '{\"epoch\": 10, \"dim\": 64}' (fastText) or "
                        "'{\"alpha\": 1e-5}' (scikit-learn)")
    t.add_argument("--limit", type=int, default=0, help="read at most this many rows (0: all)")
    t.add_argument("--threads", type=int, default=0, help="training threads (0: available CPUs)")
    t.add_argument("--eval-output", help="also write the held-out evaluation (eval.json, eval.md) here")
    _columns(t)

    e = sub.add_parser("eval", help="evaluate a model: accuracy/F1/AUC or Spearman/MAE, JSON + Markdown")
    e.add_argument("--model", required=True, help="model file or model folder (its LATEST)")
    e.add_argument("--data", required=True, help="labelled data (the training file for --split heldout)")
    e.add_argument("--split", choices=["heldout", "all"], default="heldout",
                   help="heldout: the groups the model card holds out; all: every row (a separate test file)")
    e.add_argument("-o", "--output", help="folder for eval.json and eval.md (default: print only)")
    e.add_argument("--max-chunks", type=int, default=None, help="chunks per book (default: the card's)")
    e.add_argument("--sources", help="only rows from these sources (comma list; a name or a prefix of one)")
    _columns(e, defaults=False)


def _default_repairs() -> tuple[str, ...]:
    from finebooks.classifier.bootstrap import DEFAULT_REPAIRS

    return DEFAULT_REPAIRS


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _columns_from(args, card_columns: dict | None = None):
    from finebooks.classifier.data import Columns

    base = dict(card_columns or {})
    for key in ("text", "label", "score", "id", "group", "source"):
        v = getattr(args, f"{key}_column", None)
        if v is not None:
            base[key] = v
    if getattr(args, "score_column", None):
        base["label"] = None
    return Columns(**{k: v for k, v in base.items() if k in Columns.__dataclass_fields__})


def run(args) -> int:
    from finebooks.classifier.data import DataError
    from finebooks.classifier.model import ModelError

    try:
        if args.classifier_command == "bootstrap":
            return _bootstrap(args)
        if args.classifier_command == "train":
            return _train(args)
        if args.classifier_command == "eval":
            return _eval(args)
    except (DataError, ModelError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects unknown actions


def _bootstrap(args) -> int:
    import itertools

    from finebooks.classifier import bootstrap as bs

    repair = [] if args.repair.strip().lower() in ("", "none") else [s.strip() for s in args.repair.split(",")]
    parts = []
    for spec in args.clean:
        path, fmt, glob = bs.parse_source(spec)
        parts.append(bs.folder_rows(path, fmt, bs.CLEAN, glob, repair=repair, group_depth=args.group_depth,
                                    min_chars=args.min_chars))
    for spec in args.noisy:
        path, fmt, glob = bs.parse_source(spec)
        parts.append(bs.folder_rows(path, fmt, bs.NOISY, glob, repair=repair, group_depth=args.group_depth,
                                    min_chars=args.min_chars))
    for folder in args.ocr_gt:
        parts.append(bs.ocr_gt_rows(folder, min_chars=args.min_chars, min_error=args.min_error, repair=repair))
    if args.pages_by_ocr_quality:
        path, fmt, glob = bs.parse_source(args.pages_by_ocr_quality)
        parts.append(bs.ocr_quality_page_rows(path, fmt, args.high, args.low, glob, args.language, repair))
    if args.labels or args.books:
        if not (args.labels and args.books):
            raise ValueError("--labels and --books go together")
        path, fmt, glob = bs.parse_source(args.books)
        parts.append(bs.join_label_rows(args.labels, path, fmt, args.id_column,
                                        None if args.score_column else args.label_column, args.score_column,
                                        glob, repair))
    if not parts:
        raise ValueError("nothing to do: give --clean/--noisy, --ocr-gt, --pages-by-ocr-quality or --labels/--books")
    counts = bs.write_jsonl(itertools.chain(*parts), args.output, _progress)
    total = sum(counts.values())
    print(f"wrote {total} labelled rows to {args.output}")
    for key, n in sorted(counts.items()):
        src, lab = key.split("\t")
        print(f"  {n:>6}  {lab:<8} {src}")
    return 0 if total else 2


def _train(args) -> int:
    from finebooks.classifier.evaluate import render_markdown, write_report
    from finebooks.classifier.train import TrainConfig, train

    cfg = TrainConfig(
        data=args.data, output=args.output, columns=_columns_from(args), backend=args.backend, name=args.name,
        positive=args.positive, chunk_chars=args.chunk_chars, min_chars=args.min_chars,
        max_chunks_per_book=args.max_chunks_per_book, score_max_chunks=args.score_max_chunks,
        heldout=args.heldout, seed=args.seed, balance=not args.no_balance, params=args.params,
        hf_options=args.hf_options, limit=args.limit, threads=args.threads,
    )
    result = train(cfg, progress=_progress)
    print(f"model: {result.path}")
    print(f"counts: {json.dumps(result.counts)}")
    if result.heldout is not None:
        result.heldout.update({"data": args.data, "split": "heldout", "warnings": []})
        print(render_markdown(result.heldout).split("**Confusion")[0].rstrip())
        if args.eval_output:
            j, m = write_report(result.heldout, args.eval_output)
            print(f"held-out evaluation: {j} and {m}")
    return 0


def _eval(args) -> int:
    from finebooks.classifier.evaluate import evaluate, render_markdown, write_report
    from finebooks.classifier.model import load_model

    model = load_model(args.model)
    cols = _columns_from(args, model.card.get("columns"))
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    result = evaluate(model, args.data, cols, args.split, args.hf_options, args.max_chunks, progress=_progress,
                      sources=sources)
    print(render_markdown(result))
    if args.output:
        j, m = write_report(result, args.output)
        print(f"wrote {j} and {m}")
    return 0
