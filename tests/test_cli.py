"""CLI and engine read jobs: outputs, exclusions, the accounting invariant, resumability."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from finebooks.cli import main
from finebooks.engine import summarise


@pytest.fixture
def text_books(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        (src / f"book{i}.txt").write_text(f"page one of {i}\fpage two of {i}")
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    return src


def test_read_writes_books_exclusions_and_summary(text_books, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["read", str(text_books), "-f", "formfeed", "-o", str(out), "--source", "lib"]) == 0
    printed = capsys.readouterr().out
    assert "books in: 7  kept: 5  excluded: 2" in printed
    books = pq.read_table(list((out / "books").rglob("*.parquet"))).to_pylist()
    assert sorted(b["id"] for b in books) == [f"lib/book{i}" for i in range(5)]
    assert all(b["n_pages"] == 2 for b in books)
    excluded = pq.read_table(list((out / "excluded").rglob("*.parquet"))).to_pylist()
    assert sorted(e["exclusion_reason"].split(":")[0] for e in excluded) == ["binary_content", "empty_file"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"] == summary["kept"] + summary["excluded"] == 7


def test_read_with_several_tasks_and_workers_is_complete(text_books, tmp_path):
    out = tmp_path / "run"
    assert main(["read", str(text_books), "-f", "formfeed", "-o", str(out), "--tasks", "3", "--workers", "2"]) == 0
    s = summarise(out)
    assert (s.kept, s.excluded) == (5, 2)


def test_rerun_resumes_without_duplicating(text_books, tmp_path):
    out = tmp_path / "run"
    main(["read", str(text_books), "-f", "formfeed", "-o", str(out), "--tasks", "2"])
    main(["read", str(text_books), "-f", "formfeed", "-o", str(out), "--tasks", "2"])
    assert summarise(out).kept == 5


def test_unknown_format_and_missing_input_are_clear_errors(text_books, tmp_path, capsys):
    assert main(["read", str(text_books), "-f", "pdf", "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown reader 'pdf'" in err and "trove" in err
    assert main(["read", str(tmp_path / "nope"), "-f", "trove", "-o", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bad_options_json_is_rejected(text_books, tmp_path):
    with pytest.raises(SystemExit):
        main(["read", str(text_books), "-f", "formfeed", "-o", str(tmp_path / "r"), "--options", "[1,2]"])


def test_formats_lists_every_reader(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in ("trove", "alto", "hocr", "abbyy", "page_rows", "book_jsonl", "hf"):
        assert name in out


def test_quickstart_runs_the_default_recipe_on_the_sample(tmp_path, capsys):
    """Known-answer check: bad inputs excluded as labelled, one copy of each planted duplicate dropped."""
    sample, out = tmp_path / "sample", tmp_path / "run"
    assert main(["quickstart", "--sample", str(sample), "--output", str(out)]) == 0
    assert "finebooks explain" in capsys.readouterr().out
    books = [json.loads(line) for line in (sample / "books.jsonl").read_text().splitlines()]
    labels = [json.loads(line) for line in (sample / "labels.jsonl").read_text().splitlines()]
    bad = {lab["book_id"]: lab["detail"]["expected_reason"] for lab in labels if lab["defect"] == "bad_input"}
    n_dups = sum(lab["defect"] == "duplicate_scan" for lab in labels)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["books_in"] == len(books) + len(bad)
    assert summary["kept"] == len(books) - n_dups  # the ISO-8859-1 book is read through the fallback encoding
    assert summary["excluded"] == len(bad) + n_dups and summary["unaccounted"] == 0
    kept = pq.read_table(list((out / "books").glob("*.parquet"))).to_pylist()
    pages_by_book = {b["book_id"]: b["n_pages"] for b in books}
    for row in kept:
        assert row["n_pages"] == pages_by_book[row["id"].split("/")[-1]], row["id"]
    excluded = pq.read_table(list((out / "excluded" / "00_read").glob("*.parquet"))).to_pylist()
    got = {e["id"].split("/")[-1]: e["exclusion_reason"].split(":")[0] for e in excluded}
    assert got == bad
