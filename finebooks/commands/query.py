"""``finebooks query RUN_DIR "SQL"``: DuckDB SQL over a run's books, exclusions and clusters.

Views (see docs/report.md): ``books``, ``excluded``, ``clusters``, ``summary``, ``stages``.
"""

from __future__ import annotations

import csv
import json
import sys

NAME = "query"
HELP = "run SQL over a run directory (views: books, excluded, clusters, summary, stages)"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="run directory")
    parser.add_argument("sql", nargs="?", help="SQL to run, e.g. \"SELECT reason_code, count(*) FROM excluded "
                                               "GROUP BY 1\" (omit it with --views to list the columns)")
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table",
                        help="output format (default: an aligned table)")
    parser.add_argument("--max-width", type=int, default=60,
                        help="truncate table cells to this many characters (0: no limit)")
    parser.add_argument("--views", action="store_true", help="list the views and their columns")


def _cell(value, width: int) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", " ").replace("\f", " ")
    return text if not width or len(text) <= width else text[: width - 1] + "…"


def print_table(columns: list[str], rows: list, width: int = 60, out=None) -> None:
    out = out or sys.stdout  # looked up per call (tests and notebooks replace sys.stdout)
    cells = [[_cell(v, width) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip(), file=out)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


def run(args) -> int:
    import duckdb

    from finebooks.report.query import VIEWS, RunDirError, connect

    try:
        con = connect(args.run_dir)
    except RunDirError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.views or not args.sql:
        if not args.views:
            print("error: give an SQL query (or --views to list the views)", file=sys.stderr)
            return 2
        for view in VIEWS:
            cols = con.execute(f"DESCRIBE {view}").fetchall()
            n = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            print(f"{view} ({n} rows): " + ", ".join(f"{c[0]} {c[1]}" for c in cols))
        return 0
    try:
        cur = con.execute(args.sql)
    except duckdb.Error as e:
        print(f"error: {e}", file=sys.stderr)
        print(f"views: {', '.join(VIEWS)} (finebooks query {args.run_dir} --views lists their columns)",
              file=sys.stderr)
        return 2
    if cur.description is None:
        return 0
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows(rows)
    elif args.format == "json":
        for row in rows:
            print(json.dumps(dict(zip(columns, row)), ensure_ascii=False, default=str))
    else:
        print_table(columns, rows, args.max_width)
    return 0
