"""Plain-text book readers: page folders, form-feed files, Internet Archive ``_djvu.txt``, Trove.

Plain text is how most digitised books are actually distributed. The only thing that differs
between sources is how page boundaries are marked, so each reader here is a small rule for
finding pages; decoding (UTF-8 with a declared fallback, byte-order marks, binary detection) and
accounting for bad files are shared with every other reader through :class:`BookReader`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Sequence

from datatrove.data import Document

from finebooks.book import make_book, parse_year
from finebooks.exclusions import BadInput
from finebooks.readers.base import BookReader, BookUnit, decode_text, natural_key, strip_extensions
from finebooks.runtime import ProcessLocal


class _TextReader(BookReader):
    """Plain-text reader base: adds encoding options."""

    extensions = (".txt",)

    def __init__(
        self,
        data_folder,
        encoding: str = "utf-8",
        fallback_encodings: Sequence[str] = ("cp1252",),
        **kwargs,
    ):
        super().__init__(data_folder, **kwargs)
        self.encoding = encoding
        self.fallback_encodings = tuple(fallback_encodings)

    def read_text(self, path: str) -> tuple[str, str]:
        text, enc = decode_text(self.read_bytes(path), self.encoding, self.fallback_encodings)
        # normalise line ends once so that page rules only see "\n"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text, enc

    def book_from_pages(self, unit: BookUnit, pages: list[str], encoding: str, extra_meta: dict | None = None):
        meta = self.base_metadata(unit)
        meta["encoding"] = encoding
        if extra_meta:
            meta.update(extra_meta)
        return make_book(pages, id=self.make_id(unit.key), metadata=meta)


class FormFeedTextReader(_TextReader):
    """One ``.txt`` file per book, pages separated by form feeds (``\\f``).

    A file without form feeds is a one-page book (the usual case for clean transcriptions such
    as Project Gutenberg files). ``pdftotext`` output and many OCR exports use this layout.
    """

    name = "read_formfeed_text"
    format = "formfeed_text"

    def read_unit(self, unit: BookUnit) -> Iterator[Document]:
        text, enc = self.read_text(unit.paths[0])
        yield self.book_from_pages(unit, text.split("\f"), enc)


class DjvuTextReader(FormFeedTextReader):
    """Internet Archive ``*_djvu.txt`` full-text files.

    The Archive's DjVu text derivative marks page ends with form feeds; copies that went through
    other hands have often lost them, in which case the page boundaries are unknown and the book
    is read as a single page (``metadata["page_breaks"] = "absent"``) rather than guessed from
    blank lines, which in these files also separate paragraphs and columns. The id is the
    Archive identifier (the file name without ``_djvu.txt``).
    """

    name = "read_djvu_text"
    format = "djvu_text"
    extensions = ("_djvu.txt",)

    def read_unit(self, unit: BookUnit) -> Iterator[Document]:
        text, enc = self.read_text(unit.paths[0])
        pages = text.split("\f")
        yield self.book_from_pages(
            unit, pages, enc, {"page_breaks": "form_feed" if len(pages) > 1 else "absent"}
        )


class PageFolderReader(_TextReader):
    """A folder of page files per book (``book/0001.txt``, ``book/0002.txt``, ...).

    Every folder that directly contains page files is one book; pages are read in natural
    file-name order (``2.txt`` before ``10.txt``). An empty page file is an empty page (it still
    counts), not a bad input; a book folder whose pages are all empty is excluded as ``no_text``.
    An unreadable page file (binary, undecodable) follows ``on_bad_page``.
    """

    name = "read_page_folder"
    format = "page_folder"

    def list_units(self) -> list[BookUnit]:
        groups: dict[str, list[str]] = {}
        for f in self.list_files():
            groups.setdefault(posixpath.dirname(f), []).append(f)
        return [
            BookUnit(folder or self.source, tuple(sorted(files, key=natural_key)))
            for folder, files in sorted(groups.items(), key=lambda kv: natural_key(kv[0]))
        ]

    def read_unit(self, unit: BookUnit) -> Iterator[Document]:
        pages, encodings, bad_pages = [], set(), []
        for path in unit.paths:
            raw = self.read_bytes(path)
            if not raw.strip():
                pages.append("")
                continue
            try:
                text, enc = decode_text(raw, self.encoding, self.fallback_encodings)
            except BadInput as e:
                self.bad_page(bad_pages, len(pages) + 1, path, e)
                pages.append("")
                continue
            encodings.add(enc)
            pages.append(text.replace("\r\n", "\n").replace("\r", "\n"))
        self.all_pages_bad(bad_pages, len(pages))
        extra = {"bad_pages": bad_pages} if bad_pages else None
        yield self.book_from_pages(unit, pages, ",".join(sorted(encodings)) or self.encoding, extra)


# A Trove text file is "".join("\n\n" + page for page in pages), where a non-empty page ends
# with "\n". Between two non-empty pages there are therefore 3 newlines, and every empty page in
# between adds 2 more. Checked against the page counts in Trove's own metadata: 202/202 books of
# raw_ocr/trove_nla_books match exactly (tests/readers/test_text.py).
_TROVE_BREAK = re.compile(r"\n\n\n+")  # literal prefix: much faster to search than \n{3,}


def split_trove_pages(text: str) -> list[str]:
    """Split a Trove whole-book ``.txt`` into its pages (see the layout note above)."""
    text = text.removeprefix("\n\n")
    # leading empty pages: each is "\n\n" before the first page
    pages: list[str] = []
    m = re.match(r"\n*", text)
    lead = len(m.group()) if m else 0
    pages.extend([""] * (lead // 2))
    text = text[lead - lead % 2 :] if lead else text
    pos = 0
    for m in _TROVE_BREAK.finditer(text):
        k = len(m.group())
        at_end = m.end() == len(text)
        breaks = k // 2 if at_end else (k - 1) // 2
        pages.append(text[pos : m.start()])
        pages.extend([""] * (breaks - 1))
        pos = m.end()
    tail = text[pos:]
    tail = tail.removesuffix("\n")
    pages.append(tail)  # the page after the last break (empty when the file ends with one)
    return pages


class TroveTextReader(_TextReader):
    """National Library of Australia (Trove) whole-book ``.txt`` files.

    Trove serves a digitised book's OCR as one text file with each page preceded by a blank
    line pair (see :func:`split_trove_pages`). When a ``metadata.jsonl`` (one JSON object per
    line with a ``file`` field, as harvested by the GLAM Workbench) sits in the input folder, its
    title, contributors, date and Trove id become book metadata, and Trove's own page count is
    kept as ``metadata["source_pages"]``.
    """

    name = "read_trove_text"
    format = "trove_text"

    def __init__(self, data_folder, metadata_file: str | None = "metadata.jsonl", **kwargs):
        super().__init__(data_folder, **kwargs)
        self.metadata_file = metadata_file
        self._catalogue = ProcessLocal()  # {file: record}, loaded on first use, kept out of executor.json

    def catalogue(self) -> dict[str, dict]:
        if self._catalogue.value is None:
            catalogue: dict[str, dict] = {}
            if self.metadata_file and self.data_folder.exists(self.metadata_file):
                with self.data_folder.open(self.metadata_file, "rt", encoding="utf-8") as f:
                    for line in f:
                        line = line.strip()
                        if not line:
                            continue
                        row = json.loads(line)
                        if "file" in row:
                            catalogue[row["file"]] = row
            self._catalogue.value = catalogue
        return self._catalogue.value

    def list_units(self) -> list[BookUnit]:
        return [
            BookUnit(strip_extensions(f, self.extensions), (f,))
            for f in self.list_files()
            if f != self.metadata_file
        ]

    def read_unit(self, unit: BookUnit) -> Iterator[Document]:
        text, enc = self.read_text(unit.paths[0])
        row = self.catalogue().get(posixpath.basename(unit.paths[0]))
        extra = {}
        if row:
            extra = {
                "title": row.get("title"),
                "author": row.get("contributors"),
                "year": parse_year(row.get("year") or row.get("date")),
                "trove_id": row.get("trove_id"),
                "url": row.get("url"),
            }
            if row.get("pages") not in (None, ""):
                extra["source_pages"] = int(row["pages"])
            extra = {k: v for k, v in extra.items() if v is not None}
        identifier = row["trove_id"] if row and row.get("trove_id") else unit.key
        doc = self.book_from_pages(unit, split_trove_pages(text), enc, extra)
        doc.id = self.make_id(identifier)
        yield doc
