"""Normalisation, chunking, labelled-data reading and the book-level split."""

from __future__ import annotations

import json

import pytest

from finebooks.classifier.data import Columns, DataError, group_strata, read_labelled, split_groups
from finebooks.classifier.text import chunk_text, normalise_text


def test_normalise_removes_layout_and_typography():
    a = "\u201cWell,\u201d said he \u2014 it\u2019s\nlate.\f\n  Next   page\u2026"
    b = '"Well," said he - it\'s late. Next page...'
    assert normalise_text(a) == b
    assert normalise_text("ﬁne  day") == "fine day"


def test_chunks_cut_at_words_and_cover_the_book():
    text = " ".join(f"word{i}" for i in range(3000))  # ~ 26,000 characters
    chunks = chunk_text(text, chunk_chars=1000, max_chunks=0, min_chars=200)
    assert 20 <= len(chunks) <= 30
    assert all(c.split()[0].startswith("word") and c.split()[-1].startswith("word") for c in chunks)
    # no word is cut: every token is a whole word of the text
    vocab = set(text.split())
    assert all(tok in vocab for c in chunks for tok in c.split())
    sampled = chunk_text(text, 1000, max_chunks=5)
    assert len(sampled) == 5
    assert sampled[0] == chunks[0] and sampled[-1] != chunks[-1] or len(chunks) <= 5


def test_short_book_gives_one_chunk_and_empty_gives_none():
    assert chunk_text("A short note.", 1000, 32, 200) == ["A short note."]
    assert chunk_text("  \f \n ", 1000, 32, 200) == []


def test_read_labelled_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": "a", "text": "x y", "label": "clean", "group": "g1"},
            {"id": "b", "text": "z", "label": "noisy"}, {"id": "c", "text": "w", "label": None}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    got = list(read_labelled(str(tmp_path / "d.jsonl")))
    assert [(r.id, r.group, r.target) for r in got] == [("a", "g1", "clean"), ("b", "b", "noisy")]
    pq.write_table(pa.Table.from_pylist([{"t": "abc", "s": 3.5, "id": "p"}]), tmp_path / "d.parquet")
    got = list(read_labelled(str(tmp_path / "d.parquet"), Columns(text="t", label=None, score="s")))
    assert got[0].target == 3.5 and got[0].text == "abc"
    with pytest.raises(DataError, match="no text column"):
        list(read_labelled(str(tmp_path / "d.parquet")))


def test_split_is_by_group_stratified_and_deterministic():
    from finebooks.classifier.data import LabelledRow

    rows = [LabelledRow(f"{c}{i}", f"{c}{i // 2}", "t", c, source=c) for c in ("clean", "noisy") for i in range(40)]
    strata = group_strata(rows)
    held = split_groups(strata, 0.25, seed=1)
    assert held == split_groups(strata, 0.25, seed=1)
    assert held != split_groups(strata, 0.25, seed=2)
    assert sum(g.startswith("clean") for g in held) == sum(g.startswith("noisy") for g in held) == 5
    # an OCR text and its ground truth share a group: both on the same side
    pair = [LabelledRow("p/ocr", "p", "t", "noisy", "icdar:ocr"), LabelledRow("p/gt", "p", "t", "clean", "icdar:gt")]
    assert group_strata(pair) == {"p": "icdar:gt|icdar:ocr|clean+noisy"}
