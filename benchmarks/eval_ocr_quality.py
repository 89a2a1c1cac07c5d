"""Calibration table (Spearman rho vs CER on OCR/ground-truth pairs) and throughput of OcrQualityScorer.

Usage: ``.venv/bin/python benchmarks/eval_ocr_quality.py [--data ../shared/data] [--quick N]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from finebooks.scoring.calibrate import evaluate, format_table, load_all
from finebooks.scoring.ocr_quality import OcrQualityScorer


def throughput(data: Path) -> None:
    from finebooks.readers.text import TroveTextReader

    docs = list(TroveTextReader(str(data / "raw_ocr" / "trove_nla_books")).run(None, 0, 1))
    n_bytes = sum(len(d.text.encode("utf-8")) for d in docs)
    for label in ("cold (empty memo)", "warm (memo filled)"):
        scorer = OcrQualityScorer() if label.startswith("cold") else scorer  # noqa: F821
        scorer.lexicon("en")  # lexicon load (~0.2 s) is a one-off per worker, not counted
        t = time.process_time()
        for d in docs:
            scorer.score(d)
        dt = time.process_time() - t
        print(
            f"throughput {label}: {len(docs)} books, {n_bytes / 1e6:.1f} MB in {dt:.2f}s cpu = {n_bytes / 1e6 / dt:.1f} MB/s"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--quick", type=int, default=None)
    args = ap.parse_args()
    data = Path(args.data)
    for fallback in ("union", "none"):
        result = evaluate(data, OcrQualityScorer(lexicon_fallback=fallback), docs=load_all(data, args.quick))
        print(f"\n## lexicon_fallback={fallback}\n")
        print(format_table(result))
    print()
    throughput(data)


if __name__ == "__main__":
    main()
