"""Book-tuned heuristics (BookHeuristicsScorer + metadata thresholds) vs. what they must keep/drop.

Prints, for the recommended thresholds (``RECOMMENDED``, the recipe's ``metadata_filter`` entries):

* keep rates on clean books (gold/100_english_novels, gold/eltec_fra, gold/gutenberg_gitenberg
  after Gutenberg boilerplate removal) - must be >= 97 %;
* keep rate on real OCR books (raw_ocr/trove_nla_books; stock datatrove Gopher+C4+FineWeb
  keeps 8 of 202);
* garbage-page recall and false flags on the sample collection (``garbage_page`` labels);
* throughput of the scorer in MB/s per core (``time.process_time``) on Trove;
* which threshold drops which books (``--verbose``).

Usage: ``python benchmarks/eval_book_filters.py [--data ../shared/data] [--verbose]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"

#: recommended thresholds: metadata key -> (min, max); one metadata_filter stage each
RECOMMENDED: dict[str, tuple[float | None, float | None]] = {
    "bh_n_words": (200, None),
    "bh_alpha_words_ratio": (0.8, None),
    "bh_mean_word_length": (3.0, 10.0),
    "bh_stopwords_per_1000": (150, None),
    "bh_symbol_word_ratio": (None, 0.1),
    "bh_dup_line_char_share": (None, 0.3),
    "bh_dup_para_char_share": (None, 0.3),
    "bh_top_2gram_char_share": (None, 0.1),
    "bh_top_3gram_char_share": (None, 0.08),
    "bh_garbage_page_share": (None, 0.2),
}

SAMPLE_FORMATS = {
    "trove": ("trove", "trove", {}),
    "pages": ("page_folder", "pages", {}),
    "formfeed": ("formfeed", "formfeed", {}),
    "page_rows": ("page_rows", ".", {"glob_pattern": "page_rows.parquet"}),
    "book_rows": (
        "book_jsonl",
        ".",
        {"glob_pattern": "book_rows.jsonl", "text_key": "content", "id_key": "identifier"},
    ),
    "alto": ("alto", "alto", {"group_by": "folder"}),
    "hocr": ("hocr", "hocr", {}),
}


def _quiet():
    from datatrove.utils.logging import logger

    logger.remove()


def recipe_entries(thresholds=RECOMMENDED) -> list[str]:
    out = []
    for key, (lo, hi) in thresholds.items():
        opts = (
            [f"key: {key}"]
            + ([f"min: {lo}"] if lo is not None else [])
            + ([f"max: {hi}"] if hi is not None else [])
        )
        out.append("- metadata_filter: {" + ", ".join(opts) + "}")
    return out


def drop_reasons(doc, thresholds=RECOMMENDED) -> list[str]:
    """The thresholds a scored book fails (empty: kept); same semantics as MetadataThresholdFilter."""
    from finebooks.filters.metadata_threshold import MetadataThresholdFilter

    reasons = []
    for key, (lo, hi) in thresholds.items():
        res = MetadataThresholdFilter(key, min=lo, max=hi).filter(doc)
        if res is not True:
            reasons.append(res[1])
    return reasons


def read(fmt: str, folder: Path, **options) -> list:
    from finebooks.readers import get_reader_class

    return list(get_reader_class(fmt)(str(folder), **options).run(None, 0, 1))


def gold_corpora(data: Path) -> dict[str, list]:
    from finebooks.repair.boilerplate import DigitisationBoilerplateRemover

    gold = data / "gold"
    gutenberg = read("formfeed", gold / "gutenberg_gitenberg")
    return {
        "100_english_novels": read("formfeed", gold / "100_english_novels"),
        "eltec_fra": read("formfeed", gold / "eltec_fra"),
        "gutenberg_gitenberg": list(DigitisationBoilerplateRemover().run(gutenberg)),
    }


def keep_rate(docs, scorer, thresholds=RECOMMENDED, verbose=False) -> tuple[int, int, Counter]:
    kept, reasons = 0, Counter()
    for doc in scorer.run(docs):
        why = drop_reasons(doc, thresholds)
        kept += not why
        for r in why:
            reasons[r.split(":")[0]] += 1
        if why and verbose:
            print(f"    DROP {doc.id}: {'; '.join(why)}")
    return kept, len(docs), reasons


def sample_garbage(scorer, sample_dir: Path | None = None) -> dict:
    """Garbage-page recall and false flags on the sample collection (every format)."""
    from finebooks.sample import make_sample

    tmp = None
    if sample_dir is None:
        tmp = tempfile.TemporaryDirectory()
        sample_dir = Path(tmp.name) / "sample"
        make_sample(sample_dir, seed=0)
    labels = [json.loads(x) for x in (sample_dir / "labels.jsonl").read_text().splitlines() if x.strip()]
    truth = {(lab["book_id"], lab["page"]) for lab in labels if lab["defect"] == "garbage_page"}
    flagged, n_pages = set(), 0
    for fmt, folder, opts in SAMPLE_FORMATS.values():
        for doc in scorer.run(read(fmt, sample_dir / folder, **opts)):
            bid = doc.id.rsplit("/", 1)[-1]
            flags = doc.metadata["bh_page_garbage"]
            n_pages += len(flags)
            flagged |= {(bid, i + 1) for i, f in enumerate(flags) if f}
    if tmp:
        tmp.cleanup()
    return {
        "labelled": len(truth),
        "found": len(truth & flagged),
        "false_flags": len(flagged - truth),
        "pages": n_pages,
        "missed": sorted(truth - flagged),
        "false": sorted(flagged - truth),
    }


def throughput(docs, scorer, repeat: int = 1) -> float:
    """MB/s per core of ``scorer.score`` (CPU time of this process)."""
    from datatrove.data import Document

    size = sum(len(d.text.encode()) for d in docs)
    copies = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]
    t0 = time.process_time()
    for _ in range(repeat):
        for d in copies:
            scorer.score(d)
    return size * repeat / 1e6 / (time.process_time() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--verbose", action="store_true", help="list every dropped book and the thresholds it fails"
    )
    args = ap.parse_args(argv)
    _quiet()
    from finebooks.scoring.book_heuristics import BookHeuristicsScorer

    scorer = BookHeuristicsScorer()
    print("recommended recipe stages:\n  " + "\n  ".join(recipe_entries()))
    print("\nkeep rates (clean books, must be >= 97 %):")
    total_kept = total = 0
    for name, docs in gold_corpora(args.data).items():
        k, n, reasons = keep_rate(docs, scorer, verbose=args.verbose)
        total_kept, total = total_kept + k, total + n
        print(f"  {name:22s} {k:4d}/{n:<4d} {k / n:6.1%}  {dict(reasons) if reasons else ''}")
    print(f"  {'all gold':22s} {total_kept:4d}/{total:<4d} {total_kept / total:6.1%}")

    trove = read("trove", args.data / "raw_ocr" / "trove_nla_books")
    k, n, reasons = keep_rate(trove, scorer, verbose=args.verbose)
    print(
        f"\nreal OCR books (stock datatrove Gopher+C4+FineWeb keeps 8/202):\n  trove_nla_books        {k:4d}/{n:<4d} {k / n:6.1%}  drops by threshold: {dict(reasons)}"
    )

    g = sample_garbage(scorer)
    print(
        f"\nsample collection garbage pages: recall {g['found']}/{g['labelled']}, false flags {g['false_flags']} "
        f"of {g['pages'] - g['labelled']} unlabelled pages"
    )
    if args.verbose:
        print(f"  missed: {g['missed']}\n  false: {g['false']}")

    mbps = throughput(trove, scorer)
    size = sum(len(d.text.encode()) for d in trove) / 1e6
    print(
        f"\nthroughput on trove ({size:.1f} MB, {len(trove)} books): {mbps:.1f} MB/s per core (process_time)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
