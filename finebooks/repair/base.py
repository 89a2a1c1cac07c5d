"""Base class of FineBooks repair stages: page-aware datatrove formatters.

A repair stage receives a whole book, splits it into pages on ``\\f``, repairs the pages
(looking at all of them when it needs to, e.g. to find lines repeated across pages), and joins
them back. Two invariants hold for every repair stage and are checked here:

* the page count never changes (a page may become empty, it is never removed), so page numbers
  in labels, exclusion records and ``metadata["n_pages"]`` stay valid;
* what a stage changed is recorded: counters in the step's stats (datatrove prints and saves
  them) and a short per-book summary under ``metadata["repairs"][<stage name>]``.

Subclasses implement :meth:`PageRepairer.repair_pages` (whole book) or
:meth:`PageRepairer.repair_page` (one page at a time). As a datatrove ``BaseFormatter`` a
repair stage also works on plain text through :meth:`format`.
"""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.formatters.base import BaseFormatter

from finebooks.book import PAGE_SEPARATOR


class PageRepairer(BaseFormatter):
    """Page-aware repair step. Set ``name`` (a short stage name) and override a repair method."""

    name = "page repairer"
    #: key under metadata["repairs"]; defaults to ``name``
    record_key: str | None = None

    def __init__(self, record: bool = True):
        super().__init__()
        self.record = record

    # ---------------------------------------------------------------- to override
    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        """Repair all pages of one book. Default: :meth:`repair_page` on each page."""
        return [self.repair_page(page, i, doc) for i, page in enumerate(pages)]

    def repair_page(self, page: str, index: int, doc: Document | None) -> str:
        """Repair one page (``index`` is 0-based)."""
        return page

    # ---------------------------------------------------------------- helpers
    def note(self, doc: Document | None, key: str, value=1) -> None:
        """Count a change in the stats and in ``doc.metadata["repairs"][stage][key]``.

        ``value`` is added to counters (int/float); lists are extended (keep them short: they are
        stored with every book).
        """
        if isinstance(value, (int, float)):
            self.stat_update(key, value=value)
        if doc is None or not self.record:
            return
        repairs = doc.metadata.setdefault("repairs", {})
        mine = repairs.setdefault(self.record_key or self.name, {})
        if isinstance(value, list):
            mine.setdefault(key, []).extend(value)
        else:
            mine[key] = mine.get(key, 0) + value

    # ---------------------------------------------------------------- datatrove API
    def repair_book(self, doc: Document) -> Document:
        pages = doc.text.split(PAGE_SEPARATOR)
        before = tuple(pages)  # repair_pages may edit the list in place: compare with the original pages
        new = self.repair_pages(pages, doc)
        if len(new) != len(before):
            raise AssertionError(f"{self.name} changed the page count of {doc.id}: {len(before)} -> {len(new)}")
        if all(a is b for a, b in zip(new, before)):
            return doc  # every original page object handed back: the text is unchanged (no join, no compare)
        text = PAGE_SEPARATOR.join(p.replace(PAGE_SEPARATOR, "\n") for p in new)
        if text != doc.text:
            self.stat_update("books_changed")
            self.stat_update("chars_removed", value=max(len(doc.text) - len(text), 0))
        doc.text = text
        return doc

    def format(self, text: str) -> str:
        """Repair a plain text (pages split on ``\\f``) without metadata."""
        return self.repair_book(Document(text=text, id="")).text

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            self.stat_update("books")
            with self.track_time():
                self.repair_book(doc)
            yield doc
