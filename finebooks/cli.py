"""The ``finebooks`` command line.

Commands:
  finebooks sample DIR              write the synthetic sample collection with labelled defects
  finebooks read INPUT -f FORMAT -o OUT
                                    read books into Parquet (+ exclusions and a summary)
  finebooks quickstart              sample + read every format of it (the README's first command)
  finebooks formats                 list the reader formats
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from finebooks import __version__


def _parse_json(value: str) -> dict:
    try:
        data = json.loads(value)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"group_by\": \"folder\"}'")
    return data


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="finebooks", description="Curate digitised books into training corpora.")
    p.add_argument("--version", action="version", version=f"finebooks {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("sample", help="write the synthetic sample collection (planted, labelled defects)")
    s.add_argument("dir", help="output folder")
    s.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")

    r = sub.add_parser("read", help="read books into Parquet, with exclusions and a summary")
    r.add_argument("input", help="input folder (or dataset name for --format hf)")
    r.add_argument("-f", "--format", required=True, help="reader format (see `finebooks formats`)")
    r.add_argument("-o", "--output", required=True, help="run folder: books/, excluded/, logs/, summary.json")
    r.add_argument("--source", help="collection name used in book ids (default: input folder name)")
    r.add_argument("--glob", dest="glob_pattern", help="only read files matching this pattern")
    r.add_argument("--options", type=_parse_json, default={},
                   help="more reader options as JSON, e.g. '{\"group_by\": \"folder\"}'")
    r.add_argument("--tasks", type=int, default=1, help="datatrove tasks (shards)")
    r.add_argument("--workers", type=int, default=1, help="parallel worker processes")

    q = sub.add_parser("quickstart", help="make the sample collection (if missing) and read all of it")
    q.add_argument("--sample", default="sample", help="sample folder (created if missing)")
    q.add_argument("--output", default="runs/quickstart", help="run folder")
    q.add_argument("--workers", type=int, default=1)

    sub.add_parser("formats", help="list reader formats")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.command == "formats":
        from finebooks.readers import READERS, get_reader_class

        for name in READERS:
            doc = (get_reader_class(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:<14} {doc}")
        return 0

    if args.command == "sample":
        from finebooks.sample import make_sample

        manifest = make_sample(args.dir, seed=args.seed)
        print(f"wrote the sample collection to {args.dir}: {manifest.n_books} books")
        print(f"labels: {manifest.labels_path}")
        return 0

    if args.command == "read":
        from finebooks.engine import run_read, save_summary

        if args.format != "hf" and not Path(args.input).exists() and "://" not in args.input:
            print(f"error: input {args.input!r} does not exist", file=sys.stderr)
            return 2
        options = dict(args.options)
        for key in ("source", "glob_pattern"):
            if getattr(args, key):
                options[key] = getattr(args, key)
        try:
            summary = run_read(args.format, args.input, args.output, tasks=args.tasks, workers=args.workers,
                               reader_options=options)
        except (ValueError, TypeError) as e:  # unknown format or reader option
            print(f"error: {e}", file=sys.stderr)
            return 2
        save_summary(summary, Path(args.output) / "summary.json")
        print(summary.render())
        return 0

    if args.command == "quickstart":
        from finebooks.quickstart import run_quickstart

        summary = run_quickstart(args.sample, args.output, workers=args.workers)
        print(summary.render())
        return 0
    return 1  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
