"""Drop single pages that a scoring stage marked as garbage, keeping the rest of the book.

A book is rarely all bad: a plate, a fold-out map or a smudged page OCRs into symbol soup while
the other 300 pages are fine. Dropping the whole book loses the good text; keeping the page
puts noise into the corpus. This stage removes just those pages, using per-page annotations
that scoring stages already wrote (FineBooks keeps scoring and dropping apart):

* ``flag_key``: a per-page list of booleans (``bh_page_garbage`` from ``score_book_heuristics``),
* ``score_key`` + ``min_score``: a per-page list of scores (``page_ocr_quality`` from
  ``score_ocr_quality``); a page below ``min_score`` is dropped, a page without a score is kept.

By default a dropped page is *blanked* (its slot stays, empty), so page numbers and every other
per-page annotation stay aligned with the scan; ``mode: remove`` deletes the slot instead and
shortens the per-page annotation lists to match. Either way the book records what went:
``metadata["dropped_pages"]`` (1-based page numbers) and ``metadata["dropped_page_chars"]``.
The book itself is never dropped here (a book that is mostly garbage is a book-level decision:
``metadata_filter`` on ``bh_garbage_page_share`` or ``ocr_quality``).
"""

from __future__ import annotations

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from finebooks.book import PAGE_SEPARATOR as PAGE_SEP


class PageFilter(PipelineStep):
    """Remove (blank) pages flagged by a per-page annotation; records which pages went.

    Args:
        flag_key: metadata key of a per-page list of booleans; pages whose flag is true are
            dropped (``None``: don't use flags).
        score_key: metadata key of a per-page list of scores (``None``: don't use scores).
        min_score: pages whose score is below this are dropped (needs ``score_key``).
        mode: ``blank`` keeps an empty page in place (page numbers stay aligned) or ``remove``
            deletes it (per-page metadata lists of the same length are shortened to match).
    """

    name = "📄 Page filter"
    type = "🔻 - FILTER"

    def __init__(self, flag_key: str | None = "bh_page_garbage", score_key: str | None = None,
                 min_score: float | None = None, mode: str = "blank"):
        super().__init__()
        if mode not in ("blank", "remove"):
            raise ValueError(f"mode must be 'blank' or 'remove', not {mode!r}")
        if (score_key is None) != (min_score is None):
            raise ValueError("score_key and min_score go together")
        if flag_key is None and score_key is None:
            raise ValueError("set flag_key, or score_key with min_score")
        self.flag_key = flag_key
        self.score_key = score_key
        self.min_score = min_score
        self.mode = mode

    def pages_to_drop(self, meta: dict, n: int) -> list[int]:
        """0-based indices of the pages to drop; annotations of the wrong length are ignored."""
        drop = set()
        flags = meta.get(self.flag_key) if self.flag_key else None
        if isinstance(flags, list) and len(flags) == n:
            drop.update(i for i, f in enumerate(flags) if f is True)
        scores = meta.get(self.score_key) if self.score_key else None
        if isinstance(scores, list) and len(scores) == n:
            drop.update(i for i, s in enumerate(scores)
                        if isinstance(s, (int, float)) and s < self.min_score)
        return sorted(drop)

    def filter_pages(self, doc) -> int:
        """Apply to one book in place; returns the number of pages dropped."""
        pages = doc.text.split(PAGE_SEP)
        n = len(pages)
        meta = doc.metadata
        bad = self.pages_to_drop(meta, n)
        if not bad:
            return 0
        chars = sum(len(pages[i]) for i in bad)
        if self.mode == "blank":
            for i in bad:
                pages[i] = ""
        else:
            keep = [i for i in range(n) if i not in set(bad)]
            pages = [pages[i] for i in keep] or [""]
            for key, value in list(meta.items()):  # keep per-page annotations aligned
                if isinstance(value, list) and len(value) == n:
                    meta[key] = [value[i] for i in keep]
            meta["n_pages"] = len(pages)
        doc.text = PAGE_SEP.join(pages)
        meta["dropped_pages"] = sorted(set(meta.get("dropped_pages") or []) | {i + 1 for i in bad})
        meta["dropped_page_chars"] = int(meta.get("dropped_page_chars") or 0) + chars
        return len(bad)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                dropped = self.filter_pages(doc)
                if dropped:
                    self.stat_update("books_with_dropped_pages")
                    self.stat_update("pages_dropped", value=dropped)
            yield doc
