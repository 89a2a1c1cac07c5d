"""Book-row readers: one row per book in Parquet, JSONL or a Hugging Face dataset.

These are datatrove's own readers (``ParquetReader``, ``JsonlReader``,
``HuggingFaceDatasetReader``) with three things added for books:

* a **metadata mapping** from the source's column names to FineBooks keys
  (``{"creator": "author", "date": "year"}``); ``year`` values are parsed to ``int``;
* stable ids ``source/<id column>`` and ``n_pages`` computed from the form feeds in the text
  (a text column holding a list of page strings is joined with ``\\f``);
* **accounting**: datatrove skips rows without text and malformed JSON lines with only a log
  line, and a truncated Parquet file raises. Here each such row or file becomes an exclusion
  record written to ``exclusion_writer`` and counted in the step's stats, and the run goes on:
  ``empty_text`` (no text, or only whitespace and form feeds), ``non_text`` (the text value is a
  number, a mapping, bytes, or a list holding something other than strings),
  ``missing_text_column``, ``undecodable_row`` (Parquet strings that are not valid UTF-8),
  ``bad_metadata_json`` (a FineBooks ``metadata_json`` that is not a
  JSON object), ``bad_row`` (any other row that cannot become a book), ``duplicate_id`` (a row
  whose book id an earlier row of the same task already used: the first one is kept),
  ``malformed_json`` (a JSONL line), ``unreadable_file`` (truncated, corrupt, not Parquet, not
  UTF-8; books read before the damage are kept) and ``empty_file`` (a file without any row).

Duplicate ids are detected per task: rows of one file always meet in one task, but two files
with the same id in different tasks are not compared (run with ``tasks: 1`` for a collection-wide
check, or see ``docs/reliability.md``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers import HuggingFaceDatasetReader, JsonlReader, ParquetReader
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from finebooks.book import PAGE_SEPARATOR, book_id, join_pages, parse_year
from finebooks.exclusions import BadInput, exclusion_record
from finebooks.readers.base import as_datafolder
from finebooks.runtime import ProcessLocal


class _BookRowMixin:
    """Metadata mapping, page handling and accounting shared by the book-row readers."""

    name = "read_book_rows"
    format = "book_rows"

    def _setup_books(self, source: str, metadata_mapping: Mapping[str, str] | None, exclusion_writer):
        self.source = source
        self.metadata_mapping = dict(metadata_mapping or {})
        self.exclusion_writer = exclusion_writer
        self._writer = None
        self._rank = 0
        self._seen_ids = ProcessLocal(set)  # ids of this task's books (not in executor.json)
        self._rows_seen = 0

    def _row_id(self, data: dict, path: str, id_in_file) -> str:
        raw_id = data.get(self.id_key)
        identifier = str(raw_id) if raw_id not in (None, "") else f"{path}#{id_in_file}"
        # rows written by FineBooks already carry a full book id: keep it so ids survive a round trip
        return identifier if data.get("metadata_json") and raw_id not in (None, "") else book_id(self.source, identifier)

    def book_adapter(self, data: dict, path: str, id_in_file):
        if self.text_key not in data:
            raise BadInput("missing_text_column", f"row {id_in_file} of {path} has no {self.text_key!r} column "
                                                  f"(columns: {sorted(data)[:20]})")
        text = data.pop(self.text_key)
        if isinstance(text, (list, tuple)):  # a list of pages
            if not all(p is None or isinstance(p, str) for p in text):
                kinds = sorted({type(p).__name__ for p in text if p is not None and not isinstance(p, str)})
                raise BadInput("non_text", f"row {id_in_file} of {path}: the page list holds {', '.join(kinds)} values")
            text = join_pages(p or "" for p in text)
        elif text is not None and not isinstance(text, str):
            raise BadInput("non_text", f"row {id_in_file} of {path}: the text is {type(text).__name__}, not a string")
        raw_id = data.pop(self.id_key, None)
        identifier = str(raw_id) if raw_id not in (None, "") else f"{path}#{id_in_file}"
        meta = data.pop("metadata", None) or {}
        if not isinstance(meta, dict):
            meta = {"metadata": meta}
        packed = data.pop("metadata_json", None)  # written by BookParquetWriter: the full metadata
        if packed:
            try:
                unpacked = json.loads(packed)
            except (TypeError, ValueError) as e:
                raise BadInput("bad_metadata_json", f"row {id_in_file} of {path}: {e}") from None
            if not isinstance(unpacked, dict):
                raise BadInput("bad_metadata_json", f"row {id_in_file} of {path}: not a JSON object")
            meta.update(unpacked)
            data = {k: v for k, v in data.items() if k not in meta}
        meta.update({k: v for k, v in data.items() if v is not None or k not in meta})
        for src, dst in self.metadata_mapping.items():
            if src in meta:
                meta[dst] = meta.pop(src)
        if "year" in meta:
            meta["year"] = parse_year(meta["year"])
        meta.setdefault("source", self.source)
        meta.setdefault("source_path", path)
        if packed:  # a FineBooks output re-read: the book keeps the format it was first read from
            meta.setdefault("format", self.format)
        else:
            meta["format"] = self.format
        # rows written by FineBooks already carry a full book id: keep it so ids survive a round trip
        doc_id = identifier if packed and raw_id not in (None, "") else book_id(self.source, identifier)
        return {"text": text or "", "id": doc_id, "metadata": meta}

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file):
        self._rows_seen += 1
        if not isinstance(data, dict):
            data = {}
        try:
            doc_id = self._row_id(data, source_file, id_in_file)
        except Exception:  # noqa: BLE001 - an id that cannot be a string: the row's position names it
            doc_id = book_id(self.source, f"{source_file}#{id_in_file}")
        try:
            parsed = self.adapter(dict(data), source_file, id_in_file)
        except BadInput as e:
            self._account(doc_id, e.code, e.detail, {"source_path": source_file})
            return None
        except Exception as e:  # noqa: BLE001 - any other row that cannot become a book is accounted
            self._account(doc_id, "bad_row", f"row {id_in_file} of {source_file}: {e.__class__.__name__}: {e}",
                          {"source_path": source_file})
            return None
        if not parsed["text"].replace(PAGE_SEPARATOR, "").strip():
            self._account(parsed["id"], "empty_text", f"row {id_in_file} of {source_file} has no text", parsed["metadata"])
            return None
        if parsed["id"] in self._seen_ids.value:
            self._account(parsed["id"], "duplicate_id", f"row {id_in_file} of {source_file} repeats the id of an "
                                                        "earlier row (the first one is kept)", parsed["metadata"])
            return None
        self._seen_ids.value.add(parsed["id"])
        doc = Document(**parsed)
        if self.default_metadata:
            doc.metadata = self.default_metadata | doc.metadata
        doc.metadata["n_pages"] = doc.text.count(PAGE_SEPARATOR) + 1
        self.stat_update("books")
        return doc

    def _account(self, doc_id: str, code: str, detail: str, metadata: dict | None = None):
        self.stat_update("excluded", f"excluded_{code}")
        logger.warning(f"{self.name}: excluded {doc_id}: {code}: {detail}")
        if self._writer is not None:
            self._writer.write(exclusion_record(doc_id, self.name, f"{code}: {detail}", metadata), self._rank)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            self._writer, self._rank = writer, rank
            self._seen_ids.value = set()
            yield from self._run_source(data, rank, world_size)
            self._writer = None

    def _run_source(self, data, rank: int, world_size: int):
        yield from super().run(data, rank, world_size)

    def _read_file_accounted(self, filepath: str, read):
        """``read(filepath)``'s books; a file that fails is ``unreadable_file``, one without rows ``empty_file``."""
        before = self._rows_seen
        try:
            yield from read(filepath)
        except Exception as e:  # noqa: BLE001 - truncated / corrupt / not this format: the file is accounted
            done = self._rows_seen - before
            after = f" (after {done} rows, which are kept)" if done else ""
            self._account(book_id(self.source, filepath), "unreadable_file",
                          f"{e.__class__.__name__}: {str(e)[:500]}{after}", {"source_path": filepath})
            return
        if self._rows_seen == before:
            self._account(book_id(self.source, filepath), "empty_file", f"{filepath} holds no rows",
                          {"source_path": filepath})


class BookParquetReader(_BookRowMixin, ParquetReader):
    """Books stored one per row in Parquet files (datatrove ``ParquetReader`` + book handling).

    Args:
        data_folder: folder with the Parquet files.
        text_key / id_key: text and identifier columns (text may be a list of pages).
        metadata_mapping: ``{source column: FineBooks metadata key}``; other columns are kept as-is.
        source: collection name used in ids (default: the folder name).
        exclusion_writer: writer for exclusion records (empty rows, unreadable files).
        Other arguments are datatrove ``ParquetReader``'s.
    """

    name = "read_book_parquet"
    format = "book_parquet"

    def __init__(self, data_folder, text_key: str = "text", id_key: str = "id",
                 metadata_mapping: Mapping[str, str] | None = None, source: str | None = None,
                 exclusion_writer: DiskWriter | None = None, glob_pattern: str | None = "**/*.parquet", **kwargs):
        super().__init__(as_datafolder(data_folder), text_key=text_key, id_key=id_key, adapter=_adapter,
                         glob_pattern=glob_pattern, **kwargs)
        self._setup_books(source or _base(self.data_folder.path), metadata_mapping, exclusion_writer)

    def read_file(self, filepath: str):
        yield from self._read_file_accounted(filepath, self._read_rows)

    def _read_rows(self, filepath: str):
        """datatrove's ``ParquetReader.read_file``, except that a row whose strings are not valid
        UTF-8 (pyarrow does not check when reading) is one ``undecodable_row`` exclusion instead
        of failing its whole batch; rows are numbered by position in the file."""
        import pyarrow.parquet as pq

        with self.data_folder.open(filepath, "rb") as f, pq.ParquetFile(f) as pqf:
            li = 0
            columns = [self.text_key, self.id_key] if not self.read_metadata else None
            for batch in pqf.iter_batches(batch_size=self.batch_size, columns=columns):
                try:
                    rows = batch.to_pylist()
                except (UnicodeDecodeError, ValueError):
                    rows = [self._decode_row(batch, i, filepath, li + i) for i in range(batch.num_rows)]
                documents = []
                with self.track_time("batch"):
                    for row in rows:
                        document = self.get_document_from_dict(row, filepath, li) if row is not None else None
                        li += 1
                        if document:
                            documents.append(document)
                yield from documents

    def _decode_row(self, batch, i: int, filepath: str, row_no: int) -> dict | None:
        try:
            return batch.slice(i, 1).to_pylist()[0]
        except (UnicodeDecodeError, ValueError) as e:
            self._rows_seen += 1
            self._account(book_id(self.source, f"{filepath}#{row_no}"), "undecodable_row",
                          f"row {row_no} of {filepath}: {e.__class__.__name__}: {str(e)[:300]}", {"source_path": filepath})
            return None


class BookJsonlReader(_BookRowMixin, JsonlReader):
    """Books stored one per line in JSONL files (datatrove ``JsonlReader`` + book handling).

    A line that is not valid JSON is excluded as ``malformed_json`` (datatrove would only log it).
    Arguments as :class:`BookParquetReader`, plus ``compression`` ("infer" by default).
    """

    name = "read_book_jsonl"
    format = "book_jsonl"

    def __init__(self, data_folder, text_key: str = "text", id_key: str = "id",
                 metadata_mapping: Mapping[str, str] | None = None, source: str | None = None,
                 exclusion_writer: DiskWriter | None = None, glob_pattern: str | None = "**/*.jsonl*", **kwargs):
        super().__init__(as_datafolder(data_folder), text_key=text_key, id_key=id_key, adapter=_adapter,
                         glob_pattern=glob_pattern, **kwargs)
        self._setup_books(source or _base(self.data_folder.path), metadata_mapping, exclusion_writer)

    def read_file(self, filepath: str):
        yield from self._read_file_accounted(filepath, self._read_lines)

    def _read_lines(self, filepath: str):
        import orjson

        with self.data_folder.open(filepath, "r", compression=self.compression, encoding="utf-8") as f:
            for li, line in enumerate(f):
                if not line.strip():
                    continue
                with self.track_time():
                    try:
                        row = orjson.loads(line)
                    except orjson.JSONDecodeError as e:
                        self._rows_seen += 1
                        self._account(book_id(self.source, f"{filepath}#L{li + 1}"), "malformed_json", str(e),
                                      {"source_path": filepath})
                        continue
                    if not isinstance(row, dict):
                        self._rows_seen += 1
                        self._account(book_id(self.source, f"{filepath}#L{li + 1}"), "malformed_json",
                                      "line is not a JSON object", {"source_path": filepath})
                        continue
                    document = self.get_document_from_dict(row, filepath, li)
                if document:
                    yield document


class BookHFReader(_BookRowMixin, HuggingFaceDatasetReader):
    """Books from a Hugging Face dataset (datatrove ``HuggingFaceDatasetReader`` + book handling).

    ``dataset`` and ``dataset_options`` go to ``datasets.load_dataset``; a local builder such as
    ``dataset="parquet", dataset_options={"data_files": "books/*.parquet", "split": "train"}`` or a
    path saved with ``save_to_disk`` (``load_from_disk=True``) works offline. Hub names need a
    network and are never required.
    """

    name = "read_book_hf"
    format = "book_hf"

    def __init__(self, dataset: str, dataset_options: dict | None = None, text_key: str = "text",
                 id_key: str = "id", metadata_mapping: Mapping[str, str] | None = None, source: str | None = None,
                 exclusion_writer: DiskWriter | None = None, **kwargs):
        super().__init__(dataset, dataset_options=dataset_options, text_key=text_key, id_key=id_key,
                         adapter=_adapter, **kwargs)
        self._setup_books(source or _base(dataset), metadata_mapping, exclusion_writer)

    def get_document_from_dict(self, data: dict, source: str, id_in_file):
        return _BookRowMixin.get_document_from_dict(self, data, source, id_in_file)

    def _run_source(self, data, rank: int, world_size: int):
        """``datasets`` loads the whole dataset at once: a corrupt or inconsistent file fails it
        as a whole. That is one ``unreadable_dataset`` exclusion (books yielded before the failure
        are kept), not a crashed task."""
        done = self._rows_seen
        try:
            yield from super()._run_source(data, rank, world_size)
        except Exception as e:  # noqa: BLE001 - the dataset cannot be read: account for it, go on
            after = f" (after {self._rows_seen - done} rows, which are kept)" if self._rows_seen > done else ""
            self._account(book_id(self.source, str(self.dataset)), "unreadable_dataset",
                          f"{e.__class__.__name__}: {str(e)[:500]}{after}", {"source_path": str(self.dataset)})


def _adapter(self, data: dict, path: str, id_in_file):
    return self.book_adapter(data, path, id_in_file)


def _base(path: str) -> str:
    import os

    return os.path.basename(str(path).rstrip("/\\")).split(".")[0] or "books"


class RankShardReader(BookParquetReader):
    """Re-reads the intermediate copy of a multi-stage step: task *r* reads exactly ``{r:05d}.parquet``.

    datatrove's MinHash filter identifies books by their position in the task that computed the
    signatures, so the books must come back to the same task in the same order; sharding the
    file list (as other readers do) would shift them when a task wrote no file.
    """

    name = "read_rank_shard"
    format = "intermediate"

    def __init__(self, data_folder, **kwargs):
        kwargs.setdefault("source", "intermediate")
        kwargs.setdefault("batch_size", 64)  # books in memory at once: flat however big the task's file
        super().__init__(data_folder, **kwargs)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        filename = f"{rank:05d}.parquet"
        if not self.data_folder.isfile(filename):
            return
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            self._writer, self._rank = writer, rank
            for doc in self.read_file(filename):
                self.update_doc_stats(doc)
                yield doc
