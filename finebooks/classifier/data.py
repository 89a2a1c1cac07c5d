"""Labelled data for quality classifiers: reading, book-level splits and chunked examples.

A labelled file has one row per book (or per page, or per excerpt) with a text column and
either a class label (``clean``/``noisy``, ``0``-``5`` as categories, ...) or a numeric score
(an LLM's 0-5 educational rating, a CER). Accepted inputs:

* Parquet: a ``.parquet`` file or a folder of them;
* JSON Lines: a ``.jsonl``/``.json``/``.jsonl.gz`` file or a folder of them;
* a Hugging Face dataset: ``hf:NAME`` (``load_dataset(NAME, ...)``; local builders and the local
  cache work offline) or a folder written by ``Dataset.save_to_disk``.

Columns (names configurable): ``text``; ``label`` or ``score``; optional ``id`` (default: the row
number) and ``group`` (default: the id). The **group** is the unit of the held-out split: rows
of one group are never on both sides. Put every copy of a book (two scans, OCR and ground
truth of the same pages, an old and a new e-text) in one group, or the held-out score measures
memory, not generalisation.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LabelledRow:
    """One labelled text: ``target`` is a class name (str) or a score (float)."""

    id: str
    group: str
    text: str
    target: str | float
    source: str = ""
    extra: dict = field(default_factory=dict)


class DataError(ValueError):
    """A labelled-data file that cannot be used (missing column, no rows, mixed targets)."""


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
    return [path]


def _iter_raw(path: str, hf_options: dict | None = None) -> Iterator[dict]:
    """Raw row dicts from Parquet, JSON Lines or a Hugging Face dataset."""
    hf_options = dict(hf_options or {})
    if path.startswith("hf:"):
        from datasets import load_dataset

        hf_options.setdefault("split", "train")
        yield from load_dataset(path[3:], **hf_options)
        return
    p = Path(path)
    if not p.exists():
        raise DataError(f"labelled data {path!r} does not exist")
    if p.is_dir() and (p / "dataset_info.json").exists():  # Dataset.save_to_disk
        from datasets import load_from_disk

        ds = load_from_disk(str(p))
        if hasattr(ds, "keys"):  # a DatasetDict: take the split asked for (default train)
            ds = ds[hf_options.get("split", "train")]
        yield from ds
        return
    parquet = _files(p, (".parquet",))
    if p.is_dir() and not parquet or p.is_file() and not p.name.lower().endswith(".parquet"):
        files = _files(p, (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson"))
        if not files:
            raise DataError(f"no .parquet or .jsonl files in {path!r}")
        for f in files:
            import gzip

            opener = gzip.open if f.name.endswith(".gz") else open
            with opener(f, "rt", encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise DataError(f"{f}:{lineno}: not valid JSON ({e})") from None
        return
    import pyarrow.parquet as pq

    for f in parquet:
        pf = pq.ParquetFile(f)
        for batch in pf.iter_batches(batch_size=256):
            yield from batch.to_pylist()


@dataclass
class Columns:
    """Which columns hold what. Exactly one of ``label``/``score`` is used."""

    text: str = "text"
    label: str | None = "label"
    score: str | None = None
    id: str | None = "id"
    group: str | None = "group"
    source: str | None = "source"

    @property
    def task(self) -> str:
        return "scores" if self.score else "classes"


def read_labelled(path: str, columns: Columns | None = None, hf_options: dict | None = None,
                  limit: int = 0) -> Iterator[LabelledRow]:
    """Rows of a labelled file as :class:`LabelledRow` (streamed). Rows with no target are skipped."""
    cols = columns or Columns()
    target_col = cols.score or cols.label
    if not target_col:
        raise DataError("set a label column or a score column")
    n = 0
    for i, raw in enumerate(_iter_raw(path, hf_options)):
        if cols.text not in raw:
            raise DataError(f"{path}: row {i} has no text column {cols.text!r} (columns: {sorted(raw)})")
        if target_col not in raw:
            raise DataError(f"{path}: row {i} has no {'score' if cols.score else 'label'} column "
                            f"{target_col!r} (columns: {sorted(raw)})")
        value = raw[target_col]
        if value is None or raw[cols.text] is None:
            continue
        if cols.score:
            try:
                target: str | float = float(value)
            except (TypeError, ValueError):
                raise DataError(f"{path}: row {i}: score {value!r} is not a number") from None
        else:
            target = str(value).strip()
            if not target or any(c.isspace() for c in target):
                raise DataError(f"{path}: row {i}: label {value!r} must be a non-empty word without spaces")
        rid = str(raw.get(cols.id, i)) if cols.id and raw.get(cols.id) is not None else str(i)
        group = str(raw[cols.group]) if cols.group and raw.get(cols.group) is not None else rid
        source = str(raw.get(cols.source) or "") if cols.source else ""
        yield LabelledRow(id=rid, group=group, text=str(raw[cols.text]), target=target, source=source)
        n += 1
        if limit and n >= limit:
            return


def file_fingerprint(path: str) -> str:
    """A cheap identity of a data file or folder (names, sizes, mtimes), for model cards."""
    if path.startswith("hf:"):
        return path
    p = Path(path)
    h = hashlib.sha256()
    for f in _files(p, ("",)) if p.is_dir() else [p]:
        st = f.stat()
        h.update(f"{f.relative_to(p) if p.is_dir() else f.name}:{st.st_size}:{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:16]


def _stable_hash(value: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{value}".encode()).digest()[:8], "big")


def split_groups(strata: dict[str, str], heldout: float = 0.2, seed: int = 0) -> set[str]:
    """Held-out groups: the same share of the groups of every stratum (see :func:`group_strata`).

    Deterministic (a seeded hash orders the groups, not Python's random state), so the same
    data and seed always give the same split. A stratum with at least two groups always keeps
    one on each side.
    """
    if not 0 < heldout < 1:
        raise ValueError(f"heldout must be between 0 and 1, not {heldout}")
    by_stratum: dict[str, list[str]] = {}
    for g, key in strata.items():
        by_stratum.setdefault(key, []).append(g)
    out: set[str] = set()
    for groups in by_stratum.values():
        groups = sorted(groups, key=lambda g: _stable_hash(g, seed))
        k = round(heldout * len(groups))
        if len(groups) >= 2:
            k = min(max(k, 1), len(groups) - 1)
        out.update(groups[:k])
    return out


def group_strata(rows: Sequence[LabelledRow]) -> dict[str, str]:
    """The stratum of each group for :func:`split_groups`: its sources and classes
    (``gold|clean``; ``icdar:gt|icdar:ocr|clean+noisy`` for a group holding an OCR text and its
    ground truth), or its sources and rounded mean score - so every source and class is held
    out in the same proportion."""
    sources: dict[str, set[str]] = {}
    targets: dict[str, list] = {}
    for r in rows:
        sources.setdefault(r.group, set()).add(r.source)
        targets.setdefault(r.group, []).append(r.target)
    out: dict[str, str] = {}
    for g, ts in targets.items():
        if isinstance(ts[0], str):
            t = "+".join(sorted(set(ts)))
        else:
            t = str(round(sum(ts) / len(ts)))
        out[g] = "|".join(sorted(sources[g])) + "|" + t
    return out


def threads() -> int:
    """Worker threads for training: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


__all__ = ["Columns", "DataError", "LabelledRow", "file_fingerprint", "group_strata", "read_labelled",
           "split_groups"]
