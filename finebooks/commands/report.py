"""``finebooks report RUN_DIR``: a self-contained HTML report (and Markdown) of a run."""

from __future__ import annotations

import sys

NAME = "report"
HELP = "write an HTML + Markdown report of a run: funnel, scores, lengths, duplicates, excluded examples"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="run directory (from finebooks run / quickstart)")
    parser.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html); the Markdown "
                                      "goes next to it (.md, images in NAME_files/)")
    parser.add_argument("--examples", type=int, default=3, help="examples shown per stage and reason (default 3)")
    parser.add_argument("--no-markdown", action="store_true", help="write only the HTML")
    parser.add_argument("--no-plots", action="store_true", help="tables only (quicker on a huge run)")


def run(args) -> int:
    from finebooks.report.query import RunDirError
    from finebooks.report.report import write_report

    if args.examples < 0:
        print("error: --examples must be 0 or more", file=sys.stderr)
        return 2
    try:
        html_path, md_path = write_report(args.run_dir, args.out, examples=args.examples,
                                          markdown=not args.no_markdown, plots=not args.no_plots)
    except RunDirError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"report: {html_path}")
    if md_path:
        print(f"markdown: {md_path}")
    return 0
