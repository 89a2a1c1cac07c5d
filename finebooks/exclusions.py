"""Exclusion records: how a book that leaves the pipeline says where and why.

Every input book ends in exactly one place: the output, or an exclusion record. An exclusion
record is a datatrove :class:`Document` with empty text whose metadata carries

* ``exclusion_stage``  - registered name (or class name) of the step that removed the book,
* ``exclusion_reason`` - a short machine-readable reason code (``malformed_xml``,
  ``empty_file``, ``undecodable``, ...), optionally followed by ``": detail"``,
* the book's metadata known at that point (source path, scores...).

Steps write these records through an ``exclusion_writer`` (any datatrove ``DiskWriter``), the
same way datatrove's ``BaseFilter`` does, so the records can be written as Parquet or JSONL and
joined back to the run.
"""

from __future__ import annotations

from datatrove.data import Document

STAGE_KEY = "exclusion_stage"
REASON_KEY = "exclusion_reason"


class BadInput(Exception):
    """Raised by a reader when a source cannot become a book.

    ``code`` is a short reason code (used in statistics and exclusion records); ``detail`` is a
    human-readable explanation.
    """

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


def exclusion_record(doc_id: str, stage: str, reason: str, metadata: dict | None = None) -> Document:
    """An exclusion record for the book ``doc_id`` removed by ``stage`` for ``reason``."""
    meta = dict(metadata or {})
    meta[STAGE_KEY] = stage
    meta[REASON_KEY] = reason
    return Document(text="", id=doc_id, metadata=meta)
