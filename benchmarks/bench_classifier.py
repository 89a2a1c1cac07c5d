"""Quality-classifier scoring throughput on raw_ocr/trove_nla_books, beside a bare read.

Prints, in one run, CPU seconds (so MB/s is per core) and MB/s of:

* bare read: ``TroveTextReader`` over the folder (the baseline every recipe pays);
* read + ``score_quality_classifier`` for each model given, with the card's sample of chunks
  per book (default 32) and with every chunk (``max_chunks: 0``);
* the ratio of each to the bare read, measured in the same run (absolute MB/s moves with the
  machine's load; the ratio much less).

Run (after training a model, see docs/classifier.md):

    python benchmarks/bench_classifier.py --model runs/classifier/models [--model runs/classifier/models-sklearn]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[1].parent / "shared" / "data"
sys.path.insert(0, str(HERE.parents[1]))


def cpu_run(steps) -> tuple[int, int, float]:
    """Run datatrove steps in-process; (books, text bytes, CPU seconds)."""
    t = time.process_time()
    data = None
    for step in steps:
        data = step.run(data, 0, 1)
    n = nbytes = 0
    for doc in data:
        n += 1
        nbytes += len(doc.text.encode("utf-8"))
    return n, nbytes, time.process_time() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--model", action="append", required=True, help="model file or folder (repeatable)")
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs per configuration")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    from finebooks.classifier.model import load_model
    from finebooks.classifier.stage import QualityClassifierScorer
    from finebooks.readers.text import TroveTextReader

    folder = Path(args.data) / "raw_ocr" / "trove_nla_books"
    if not folder.is_dir():
        print(f"error: {folder} not found (set --data)", file=sys.stderr)
        return 2

    def reader():
        return TroveTextReader(str(folder), source="trove")

    def best(make_steps):
        runs = [cpu_run(make_steps()) for _ in range(args.repeat)]
        return min(runs, key=lambda r: r[2])

    n, nbytes, t_read = best(lambda: [reader()])
    mb = nbytes / 1e6
    rows = [{"config": "bare read (TroveTextReader)", "books": n, "cpu_s": t_read, "mb_s": mb / t_read, "ratio": 1.0}]
    for model_path in args.model:
        model = load_model(model_path)  # loaded once: the timings below are scoring, not model loading
        for max_chunks in (None, 0):
            label = f"read + score {model.backend} {model.name} " + (
                f"(up to {model.chunking.get('score_max_chunks')} chunks/book)" if max_chunks is None else "(every chunk)")
            _, _, t = best(lambda mp=model_path, mc=max_chunks: [reader(), QualityClassifierScorer(mp, max_chunks=mc)])
            rows.append({"config": label, "books": n, "cpu_s": t, "mb_s": mb / t, "ratio": t / t_read})
    print(f"raw_ocr/trove_nla_books: {n} books, {mb:.1f} MB of text; CPU time, best of {args.repeat}")
    print(f"{'configuration':<78} {'CPU s':>7} {'MB/s/core':>10} {'x read':>7}")
    for r in rows:
        print(f"{r['config']:<78} {r['cpu_s']:>7.2f} {r['mb_s']:>10.2f} {r['ratio']:>7.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "mb": mb, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
