"""Writers with a fixed, book-shaped schema.

datatrove's ``ParquetWriter`` infers its schema from the first document and silently drops
metadata keys that later documents add (books from different readers and stages carry
different keys: ``ocr_confidence`` only where the format has it, scores only after scoring).
:class:`BookParquetWriter` writes a stable schema instead: the common bibliographic columns
typed, and the *whole* metadata as a JSON string column ``metadata_json`` so that nothing is
lost. :class:`~finebooks.readers.book_rows.BookParquetReader` reads ``metadata_json`` back.
"""

from __future__ import annotations

import json
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.writers import ParquetWriter

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


class BookParquetWriter(ParquetWriter):
    """Parquet writer for books: typed bibliographic columns + the full metadata as JSON.

    Args:
        output_folder: where to write (local path, fsspec URL or DataFolder).
        extra_columns: more metadata keys to promote to typed columns, e.g.
            ``{"ocr_quality": "float64"}`` (types are pyarrow aliases).
        Other arguments are datatrove ``ParquetWriter``'s (``output_filename``, ``compression``,
        ``batch_size``, ``max_file_size``...).
    """

    name = "📚 Book Parquet"

    def __init__(self, output_folder, extra_columns: dict[str, str] | None = None, **kwargs):
        self.columns = BOOK_COLUMNS | dict(extra_columns or {})
        kwargs.setdefault("schema", book_schema(extra_columns))
        super().__init__(output_folder, adapter=_book_row, **kwargs)


def _book_row(self, document: Document) -> dict:
    meta = document.metadata
    row = {"id": document.id, "text": document.text}
    for key, kind in self.columns.items():
        row[key] = _coerce(meta.get(key), kind)
    row["metadata_json"] = json.dumps(meta, ensure_ascii=False, default=_json_default)
    return row
