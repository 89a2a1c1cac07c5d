"""Reading throughput: FineBooks readers vs datatrove's plain JsonlReader on the same text.

Measures MB/s per core (UTF-8 bytes of book text / CPU seconds of this single process) for

* ``TroveTextReader`` on raw_ocr/trove_nla_books (decode, split pages, attach metadata),
* datatrove ``JsonlReader`` on the *same* books written as one JSONL line per book (the
  baseline: no page logic, just JSON parsing),
* ``FormFeedTextReader`` and ``PageRowReader`` (DuckDB) on the same books in those layouts,
* the XML readers (ALTO, hOCR, ABBYY) on every file of ../shared/data (page XML is much larger
  than its text; throughput is reported over input bytes and text bytes).

Run:  python benchmarks/bench_readers.py [--data ../shared/data] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[1].parent / "shared" / "data"


def consume(reader) -> tuple[int, int, float, float]:
    """Run a reader to exhaustion; return (docs, text bytes, cpu s, wall s)."""
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    n = nbytes = 0
    for doc in reader.run(None, 0, 1):
        n += 1
        nbytes += len(doc.text.encode("utf-8"))
    return n, nbytes, time.process_time() - t_cpu, time.perf_counter() - t_wall


def best_of(make_reader, repeat: int):
    runs = [consume(make_reader()) for _ in range(repeat)]
    return min(runs, key=lambda r: r[2])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    trove = args.data / "raw_ocr" / "trove_nla_books"
    if not trove.is_dir():
        print(f"data not found: {trove}", file=sys.stderr)
        return 2

    from datatrove.pipeline.readers import JsonlReader
    from datatrove.utils.logging import logger

    logger.remove()  # keep the benchmark output readable
    from finebooks.readers.abbyy import AbbyyReader
    from finebooks.readers.alto import AltoReader
    from finebooks.readers.hocr import HocrReader
    from finebooks.readers.page_rows import PageRowReader
    from finebooks.readers.text import FormFeedTextReader, TroveTextReader

    books = list(TroveTextReader(trove).run())
    tmp = Path(tempfile.mkdtemp(prefix="fb-bench-"))
    (tmp / "jsonl").mkdir()
    (tmp / "ff").mkdir()
    (tmp / "rows").mkdir()
    with open(tmp / "jsonl" / "books.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"id": d.id, "text": d.text.replace("\f", "\n\n")}) + "\n" for d in books)
    rows = []
    for d in books:
        (tmp / "ff" / (d.id.split("/")[-1] + ".txt")).write_text(d.text, encoding="utf-8")
        rows += [{"book_id": d.id, "page": i + 1, "text": p} for i, p in enumerate(d.text.split("\f"))]
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp / "rows" / "pages.parquet")

    cases = [
        ("datatrove JsonlReader (baseline)", lambda: JsonlReader(str(tmp / "jsonl"), compression=None), None),
        ("TroveTextReader", lambda: TroveTextReader(str(trove)), None),
        ("FormFeedTextReader", lambda: FormFeedTextReader(str(tmp / "ff")), None),
        ("PageRowReader (DuckDB, Parquet)", lambda: PageRowReader(str(tmp / "rows")), None),
        ("AltoReader (all shared ALTO)", lambda: AltoReader(str(args.data / "alto")), args.data / "alto"),
        ("HocrReader (all shared hOCR)", lambda: HocrReader(str(args.data / "hocr")), args.data / "hocr"),
        ("AbbyyReader (all shared ABBYY)", lambda: AbbyyReader(str(args.data / "abbyy_xml")), args.data / "abbyy_xml"),
    ]
    results = []
    print(f"{'reader':<36} {'books':>6} {'text MB':>8} {'cpu s':>7} {'MB/s/core':>10} {'x baseline':>10} {'input MB/s':>10}")
    base = None
    for name, make, src in cases:
        n, nbytes, cpu, wall = best_of(make, args.repeat)
        mbps = nbytes / 1e6 / cpu if cpu else float("nan")
        if base is None:
            base = mbps
        in_mb = sum(p.stat().st_size for p in src.rglob("*") if p.is_file() and not p.name.endswith(".yml")) / 1e6 if src else None
        in_rate = f"{in_mb / cpu:10.2f}" if in_mb else f"{'':>10}"
        print(f"{name:<36} {n:>6} {nbytes / 1e6:8.2f} {cpu:7.3f} {mbps:10.2f} {mbps / base:10.2f} {in_rate}")
        results.append({"reader": name, "books": n, "text_mb": nbytes / 1e6, "cpu_s": cpu, "wall_s": wall,
                        "mb_per_s_per_core": mbps, "ratio_vs_baseline": mbps / base,
                        "input_mb": in_mb})
    print(f"(best of {args.repeat} runs by CPU time; one process = one core; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus visible)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
