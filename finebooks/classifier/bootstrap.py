"""Build a labelled file for a collection that has no labels yet.

Four ways, which can be combined into one JSON Lines file (``id``, ``group``, ``source``,
``label`` or ``score``, ``text``):

* **clean vs noisy folders** (:func:`folder_rows`): books from clean transcriptions (Project
  Gutenberg, Wikisource, corrected editions) labelled ``clean``, books of raw OCR labelled
  ``noisy``; read with any FineBooks reader and repaired with the same repair stages a recipe
  runs before scoring (default: boilerplate notices, character normalisation, running heads),
  so that the classifier learns the text and not the notices or the page furniture.
* **OCR / ground-truth pairs** (:func:`ocr_gt_rows`): the ICDAR 2017/2019 post-OCR format
  (``[OCR_toInput]`` / ``[ GS_aligned]`` lines) and page-pair folders (``gt/`` beside
  ``abbyy-txt/``, ``tess-txt/``, ...). The OCR side is ``noisy``, the ground truth ``clean``, and
  both sides share one group: they are the same pages, so they are never split apart. Pairs are
  the best labels there are: same language, period, typography and content on both sides, so
  the only difference left to learn is the OCR noise.
* **pages by OCR quality** (:func:`ocr_quality_page_rows`): within one collection, pages that
  FineBooks' reference-free ``score_ocr_quality`` rates at least ``high`` are ``clean``, those
  at most ``low`` are ``noisy``, pages in between are not used (grouped by book).
* **an external labels file** (:func:`join_label_rows`): labels or scores produced elsewhere
  (an LLM annotation run, a hand-labelled sample) keyed by book id, joined to the books' text.

Caution: a bootstrapped classifier learns *the difference between the two sources you gave
it*. If the clean side is all 19th-century English novels and the noisy side is mixed-language
pamphlets, it may learn "novel" and "English" as well as "clean". Check the per-source table
of ``finebooks classifier eval``, include OCR/ground-truth pairs where you have them, and keep
the classifier only if it earns its place in an ablation (models trained on the filtered
corpus must beat the unfiltered baseline by more than the seed noise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from datatrove.data import Document

DEFAULT_REPAIRS = ("remove_boilerplate", "normalise_characters", "remove_running_heads", "dehyphenate")
CLEAN, NOISY = "clean", "noisy"


def parse_source(spec: str, default_format: str = "formfeed") -> tuple[str, str, str | None]:
    """``PATH[:FORMAT[:GLOB]]`` -> ``(path, format, glob)``; FORMAT is a reader name (``finebooks formats``)."""
    from finebooks.readers import READERS

    parts = spec.split(":")
    # a Windows drive or a path with colons: take FORMAT/GLOB only when FORMAT names a reader
    for n in (2, 1):
        if len(parts) > n and parts[-n] in READERS:
            path = ":".join(parts[:-n])
            fmt = parts[-n]
            glob = parts[-1] if n == 2 else None
            return path, fmt, glob
    return spec, default_format, None


def repairers(names: Sequence[str]) -> list:
    """Instantiated repair stages by registry name."""
    from finebooks.registry import get_stage

    return [get_stage(n).load()() for n in names]


def read_books(path: str, fmt: str, glob: str | None = None, source: str | None = None,
               repair: Sequence[str] = DEFAULT_REPAIRS, **options) -> Iterator[Document]:
    """Books of a folder through a FineBooks reader, repaired by the named stages (in order)."""
    from finebooks.readers import get_reader_class

    if glob:
        options["glob_pattern"] = glob
    reader = get_reader_class(fmt)(path, source=source, **options)
    docs: Iterable[Document] = reader.run(None, rank=0, world_size=1)
    for step in repairers(repair):
        docs = step.run(docs, rank=0, world_size=1)
    yield from docs


def _group(doc: Document, group_depth: int) -> str:
    if group_depth <= 0:
        return doc.id
    rel = str(doc.metadata.get("source_path") or doc.id.split("/", 1)[-1])
    parts = rel.replace("\\", "/").split("/")
    if len(parts) <= group_depth:
        return doc.id
    return f"{doc.metadata.get('source', '')}/{'/'.join(parts[:group_depth])}"


def folder_rows(path: str, fmt: str, label: str, glob: str | None = None, source: str | None = None,
                repair: Sequence[str] = DEFAULT_REPAIRS, group_depth: int = 0, min_chars: int = 200,
                **options) -> Iterator[dict]:
    """Labelled rows for every book of a folder. ``group_depth`` > 0 groups books by their first
    path components (all files of ``Book_123/`` and ``Book_123/old/`` in one group)."""
    for doc in read_books(path, fmt, glob, source, repair, **options):
        if len(doc.text.strip()) < min_chars:
            continue
        yield {"id": doc.id, "group": _group(doc, group_depth), "source": doc.metadata.get("source", ""),
               "label": label, "text": doc.text}


# ---------------------------------------------------------------- OCR / ground truth pairs
_ICDAR_OCR = "[OCR_toInput]"
_ICDAR_GT = "[ GS_aligned]"


def parse_icdar(text: str) -> tuple[str, str] | None:
    """``(ocr, ground_truth)`` of an ICDAR 2017/2019 post-OCR file (``@`` gaps and ``#`` missing
    gold removed), or ``None`` when the file is not in that format."""
    ocr = gt = None
    for line in text.splitlines():
        if line.startswith(_ICDAR_OCR):
            ocr = line[len(_ICDAR_OCR):].strip()
        elif line.startswith(_ICDAR_GT):
            gt = line[len(_ICDAR_GT):].replace("@", "").replace("#", "").strip()
    if ocr is None or gt is None:
        return None
    return ocr, gt


def _natural(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def word_error(ocr: str, gt: str) -> float:
    """A cheap word error rate proxy: share of ground-truth words (as a multiset) missing from the OCR."""
    from collections import Counter

    g = Counter(gt.split())
    if not g:
        return 0.0
    hit = sum((Counter(ocr.split()) & g).values())
    return 1.0 - hit / sum(g.values())


def _repair_texts(texts: list[str], steps: list) -> list[str]:
    if not steps:
        return texts
    docs: Iterable[Document] = (Document(text=t, id=str(i)) for i, t in enumerate(texts))
    for step in steps:
        docs = step.run(docs, rank=0, world_size=1)
    return [d.text for d in docs]


def ocr_gt_rows(folder: str, min_chars: int = 200, source: str | None = None, min_error: float = 0.02,
                repair: Sequence[str] = DEFAULT_REPAIRS) -> Iterator[dict]:
    """Noisy/clean rows from OCR-ground-truth pairs under ``folder`` (see the module docstring).

    Both sides go through the ``repair`` stages. The OCR side is labelled ``noisy`` only when its
    word error against the ground truth (:func:`word_error`) is at least ``min_error``: OCR with
    a 2 % word error is as good as many transcriptions, and calling it noisy would teach the
    classifier that good text is bad. The ground truth is always ``clean``.
    """
    steps = repairers(repair)
    pairs = _ocr_gt_pairs(folder, min_chars, source)
    for key, name_tag, ocr_items, gt_text in pairs:
        texts = _repair_texts([gt_text] + [t for _, t in ocr_items], steps)
        gt_text, ocr_texts = texts[0], texts[1:]
        for (ocr_id, _), ocr_text in zip(ocr_items, ocr_texts):
            err = word_error(ocr_text, gt_text)
            if err >= min_error and len(ocr_text.strip()) >= min_chars:
                yield {"id": ocr_id, "group": key, "source": f"{name_tag}:ocr", "label": NOISY,
                       "word_error": round(err, 4), "text": ocr_text}
        if len(gt_text.strip()) >= min_chars:
            yield {"id": f"{key}/gt", "group": key, "source": f"{name_tag}:gt", "label": CLEAN, "text": gt_text}


def _ocr_gt_pairs(folder: str, min_chars: int, source: str | None):
    """``(group key, source tag, [(ocr id, ocr text)], ground truth)`` for each pair unit."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"OCR/ground-truth folder {folder!r} does not exist")
    name = source or root.name
    # page-pair folders: a `gt` folder with sibling OCR folders; pages pair up by the number in the name
    for gt_dir in sorted(root.rglob("gt"), key=lambda p: _natural(str(p))):
        if not gt_dir.is_dir():
            continue
        book = gt_dir.parent
        key = f"{name}/{book.relative_to(root).as_posix()}"

        def pages(d: Path) -> dict[str, str]:
            out = {}
            for f in d.iterdir():
                if f.is_file() and f.suffix == ".txt":
                    out[f.name.split(".", 1)[0]] = f.read_text(encoding="utf-8", errors="replace")
            return out

        gt_pages = pages(gt_dir)
        ocr_items = []
        for ocr_dir in sorted(p for p in book.iterdir() if p.is_dir() and p.name != "gt"):
            ocr_pages = pages(ocr_dir)
            common = sorted(set(gt_pages) & set(ocr_pages), key=_natural)
            if common:  # only the pages that have ground truth, so that the error is comparable
                ocr_items.append((f"{key}/{ocr_dir.name}", "\f".join(ocr_pages[k] for k in common)))
        gt_text = "\f".join(gt_pages[k] for k in sorted(gt_pages, key=_natural))
        yield key, name, ocr_items, gt_text
    # ICDAR files: three lines, OCR and aligned gold
    for f in sorted(root.rglob("*.txt"), key=lambda p: _natural(str(p))):
        if "gt" in f.parent.parts[len(root.parts):] or f.parent.name.endswith("-txt"):
            continue
        try:
            head = f.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        pair = parse_icdar(head)
        if pair is None:
            continue
        ocr, gt = pair
        rel = f.relative_to(root).with_suffix("").as_posix()
        key = f"{name}/{rel}"
        sub = rel.split("/")[-2] if "/" in rel else ""
        tag = f"{name}/{sub}" if sub else name
        if len(ocr) >= min_chars and len(gt) >= min_chars:
            yield key, tag, [(f"{key}/ocr", ocr)], gt


# ---------------------------------------------------------------- pages by OCR quality
def ocr_quality_page_rows(path: str, fmt: str, high: float = 0.9, low: float = 0.6, glob: str | None = None,
                          language: str = "en", repair: Sequence[str] = DEFAULT_REPAIRS,
                          min_chars: int = 300) -> Iterator[dict]:
    """Pages rated >= ``high`` by ``score_ocr_quality`` as ``clean``, <= ``low`` as ``noisy``."""
    from finebooks.scoring.ocr_quality import OcrQualityScorer

    if low >= high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    scorer = OcrQualityScorer(default_language=language)
    for doc in read_books(path, fmt, glob, None, repair):
        scorer.score(doc)
        for i, (page, q) in enumerate(zip(doc.text.split("\f"), doc.metadata.get("page_ocr_quality") or [])):
            if q is None or len(page.strip()) < min_chars or low < q < high:
                continue
            yield {"id": f"{doc.id}#p{i + 1}", "group": doc.id, "source": doc.metadata.get("source", ""),
                   "label": CLEAN if q >= high else NOISY, "ocr_quality": round(q, 4), "text": page}


# ---------------------------------------------------------------- external labels
def join_label_rows(labels_file: str, books_path: str, fmt: str, id_column: str = "id",
                    label_column: str | None = "label", score_column: str | None = None,
                    glob: str | None = None, repair: Sequence[str] = DEFAULT_REPAIRS) -> Iterator[dict]:
    """Rows of an external labels file (JSONL/Parquet: id + label or score) joined to book texts.

    Ids match a book's full id (``source/identifier``) or its identifier alone.
    """
    from finebooks.classifier.data import _iter_raw

    col = score_column or label_column
    labels = {}
    for raw in _iter_raw(labels_file):
        if id_column not in raw or col not in raw:
            raise ValueError(f"{labels_file}: rows need {id_column!r} and {col!r} columns (have {sorted(raw)})")
        labels[str(raw[id_column])] = raw[col]
    found = 0
    for doc in read_books(books_path, fmt, glob, None, repair):
        value = labels.get(doc.id, labels.get(doc.id.split("/", 1)[-1]))
        if value is None:
            continue
        found += 1
        row = {"id": doc.id, "group": doc.id, "source": doc.metadata.get("source", ""), "text": doc.text}
        row["score" if score_column else "label"] = float(value) if score_column else str(value)
        yield row
    if not found:
        raise ValueError(f"no book id of {books_path} is in {labels_file} (ids look like 'source/identifier')")


def write_jsonl(rows: Iterable[dict], output: str | Path, progress=None) -> dict:
    """Write rows to a JSON Lines file; returns counts per source and label."""
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            k = f"{row.get('source', '')}\t{row.get('label', row.get('score'))}"
            counts[k] = counts.get(k, 0) + 1
            n += 1
            if progress and n % 100 == 0:
                progress(f"wrote {n} rows")
    return counts


__all__ = [
    "CLEAN",
    "DEFAULT_REPAIRS",
    "NOISY",
    "folder_rows",
    "join_label_rows",
    "ocr_gt_rows",
    "ocr_quality_page_rows",
    "parse_icdar",
    "parse_source",
    "read_books",
    "word_error",
    "write_jsonl",
]
