"""Readers: datatrove steps that stream books (one Document per book, pages joined by ``\\f``).

``READERS`` maps a short format name (used by the CLI and, later, recipes) to the reader class.
Classes are imported lazily so that importing :mod:`finebooks.readers` stays cheap.
"""

from __future__ import annotations

import importlib

from finebooks.readers.base import BookReader, BookUnit, decode_text

#: short format name -> "module:Class"
READERS: dict[str, str] = {
    "trove": "finebooks.readers.text:TroveTextReader",
    "formfeed": "finebooks.readers.text:FormFeedTextReader",
    "djvu": "finebooks.readers.text:DjvuTextReader",
    "page_folder": "finebooks.readers.text:PageFolderReader",
    "alto": "finebooks.readers.alto:AltoReader",
    "hocr": "finebooks.readers.hocr:HocrReader",
    "abbyy": "finebooks.readers.abbyy:AbbyyReader",
    "page_rows": "finebooks.readers.page_rows:PageRowReader",
    "book_parquet": "finebooks.readers.book_rows:BookParquetReader",
    "book_jsonl": "finebooks.readers.book_rows:BookJsonlReader",
    "hf": "finebooks.readers.book_rows:BookHFReader",
}


def get_reader_class(fmt: str):
    """The reader class for a short format name; a clear error lists the valid names."""
    try:
        target = READERS[fmt]
    except KeyError:
        raise ValueError(f"unknown reader format {fmt!r}; choose one of: {', '.join(sorted(READERS))}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["READERS", "BookReader", "BookUnit", "decode_text", "get_reader_class"]
