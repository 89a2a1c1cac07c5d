"""Page-row reader: one row per page (Parquet or JSONL), grouped into books in page order.

Large digitised collections are often published page by page - the British Library's 19th
century books dataset has one row per page with a book identifier, a page number and the
text. Rows of one book may be spread over several files and appear in any order, so grouping
cannot be done file by file. This reader lets DuckDB do it: each task selects the books whose
``hash(book_id) % world_size == rank`` across *all* input files and streams them sorted by
``(book_id, page)``. DuckDB sorts out of core, so a task never holds more than one book plus a
record batch in Python memory.

Files that cannot be read (truncated Parquet, corrupt pages, malformed JSON) are checked one by
one before the query - every row of the three needed columns is decoded, so damage deep inside a
file is found before any book is emitted - and excluded with reason ``unreadable_file``
(``missing_columns`` when a needed column is absent); the other files are read normally. Page
rows without a book id cannot belong to any book: each file's count of them is one exclusion
record, ``missing_book_id``. A book whose page rows are all empty is excluded as ``no_text``.
Bad files are accounted by task 0 only (every task sees every file).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from finebooks.book import book_id, make_book, parse_year
from finebooks.exclusions import exclusion_record
from finebooks.readers.base import _folder_name, as_datafolder, natural_key


class PageRowReader(PipelineStep):
    """Books from page rows (``book_id``, ``page``, ``text`` columns) in Parquet or JSONL files.

    Args:
        data_folder: folder (or single file's folder) with the page-row files; local paths only
            (DuckDB reads the files directly).
        file_format: ``"parquet"``, ``"jsonl"`` or ``"auto"`` (by file extension).
        book_id_column / page_column / text_column: column names.
        metadata_columns: extra columns to copy into book metadata, taken from the book's first
            page row; a mapping renames them (``{"Title": "title", "date": "year"}``).
        source: collection name used in ids (default: folder name).
        glob_pattern: files to read (default: every ``.parquet`` / ``.jsonl`` file).
        limit: maximum books per task (-1: all).
        exclusion_writer: writer receiving exclusion records for unreadable files and empty books.
        batch_size: rows fetched from DuckDB at a time.
    """

    type = "📖 - READER"
    name = "read_page_rows"
    format = "page_rows"

    def __init__(
        self,
        data_folder: DataFolderLike,
        file_format: str = "auto",
        book_id_column: str = "book_id",
        page_column: str = "page",
        text_column: str = "text",
        metadata_columns: Sequence[str] | Mapping[str, str] | None = None,
        source: str | None = None,
        glob_pattern: str | None = None,
        limit: int = -1,
        exclusion_writer: DiskWriter | None = None,
        batch_size: int = 10_000,
        default_metadata: dict | None = None,
    ):
        super().__init__()
        if file_format not in ("auto", "parquet", "jsonl"):
            raise ValueError(f"file_format must be 'auto', 'parquet' or 'jsonl', not {file_format!r}")
        self.data_folder = as_datafolder(data_folder)
        self.file_format = file_format
        self.book_id_column = book_id_column
        self.page_column = page_column
        self.text_column = text_column
        if isinstance(metadata_columns, Mapping):
            self.metadata_columns = dict(metadata_columns)
        else:
            self.metadata_columns = {c: c for c in (metadata_columns or [])}
        self.source = source or _folder_name(self.data_folder.path)
        self.glob_pattern = glob_pattern
        self.limit = limit
        self.exclusion_writer = exclusion_writer
        self.batch_size = batch_size
        self.default_metadata = default_metadata or {}

    # ------------------------------------------------------------------ files
    def _kind(self, path: str) -> str | None:
        if self.file_format != "auto":
            return self.file_format
        lower = path.lower()
        if lower.endswith(".parquet"):
            return "parquet"
        if lower.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".json")):
            return "jsonl"
        return None

    def list_files(self) -> list[str]:
        files = self.data_folder.list_files(recursive=True, glob_pattern=self.glob_pattern)
        return sorted((f for f in files if self._kind(f)), key=natural_key)

    def _check_file(self, con, path: str, kind: str) -> tuple[str | None, int]:
        """``(None, rows without a book id)`` if the file is readable with the expected columns, else
        ``(reason, 0)``. Decodes every value of the needed columns (and every JSON line) now, so that
        a corrupt page deep in the file cannot fail the query halfway through a task."""
        try:
            rel = _relation(path, kind)
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
            missing = [c for c in (self.book_id_column, self.page_column, self.text_column) if c not in cols]
            if missing:
                return f"missing_columns: {missing} (has {cols})", 0
            extra = [c for c in self.metadata_columns if c in cols]
            checks = ", ".join(f'max(length(CAST("{c}" AS VARCHAR)))'
                               for c in (self.book_id_column, self.page_column, self.text_column, *extra))
            (no_id, *_rest) = con.execute(
                f'SELECT count(*) FILTER (WHERE "{self.book_id_column}" IS NULL), {checks} FROM {rel}').fetchone()
            return None, int(no_id or 0)
        except Exception as e:  # noqa: BLE001 - duckdb raises several exception classes for corrupt files
            return f"unreadable_file: {e.__class__.__name__}: {(str(e).splitlines() or [''])[0][:500]}", 0

    # ------------------------------------------------------------------ run
    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import duckdb

        if data:
            yield from data
        con = duckdb.connect()
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            good: dict[str, list[str]] = {"parquet": [], "jsonl": []}
            for rel_path in self.list_files():
                kind = self._kind(rel_path)
                path = self.data_folder.resolve_paths(rel_path)
                reason, no_id = self._check_file(con, path, kind)
                if reason is None:
                    good[kind].append(path)
                    if no_id and rank == 0:
                        self.stat_update("excluded", "excluded_missing_book_id")
                        logger.warning(f"{self.name}: {no_id} page rows without a book id in {rel_path}")
                        if writer is not None:
                            writer.write(exclusion_record(
                                book_id(self.source, f"{rel_path}#no_book_id"), self.name,
                                f"missing_book_id: {no_id} page rows of {rel_path} have no {self.book_id_column}",
                                {"source": self.source, "source_path": rel_path}), rank)
                elif rank == 0:  # every task sees the bad file; only one accounts for it
                    code = reason.split(":")[0]
                    self.stat_update("excluded", f"excluded_{code}")
                    logger.warning(f"{self.name}: excluded file {rel_path}: {reason}")
                    if writer is not None:
                        writer.write(exclusion_record(book_id(self.source, rel_path), self.name, reason,
                                                      {"source": self.source, "source_path": rel_path}), rank)
            if not good["parquet"] and not good["jsonl"]:
                logger.warning(f"{self.name}: no readable page-row files in {self.data_folder.path}")
                return
            for emitted, doc in enumerate(self._books(con, good, rank, world_size, writer)):
                if self.limit != -1 and emitted >= self.limit:
                    break
                yield doc

    def _books(self, con, good: dict[str, list[str]], rank: int, world_size: int, writer) -> Iterator[Document]:
        present: set[str] = set()
        for kind, paths in good.items():
            if paths:
                present |= {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_relation(paths, kind)}").fetchall()}
        # a metadata column that no file has is simply absent from the books' metadata
        meta_cols = [c for c in self.metadata_columns
                     if c in present and c not in (self.book_id_column, self.page_column, self.text_column)]
        select = ", ".join(
            [f'CAST("{self.book_id_column}" AS VARCHAR) AS __book', f'"{self.page_column}" AS __page',
             f'CAST("{self.text_column}" AS VARCHAR) AS __text']
            + [f'"{c}" AS "__m_{i}"' for i, c in enumerate(meta_cols)]
        )
        parts = []
        for kind, paths in good.items():
            if paths:
                parts.append(f"SELECT {select} FROM {_relation(paths, kind)}")
        union = " UNION ALL BY NAME ".join(parts)
        query = (
            f"SELECT * FROM ({union}) WHERE __book IS NOT NULL AND hash(__book) % {world_size} = {rank} "
            f"ORDER BY __book, TRY_CAST(__page AS BIGINT) NULLS LAST, __page"
        )
        rel = con.sql(query)
        # newer duckdb calls it to_arrow_reader; older releases record_batch
        fetch = getattr(rel, "to_arrow_reader", None) or rel.record_batch
        reader = fetch(self.batch_size)
        current, pages, page_nos, first_meta = None, [], [], {}
        for batch in reader:
            cols = batch.to_pydict()
            for i, bid in enumerate(cols["__book"]):
                if bid != current:
                    if current is not None:
                        yield from self._emit(current, pages, page_nos, first_meta, writer, rank)
                    current, pages, page_nos = bid, [], []
                    first_meta = {self.metadata_columns[c]: cols[f"__m_{j}"][i] for j, c in enumerate(meta_cols)}
                pages.append(cols["__text"][i] or "")
                page_nos.append(cols["__page"][i])
        if current is not None:
            yield from self._emit(current, pages, page_nos, first_meta, writer, rank)

    def _emit(self, bid, pages, page_nos, first_meta, writer, rank) -> Iterator[Document]:
        with self.track_time():
            meta = dict(self.default_metadata)
            meta.update({k: v for k, v in first_meta.items() if v is not None})
            if "year" in meta:
                meta["year"] = parse_year(meta["year"])
            meta.update({"source": self.source, "format": self.format})
            doc_id = book_id(self.source, str(bid))
            if len(set(page_nos)) != len(page_nos):
                meta["duplicate_page_numbers"] = len(page_nos) - len(set(page_nos))
            if not any(p.strip() for p in pages):
                self.stat_update("excluded", "excluded_no_text")
                logger.warning(f"{self.name}: excluded {doc_id}: no_text")
                if writer is not None:
                    writer.write(exclusion_record(doc_id, self.name, "no_text: every page row is empty", meta), rank)
                return
            doc = make_book(pages, id=doc_id, metadata=meta)
        self.stat_update("books")
        self.stat_update("pages", value=len(pages))
        self.update_doc_stats(doc)
        yield doc


def _relation(paths, kind: str) -> str:
    if isinstance(paths, str):
        paths = [paths]
    lst = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    if kind == "parquet":
        return f"read_parquet({lst}, union_by_name=true)"
    return f"read_json({lst}, format='newline_delimited', union_by_name=true)"
