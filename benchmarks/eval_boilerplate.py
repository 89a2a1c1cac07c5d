"""Evaluate the digitisation-boilerplate remover (``remove_boilerplate``) on real and planted data.

Prints, from one run:

* per Project Gutenberg file of gold/gutenberg_gitenberg: the kinds and characters removed, and
  whether any header/footer anchor line is left near the start or the end;
* per file of raw_ocr/wellcome_text_duplicates: the kinds and characters removed;
* on the synthetic sample collection (``finebooks sample``, several seeds): precision and
  recall of the planted ``digitisation_notice`` labels — a label is found when its page, after
  the stage, is the page without the notice and nothing else changed; a removal is correct when
  it is on a page whose only change is a planted notice or a planted ``Digitized by Google``
  watermark line;
* characters changed on the clean novels of gold/100_english_novels and gold/eltec_fra;
* throughput in MB/s per core (UTF-8 bytes of book text / CPU seconds of the stage alone) on
  all books of raw_ocr/trove_nla_books read by ``TroveTextReader``, and what it removed there.

Run:  python benchmarks/eval_boilerplate.py [--data ../shared/data] [--seeds 0 1 2 3 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[1].parent / "shared" / "data"

# lines that belong to a Project Gutenberg header or footer (case-insensitive)
PG_ANCHORS = re.compile(
    r"project\s+gutenberg|gutenberg-tm|\*end\*|\bsmall\s+print\b|\be-?texts?\s+(?:of|prepared|readable)\b"
    r"|\be-?books?\s+of\b|start\s+of\s+(?:the|this)\b|end\s+of\s+(?:the\s+|this\s+)?project"
    r"|this\s+file\s+should\s+be\s+named|gutenberg\.(?:org|net)|pglaf|\bpgdp\b|^\s*produced\s+by"
    r"|^\s*release\s+date\s*:|character\s+set\s+encoding|\[e-?(?:book|text)\s+#",
    re.IGNORECASE | re.MULTILINE,
)

SAMPLE_READERS = [  # the layouts of recipes/default.yaml
    ("trove", "trove", {}),
    ("page_folder", "pages", {}),
    ("formfeed", "formfeed", {}),
    ("alto", "alto", {"group_by": "folder"}),
    ("hocr", "hocr", {}),
    ("page_rows", ".", {"glob_pattern": "page_rows.parquet"}),
    ("book_jsonl", ".", {"glob_pattern": "book_rows.jsonl", "text_key": "content", "id_key": "identifier"}),
]


def quiet() -> None:
    from datatrove.utils.logging import logger

    logger.remove()


def read_folder(folder: Path, reader: str = "formfeed", **options) -> list:
    from finebooks.readers import get_reader_class

    return list(get_reader_class(reader)(str(folder), **options).run(None, 0, 1))


def removed_summary(doc, stage_name: str = "remove_boilerplate") -> dict[str, int]:
    """``{kind: chars}`` removed from a book, from its ``metadata["repairs"]`` records."""
    out: Counter = Counter()
    for r in doc.metadata.get("repairs", {}).get(stage_name, {}).get("removed", []):
        out[r["kind"]] += r["chars"]
    return dict(out)


def pg_anchor_lines(text: str, head: float = 0.03, tail: float = 0.10) -> list[str]:
    """Lines matching a PG header/footer anchor in the first ``head`` and last ``tail`` of a text."""
    n = len(text)
    zones = text[: int(n * head)] + "\n" + text[n - int(n * tail):]
    return [m.group(0) for m in re.finditer(r"^.*$", zones, re.MULTILINE) if PG_ANCHORS.search(m.group(0))]


# ------------------------------------------------------------------ real data
def eval_gutenberg(data: Path, stage) -> list[dict]:
    rows = []
    for doc in sorted(read_folder(data / "gold" / "gutenberg_gitenberg", glob_pattern="**/*.txt"), key=lambda d: d.id):
        before = len(doc.text)
        stage.repair_book(doc)
        rows.append({
            "file": doc.metadata["source_path"], "chars": before, "removed": before - len(doc.text),
            "kinds": removed_summary(doc), "anchor_lines_left": pg_anchor_lines(doc.text),
        })
    return rows


def eval_wellcome(data: Path, stage) -> list[dict]:
    rows = []
    for doc in sorted(read_folder(data / "raw_ocr" / "wellcome_text_duplicates", glob_pattern="**/*.txt"),
                      key=lambda d: d.id):
        before = len(doc.text)
        stage.repair_book(doc)
        rows.append({"file": doc.metadata["source_path"], "chars": before, "removed": before - len(doc.text),
                     "kinds": removed_summary(doc)})
    return rows


def eval_gold(data: Path, stage) -> dict[str, dict]:
    out = {}
    for name in ("100_english_novels", "eltec_fra"):
        docs = read_folder(data / "gold" / name, glob_pattern="*.txt")
        total = changed = books_changed = 0
        for doc in docs:
            before = doc.text
            stage.repair_book(doc)
            total += len(before)
            if doc.text != before:
                books_changed += 1
                changed += abs(len(before) - len(doc.text)) or 1
        out[name] = {"books": len(docs), "chars": total, "chars_changed": changed, "books_changed": books_changed}
    return out


def throughput(data: Path, stage_factory, repeat: int = 3) -> dict:
    from finebooks.readers.text import TroveTextReader

    docs = list(TroveTextReader(str(data / "raw_ocr" / "trove_nla_books")).run(None, 0, 1))
    texts = [(d.id, d.text, dict(d.metadata)) for d in docs]
    nbytes = sum(len(t.encode("utf-8")) for _, t, _ in texts)
    from datatrove.data import Document

    best, kinds = None, Counter()
    for _ in range(repeat):
        stage = stage_factory()
        batch = [Document(text=t, id=i, metadata=dict(m)) for i, t, m in texts]
        t0 = time.process_time()
        for d in batch:
            stage.repair_book(d)
        cpu = time.process_time() - t0
        best = cpu if best is None else min(best, cpu)
        kinds = Counter()
        for d in batch:
            for r in d.metadata.get("repairs", {}).get("remove_boilerplate", {}).get("removed", []):
                kinds[r["kind"]] += 1
    return {"books": len(texts), "mb": nbytes / 1e6, "cpu_s": best, "mb_per_s_core": nbytes / 1e6 / best,
            "removed": dict(kinds)}


# ------------------------------------------------------------------ the sample collection
def norm(text: str) -> str:
    return " ".join(text.split())


def read_sample(root: Path) -> dict:
    """Every book of a sample collection, by its sample ``book_id``."""
    books = {}
    for fmt, path, opts in SAMPLE_READERS:
        for doc in read_folder(root / path, fmt, **opts):
            books[doc.id.rsplit("/", 1)[-1]] = doc
    return books


def load_labels(root: Path) -> list[dict]:
    with open(root / "labels.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def eval_sample(root: Path, stage) -> dict:
    """Precision/recall of ``stage`` on the planted digitisation notices of one sample collection."""
    from finebooks.book import split_pages

    labels = load_labels(root)
    notices: dict[tuple[str, int], list[dict]] = {}
    watermarks: dict[tuple[str, int], list[str]] = {}
    for lab in labels:
        if lab["defect"] == "digitisation_notice":
            notices.setdefault((lab["book_id"], lab["page"]), []).append(lab)
        elif lab["defect"] == "running_foot" and lab["detail"].get("kind") == "watermark":
            watermarks.setdefault((lab["book_id"], lab["page"]), []).append(lab["detail"]["text"])
    books = read_sample(root)
    found = n_records = correct_records = 0
    wrong_pages: list[tuple[str, int, str]] = []
    missed: list[tuple[str, int, str]] = []
    by_kind: Counter = Counter()
    found_by_kind: Counter = Counter()
    removals_by_kind: Counter = Counter()
    wm_total = wm_removed = 0
    for book_id, doc in books.items():
        before = split_pages(doc)
        stage.repair_book(doc)
        after = split_pages(doc)
        records = doc.metadata.get("repairs", {}).get(stage.name, {}).get("removed", [])
        pages_with_records = Counter(r["page"] for r in records)
        removals_by_kind.update(r["kind"] for r in records)
        for i, (b, a) in enumerate(zip(before, after), start=1):
            key = (book_id, i)
            required = [norm(lab["detail"]["text"]) for lab in notices.get(key, [])]
            expected = norm(b)
            for t in required:
                expected = norm(expected.replace(t, " ", 1))
            variants = {expected}
            for w in watermarks.get(key, []):  # a watermark line may or may not be removed here
                variants |= {norm(v.replace(norm(w), " ")) for v in variants}
            ok = norm(a) in variants
            for w in watermarks.get(key, []):
                wm_total += 1
                wm_removed += ok and norm(w) not in norm(a)
            for lab in notices.get(key, []):
                kind = lab["detail"]["kind"]
                by_kind[kind] += 1
                if ok:
                    found += 1
                    found_by_kind[kind] += 1
                else:
                    missed.append((book_id, i, kind))
            n = pages_with_records.get(i, 0)
            n_records += n
            if n and ok and (key in notices or key in watermarks):
                correct_records += n
            elif n or not ok:
                wrong_pages.append((book_id, i, "changed without a label" if key not in notices else "notice page"))
    n_labels = sum(by_kind.values())
    return {
        "labels": n_labels, "found": found, "recall": found / n_labels if n_labels else 1.0,
        "removals": n_records, "correct_removals": correct_records,
        "precision": correct_records / n_records if n_records else 1.0,
        "by_kind": {k: f"{found_by_kind[k]}/{v}" for k, v in sorted(by_kind.items())},
        "removals_by_kind": dict(sorted(removals_by_kind.items())),
        "watermarks": f"{wm_removed}/{wm_total}",
        "missed": missed, "wrong_pages": wrong_pages,
    }


def eval_samples(seeds: list[int], stage_factory) -> dict:
    from finebooks.sample import make_sample

    total: Counter = Counter()
    per_seed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            root = Path(tmp) / f"s{seed}"
            make_sample(root, seed=seed)
            r = eval_sample(root, stage_factory())
            per_seed[seed] = r
            for k in ("labels", "found", "removals", "correct_removals"):
                total[k] += r[k]
    return {
        "per_seed": per_seed,
        "labels": total["labels"], "found": total["found"],
        "recall": total["found"] / total["labels"] if total["labels"] else 1.0,
        "removals": total["removals"],
        "precision": total["correct_removals"] / total["removals"] if total["removals"] else 1.0,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--repeat", type=int, default=3, help="throughput: best of this many passes")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    if not (args.data / "gold" / "gutenberg_gitenberg").is_dir():
        print(f"data not found: {args.data}", file=sys.stderr)
        return 2
    quiet()
    from finebooks.repair.boilerplate import DigitisationBoilerplateRemover as Stage

    report: dict = {}
    print("== Project Gutenberg (gold/gutenberg_gitenberg)")
    report["gutenberg"] = eval_gutenberg(args.data, Stage())
    for r in report["gutenberg"]:
        print(f"{r['file']:<118} {r['chars']:>8} chars  removed {r['removed']:>6}  {r['kinds']}"
              f"  anchor lines left: {len(r['anchor_lines_left'])}")
    print("\n== Wellcome / Internet Archive (raw_ocr/wellcome_text_duplicates)")
    report["wellcome"] = eval_wellcome(args.data, Stage())
    for r in report["wellcome"]:
        print(f"{r['file']:<50} {r['chars']:>8} chars  removed {r['removed']:>5}  {r['kinds']}")

    print(f"\n== Sample collection, planted digitisation_notice labels (seeds {args.seeds})")
    s = eval_samples(args.seeds, Stage)
    report["sample"] = s
    for seed, r in s["per_seed"].items():
        print(f"seed {seed}: recall {r['found']}/{r['labels']} {r['by_kind']}  precision "
              f"{r['correct_removals']}/{r['removals']} {r['removals_by_kind']}  Google watermark lines removed "
              f"{r['watermarks']}  missed {r['missed']}"
              f"  wrong pages {r['wrong_pages']}")
    print(f"all seeds: recall {s['found']}/{s['labels']} = {s['recall']:.3f}   precision (removals) "
          f"{s['precision']:.3f} of {s['removals']}")

    print("\n== Clean text (must not change)")
    report["gold"] = eval_gold(args.data, Stage())
    for name, g in report["gold"].items():
        print(f"{name}: {g['books']} books, {g['chars']} chars, {g['chars_changed']} chars changed "
              f"({100 * g['chars_changed'] / g['chars']:.4f} %), {g['books_changed']} books changed")

    print("\n== Throughput on raw_ocr/trove_nla_books (TroveTextReader, stage only, best of "
          f"{args.repeat})")
    t = throughput(args.data, Stage, args.repeat)
    report["throughput"] = t
    print(f"{t['books']} books, {t['mb']:.1f} MB in {t['cpu_s']:.3f} CPU s: {t['mb_per_s_core']:.1f} MB/s per core;"
          f" removed there: {t['removed']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
