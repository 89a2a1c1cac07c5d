"""Page-row and book-row readers (Parquet, JSONL, Hugging Face datasets)."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.pipeline.writers import JsonlWriter

from finebooks.book import split_pages
from finebooks.readers.book_rows import BookHFReader, BookJsonlReader, BookParquetReader
from finebooks.readers.page_rows import PageRowReader
from tests.conftest import exclusions, read_all


def page_rows(n_books=6, n_pages=12, seed=0):
    rows = [
        {"book_id": f"bl_{b:03d}", "page": p, "text": f"book {b} page {p}", "Title": f"Title {b}", "date": f"18{b:02d}"}
        for b in range(n_books)
        for p in range(1, n_pages + 1)
    ]
    random.Random(seed).shuffle(rows)  # rows of a book are scattered and out of order
    return rows


@pytest.fixture
def page_row_folder(tmp_path):
    rows = page_rows()
    folder = tmp_path / "pages"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows[:40]), folder / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(rows[40:]), folder / "part-1.parquet")
    return folder


def test_page_rows_grouped_into_books_in_page_order(page_row_folder):
    reader = PageRowReader(page_row_folder, source="bl", metadata_columns={"Title": "title", "date": "year"})
    docs = {d.id: d for d in read_all(reader)}
    assert len(docs) == 6
    doc = docs["bl/bl_003"]
    assert split_pages(doc) == [f"book 3 page {p}" for p in range(1, 13)]
    assert doc.metadata["n_pages"] == 12
    assert doc.metadata["title"] == "Title 3" and doc.metadata["year"] == 1803


def test_page_rows_sort_numerically_not_lexically(tmp_path):
    rows = [{"book_id": "x", "page": p, "text": f"p{p}"} for p in (10, 2, 1, 9)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    (doc,) = read_all(PageRowReader(tmp_path))
    assert split_pages(doc) == ["p1", "p2", "p9", "p10"]


def test_page_rows_sharding_is_a_partition(page_row_folder):
    one = sorted(d.id for d in read_all(PageRowReader(page_row_folder)))
    three = [d.id for d in read_all(PageRowReader(page_row_folder), world_size=3)]
    assert sorted(three) == one and len(three) == len(set(three))


def test_page_rows_mixed_jsonl_and_parquet(tmp_path):
    rows = page_rows(n_books=3, n_pages=4)
    pq.write_table(pa.Table.from_pylist(rows[:5]), tmp_path / "a.parquet")
    with open(tmp_path / "b.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows[5:])
    docs = read_all(PageRowReader(tmp_path))
    assert sorted(d.metadata["n_pages"] for d in docs) == [4, 4, 4]


def test_page_rows_bad_files_are_accounted(tmp_path):
    rows = page_rows(n_books=2, n_pages=3)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "good.parquet")
    good = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(good[: len(good) // 2])
    (tmp_path / "broken.jsonl").write_text('{"book_id": "z", "page": 1, "text": "ok"}\n{"book_id": "z", "pa\n')
    pq.write_table(pa.Table.from_pylist([{"id": "q", "body": "x"}]), tmp_path / "wrong_columns.parquet")
    pq.write_table(pa.Table.from_pylist([{"book_id": "e", "page": 1, "text": " "}]), tmp_path / "empty.parquet")
    out = tmp_path / "excl"
    docs = read_all(PageRowReader(tmp_path, exclusion_writer=JsonlWriter(str(out), compression=None)), world_size=2)
    assert sorted(d.id.split("/")[-1] for d in docs) == ["bl_000", "bl_001"]
    reasons = {r["id"].split("/")[-1]: r["metadata"]["exclusion_reason"] for r in exclusions(out)}
    assert set(reasons) == {"truncated.parquet", "broken.jsonl", "wrong_columns.parquet", "e"}
    assert reasons["truncated.parquet"].startswith("unreadable_file")
    assert reasons["wrong_columns.parquet"].startswith("missing_columns")
    assert reasons["e"].startswith("no_text")


def test_page_rows_rejects_unknown_format():
    with pytest.raises(ValueError, match="file_format"):
        PageRowReader(".", file_format="csv")


# ---------------------------------------------------------------- book rows
BOOKS = [
    {"identifier": "b1", "content": "page one\fpage two", "creator": "Ann Author", "date": "c. 1851", "lang": "en"},
    {"identifier": "b2", "content": ["p1", "p2", "p3"], "creator": "Bo", "date": "1799", "lang": "fr"},
]
MAPPING = {"creator": "author", "date": "year", "lang": "language"}


def check_books(docs):
    by_id = {d.id: d for d in docs}
    assert set(by_id) == {"lib/b1", "lib/b2"}
    assert by_id["lib/b1"].metadata["n_pages"] == 2
    assert by_id["lib/b1"].metadata["author"] == "Ann Author"
    assert by_id["lib/b1"].metadata["year"] == 1851
    assert by_id["lib/b2"].text == "p1\fp2\fp3" and by_id["lib/b2"].metadata["n_pages"] == 3
    assert by_id["lib/b2"].metadata["language"] == "fr"


def test_book_jsonl_with_metadata_mapping_and_bad_lines(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    with open(src / "books.jsonl", "w") as f:
        f.writelines(json.dumps(b) + "\n" for b in BOOKS)
        f.write('{"identifier": "b3", "content": \n')  # malformed
        f.write(json.dumps({"identifier": "b4", "content": ""}) + "\n")  # empty
    out = tmp_path / "excl"
    reader = BookJsonlReader(src, text_key="content", id_key="identifier", metadata_mapping=MAPPING, source="lib",
                             exclusion_writer=JsonlWriter(str(out), compression=None))
    check_books(read_all(reader))
    reasons = sorted(r["metadata"]["exclusion_reason"].split(":")[0] for r in exclusions(out))
    assert reasons == ["empty_text", "malformed_json"]


def test_book_parquet_and_truncated_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rows = [dict(b, content="\f".join(b["content"]) if isinstance(b["content"], list) else b["content"]) for b in BOOKS]
    pq.write_table(pa.Table.from_pylist(rows), src / "a.parquet")
    (src / "b.parquet").write_bytes((src / "a.parquet").read_bytes()[:50])
    out = tmp_path / "excl"
    reader = BookParquetReader(src, text_key="content", id_key="identifier", metadata_mapping=MAPPING, source="lib",
                               exclusion_writer=JsonlWriter(str(out), compression=None))
    check_books(read_all(reader))
    (rec,) = exclusions(out)
    assert rec["metadata"]["exclusion_reason"].startswith("unreadable_file")


def test_book_hf_dataset_offline(tmp_path):
    rows = [dict(b, content="\f".join(b["content"]) if isinstance(b["content"], list) else b["content"]) for b in BOOKS]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    reader = BookHFReader("parquet", dataset_options={"data_files": str(tmp_path / "train.parquet"), "split": "train",
                                                      "cache_dir": str(tmp_path / "cache")},
                          text_key="content", id_key="identifier", metadata_mapping=MAPPING, source="lib")
    check_books(read_all(reader))
