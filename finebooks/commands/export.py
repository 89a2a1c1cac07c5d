"""``finebooks export RUN_DIR --to DIR``: Parquet shards + dataset card, optionally pushed to the Hub."""

from __future__ import annotations

import sys

NAME = "export"
HELP = "export a run's kept books as Parquet shards + a Hugging Face dataset card (optionally push to the Hub)"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="run directory")
    parser.add_argument("--to", required=True, help="export folder (README.md + data/train-*.parquet)")
    parser.add_argument("--shard-mb", type=float, default=500, help="text megabytes per Parquet shard (default 500)")
    parser.add_argument("--page-separator", help="replace the form feed between pages with this string, e.g. "
                                                 "'\\n\\n' (escapes are decoded; default: keep \\f)")
    parser.add_argument("--name", help="pretty name of the dataset in the card")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export in --to")
    parser.add_argument("--tokenize", metavar="TOKENIZER_JSON",
                        help="also tokenise with datatrove's DocumentTokenizer and this local tokenizer.json "
                             "(written to DIR/tokenized)")
    parser.add_argument("--eos-token", help="end-of-document token appended by the tokenizer (e.g. '<|endoftext|>')")
    parser.add_argument("--push-to-hub", metavar="REPO", help="upload the export to this Hub dataset repository "
                                                              "(needs a token and a network)")
    parser.add_argument("--private", action="store_true", help="create the Hub repository as private")


def run(args) -> int:
    from finebooks.report.export import ExportError, export_run, push_to_hub, tokenize_export
    from finebooks.report.query import RunDirError

    sep = args.page_separator
    if sep is not None:
        sep = sep.encode("utf-8").decode("unicode_escape")
    if args.shard_mb <= 0:
        print("error: --shard-mb must be positive", file=sys.stderr)
        return 2
    try:
        result = export_run(args.run_dir, args.to, max_shard_bytes=int(args.shard_mb * 1024**2),
                            page_separator=sep, overwrite=args.overwrite, pretty_name=args.name)
        print(f"exported {result.rows} books in {len(result.shards)} shard(s) to {result.folder}/data")
        print(f"dataset card: {result.card}")
        if args.tokenize:
            out = tokenize_export(result.folder, args.tokenize, eos_token=args.eos_token)
            print(f"tokenized: {out}")
        if args.push_to_hub:
            url = push_to_hub(result.folder, args.push_to_hub, private=args.private)
            print(f"pushed: {url}")
    except (ExportError, RunDirError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
