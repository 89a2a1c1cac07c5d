"""Pages repeated across a collection: library notices, stamps, blank-page OCR.

A page whose normalised text (words only: case, punctuation, digits and layout ignored) occurs in
at least ``min_books`` different books of the collection is furniture, not content: a
digitisation or lending notice, a bookplate, a "this page intentionally left blank", the dust
that OCR reads off an empty page. Only the whole collection shows it, so this is a multi-stage
step (``repeated_pages``):

1. intermediate copy + :class:`PageHashRecorder`: the page hashes of every book (all pages hashed
   in one pass over the book), the distinct ones and all of them in page order;
2. :class:`RepeatedPageFinder` (one task): hashes found in ``min_books`` or more books, written
   to ``RUN/repeated_pages/<label>/repeated_pages.parquet`` (hash, books, occurrences, blank,
   an example book and page) for audit;
3. :class:`RepeatedPageRemover` (re-reading the intermediate copy in the same order, so it looks
   each book's pages up in the recorded hashes instead of hashing them again): in each book,
   those pages are emptied (``action: remove``; the
   page count never changes, like every repair stage) or only listed (``action: flag``) in
   ``metadata["repeated_pages"]`` (0-based page indices); counts in
   ``metadata["repairs"]["repeated_pages"]`` and the step's stats. Books are never dropped.

Duplicate books share *all* their pages: a book whose non-blank pages are repeated elsewhere for
more than ``max_share`` of them is only flagged (near-duplicate dedup decides about it), so three
scans of one book do not lose their text here. Run this stage after ``near_dedup``.
"""

from __future__ import annotations

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep

from finebooks.book import PAGE_SEPARATOR
from finebooks.dedup.common import intermediate_copy, read_array, read_parquet, write_array, write_parquet
from finebooks.dedup.shingles import word_hashes_of_pages

BLANK = np.uint64(0)  # the hash of every page without a word


def page_hashes(text: str) -> np.ndarray:
    """One uint64 per page: xxh3 of the page's normalised words (``BLANK`` for a page without words).

    The words of all pages are hashed in one vectorised pass over the book
    (:func:`~finebooks.dedup.shingles.word_hashes_of_pages`); only the per-page xxh3 is a loop.
    """
    import xxhash

    wh, bounds = word_hashes_of_pages(text, fold_confusions=False, min_word_len=1)
    digest = xxhash.xxh3_64_intdigest
    raw = memoryview(wh).cast("B")  # byte slices of the hashes, no copy per page
    b = (bounds * 8).tolist()
    return np.fromiter((digest(raw[b[i]:b[i + 1]]) | 1 if b[i + 1] > b[i] else 0  # 0: BLANK
                        for i in range(len(b) - 1)), dtype=np.uint64, count=len(b) - 1)


class PageHashRecorder(PipelineStep):
    """Writes ``page_hashes/<rank>.parquet``: per book its distinct page hashes and first page of each
    (for the finder), and all its page hashes in page order (so the remover, which re-reads the
    same books in the same order, does not hash the pages again)."""

    type = "🫂 - DEDUP"
    name = "🫂 Page hashes"

    def __init__(self, output_folder):
        super().__init__()
        self.output_folder = get_datafolder(output_folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow as pa

        cols = {"doc": [], "id": [], "hashes": [], "first_page": [], "pages": []}
        for idx, doc in enumerate(data):
            with self.track_time():
                h = page_hashes(doc.text)
                uniq, first = np.unique(h, return_index=True)
                cols["doc"].append(idx)
                cols["id"].append(doc.id)
                cols["hashes"].append(uniq)
                cols["first_page"].append(first.astype(np.uint32))
                cols["pages"].append(h)
                self.stat_update("books")
                self.stat_update("pages", value=len(h))
        write_parquet(self.output_folder, f"page_hashes/{rank:05d}.parquet", {
            "doc": pa.array(cols["doc"], pa.int64()), "id": pa.array(cols["id"], pa.string()),
            "hashes": pa.array(cols["hashes"], pa.list_(pa.uint64())),
            "first_page": pa.array(cols["first_page"], pa.list_(pa.uint32())),
            "pages": pa.array(cols["pages"], pa.list_(pa.uint64()))})
        return
        yield


class RepeatedPageFinder(PipelineStep):
    """One task: the page hashes present in at least ``min_books`` books (and the audit table)."""

    type = "🫂 - DEDUP"
    name = "🫂 Repeated pages"

    def __init__(self, work_folder, report_folder, stage: str, min_books: int = 3, include_blank: bool = True):
        super().__init__()
        self.work_folder = get_datafolder(work_folder)
        self.report_folder = report_folder
        self.stage = stage
        self.min_books = min_books
        self.include_blank = include_blank

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("the finder step of repeated_pages runs as a single task")
        with self.track_time():
            hashes, books, pages, ids = [], [], [], []
            for name in self.work_folder.list_files(subdirectory="page_hashes", glob_pattern="*.parquet"):
                t = read_parquet(self.work_folder, name).to_pydict()
                for i, book in enumerate(t["id"]):
                    h = np.asarray(t["hashes"][i], dtype=np.uint64)
                    hashes.append(h)
                    books.append(np.full(len(h), len(ids), dtype=np.int64))
                    pages.append(np.asarray(t["first_page"][i], dtype=np.int64))
                    ids.append(book)
            h = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
            b = np.concatenate(books) if books else np.zeros(0, dtype=np.int64)
            p = np.concatenate(pages) if pages else np.zeros(0, dtype=np.int64)
            order = np.argsort(h, kind="stable")
            h, b, p = h[order], b[order], p[order]
            starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1]))) if len(h) else np.zeros(0, dtype=int)
            counts = np.diff(np.append(starts, len(h)))
            sel = counts >= self.min_books
            if not self.include_blank:
                sel &= h[starts] != BLANK
            rep = h[starts[sel]]
            write_array(self.work_folder, "repeated.bin", rep)
            write_parquet(self.report_folder, "repeated_pages.parquet", {
                "page_hash": [f"{int(x):016x}" for x in rep],
                "n_books": counts[sel].astype(np.int64),
                "blank": rep == BLANK,
                "example_id": [ids[int(x)] for x in b[starts[sel]]],
                "example_page": p[starts[sel]].astype(np.int64),
                "stage": [self.stage] * len(rep),
            })
            self.stat_update("distinct_pages", value=len(starts))
            self.stat_update("repeated_page_texts", value=len(rep))
        return
        yield


class RepeatedPageRemover(PipelineStep):
    """Empties (``remove``) or lists (``flag``) the pages that the finder found repeated."""

    type = "✂️ - FORMAT"
    name = "🫂 Repeated-page remover"

    def __init__(self, repeated_file_folder, action: str = "remove", max_share: float = 0.5):
        super().__init__()
        if action not in ("remove", "flag"):
            raise ValueError(f"action must be 'remove' or 'flag', not {action!r}")
        self.folder = repeated_file_folder
        self.action = action
        self.max_share = max_share
        self._repeated: np.ndarray | None = None
        self._recorded_ids: list[str] | None = None  # what PageHashRecorder wrote for this task
        self._recorded_pages: list[np.ndarray] | None = None

    def _recorded(self, idx: int, doc: Document) -> np.ndarray | None:
        """The page hashes the recorder wrote for the ``idx``-th book of this task, if it is this book."""
        if self._recorded_pages is None or idx >= len(self._recorded_pages) or self._recorded_ids[idx] != doc.id:
            return None
        hashes = self._recorded_pages[idx]
        if len(hashes) != doc.text.count(PAGE_SEPARATOR) + 1:
            return None
        return hashes

    def process(self, doc: Document, hashes: np.ndarray | None = None) -> None:
        if hashes is None:
            hashes = page_hashes(doc.text)
            self.stat_update("pages_rehashed", value=len(hashes))
        hit = np.isin(hashes, self._repeated)
        if not hit.any():
            return
        idx = np.flatnonzero(hit).tolist()
        doc.metadata["repeated_pages"] = idx
        blank = hashes == BLANK
        content = ~blank
        share = (hit & content).sum() / max(1, content.sum())
        n_blank = int((hit & blank).sum())
        n_text = len(idx) - n_blank
        record = {"pages": len(idx), "blank": n_blank}
        if self.action == "remove" and share <= self.max_share:
            pages = doc.text.split(PAGE_SEPARATOR)
            for i in idx:
                pages[i] = ""
            doc.text = PAGE_SEPARATOR.join(pages)
            record["removed"] = len(idx)
            self.stat_update("pages_removed", value=len(idx))
            self.stat_update("text_pages_removed", value=n_text)
            self.stat_update("blank_pages_removed", value=n_blank)
        else:
            if self.action == "remove":
                self.stat_update("books_mostly_repeated")  # probably a duplicate book: left to near_dedup
                record["kept_mostly_repeated"] = True
            self.stat_update("pages_flagged", value=len(idx))
        doc.metadata.setdefault("repairs", {})["repeated_pages"] = record
        self.stat_update("books_with_repeated_pages")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folder = get_datafolder(self.folder)
        self._repeated = read_array(folder, "repeated.bin", np.uint64) if folder.isfile("repeated.bin") \
            else np.zeros(0, dtype=np.uint64)
        self._recorded_ids = self._recorded_pages = None
        name = f"page_hashes/{rank:05d}.parquet"
        if len(self._repeated) and folder.isfile(name):
            table = read_parquet(folder, name)
            if "pages" in table.column_names:
                self._recorded_ids = table.column("id").to_pylist()
                pages = table.column("pages").combine_chunks()
                offsets = pages.offsets.to_numpy()
                offsets = offsets - offsets[0]
                flat = pages.flatten().to_numpy(zero_copy_only=False).astype(np.uint64, copy=False)
                self._recorded_pages = [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
        for idx, doc in enumerate(data):
            with self.track_time():
                if len(self._repeated):
                    self.process(doc, self._recorded(idx, doc))
                self.stat_update("books")
            yield doc


class RepeatedPages:
    """Pages repeated across the collection (notices, stamps, blank-page OCR): removed or flagged.

    Args:
        min_books: a page text found in at least this many different books is repeated.
        action: ``remove`` (the page becomes empty; page count unchanged) or ``flag`` (listed in
            ``metadata["repeated_pages"]`` only).
        max_share: a book with more than this share of its non-blank pages repeated is only
            flagged (a duplicate book; near_dedup decides).
        include_blank: treat pages without any word (blank-page OCR dust) as repeated pages too.
    """

    def __init__(self, min_books: int = 3, action: str = "remove", max_share: float = 0.5,
                 include_blank: bool = True):
        if min_books < 2:
            raise ValueError("min_books must be at least 2")
        if action not in ("remove", "flag"):
            raise ValueError(f"action must be 'remove' or 'flag', not {action!r}")
        self.min_books = min_books
        self.action = action
        self.max_share = max_share
        self.include_blank = include_blank

    def plan(self, ctx):
        from finebooks.engine import MultiStageSplit, PlannedExecutor
        from finebooks.readers.book_rows import RankShardReader

        work = ctx.work_dir
        return MultiStageSplit(
            finish=[
                intermediate_copy(work),
                PageHashRecorder(str(work)),
            ],
            middle=[PlannedExecutor(f"{ctx.label}_find", [RepeatedPageFinder(
                str(work), str(ctx.run_dir / "repeated_pages" / ctx.label), ctx.label, self.min_books,
                self.include_blank)], 1)],
            resume=[
                RankShardReader(str(work / "books")),
                RepeatedPageRemover(str(work), self.action, self.max_share),
            ],
            first_name="page_hashes",
        )
