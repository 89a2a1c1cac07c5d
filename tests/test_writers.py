"""BookParquetWriter keeps every metadata key, whatever the first book looked like."""

from __future__ import annotations

import pyarrow.parquet as pq
from datatrove.data import Document

from finebooks.readers.book_rows import BookParquetReader
from finebooks.writers import BookParquetWriter
from tests.conftest import read_all


def test_heterogeneous_metadata_round_trips(tmp_path):
    docs = [
        Document(text="a\fb", id="s/1", metadata={"source": "s", "n_pages": 2, "year": 1850}),
        Document(text="c", id="s/2", metadata={"source": "s", "n_pages": 1, "ocr_confidence": 0.81,
                                               "page_ocr_confidence": [0.81], "custom": {"k": [1, 2]}}),
    ]
    with BookParquetWriter(str(tmp_path / "out"), batch_size=1) as w:
        for d in docs:
            w.write(d, 0)
    table = pq.read_table(next((tmp_path / "out").glob("*.parquet")))
    assert table.column("year").to_pylist() == [1850, None]
    assert table.column("ocr_confidence").to_pylist() == [None, 0.81]
    back = {d.id: d for d in read_all(BookParquetReader(tmp_path / "out", source="s"))}
    assert back["s/2"].metadata["custom"] == {"k": [1, 2]}
    assert back["s/2"].metadata["page_ocr_confidence"] == [0.81]
    assert back["s/1"].text == "a\fb" and back["s/1"].metadata["n_pages"] == 2
