"""DuckDB views over a run and ``finebooks query``; the queries documented in docs/report.md."""

from __future__ import annotations

import itertools
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finebooks.cli import main
from finebooks.report.query import CLUSTER_COLUMNS, RunDirError, connect, inspect_run, query
from tests.report.conftest import GARBAGE_MAX, REPO, write_run

DOC = REPO / "docs" / "report.md"


def documented_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def librarian_query() -> str:
    return next(q for q in documented_queries() if "century = 18" in q and "'fr'" in q)


def test_views_count_what_the_summary_counts(sample_run):
    con = connect(sample_run)
    summary = json.loads((sample_run / "summary.json").read_text())
    assert con.execute("SELECT count(*) FROM books").fetchone()[0] == summary["kept"]
    assert con.execute("SELECT count(*) FROM excluded").fetchone()[0] == summary["excluded"]
    assert con.execute("SELECT books_in, kept, excluded, unaccounted FROM summary").fetchone() == (
        summary["books_in"], summary["kept"], summary["excluded"], 0)
    stages = con.execute("SELECT stage, books_in, excluded, books_out FROM stages ORDER BY position").fetchall()
    assert stages[0][0] == "00_read" and stages[0][1] == summary["books_in"]
    assert stages[-1][3] == summary["kept"]
    for (_, _, _, out), (_, nxt_in, _, _) in itertools.pairwise(stages):
        assert out == nxt_in
    # the threshold stage removed exactly the books above the threshold, and says why
    dropped = con.execute("SELECT id, bh_garbage_page_share, reason_code FROM excluded "
                          "WHERE exclusion_stage = '05_metadata_filter'").fetchall()
    assert dropped and all(v > GARBAGE_MAX and code == "bh_garbage_page_share_above_max" for _, v, code in dropped)
    assert con.execute("SELECT max(bh_garbage_page_share) FROM books").fetchone()[0] <= GARBAGE_MAX


def test_scores_and_derived_columns_are_typed(sample_run):
    con = connect(sample_run)
    types = {r[0]: r[1] for r in con.execute("DESCRIBE books").fetchall()}
    assert types["language_score"] == "DOUBLE" and types["bh_n_words"] == "BIGINT"
    assert types["source_path"] == "VARCHAR" and types["century"] == "BIGINT"
    row = con.execute("SELECT year, decade, century, n_chars, n_bytes, length(text) FROM books "
                      "WHERE year IS NOT NULL ORDER BY id LIMIT 1").fetchone()
    year, decade, century, n_chars, n_bytes, length = row
    assert decade == year // 10 * 10 and century == year // 100 + 1
    assert n_chars == length and n_bytes >= n_chars
    exc = {r[0]: r[1] for r in con.execute("DESCRIBE excluded").fetchall()}
    assert {"exclusion_stage", "exclusion_reason", "reason_code", "text_kept"} <= set(exc)
    # unreadable inputs have no text; thresholded books kept theirs (keep_excluded_text)
    assert con.execute("SELECT bool_or(text_kept) FROM excluded WHERE exclusion_stage = '00_read'").fetchone()[0] is False
    assert con.execute("SELECT bool_and(text_kept) FROM excluded WHERE exclusion_stage <> '00_read'").fetchone()[0]


def test_clusters_view_is_empty_and_typed_without_cluster_tables(tmp_path):
    run = write_run(tmp_path / "run", kept=[{"id": "a/1"}], excluded=[])
    con = connect(run)
    assert con.execute("SELECT count(*) FROM clusters").fetchall() == [(0,)]
    cols = [(r[0], r[1]) for r in con.execute("DESCRIBE clusters").fetchall()]
    assert cols == list(CLUSTER_COLUMNS.items())


def test_clusters_view_reads_the_dedup_stage_clusters(sample_run):
    con = connect(sample_run)
    clusters = con.execute("SELECT stage, cluster_id, count(*), count(*) FILTER (WHERE is_kept), "
                           "any_value(kept_id) FILTER (WHERE is_kept) FROM clusters GROUP BY 1, 2").fetchall()
    assert clusters and all(stage == "07_near_dedup" and kept == 1 for stage, _, _, kept, _ in clusters)
    kept_ids = {r[0] for r in con.execute("SELECT id FROM books").fetchall()}
    assert {c[4] for c in clusters} <= kept_ids
    removed = {r[0] for r in con.execute("SELECT book_id FROM clusters WHERE NOT is_kept").fetchall()}
    dropped = {r[0] for r in con.execute("SELECT id FROM excluded WHERE exclusion_stage = '07_near_dedup'").fetchall()}
    assert removed == dropped and removed
    q = next(q for q in documented_queries() if "FROM clusters" in q)
    assert len(con.execute(q).fetchall()) == len(clusters)


def test_clusters_view_fills_missing_columns(tmp_path):
    """A dedup stage that writes only the five core columns still gives the full view."""
    run = write_run(tmp_path / "run", kept=[{"id": "a/1"}, {"id": "a/3"}],
                    excluded=[{"id": "a/2", "stage": "01_metadata_filter", "reason": "near_duplicate"}])
    folder = run / "clusters" / "01_metadata_filter"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"cluster_id": [0, 0], "book_id": ["a/1", "a/2"], "kept_id": ["a/1", "a/1"],
                             "is_kept": [True, False], "similarity": [1.0, 0.8]}), folder / "00000.parquet")
    con = connect(run)
    assert con.execute("SELECT stage, cluster_id, book_id, is_kept, cluster_size, method FROM clusters "
                       "ORDER BY book_id").fetchall() == [("01_metadata_filter", 0, "a/1", True, None, None),
                                                         ("01_metadata_filter", 0, "a/2", False, None, None)]
    top = con.execute(next(q for q in documented_queries() if "FROM clusters" in q)).fetchall()
    assert top[0][2] == 2 and top[0][3] == "a/1" and top[0][5] == pytest.approx(0.8)


def test_every_documented_query_runs_on_the_sample_run(sample_run):
    con = connect(sample_run)
    queries = documented_queries()
    assert len(queries) >= 8
    for q in queries:
        con.execute(q).fetchall()  # raises on a stale column or view name
    both = next(q for q in queries if "HAVING count(*) > 1" in q)
    assert con.execute(both).fetchall() == []
    funnel = con.execute(next(q for q in queries if "FROM stages" in q)).fetchall()
    assert funnel[-1][4] == con.execute("SELECT count(*) FROM books").fetchone()[0]
    pages = next(q for q in queries if "dropped_pages" in q)
    assert con.execute(pages).fetchall(), "drop_pages blanked pages in some kept book of the sample"


def test_the_librarians_question_is_answered(tmp_path):
    def book(i, lang, year, **meta):
        return {"id": f"lib/{i}", "text": f"texte {i}", "metadata": {"language": lang, "year": year,
                                                                      "title": f"Livre {i}", **meta}}
    kept = [book("kept-fr-1750", "fr", 1750, ocr_quality=0.9), book("kept-en-1760", "en", 1760, ocr_quality=0.9)]
    excluded = [
        {**book("fr-1799", "fr", 1799, ocr_quality=0.2), "stage": "01_metadata_filter",
         "reason": "ocr_quality_below_min: ocr_quality=0.2 < 0.5"},
        {**book("fr-1700", "fr", 1700, ocr_quality=0.3), "stage": "01_metadata_filter",
         "reason": "ocr_quality_below_min: ocr_quality=0.3 < 0.5"},
        {**book("fr-1745-unreadable", "fr", 1745), "stage": "00_read", "reason": "malformed_xml: truncated"},
        {**book("fr-1800", "fr", 1800, ocr_quality=0.1), "stage": "01_metadata_filter", "reason": "ocr_quality_below_min"},
        {**book("fr-1699", "fr", 1699, ocr_quality=0.1), "stage": "01_metadata_filter", "reason": "ocr_quality_below_min"},
        {**book("en-1750", "en", 1750, ocr_quality=0.1), "stage": "01_metadata_filter", "reason": "ocr_quality_below_min"},
        {**book("fr-undated", "fr", None, ocr_quality=0.1), "stage": "01_metadata_filter", "reason": "ocr_quality_below_min"},
    ]
    run = write_run(tmp_path / "run", kept, excluded)
    columns, rows = query(run, librarian_query())
    assert columns[:4] == ["id", "title", "author", "year"]
    got = [(r[0], r[3], r[4], r[5]) for r in rows]
    assert got == [
        ("lib/fr-1700", 1700, "01_metadata_filter", "ocr_quality_below_min: ocr_quality=0.3 < 0.5"),
        ("lib/fr-1745-unreadable", 1745, "00_read", "malformed_xml: truncated"),
        ("lib/fr-1799", 1799, "01_metadata_filter", "ocr_quality_below_min: ocr_quality=0.2 < 0.5"),
    ]


@pytest.mark.realdata
def test_the_librarians_question_on_real_trove_books(trove_run):
    """A real run over Trove books: the answer matches the catalogue, book by book."""
    _, rows = query(trove_run, librarian_query())
    assert rows, "some 18th-century French book fell under the threshold"
    con = connect(trove_run)
    expected = {r[0] for r in con.execute(
        "SELECT id, language, metadata_json FROM excluded").fetchall()
        if (m := json.loads(r[2])) and r[1] == "fr" and m.get("year") and 1700 <= int(m["year"]) <= 1799}
    assert {r[0] for r in rows} == expected
    for r in rows:
        assert 1700 <= r[3] <= 1799 and r[4] == "03_metadata_filter"
        assert r[5].startswith("bh_stopwords_per_1000_below_min")
    for q in documented_queries():
        con.execute(q).fetchall()


def test_query_command_formats_and_errors(sample_run, capsys):
    assert main(["query", str(sample_run), "SELECT stage, excluded FROM stages ORDER BY position"]) == 0
    out = capsys.readouterr().out
    assert "00_read" in out and "05_metadata_filter" in out and out.rstrip().endswith("rows)")
    assert main(["query", str(sample_run), "SELECT reason_code, count(*) AS n FROM excluded GROUP BY 1 ORDER BY 1",
                 "--format", "json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {"reason_code": "bh_garbage_page_share_above_max", "n": 3} in lines
    assert main(["query", str(sample_run), "SELECT id FROM books ORDER BY id LIMIT 2", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "id"
    assert main(["query", str(sample_run), "--views"]) == 0
    assert re.search(r"clusters \(\d+ rows\): stage VARCHAR, cluster_id BIGINT", capsys.readouterr().out)
    assert main(["query", str(sample_run), "SELECT nope FROM books"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "views: books, excluded, clusters" in err


def test_not_a_run_directory(tmp_path, capsys):
    with pytest.raises(RunDirError, match="does not exist"):
        inspect_run(tmp_path / "missing")
    with pytest.raises(RunDirError, match="not a FineBooks run directory"):
        inspect_run(tmp_path)
    assert main(["query", str(tmp_path), "SELECT 1"]) == 2
    assert "not a FineBooks run directory" in capsys.readouterr().err


def test_books_view_reads_jsonl_output(tmp_path):
    """A run with ``output.format: jsonl`` (datatrove's JsonlWriter) has the same books view."""
    from datatrove.data import Document
    from datatrove.pipeline.writers import JsonlWriter

    run = tmp_path / "run"
    with JsonlWriter(str(run / "books")) as w:
        w.write(Document(text="Un livre\fdeux pages", id="j/1",
                         metadata={"language": "fr", "year": 1764, "n_pages": 2, "ocr_quality": 0.8}))
        w.write(Document(text="A book", id="j/2", metadata={"language": "en", "year": 1801, "n_pages": 1,
                                                              "ocr_quality": 0.9, "rights": "CC0"}))
    (run / "recipe.yaml").write_text("name: jsonl\nstages: []\n")
    con = connect(run)
    rows = con.execute("SELECT id, language, year, century, n_pages, ocr_quality, rights, n_chars FROM books "
                       "ORDER BY id").fetchall()
    assert rows == [("j/1", "fr", 1764, 18, 2, 0.8, None, 19), ("j/2", "en", 1801, 19, 1, 0.9, "CC0", 6)]
    assert con.execute("SELECT count(*) FROM excluded").fetchall() == [(0,)]


def test_excluded_lengths_from_text_or_recorded_lengths(tmp_path):
    """Without kept text, lengths come from the text_chars/text_bytes the exclusion writer records."""
    run = write_run(tmp_path / "run", kept=[{"id": "k/1", "text": "abc"}], excluded=[
        {"id": "x/1", "text": "héllo", "stage": "01_metadata_filter", "reason": "r",
         "metadata": {"text_chars": 5, "text_bytes": 6}},
        {"id": "x/2", "text": "gone", "stage": "01_metadata_filter", "reason": "r"},
        {"id": "x/3", "text": "", "stage": "00_read", "reason": "empty_file"}], keep_text=False)
    con = connect(run)
    assert con.execute("SELECT id, n_chars, n_bytes, text_kept FROM excluded ORDER BY id").fetchall() == [
        ("x/1", 5, 6, False), ("x/2", 4, 4, False), ("x/3", 0, 0, False)]
    kept_text = write_run(tmp_path / "run2", kept=[], excluded=[
        {"id": "x/1", "text": "héllo", "stage": "01_metadata_filter", "reason": "r"}], keep_text=True)
    assert connect(kept_text).execute("SELECT n_chars, n_bytes, text_kept FROM excluded").fetchall() == [(5, 6, True)]
