"""Writers with a fixed, book-shaped schema.

datatrove's ``ParquetWriter`` infers its schema from the first document and silently drops
metadata keys that later documents add (books from different readers and stages carry
different keys: ``ocr_confidence`` only where the format has it, scores only after scoring).
:class:`BookParquetWriter` writes a stable schema instead: the common bibliographic columns
typed, and the *whole* metadata as a JSON string column ``metadata_json`` so that nothing is
lost. :class:`~finebooks.readers.book_rows.BookParquetReader` reads ``metadata_json`` back.

Atomic output. Every file these writers produce is first written under a *partial* name
(``00003.parquet`` is written as ``00003_parquet.partial``) and renamed to its final name only
when it is closed after the task finished normally. A task killed mid-write (``kill -9``, out of
memory, a node lost) therefore leaves at most a ``*.partial`` file, never a ``*.parquet`` that
looks complete but lacks rows or a footer; a task that raises deletes its partial files. datatrove re-runs an incomplete task from
scratch and the rerun writes the same file names (they depend only on the task rank), so the
partial file is overwritten and renamed by the rerun. Readers and :func:`finebooks.engine.summarise`
only look at ``*.parquet`` / ``*.jsonl*`` names, so they never see a partial file.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from datatrove.data import Document
from datatrove.io import OutputFileManager
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.utils.logging import logger

#: suffix of a file that is still being written (renamed away when the file is complete)
PARTIAL_SUFFIX = ".partial"


def partial_name(filename: str) -> str:
    """Name under which ``filename`` is written until it is complete: ``00003.parquet`` ->
    ``00003_parquet.partial``. The dots of the name are replaced so that no glob for output
    files (``*.parquet``, ``*.jsonl*``) ever matches a partial file."""
    head, _, base = filename.rpartition("/")
    return (head + "/" if head else "") + base.replace(".", "_") + PARTIAL_SUFFIX


class _PartialFile:
    """A file opened under its partial name; :meth:`close` completes it (fsync + rename).

    Everything else is delegated to the underlying fsspec file, so pyarrow and datatrove use it
    like any file object.
    """

    def __init__(self, fs, filename: str, mode: str, compression):
        self._fs = fs
        self._final = filename
        self._partial = partial_name(filename)
        if compression == "infer":  # infer from the final name: the partial name has no extension
            from fsspec.utils import infer_compression

            compression = infer_compression(filename)
        self._f = fs.open(self._partial, mode=mode, compression=compression)
        self._done = False

    def __getattr__(self, name):
        return getattr(self._f, name)

    def write(self, data):
        return self._f.write(data)

    def tell(self):
        return self._f.tell()

    @property
    def closed(self) -> bool:
        return self._done or self._f.closed

    def _sync(self) -> None:
        """Flush to disk before the rename, so a power loss cannot leave an empty "complete" file."""
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        except (AttributeError, OSError, ValueError, NotImplementedError):
            pass  # remote or compressed streams: the rename (or the object upload) is what counts

    def close(self) -> None:
        """Finish the file: close it under the partial name, then rename it to the final name."""
        if self._done:
            return
        self._done = True
        if not self._f.closed:
            self._sync()
            self._f.close()
        self._fs.mv(self._partial, self._final)

    def abort(self) -> None:
        """Give up on the file: close it and delete the partial file (the final name is untouched)."""
        if self._done:
            return
        self._done = True
        try:
            if not self._f.closed:
                self._f.close()
        except Exception:  # noqa: BLE001, S110 - the data is being thrown away anyway
            pass
        try:
            self._fs.rm(self._partial)
        except (OSError, FileNotFoundError):
            pass


class AtomicOutputFileManager(OutputFileManager):
    """datatrove's ``OutputFileManager`` with write-to-partial-name-then-rename files."""

    def get_file(self, filename) -> IO:
        if filename not in self._output_files:
            self._output_files[filename] = _PartialFile(self.fs, filename, self.mode, self.compression)
        return self._output_files[filename]

    def abort(self) -> None:
        """Delete every open partial file (a task that failed: nothing of it may look complete)."""
        for file in self._output_files.values():
            file.abort()
        self._output_files.clear()


class AtomicOutputMixin:
    """Makes a datatrove ``DiskWriter`` write each file atomically (see the module doc).

    Files are completed when the writer is closed normally (or rotated by ``max_file_size``);
    when the block that uses the writer raises, the partial files are deleted instead. A
    ``GeneratorExit`` (a pipeline generator closed early) still completes them: the records
    written so far are real and must not be lost.
    """

    def _make_atomic(self) -> None:
        mg = self.output_mg
        self.output_mg = AtomicOutputFileManager(mg.fs, mode=mg.mode, compression=mg.compression)

    def abort(self) -> None:
        """Throw away everything not yet completed (no file of this writer is renamed)."""
        for writer in getattr(self, "_writers", {}).values():  # ParquetWriter's pyarrow writers
            try:
                writer.close()
            except Exception:  # noqa: BLE001, S110 - aborting: the file is deleted next
                pass
        for name in ("_writers", "_batches"):
            if hasattr(self, name):
                getattr(self, name).clear()
        self.output_mg.abort()

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_type is not None and not issubclass(exc_type, GeneratorExit):
            logger.warning(f"{self.name}: the task failed ({exc_type.__name__}); its partial output files are "
                           "deleted, a rerun writes them again")
            self.abort()
            return
        self.close()

#: typed columns written next to ``text`` and ``id``; everything is also in ``metadata_json``
BOOK_COLUMNS: dict[str, str] = {
    "source": "string",
    "title": "string",
    "author": "string",
    "year": "int64",
    "language": "string",
    "n_pages": "int64",
    "ocr_confidence": "float64",
}


def book_schema(extra_columns: dict[str, str] | None = None):
    import pyarrow as pa

    cols = BOOK_COLUMNS | dict(extra_columns or {})
    fields = [pa.field("id", pa.string()), pa.field("text", pa.large_string())]
    fields += [pa.field(k, pa.type_for_alias(v)) for k, v in cols.items()]
    fields.append(pa.field("metadata_json", pa.large_string()))
    return pa.schema(fields)


def _json_default(o: Any):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(o)


def _coerce(value, kind: str):
    if value is None:
        return None
    try:
        if kind == "int64":
            return int(value)
        if kind == "float64":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        return None


class BookParquetWriter(AtomicOutputMixin, ParquetWriter):
    """Parquet writer for books: typed bibliographic columns + the full metadata as JSON.

    Args:
        output_folder: where to write (local path, fsspec URL or DataFolder).
        extra_columns: more metadata keys to promote to typed columns, e.g.
            ``{"ocr_quality": "float64"}`` (types are pyarrow aliases).
        Other arguments are datatrove ``ParquetWriter``'s (``output_filename``, ``compression``,
        ``batch_size``, ``max_file_size``...).

    Files are written atomically: ``NAME.partial`` while open, renamed to ``NAME`` when complete.
    Row groups hold 128 books unless ``batch_size`` says otherwise (bounded memory).
    """

    name = "📚 Book Parquet"

    def __init__(self, output_folder, extra_columns: dict[str, str] | None = None, **kwargs):
        self.columns = BOOK_COLUMNS | dict(extra_columns or {})
        kwargs.setdefault("schema", book_schema(extra_columns))
        # datatrove buffers 1,000 documents per row group: 1,000 books are ~150 MB of text, so
        # memory would grow with the collection up to that; 128 books per row group keeps it flat
        kwargs.setdefault("batch_size", 128)
        super().__init__(output_folder, adapter=_book_row, **kwargs)
        self._make_atomic()


class BookJsonlWriter(AtomicOutputMixin, JsonlWriter):
    """datatrove's ``JsonlWriter`` with atomic files (``NAME.partial`` until complete).

    Arguments are ``JsonlWriter``'s (``output_filename``, ``compression``, ``adapter``,
    ``expand_metadata``, ``max_file_size``).
    """

    name = "🐿 Jsonl (atomic)"

    def __init__(self, output_folder, **kwargs):
        super().__init__(output_folder, **kwargs)
        self._make_atomic()


def _book_row(self, document: Document) -> dict:
    meta = document.metadata
    row = {"id": document.id, "text": document.text}
    for key, kind in self.columns.items():
        row[key] = _coerce(meta.get(key), kind)
    row["metadata_json"] = json.dumps(meta, ensure_ascii=False, default=_json_default)
    return row
