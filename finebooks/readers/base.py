"""Shared machinery for FineBooks readers.

A *book unit* is what becomes one book: a single file (a Trove ``.txt``, a multi-page ALTO
file) or a group of files (a folder of page files). :class:`BookReader` lists the units under
its input folder, shards them across datatrove tasks (``units[rank::world_size]``, sorted so
that every task sees the same order), reads each unit with :meth:`BookReader.read_unit` and
turns any :class:`~finebooks.exclusions.BadInput` into an accounted exclusion instead of a
crash: a statistic, a warning in the log, and an exclusion record written to
``exclusion_writer`` when one is given.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import posixpath
import re
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger
from tqdm import tqdm

from finebooks.book import PAGE_SEPARATOR, book_id
from finebooks.exclusions import BadInput, exclusion_record


@dataclass(frozen=True)
class BookUnit:
    """The source of one book: an identifier and the file(s), in reading order."""

    key: str
    paths: tuple[str, ...]
    extra: dict = field(default_factory=dict, compare=False, hash=False)


_NUM_SPLIT = re.compile(r"(\d+)")


def natural_key(path: str) -> list:
    """Sort key that orders ``page2`` before ``page10``."""
    return [int(t) if t.isdigit() else t.lower() for t in _NUM_SPLIT.split(path)]


def strip_extensions(path: str, extensions: Sequence[str]) -> str:
    lower = path.lower()
    for ext in sorted(extensions, key=len, reverse=True):
        if lower.endswith(ext.lower()):
            return path[: -len(ext)]
    return posixpath.splitext(path)[0]


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(raw: bytes, encoding: str = "utf-8", fallback_encodings: Sequence[str] = ("cp1252",)) -> tuple[str, str]:
    """Decode ``raw`` with ``encoding`` (a byte-order mark wins), else each fallback in turn.

    Returns ``(text, encoding_used)``. Raises :class:`BadInput` with code ``empty_file``,
    ``undecodable`` or ``binary_content`` when the bytes cannot be a text book. ``cp1252`` is the
    default fallback because it reads ISO-8859-1 text identically for every printable character
    and also covers Windows "smart quotes"; bytes it cannot map make the file ``undecodable``
    (add ``"latin-1"`` to accept anything).
    """
    if not raw or not raw.strip():
        raise BadInput("empty_file", "the file has no content")
    candidates: list[str] = []
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            candidates.append(enc)
            break
    if not candidates:
        # only 8-bit / UTF-8 text can be checked on bytes (UTF-16/32 are full of NULs)
        check_not_binary(raw)
    candidates += [encoding, *fallback_encodings]
    errors = []
    for enc in candidates:
        try:
            text = raw.decode(enc)
        except (UnicodeDecodeError, LookupError) as e:
            errors.append(f"{enc}: {e.__class__.__name__}")
            continue
        name = codecs.lookup(enc).name
        return text, "utf-8" if name == "utf-8-sig" else name
    raise BadInput("undecodable", "could not decode as " + ", ".join(errors))


# C0 control bytes other than tab, newline, vertical tab, form feed and carriage return
_CONTROL_BYTES = bytes(range(0x09)) + bytes(range(0x0E, 0x20))


def check_not_binary(raw: bytes, max_control_share: float = 0.01) -> None:
    """Raise ``binary_content`` for bytes that cannot be 8-bit or UTF-8 text (an image, a PDF...).

    NUL bytes never occur in such text; other C0 control bytes occur in OCR output only as rare
    noise, so more than ``max_control_share`` of them in the first 100 kB means binary data.
    Works on bytes with ``bytes.translate`` (C speed, no regex over the text).
    """
    sample = raw[:100_000]
    if b"\x00" in sample:
        raise BadInput("binary_content", "the file contains NUL bytes (not 8-bit or UTF-8 text)")
    n_control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if n_control > max_control_share * max(len(sample), 1):
        raise BadInput("binary_content", f"{n_control} control bytes in the first {len(sample)} bytes (not text)")


class BookReader(PipelineStep):
    """Base class of FineBooks readers: lists book units, shards them, reads, accounts for failures.

    Subclasses set ``name``/``format`` and implement :meth:`list_units` (or rely on the
    per-file default with ``extensions``) and :meth:`read_unit`.

    Args:
        data_folder: input folder (local path, fsspec URL or datatrove ``DataFolder``).
        source: collection name used in book ids (``source/identifier``); defaults to the input
            folder's base name.
        glob_pattern: only files matching this pattern (relative to ``data_folder``) are read.
        recursive: look for files in sub-folders.
        limit: maximum number of books per task (-1: all).
        skip: books to skip at the start of each task's share.
        default_metadata: metadata added to every book (the book's own values win).
        exclusion_writer: datatrove writer receiving an exclusion record for each bad input.
        progress: show a progress bar over book units.
            Two book units with the same id (``book.txt`` and ``book.TXT``, ``a.xml`` and
            ``a.alto.xml``) would give two books with one id: the first unit in listing order
            keeps it and every later one is excluded as ``duplicate_id`` (every task lists all
            units, so this holds across tasks). A unit that yields a book id this task already
            emitted is excluded the same way.
        on_bad_page: for books made of one file per page, what an unreadable page file does:
            ``"empty_page"`` (default) keeps the book with that page empty and records it in
            ``metadata["bad_pages"]`` (page number, file, reason) and the ``bad_pages`` stat, so a
            300-page book is not lost to one truncated file; ``"exclude_book"`` excludes the book.
            A book whose page files are all unreadable is always excluded.
    """

    type = "📖 - READER"
    name = "book reader"
    format = "book"
    #: file name endings this reader accepts by default (lower case)
    extensions: tuple[str, ...] = ()

    def __init__(
        self,
        data_folder: DataFolderLike,
        source: str | None = None,
        glob_pattern: str | None = None,
        recursive: bool = True,
        limit: int = -1,
        skip: int = 0,
        default_metadata: dict | None = None,
        exclusion_writer: DiskWriter | None = None,
        progress: bool = False,
        on_bad_page: str = "empty_page",
    ):
        super().__init__()
        if on_bad_page not in ("empty_page", "exclude_book"):
            raise ValueError(f"on_bad_page must be 'empty_page' or 'exclude_book', not {on_bad_page!r}")
        self.on_bad_page = on_bad_page
        self.data_folder = as_datafolder(data_folder)
        self.source = source or _folder_name(self.data_folder.path)
        self.glob_pattern = glob_pattern
        self.recursive = recursive
        self.limit = limit
        self.skip = skip
        self.default_metadata = default_metadata or {}
        self.exclusion_writer = exclusion_writer
        self.progress = progress

    # ------------------------------------------------------------------ listing
    def list_files(self) -> list[str]:
        """All input files (relative paths), filtered by ``glob_pattern`` or ``extensions``."""
        files = self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern)
        if not self.glob_pattern and self.extensions:
            files = [f for f in files if f.lower().endswith(self.extensions)]
        return sorted(files, key=natural_key)

    def list_units(self) -> list[BookUnit]:
        """Book units in a deterministic order. Default: one book per file."""
        return [BookUnit(strip_extensions(f, self.extensions), (f,)) for f in self.list_files()]

    # ------------------------------------------------------------------ reading
    @abstractmethod
    def read_unit(self, unit: BookUnit) -> Iterator[Document]:
        """Yield the book(s) of one unit. Raise :class:`BadInput` for input that cannot be read."""

    def make_id(self, identifier: str) -> str:
        return book_id(self.source, identifier)

    def base_metadata(self, unit: BookUnit) -> dict:
        meta = dict(self.default_metadata)
        meta.update({"source": self.source, "source_path": unit.key if len(unit.paths) > 1 else unit.paths[0],
                     "format": self.format})
        return meta

    def read_bytes(self, path: str) -> bytes:
        with self.data_folder.open(path, "rb") as f:
            return f.read()

    def bad_page(self, bad_pages: list[dict], page_no: int, path: str, err: BadInput) -> None:
        """Record an unreadable page file of a multi-file book, or raise if the book must go."""
        name = posixpath.basename(path)
        if self.on_bad_page == "exclude_book":
            raise BadInput(err.code, f"page file {name}: {err.detail}")
        self.stat_update("bad_pages")
        logger.warning(f"{self.name}: page {page_no} ({path}) unreadable, kept as an empty page: {err.reason}")
        bad_pages.append({"page": page_no, "file": name, "reason": err.reason})

    @staticmethod
    def all_pages_bad(bad_pages: list[dict], n_pages: int) -> None:
        if bad_pages and len(bad_pages) == n_pages:
            first = bad_pages[0]
            code, _, detail = first["reason"].partition(": ")
            raise BadInput(code, f"every page file is unreadable ({first['file']}: {detail})")

    def _exclude(self, unit: BookUnit, err: BadInput, writer, rank: int = 0) -> None:
        self.stat_update("excluded", f"excluded_{err.code}")
        doc_id = self.make_id(unit.key)
        logger.warning(f"{self.name}: excluded {doc_id} ({unit.paths[0]}{' ...' if len(unit.paths) > 1 else ''}): {err.reason}")
        if writer is not None:
            writer.write(exclusion_record(doc_id, self.name, err.reason, self.base_metadata(unit)), rank)

    def _validate(self, doc: Document) -> None:
        """Every emitted book has text and a page count consistent with its form feeds."""
        if not doc.text or doc.text.isspace():  # "\f" is whitespace too
            raise BadInput("no_text", "the source contains no text")
        doc.metadata["n_pages"] = doc.text.count(PAGE_SEPARATOR) + 1

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        units = self.list_units()
        if not units:
            logger.warning(f"{self.name}: no input found in {self.data_folder.path}")
        shard = units[rank::world_size]
        first_unit: dict[str, BookUnit] = {}
        for unit in units:
            first_unit.setdefault(self.make_id(unit.key), unit)
        seen_ids: set[str] = set()
        emitted = skipped = 0
        with (
            self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        ) as writer, tqdm(total=len(shard), desc=self.name, unit="book", disable=not self.progress) as pbar:
            for unit in shard:
                if self.limit != -1 and emitted >= self.limit:
                    break
                self.stat_update("input_units")
                try:
                    with self.track_time():
                        first = first_unit.get(self.make_id(unit.key), unit)
                        if first is not unit:
                            raise BadInput("duplicate_id", f"{unit.paths[0]} has the same book id as "
                                                           f"{first.paths[0]} (the first one is kept)")
                        docs = list(self.read_unit(unit))
                        for doc in docs:
                            self._validate(doc)
                            if doc.id in seen_ids:
                                raise BadInput("duplicate_id", f"book id {doc.id} was already read")
                        seen_ids.update(doc.id for doc in docs)
                except BadInput as err:
                    self._exclude(unit, err, writer, rank)
                    pbar.update()
                    continue
                except Exception as err:  # noqa: BLE001 - a reader bug or an unforeseen format quirk: account, don't crash
                    logger.opt(exception=err).warning(f"{self.name}: unexpected error on {unit.key}")
                    self._exclude(unit, BadInput("read_error", f"{err.__class__.__name__}: {err}"), writer, rank)
                    pbar.update()
                    continue
                for doc in docs:
                    if skipped < self.skip:
                        skipped += 1
                        continue
                    if self.limit != -1 and emitted >= self.limit:
                        break
                    self.stat_update("books")
                    self.stat_update("pages", value=doc.metadata["n_pages"])
                    self.update_doc_stats(doc)
                    emitted += 1
                    yield doc
                pbar.update()


def as_datafolder(data_folder):
    """``get_datafolder`` that also accepts ``pathlib.Path``."""
    if isinstance(data_folder, os.PathLike):
        data_folder = os.fspath(data_folder)
    return get_datafolder(data_folder)


def _folder_name(path: str) -> str:
    name = os.path.basename(str(path).rstrip("/\\"))
    return name or "books"
