"""Build the clean-vs-noisy labelled file from ../shared/data for the quality-classifier check.

    python benchmarks/build_clean_noisy.py [--data ../shared/data] [-o runs/classifier/clean_noisy.jsonl]

clean (label ``clean``):
  gold/100_english_novels, gold/eltec_fra, gold/gutenberg_gitenberg (Gutenberg headers and
  licences removed by ``remove_boilerplate``; the ``old/`` releases of a book share its group),
  and the ground-truth side of ocr_gt_pairs (ICDAR 2017, ICDAR 2019, CIS page runs).
noisy (label ``noisy``):
  raw_ocr/trove_nla_books (its 8 near-duplicate pairs share a group, from ``dup_partner`` in
  ``metadata.jsonl``), the raw Internet Archive OCR of raw_ocr/wellcome_text_duplicates (one
  group: a text-reuse collection, its books overlap), and the OCR side of ocr_gt_pairs (each
  OCR text in one group with its ground truth).

Every book goes through the repair stages a recipe runs before scoring (boilerplate notices,
character normalisation, running heads and page numbers); the classifier then normalises
whitespace and typography (finebooks.classifier.text), so line length, page breaks and quote
style cannot separate the classes. The file holds non-commercial data: keep it out of the
repository (runs/ is ignored).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finebooks.classifier import bootstrap as bs


def trove_groups(folder: Path) -> dict[str, str]:
    """book id -> group id, joining Trove's near-duplicate pairs."""
    meta = folder / "metadata.jsonl"
    by_file = {}
    for line in meta.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_file[row["file"]] = row
    out = {}
    for row in by_file.values():
        partner = row.get("dup_partner")
        pair = sorted([row["trove_id"], by_file[partner]["trove_id"]]) if partner in by_file else [row["trove_id"]]
        out[f"trove_nla_books/{row['trove_id']}"] = "trove_nla_books/" + "+".join(pair)
    return out


def rows(data: Path, with_pairs: bool = True):
    gold, raw = data / "gold", data / "raw_ocr"
    yield from bs.folder_rows(str(gold / "100_english_novels"), "formfeed", bs.CLEAN)
    yield from bs.folder_rows(str(gold / "eltec_fra"), "formfeed", bs.CLEAN)
    yield from bs.folder_rows(str(gold / "gutenberg_gitenberg"), "formfeed", bs.CLEAN, group_depth=1)
    groups = trove_groups(raw / "trove_nla_books")
    for r in bs.folder_rows(str(raw / "trove_nla_books"), "trove", bs.NOISY):
        r["group"] = groups.get(r["id"], r["group"])
        yield r
    wellcome = raw / "wellcome_text_duplicates"
    for r in itertools.chain(bs.folder_rows(str(wellcome), "djvu", bs.NOISY, source="wellcome_ocr"),
                             bs.folder_rows(str(wellcome), "formfeed", bs.NOISY, glob="manhood/*.txt",
                                            source="wellcome_ocr")):
        r["group"] = "wellcome_ocr"
        yield r
    if with_pairs:
        for name in ("icdar2017", "icdar2019", "cis_ocrtestset"):
            yield from bs.ocr_gt_rows(str(data / "ocr_gt_pairs" / name))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("-o", "--output", default="runs/classifier/clean_noisy.jsonl")
    ap.add_argument("--no-pairs", action="store_true", help="leave out ocr_gt_pairs (books only)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts = bs.write_jsonl(rows(Path(args.data), not args.no_pairs), args.output,
                            lambda m: print(m, file=sys.stderr, flush=True))
    print(f"wrote {sum(counts.values())} rows to {args.output} in {time.perf_counter() - t0:.1f} s")
    by: dict[str, int] = {}
    for key, n in counts.items():
        src, lab = key.split("\t")
        src = src.split("/")[0].split(":")[0] + (":" + src.rsplit(":", 1)[1] if ":" in src else "")
        by[f"{lab:<6} {src}"] = by.get(f"{lab:<6} {src}", 0) + n
    for k, n in sorted(by.items()):
        print(f"  {n:>6}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
