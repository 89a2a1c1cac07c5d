"""The FineBooks data model: one book = one datatrove :class:`~datatrove.data.Document`.

A book's ``text`` is the whole book with its pages joined by the form-feed character
``\\f`` (U+000C). Page-aware stages split on it; every other datatrove step sees ordinary
text. Readers guarantee that a book read from a source with *N* pages has exactly ``N - 1``
form feeds, so ``n_pages(doc) == doc.metadata["n_pages"]`` for every book they emit; form
feeds that occur *inside* a source page are turned into newlines so that they cannot be
mistaken for page breaks.

Metadata keys (all optional except ``source`` and ``n_pages``, which every reader sets):

==================  ===========================================================================
key                 meaning
==================  ===========================================================================
``source``          name of the collection / reader source (e.g. ``trove``); part of the id
``source_path``     path of the file (or folder) the book was read from, relative to the input
``title``           bibliographic title
``author``          author(s), free text
``year``            publication year as an ``int``
``language``        ISO 639-1/3 code when the source declares one (not guessed by readers)
``rights``          rights statement / licence string when the source carries one
``n_pages``         number of pages (``text.count("\\f") + 1``)
``ocr_confidence``  mean OCR engine word confidence in [0, 1], when the format carries one
                    (ALTO ``WC``, hOCR ``x_wconf``, ABBYY ``charConfidence``)
``page_ocr_confidence``  list of per-page mean confidences (``None`` for pages without any)
``format``          the reader format (``alto``, ``hocr``, ``abbyy``, ``page_text``, ...)
``encoding``        text encoding actually used to decode a plain-text source
==================  ===========================================================================

Ids are stable and unique across a collection: ``"<source>/<identifier>"`` where the
identifier is the source's own identifier (book id column, file stem, folder name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from datatrove.data import Document

PAGE_SEPARATOR = "\f"

# documented metadata keys, used by the docs and by tests that check readers stay within them
METADATA_KEYS = (
    "source",
    "source_path",
    "title",
    "author",
    "year",
    "language",
    "rights",
    "n_pages",
    "ocr_confidence",
    "page_ocr_confidence",
    "format",
    "encoding",
)

_SAFE_ID = re.compile(r"[^\w.\-+:/]+", re.UNICODE)


def clean_page(text: str) -> str:
    """Make a source page safe to join: no form feeds inside it, no trailing whitespace noise."""
    if PAGE_SEPARATOR in text:
        text = text.replace(PAGE_SEPARATOR, "\n")
    return text


def join_pages(pages: Iterable[str]) -> str:
    """Join page texts into one book text with ``\\f`` between pages."""
    return PAGE_SEPARATOR.join(clean_page(p) for p in pages)


def split_pages(text_or_doc: str | Document) -> list[str]:
    """Split a book (text or Document) into its pages. Always returns at least one page."""
    text = text_or_doc.text if isinstance(text_or_doc, Document) else text_or_doc
    return text.split(PAGE_SEPARATOR)


def n_pages(text_or_doc: str | Document) -> int:
    """Number of pages of a book: form feeds + 1."""
    text = text_or_doc.text if isinstance(text_or_doc, Document) else text_or_doc
    return text.count(PAGE_SEPARATOR) + 1


def book_id(source: str, identifier: str) -> str:
    """Stable, unique book id ``source/identifier``.

    Whitespace and characters that are awkward in file names and URLs are replaced by ``_``;
    path separators inside the identifier are kept so that ids of books in nested folders stay
    unique.
    """
    identifier = identifier.strip().replace("\\", "/").strip("/")
    identifier = _SAFE_ID.sub("_", identifier)
    source = _SAFE_ID.sub("_", source.strip()) or "books"
    return f"{source}/{identifier}"


def make_book(
    pages: Sequence[str],
    *,
    id: str,
    metadata: dict | None = None,
) -> Document:
    """Build a book Document from its pages, setting ``n_pages``."""
    metadata = dict(metadata or {})
    metadata["n_pages"] = len(pages) if pages else 1
    return Document(text=join_pages(pages) if pages else "", id=id, metadata=metadata)


def parse_year(value) -> int | None:
    """First plausible 4-digit year (1000-2999) in a date-like value, else ``None``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1000 <= value <= 2999 else None
    m = re.search(r"(?<!\d)([12]\d{3})(?!\d)", str(value))
    return int(m.group(1)) if m else None
