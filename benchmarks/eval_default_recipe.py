"""The default recipe's repair + scoring + filter stages against what they must keep and drop.

Issue 5's check, printed in one run:

* keep rate of clean books (gold/100_english_novels, gold/eltec_fra, gold/gutenberg_gitenberg;
  the recipe's own ``remove_boilerplate`` strips the Gutenberg licence) - must be >= 97 %;
* keep rate of real OCR books (raw_ocr/trove_nla_books; stock datatrove Gopher+C4+FineWeb
  keep 8 of 202);
* removal of the garbage pages planted in the sample collection (``garbage_page`` labels; a
  page counts as removed when ``drop_pages`` blanked it or a filter dropped its book) - must
  be >= 0.95 recall - and the clean pages removed with them;
* throughput: the recipe's stages (repair + scoring + filters, no dedup) and the stock web
  filters (GopherRepetition + GopherQuality + C4Quality + FineWebQuality) on the same Trove
  books in the same process, MB/s per core (``time.process_time``).

The stages are read from ``recipes/default.yaml`` (or ``--recipe``): whatever the recipe says is
what is measured. Multi-stage steps (dedup) are left out: they remove copies, not bad books.

Usage: ``python benchmarks/eval_default_recipe.py [--data ../shared/data] [--stock-books 40] [--verbose]``
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

SAMPLE_FORMATS = {  # reader, folder, options: every layout of `finebooks sample`
    "trove": ("trove", "trove", {}),
    "pages": ("page_folder", "pages", {}),
    "formfeed": ("formfeed", "formfeed", {}),
    "page_rows": ("page_rows", ".", {"glob_pattern": "page_rows.parquet"}),
    "book_rows": ("book_jsonl", ".", {"glob_pattern": "book_rows.jsonl", "text_key": "content",
                                      "id_key": "identifier"}),
    "alto": ("alto", "alto", {"group_by": "folder"}),
    "hocr": ("hocr", "hocr", {}),
}


def _quiet():
    from datatrove.utils.logging import logger

    logger.remove()


def read(fmt: str, folder: Path, **options) -> list:
    from finebooks.readers import get_reader_class

    return list(get_reader_class(fmt)(str(folder), **options).run(None, 0, 1))


def copy_docs(docs):
    from datatrove.data import Document

    return [Document(text=d.text, id=d.id, metadata=json.loads(json.dumps(d.metadata))) for d in docs]


class RecipeStages:
    """The recipe's single-pass stages, applied book by book with every drop reason recorded."""

    def __init__(self, recipe_path: Path):
        from finebooks.recipe import load_recipe

        recipe = load_recipe(recipe_path)
        self.labels, self.steps, self.kinds = [], [], []
        for stage in recipe.stages:
            if stage.spec.kind not in ("stage", "filter"):
                continue
            self.labels.append(stage.label)
            self.steps.append(stage.spec.load()(**stage.params))
            self.kinds.append(stage.spec.kind)

    def apply(self, doc) -> str | None:
        """Run one book through the stages in place; ``None`` if kept, else ``label: reason``."""
        for label, step, kind in zip(self.labels, self.steps, self.kinds):
            if kind == "filter":
                verdict = step.filter(doc)
                if verdict is not True:
                    reason = verdict[1] if isinstance(verdict, tuple) else "dropped"
                    detail = doc.metadata.pop("filter_detail", None)
                    return f"{label}: {reason}" + (f" ({detail})" if detail else "")
            else:
                out = list(step.run(iter([doc])))
                if not out:
                    return f"{label}: dropped by a stage"
        return None

    def entries(self) -> list[str]:
        return self.labels


def keep_rate(docs, stages: RecipeStages, verbose: bool) -> tuple[int, int, Counter]:
    """Books kept; ``reasons`` also counts ``pages blanked`` / ``pages`` of the kept books."""
    kept, reasons = 0, Counter()
    for doc in docs:
        n_pages = doc.text.count("\f") + 1
        why = stages.apply(doc)
        kept += why is None
        if why is None:
            reasons["pages"] += n_pages
            reasons["pages blanked"] += len(doc.metadata.get("dropped_pages") or [])
        if why:
            reasons[why.split(" (")[0]] += 1
            if verbose:
                print(f"    DROP {doc.id}: {why}")
    return kept, len(docs), reasons


def sample_garbage(stages: RecipeStages, verbose: bool) -> dict:
    from finebooks.sample import make_sample

    with tempfile.TemporaryDirectory() as tmp:
        sample_dir = Path(tmp) / "sample"
        make_sample(sample_dir, seed=0)
        labels = [json.loads(x) for x in (sample_dir / "labels.jsonl").read_text().splitlines() if x.strip()]
        garbage = {(lab["book_id"], lab["page"]) for lab in labels if lab["defect"] == "garbage_page"}
        removed_pages, dropped_books, n_pages, pages_of = set(), {}, 0, {}
        for fmt, folder, opts in SAMPLE_FORMATS.values():
            for doc in read(fmt, sample_dir / folder, **opts):
                bid = doc.id.rsplit("/", 1)[-1]
                n = doc.text.count("\f") + 1
                n_pages += n
                pages_of[bid] = n
                why = stages.apply(doc)
                if why:
                    dropped_books[bid] = why
                else:
                    removed_pages |= {(bid, p) for p in doc.metadata.get("dropped_pages") or []}
    by_page = garbage & removed_pages
    by_book = {g for g in garbage if g[0] in dropped_books}
    clean_lost_pages = len(removed_pages - garbage)
    clean_lost_in_books = sum(pages_of[b] for b in dropped_books) - len(by_book)
    res = {"labelled": len(garbage), "removed": len(by_page | by_book), "by_page": len(by_page),
           "by_book": len(by_book - by_page), "pages": n_pages, "clean_pages_blanked": clean_lost_pages,
           "clean_pages_in_dropped_books": clean_lost_in_books, "dropped_books": dropped_books,
           "missed": sorted(garbage - removed_pages - by_book)}
    return res


def throughput(docs, run_one) -> float:
    """MB/s per core of ``run_one`` over copies of ``docs`` (process CPU time)."""
    copies = copy_docs(docs)
    size = sum(len(d.text.encode()) for d in copies)
    t0 = time.process_time()
    for d in copies:
        run_one(d)
    return size / 1e6 / (time.process_time() - t0)


def stock_filters():
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    filters = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]

    def run_one(doc):
        for f in filters:  # like datatrove: stop at the first filter that drops
            if f.filter(doc) is not True:
                return False
        return True

    return run_one


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "default.yaml")
    ap.add_argument("--stock-books", type=int, default=40,
                    help="Trove books (every 5th) timed with the stock filters, which run at ~0.25 MB/s "
                         "(0: all 202, ~2 min)")
    ap.add_argument("--verbose", action="store_true", help="list every dropped book and why")
    args = ap.parse_args(argv)
    _quiet()
    from finebooks.repair.boilerplate import DigitisationBoilerplateRemover  # noqa: F401 - import cost off the clock

    stages = RecipeStages(args.recipe)
    print(f"recipe {args.recipe.name}: single-pass stages measured: {', '.join(stages.entries())}")

    gold = args.data / "gold"
    print("\nkeep rates of clean books (must be >= 97 %):")
    total_kept = total = gold_pages = gold_blanked = 0
    for name in ("100_english_novels", "eltec_fra", "gutenberg_gitenberg"):
        k, n, reasons = keep_rate(read("formfeed", gold / name), stages, args.verbose)
        total_kept, total = total_kept + k, total + n
        pages, blanked = reasons.pop("pages"), reasons.pop("pages blanked")
        gold_pages, gold_blanked = gold_pages + pages, gold_blanked + blanked
        print(f"  {name:22s} {k:4d}/{n:<4d} {k / n:6.1%}  pages blanked {blanked}/{pages}  "
              f"{dict(reasons) if reasons else ''}")
    print(f"  {'all gold':22s} {total_kept:4d}/{total:<4d} {total_kept / total:6.1%}  "
          f"pages blanked {gold_blanked}/{gold_pages}")

    trove = read("trove", args.data / "raw_ocr" / "trove_nla_books")
    k, n, reasons = keep_rate(copy_docs(trove), stages, args.verbose)
    pages, blanked = reasons.pop("pages"), reasons.pop("pages blanked")
    print(f"\nreal OCR books (stock datatrove Gopher+C4+FineWeb keep 8/202):\n"
          f"  trove_nla_books        {k:4d}/{n:<4d} {k / n:6.1%}  garbage pages blanked {blanked}/{pages}  "
          f"drops: {dict(reasons)}")

    g = sample_garbage(stages, args.verbose)
    print(f"\nsample collection: planted garbage pages removed {g['removed']}/{g['labelled']} "
          f"(recall {g['removed'] / g['labelled']:.2f}; {g['by_page']} pages blanked, {g['by_book']} with "
          f"their book); clean pages blanked {g['clean_pages_blanked']} of {g['pages'] - g['labelled']}, "
          f"clean pages in dropped books {g['clean_pages_in_dropped_books']}")
    if args.verbose or g["missed"]:
        print(f"  missed: {g['missed']}")
    if args.verbose:
        print(f"  dropped books: {g['dropped_books']}")

    size = sum(len(d.text.encode()) for d in trove) / 1e6
    ours = throughput(trove, stages.apply)
    subset = trove if args.stock_books <= 0 else trove[::max(1, len(trove) // args.stock_books)][:args.stock_books]
    sub_mb = sum(len(d.text.encode()) for d in subset) / 1e6
    stock = throughput(subset, stock_filters())
    print(f"\nthroughput, MB/s per core (process CPU time), same process:\n"
          f"  FineBooks default stages (repair+scoring+filters) on {len(trove)} Trove books ({size:.1f} MB): "
          f"{ours:6.2f}\n"
          f"  stock Gopher+C4+FineWeb filters on {len(subset)} of them ({sub_mb:.1f} MB):            {stock:6.2f}\n"
          f"  ratio: {ours / stock:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
