"""Evaluate ``RunningHeadRemover`` (registry: ``remove_running_heads``).

Prints, each from a measurement made in this run:

1. **Sample collection** (``finebooks sample``, seed 0): precision and recall of the removed lines
   against the planted ``running_head`` / ``running_foot`` / ``page_number`` labels, overall, per
   format and per defect kind. Every format is read through its reader: the plain ones (trove,
   pages, formfeed, page_rows, book_rows) index ``page_text.split("\\n")``; for alto and hocr the
   label's ``line`` is the n-th TextLine / ``ocr_line`` of the page, which is the n-th non-blank
   line of the page text.
2. **Real labels** (``tests/data/real_labels/running_heads.jsonl``, hand-checked): precision and
   recall of removal on the labelled lines, overall, per source and per label kind.
3. **Clean text survival**: % of characters changed on ``gold/100_english_novels`` and
   ``gold/eltec_fra`` as read (one page per book), and on the same texts cut into pseudo-pages of
   40 lines (repeated body lines now sit at page edges).
4. **Throughput**: MB/s per core (UTF-8 bytes of book text / CPU seconds) of the stage on the 202
   books of ``raw_ocr/trove_nla_books`` read by ``TroveTextReader`` (reading not counted), with the
   reader alone beside it.

Run:  python benchmarks/eval_running_heads.py [--data ../shared/data] [--sample DIR] [--skip-real]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
REAL_LABELS = REPO / "tests" / "data" / "real_labels" / "running_heads.jsonl"

FURNITURE = ("running_head", "running_foot", "page_number")
#: label kinds that the remover should remove in the real label set
REAL_POSITIVE = ("running_head", "running_foot", "page_number", "signature", "catchword")

# sample format -> (reader format, path in the sample folder, reader options, line indexing)
SAMPLE_FORMATS = {
    "trove": ("trove", "trove", {}, "split"),
    "pages": ("page_folder", "pages", {}, "split"),
    "formfeed": ("formfeed", "formfeed", {}, "split"),
    "page_rows": ("page_rows", ".", {"glob_pattern": "page_rows.parquet"}, "split"),
    "book_rows": ("book_jsonl", ".", {"glob_pattern": "book_rows.jsonl", "text_key": "content",
                                      "id_key": "identifier"}, "split"),
    "alto": ("alto", "alto", {"group_by": "folder"}, "nonblank"),
    "hocr": ("hocr", "hocr", {}, "nonblank"),
}


def _quiet():
    from datatrove.utils.logging import logger

    logger.remove()


def read_books(reader_format: str, folder: Path, options: dict) -> list:
    from finebooks.readers import get_reader_class

    reader = get_reader_class(reader_format)(str(folder), **options)
    return list(reader.run(None, 0, 1))


def prf(tp: int, n_pred: int, n_true: int) -> tuple[float, float]:
    """(precision, recall); 1.0 where the denominator is 0."""
    return (tp / n_pred if n_pred else 1.0), (tp / n_true if n_true else 1.0)


# ============================================================================ sample collection
def evaluate_sample(sample_dir: Path, remover=None) -> dict:
    """P/R of the remover on the sample collection's planted furniture labels."""
    from finebooks.repair.running_heads import RunningHeadRemover

    remover = remover or RunningHeadRemover()
    labels = [json.loads(x) for x in (sample_dir / "labels.jsonl").read_text().splitlines() if x.strip()]
    by_book: dict[str, list[dict]] = defaultdict(list)
    for lab in labels:
        if lab["defect"] in FURNITURE:
            by_book[lab["book_id"]].append(lab)
    per_format: dict[str, Counter] = {}
    per_kind: Counter = Counter()
    errors: list[str] = []
    for fmt, (reader_fmt, sub, options, indexing) in SAMPLE_FORMATS.items():
        docs = read_books(reader_fmt, sample_dir / sub, options)
        c = Counter()
        for doc in docs:
            bid = doc.id.rsplit("/", 1)[-1]
            pages = doc.text.split("\f")
            truth = {(lab["page"], _split_index(pages[lab["page"] - 1], lab, indexing)): lab["defect"]
                     for lab in by_book.get(bid, [])}
            found = remover.find_furniture(pages)
            pred = {(p + 1, line): kind for p, marks in enumerate(found) for line, kind in marks.items()}
            tp = set(pred) & set(truth)
            c.update(tp=len(tp), pred=len(pred), true=len(truth))
            for key, kind in truth.items():
                per_kind[f"{kind}_true"] += 1
                if key in pred:
                    per_kind[f"{kind}_tp"] += 1
                    per_kind["kind_agrees"] += pred[key] == kind or (
                        kind == "page_number" and pred[key] == "page_number")
            for key, kind in pred.items():
                per_kind[f"{kind}_pred"] += 1
                if key not in truth:
                    errors.append(f"FP {fmt} {bid} p{key[0]} l{key[1]} {kind}: {_line(pages[key[0] - 1], key[1], indexing)!r}")
            for key, kind in truth.items():
                if key not in pred:
                    errors.append(f"FN {fmt} {bid} p{key[0]} l{key[1]} {kind}: {_line(pages[key[0] - 1], key[1], indexing)!r}")
        per_format[fmt] = c
    total = sum(per_format.values(), Counter())
    return {"per_format": per_format, "total": total, "per_kind": per_kind, "errors": errors}


def _split_index(page: str, label: dict, indexing: str) -> int:
    """The index in ``page.split("\\n")`` of a labelled line.

    Plain formats: the label's ``line``. ALTO / hOCR: the label counts TextLines, which are the
    non-blank lines of the page text; a TextLine that the reader leaves empty (a line holding
    only the second half of a word joined to the line above) shifts that count, so the line is
    looked up by its text, nearest to the counted position.
    """
    if indexing == "split":
        return label["line"]
    lines = page.split("\n")
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    guess = nonblank[min(label["line"], len(nonblank) - 1)] if nonblank else 0
    same = [i for i, ln in enumerate(lines) if ln.strip() == label["detail"]["text"].strip()]
    return min(same, key=lambda i: abs(i - guess)) if same else guess


def _line(page: str, line: int, indexing: str) -> str:
    lines = page.split("\n")
    return lines[line] if line < len(lines) else "<missing>"


# ============================================================================ real labels
def load_real_books(data: Path, files: set[str]) -> dict[str, list[str]]:
    """Pages of each labelled book, read the way the labels were made.

    Trove files go through ``TroveTextReader`` (from a temporary folder of links to just the
    labelled files, so that the other 31 MB are not read); a page folder through
    ``PageFolderReader``.
    """
    from finebooks.readers.text import PageFolderReader, TroveTextReader

    books: dict[str, list[str]] = {}
    prefix = "raw_ocr/trove_nla_books/"
    trove = {f for f in files if f.startswith(prefix)}
    if trove:
        with tempfile.TemporaryDirectory() as tmp:
            for f in trove:
                (Path(tmp) / f[len(prefix):]).symlink_to(data / f)
            for doc in TroveTextReader(tmp, metadata_file=None).run(None, 0, 1):
                books[prefix + doc.metadata["source_path"]] = doc.text.split("\f")
    for f in sorted(files - trove):
        (doc,) = list(PageFolderReader(str(data / f)).run(None, 0, 1))
        books[f] = doc.text.split("\f")
    missing = files - set(books)
    if missing:
        raise FileNotFoundError(f"labelled books not read: {sorted(missing)[:3]}")
    return books


def source_of(file: str) -> str:
    if file.startswith("raw_ocr/trove_nla_books/"):
        return "trove"
    parts = file.split("/")
    return f"cis:{parts[3].split('-')[1].lower()}:{parts[4].split('-')[0]}"


def evaluate_real(data: Path, labels_path: Path = REAL_LABELS, remover=None) -> dict:
    """P/R of removal on the hand-checked real label set, overall / per source / per label."""
    from finebooks.repair.running_heads import RunningHeadRemover

    remover = remover or RunningHeadRemover()
    labels = [json.loads(x) for x in labels_path.read_text().splitlines() if x.strip()]
    books = load_real_books(data, {lab["file"] for lab in labels})
    found = {f: remover.find_furniture(pages) for f, pages in books.items()}
    res: dict[str, Counter] = defaultdict(Counter)
    per_label: Counter = Counter()
    errors = []
    for lab in labels:
        marks = found[lab["file"]][lab["page"] - 1]
        removed = lab["line"] in marks
        positive = lab["label"] in REAL_POSITIVE
        groups = ["all", source_of(lab["file"]), f"split:{lab.get('split', '-')}"]
        if lab["label"] != "catchword":  # the kinds the issue names, catchwords left out
            groups.append("all:no-catchword-labels")
        for group in groups:
            res[group].update(tp=removed and positive, pred=removed, true=positive, n=1)
        per_label[(lab["label"], "removed" if removed else "kept")] += 1
        if removed != positive:
            line = books[lab["file"]][lab["page"] - 1].split("\n")[lab["line"]]
            errors.append(f"{'FP' if removed else 'FN'} {lab['file']} p{lab['page']} l{lab['line']} "
                          f"{lab['label']} (as {marks.get(lab['line'])}): {line[:70]!r}")
    return {"groups": res, "per_label": per_label, "errors": errors, "n": len(labels)}


# ============================================================================ clean text
def pseudo_pages(text: str, lines_per_page: int = 40) -> str:
    """Cut a clean text into pages of ``lines_per_page`` lines (joined with ``\\f``)."""
    lines = text.split("\n")
    return "\f".join("\n".join(lines[i : i + lines_per_page]) for i in range(0, len(lines), lines_per_page))


def clean_text_change(folder: Path, remover=None, paged: bool = False, lines_per_page: int = 40) -> dict:
    """% of characters the stage changes on clean books (one page per book, or pseudo-pages).

    The stage only deletes whole lines, so the change is measured over a line diff: the
    characters of every line deleted or inserted (plus its newline).
    """
    import difflib

    from finebooks.repair.running_heads import RunningHeadRemover

    remover = remover or RunningHeadRemover(record=False)
    files = sorted(folder.rglob("*.txt"))
    n_chars = changed = books_changed = 0
    examples = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").replace("\f", "\n")
        if paged:
            text = pseudo_pages(text, lines_per_page)
        out = remover.format(text)
        n_chars += len(text)
        if out == text:
            continue
        books_changed += 1
        a, b = text.replace("\f", "\n").split("\n"), out.replace("\f", "\n").split("\n")
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag != "equal":
                changed += sum(len(x) + 1 for x in a[i1:i2]) + sum(len(x) + 1 for x in b[j1:j2])
                if tag in ("delete", "replace") and len(examples) < 20:
                    examples.append(f"{f.name}: {[x for x in a[i1:i2] if x.strip()][:3]!r}")
    return {"files": len(files), "chars": n_chars, "changed": changed, "books_changed": books_changed,
            "pct": 100 * changed / n_chars if n_chars else 0.0, "examples": examples}


# ============================================================================ throughput
def throughput(data: Path, repeat: int = 3) -> dict:
    """MB/s per core of the stage on trove_nla_books, the reader alone beside it.

    CPU seconds (``time.process_time``) of ``RunningHeadRemover.run`` over the 202 books read by
    ``TroveTextReader`` (read once, beforehand, and not counted), best of ``repeat`` runs; MB are
    the UTF-8 bytes of the books' text.
    """
    from datatrove.data import Document

    from finebooks.readers.text import TroveTextReader
    from finebooks.repair.running_heads import KINDS, RunningHeadRemover

    folder = data / "raw_ocr" / "trove_nla_books"
    t = time.process_time()
    docs = list(TroveTextReader(str(folder)).run(None, 0, 1))
    read_cpu = time.process_time() - t
    texts = [d.text for d in docs]
    nbytes = sum(len(x.encode("utf-8")) for x in texts)
    best = None
    removed: dict[str, float] = {}
    for _ in range(repeat):
        remover = RunningHeadRemover(record=False)
        batch = [Document(text=x, id=str(i)) for i, x in enumerate(texts)]
        t = time.process_time()
        for _doc in remover.run(batch):
            pass
        cpu = time.process_time() - t
        best = cpu if best is None else min(best, cpu)
        removed = {k: remover.stats[k].total for k in (*KINDS, "books_changed") if k in remover.stats.stats}
    return {"books": len(texts), "mb": nbytes / 1e6, "cpu_s": best, "mb_s": nbytes / 1e6 / best,
            "read_mb_s": nbytes / 1e6 / read_cpu, "removed": removed}


# ============================================================================ main
def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sample", type=Path, help="an existing sample folder (default: write one, seed 0)")
    ap.add_argument("--labels", type=Path, default=REAL_LABELS)
    ap.add_argument("--errors", type=int, default=0, help="print this many errors of each evaluation")
    ap.add_argument("--skip-real", action="store_true", help="only the sample collection")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    _quiet()

    # 1. sample
    with tempfile.TemporaryDirectory() as tmp:
        sample = args.sample
        if sample is None:
            from finebooks.sample import make_sample

            sample = Path(tmp) / "sample"
            make_sample(sample)
        res = evaluate_sample(sample)
    print("== sample collection: removed lines vs planted running_head/running_foot/page_number labels")
    for fmt, c in res["per_format"].items():
        p, r = prf(c["tp"], c["pred"], c["true"])
        print(f"  {fmt:10s} labels {c['true']:4d}  removed {c['pred']:4d}  P {_pct(p)}  R {_pct(r)}")
    t = res["total"]
    p, r = prf(t["tp"], t["pred"], t["true"])
    print(f"  {'ALL':10s} labels {t['true']:4d}  removed {t['pred']:4d}  P {_pct(p)}  R {_pct(r)}")
    k = res["per_kind"]
    for kind in FURNITURE:
        _, kr = prf(k[f"{kind}_tp"], k[f"{kind}_pred"], k[f"{kind}_true"])
        print(f"  per kind {kind:13s} labels {k[f'{kind}_true']:4d}  recall {_pct(kr)}  "
              f"(removed as {kind}: {k[f'{kind}_pred']})")
    for e in res["errors"][: args.errors]:
        print("   ", e)
    if args.skip_real:
        return 0
    if not args.data.is_dir():
        print(f"real data not found at {args.data}; real-data figures skipped", file=sys.stderr)
        return 0

    # 2. real labels
    if args.labels.exists():
        real = evaluate_real(args.data, args.labels)
        print(f"== real hand-checked labels ({real['n']} lines, {args.labels.name}); positive = "
              f"{'/'.join(REAL_POSITIVE)}")
        for group, c in sorted(real["groups"].items()):
            p, r = prf(c["tp"], c["pred"], c["true"])
            print(f"  {group:24s} lines {c['n']:4d}  furniture {c['true']:4d}  removed {c['pred']:4d}  "
                  f"P {_pct(p)}  R {_pct(r)}")
        labels_seen = sorted({lab for lab, _ in real["per_label"]})
        for lab in labels_seen:
            print(f"  label {lab:13s} removed {real['per_label'][(lab, 'removed')]:4d}  "
                  f"kept {real['per_label'][(lab, 'kept')]:4d}")
        for e in real["errors"][: args.errors]:
            print("   ", e)

    # 3. clean text
    print("== clean text survival (% of characters changed)")
    for name in ("100_english_novels", "eltec_fra"):
        folder = args.data / "gold" / name
        if not folder.is_dir():
            print(f"  {name}: not found")
            continue
        for paged in (False, True):
            c = clean_text_change(folder, paged=paged)
            how = "pseudo-pages of 40 lines" if paged else "as read (1 page/book)"
            print(f"  {name:20s} {how:26s} files {c['files']:3d}  chars {c['chars']:>10,d}  "
                  f"changed {c['changed']:>6,d} = {c['pct']:.4f}%  books changed {c['books_changed']}")
            for e in c["examples"][: args.errors]:
                print("   ", e)

    # 4. throughput
    tp = throughput(args.data, args.repeat)
    print(f"== throughput on raw_ocr/trove_nla_books ({tp['books']} books, {tp['mb']:.1f} MB, best of {args.repeat})")
    print(f"  remove_running_heads: {tp['cpu_s']:.2f} CPU s = {tp['mb_s']:.1f} MB/s per core "
          f"(TroveTextReader alone: {tp['read_mb_s']:.1f} MB/s per core)")
    print("  removed: " + ", ".join(f"{k} {v:.0f}" for k, v in tp["removed"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
