"""Bad input of every kind, through the recipe engine: each file or row is kept or excluded with a
clear reason code, the run never crashes, and ``books_in == kept + excluded``."""

from __future__ import annotations

import codecs
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finebooks.engine import run_recipe, summarise
from finebooks.recipe import validate
from tests.reliability.conftest import rows

PROSE = "The old mill stood by the river, and the miller's daughter sang while she worked. " * 12
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v3#"


def alto(words: str) -> str:
    strings = "<SP/>".join(f'<String CONTENT="{w}"/>' for w in words.split())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="{ALTO_NS}"><Layout><Page ID="p1"><PrintSpace>'
            f"<TextBlock><TextLine>{strings}</TextLine></TextBlock></PrintSpace></Page></Layout></alto>")


def hocr(words: str) -> str:
    spans = " ".join(f"<span class='ocrx_word'>{w}</span>" for w in words.split())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
            f"<div class='ocr_page'><span class='ocr_line'>{spans}</span></div></body></html>")


def abbyy(words: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<document xmlns="http://www.abbyy.com/FineReader_xml/'
            f'FineReader10-schema-v1.xml"><page><block blockType="Text"><text><par><line><formatting>{words}'
            f"</formatting></line></par></text></block></page></document>")


def build_collection(root: Path) -> dict[str, str]:
    """Writes every kind of bad input; returns ``{id: expected outcome}`` ("kept" or a reason code)."""
    expect: dict[str, str] = {}
    text = root / "text"
    text.mkdir(parents=True)
    (text / "good.txt").write_text(PROSE + "\f" + PROSE)
    expect["text/good"] = "kept"
    (text / "empty.txt").write_bytes(b"")
    expect["text/empty"] = "empty_file"
    (text / "blank.txt").write_bytes(b"  \n\t\n ")
    expect["text/blank"] = "empty_file"
    (text / "formfeeds.txt").write_text("\f\f\f")
    expect["text/formfeeds"] = "empty_file"  # form feeds are whitespace
    (text / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    expect["text/binary"] = "binary_content"
    (text / "nul_bytes.txt").write_bytes(PROSE.encode() + b"\x00\x00" + PROSE.encode())
    expect["text/nul_bytes"] = "binary_content"
    (text / "utf16.txt").write_bytes(codecs.BOM_UTF16_LE + (PROSE + "\f" + PROSE).encode("utf-16-le"))
    expect["text/utf16"] = "kept"
    (text / "latin1.txt").write_bytes(("Café au lait, déjà vu. " * 30).encode("latin-1"))
    expect["text/latin1"] = "kept"
    (text / "mixed.txt").write_bytes(("Naïve café " * 20).encode() + ("garçon très " * 20).encode("cp1252"))
    expect["text/mixed"] = "kept"  # not UTF-8: read as cp1252 (the encoding is recorded)
    (text / "undecodable.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d" * 50 + b" text")
    expect["text/undecodable"] = "undecodable"
    (text / "empty_pages.txt").write_text(PROSE + "\f\f  \f" + PROSE)
    expect["text/empty_pages"] = "kept"
    (text / "dup.txt").write_text(PROSE)
    (text / "dup.TXT").write_text(PROSE + " (second scan)")
    expect["text/dup"] = "kept"  # + one duplicate_id exclusion with the same id (checked below)

    xml = root / "alto"
    xml.mkdir()
    (xml / "good.xml").write_text(alto("a good page of words"))
    expect["alto/good"] = "kept"
    (xml / "truncated.xml").write_text(alto("a page cut short")[:150])
    expect["alto/truncated"] = "malformed_xml"
    (xml / "broken_tags.xml").write_text(alto("broken tags here").replace("</TextLine>", "</TextLin>"))
    expect["alto/broken_tags"] = "malformed_xml"
    (xml / "zero.xml").write_bytes(b"")
    expect["alto/zero"] = "empty_file"
    (xml / "binary.xml").write_bytes(bytes(range(256)) * 20)
    expect["alto/binary"] = "malformed_xml"
    (xml / "not_alto.xml").write_text(abbyy("another format"))
    expect["alto/not_alto"] = "not_alto"
    (xml / "utf16.xml").write_bytes(alto("sixteen bit page").replace('encoding="UTF-8"', 'encoding="UTF-16"')
                                    .encode("utf-16"))
    expect["alto/utf16"] = "kept"
    (xml / "lying_declaration.xml").write_bytes(alto("déjà vu café").replace("UTF-8", "ISO-8859-1").encode())
    expect["alto/lying_declaration"] = "kept"  # mojibake, repaired later by normalise_characters
    (xml / "no_text.xml").write_text(alto(""))
    expect["alto/no_text"] = "no_text"
    (xml / "bomb.xml").write_text(alto("x").replace("<alto ", '<!DOCTYPE alto [<!ENTITY a "' + "y" * 50_000
                                                    + '">]>\n<alto ').replace('CONTENT="x"', 'CONTENT="' + "&a;" * 5000 + '"'))
    expect["alto/bomb"] = "unsafe_xml"

    hocr_dir = root / "hocr"
    hocr_dir.mkdir()
    (hocr_dir / "good.hocr").write_text(hocr("a good hocr page"))
    expect["hocr/good"] = "kept"
    (hocr_dir / "no_ocr.hocr").write_text("<html><body><p>just a web page</p></body></html>")
    expect["hocr/no_ocr"] = "not_hocr"
    (hocr_dir / "zero.hocr").write_bytes(b"")
    expect["hocr/zero"] = "empty_file"

    ab = root / "abbyy"
    ab.mkdir()
    (ab / "good.xml").write_text(abbyy("a good abbyy page"))
    expect["abbyy/good"] = "kept"
    (ab / "truncated.xml").write_text(abbyy("cut")[:120])
    expect["abbyy/truncated"] = "malformed_xml"

    prq = root / "parquet"
    prq.mkdir()
    pq.write_table(pa.table({"id": ["p1", "p2", "p3", "p1"], "text": [PROSE, "", " \f ", PROSE + "again"]}),
                   prq / "rows.parquet")
    expect.update({"parquet/p1": "kept", "parquet/p2": "empty_text", "parquet/p3": "empty_text"})
    pq.write_table(pa.table({"id": ["n1", "n2"], "text": [1, 2]}), prq / "numbers.parquet")  # schema mismatch
    expect.update({"parquet/n1": "non_text", "parquet/n2": "non_text"})
    pq.write_table(pa.table({"id": ["m1"], "body": [PROSE]}), prq / "no_text_column.parquet")
    expect["parquet/m1"] = "missing_text_column"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), prq / "zero_rows.parquet")
    expect["parquet/zero_rows.parquet"] = "empty_file"
    good = (prq / "rows.parquet").read_bytes()
    (prq / "truncated.parquet").write_bytes(good[: len(good) // 2])
    expect["parquet/truncated.parquet"] = "unreadable_file"
    (prq / "not_parquet.parquet").write_text("this is not a parquet file")
    expect["parquet/not_parquet.parquet"] = "unreadable_file"
    (prq / "zero.parquet").write_bytes(b"")
    expect["parquet/zero.parquet"] = "unreadable_file"

    js = root / "jsonl"
    js.mkdir()
    lines = [json.dumps({"id": "j1", "text": PROSE}), "{not json", json.dumps([1, 2]),
             json.dumps({"id": "j2", "text": 42}), json.dumps({"id": "j3", "text": [PROSE, None, PROSE]}),
             json.dumps({"id": "j4", "text": [PROSE, {"x": 1}]}), json.dumps({"id": "j5", "text": None}),
             json.dumps({"id": "j6", "text": PROSE, "metadata_json": "{broken"}), json.dumps({"id": "j1", "text": "x"})]
    (js / "rows.jsonl").write_text("\n".join(lines) + "\n")
    expect.update({"jsonl/j1": "kept", "jsonl/rows.jsonl_L2": "malformed_json", "jsonl/rows.jsonl_L3": "malformed_json",
                   "jsonl/j2": "non_text", "jsonl/j3": "kept", "jsonl/j4": "non_text", "jsonl/j5": "empty_text",
                   "j6": "bad_metadata_json"})  # a row with metadata_json is a FineBooks output: its id is kept whole
    (js / "latin1.jsonl").write_bytes(json.dumps({"id": "l1", "text": "x"}).encode() + b"\n\xe9\xe9\n")
    expect["jsonl/latin1.jsonl"] = "unreadable_file"
    (js / "empty.jsonl").write_bytes(b"")
    expect["jsonl/empty.jsonl"] = "empty_file"

    pr = root / "pages"
    pr.mkdir()
    pq.write_table(pa.table({"book_id": ["b1", "b1", "b2", None, "b3"], "page": [1, 2, 1, 1, 1],
                             "text": [PROSE, PROSE, PROSE, "orphan page", "   "]}), pr / "pages.parquet")
    expect.update({"pages/b1": "kept", "pages/b2": "kept", "pages/pages.parquet_no_book_id": "missing_book_id",
                   "pages/b3": "no_text"})
    pq.write_table(pa.table({"book": ["c1"], "page": [1], "text": [PROSE]}), pr / "wrong_columns.parquet")
    expect["pages/wrong_columns.parquet"] = "missing_columns"
    (pr / "truncated.parquet").write_bytes((pr / "pages.parquet").read_bytes()[:300])
    expect["pages/truncated.parquet"] = "unreadable_file"
    return expect


def recipe_for(root: Path, out: Path, tasks: int = 2):
    inputs = [("formfeed", "text", {}), ("alto", "alto", {}), ("hocr", "hocr", {}), ("abbyy", "abbyy", {}),
              ("book_parquet", "parquet", {}), ("book_jsonl", "jsonl", {}), ("page_rows", "pages", {})]
    return validate({
        "name": "bad-input",
        "input": [{"reader": r, "path": str(root / p), "options": {"source": p, **o}} for r, p, o in inputs],
        "stages": ["normalise_characters", "score_book_heuristics", {"metadata_filter": {"key": "n_pages", "min": 1}}],
        "output": {"path": str(out)},
        "executor": {"type": "local", "tasks": tasks, "workers": 1},
    }, source="<bad input recipe>")


def outcomes(run_dir: Path) -> tuple[set, list[tuple[str, str]]]:
    kept = {r["id"] for r in rows(run_dir / "books")}
    excluded = [(r["id"], r["exclusion_reason"].split(":")[0]) for r in rows(run_dir / "excluded")]
    return kept, excluded


def test_every_bad_input_is_an_accounted_exclusion(tmp_path):
    expect = build_collection(tmp_path / "in")
    summary = run_recipe(recipe_for(tmp_path / "in", tmp_path / "run"), tmp_path / "run")
    assert summary.unaccounted == 0
    assert summary.books_in == summary.kept + summary.excluded == len(expect) + 3  # + 3 duplicate ids
    kept, excluded = outcomes(tmp_path / "run")
    reasons = dict(excluded)
    for book, outcome in expect.items():
        if outcome == "kept":
            assert book in kept, f"{book} should be kept; excluded as {reasons.get(book)}"
        else:
            assert reasons.get(book) == outcome, f"{book}: expected {outcome}, got {reasons.get(book, 'kept?')}"
    # duplicates: the first keeps the id, the second is excluded under the same id
    assert ("text/dup", "duplicate_id") in excluded and ("parquet/p1", "duplicate_id") in excluded
    assert ("jsonl/j1", "duplicate_id") in excluded
    assert summarise(tmp_path / "run").unaccounted == 0


def test_encodings_are_recorded(tmp_path):
    build_collection(tmp_path / "in")
    run_recipe(recipe_for(tmp_path / "in", tmp_path / "run", tasks=1), tmp_path / "run")
    meta = {r["id"]: json.loads(r["metadata_json"]) for r in rows(tmp_path / "run" / "books")}
    assert meta["text/utf16"]["encoding"] == "utf-16"
    assert meta["text/latin1"]["encoding"] == "cp1252" and meta["text/mixed"]["encoding"] == "cp1252"
    assert meta["text/empty_pages"]["n_pages"] == 4


@pytest.mark.slow
def test_a_50_mb_page_and_a_5000_page_book(tmp_path):
    src = tmp_path / "in"
    (src / "text").mkdir(parents=True)
    (src / "alto").mkdir()
    line = "word " * 19 + "end.\n"
    (src / "text" / "huge_page.txt").write_text(line * (50 * 2**20 // len(line)))
    (src / "text" / "many_pages.txt").write_text("\f".join(f"Page {i} of a very long book." for i in range(5000)))
    page = '<Page ID="p{i}"><PrintSpace><TextBlock><TextLine><String CONTENT="page"/><SP/><String CONTENT="{i}"/>' \
           "</TextLine></TextBlock></PrintSpace></Page>"
    (src / "alto" / "many.xml").write_text(f'<alto xmlns="{ALTO_NS}"><Layout>'
                                           + "".join(page.format(i=i) for i in range(5000)) + "</Layout></alto>")
    words = "".join(f'<String CONTENT="w{i % 1000}"/><SP/>' for i in range(200_000))
    (src / "alto" / "huge.xml").write_text(f'<alto xmlns="{ALTO_NS}"><Layout><Page ID="p1"><PrintSpace><TextBlock>'
                                           f"<TextLine>{words}</TextLine></TextBlock></PrintSpace></Page></Layout></alto>")
    recipe = validate({
        "name": "big", "input": [{"reader": "formfeed", "path": str(src / "text"), "options": {"source": "t"}},
                                 {"reader": "alto", "path": str(src / "alto"), "options": {"source": "a"}}],
        "stages": [{"metadata_filter": {"key": "n_pages", "min": 1}}],
        "output": {"path": str(tmp_path / "run")}, "executor": {"type": "local", "tasks": 1, "workers": 1},
    })
    start = time.perf_counter()
    summary = run_recipe(recipe, tmp_path / "run")
    assert time.perf_counter() - start < 60
    assert summary.unaccounted == 0 and summary.kept == 4
    pages = {r["id"]: r["n_pages"] for r in rows(tmp_path / "run" / "books")}
    assert pages == {"t/huge_page": 1, "t/many_pages": 5000, "a/many": 5000, "a/huge": 1}


def test_a_dataset_that_datasets_cannot_load_is_one_exclusion(tmp_path):
    """The hf reader loads the whole dataset at once: a corrupt file is an accounted exclusion, not a crash."""
    from datatrove.pipeline.writers import JsonlWriter

    from finebooks.readers.book_rows import BookHFReader
    from tests.conftest import exclusions, read_all

    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": [PROSE, PROSE]}), good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[:200])
    reader = BookHFReader("parquet", dataset_options={"data_files": [str(good), str(bad)], "split": "train",
                                                      "cache_dir": str(tmp_path / "cache")},
                          source="hf", exclusion_writer=JsonlWriter(str(tmp_path / "ex"), compression=None))
    docs = read_all(reader)
    recs = exclusions(tmp_path / "ex")
    assert docs == [] and len(recs) == 1
    assert recs[0]["metadata"]["exclusion_reason"].startswith("unreadable_dataset")
    assert reader.stats.stats["excluded"].total == 1


def test_a_parquet_row_with_invalid_utf8_is_one_exclusion(tmp_path):
    """pyarrow reads invalid UTF-8 strings without checking; only that row is lost, and it is accounted."""
    from datatrove.pipeline.writers import JsonlWriter

    from finebooks.readers.book_rows import BookParquetReader
    from tests.conftest import exclusions, read_all

    src = tmp_path / "in"
    src.mkdir()
    text = pa.array([PROSE.encode(), b"\xff\xfe broken", PROSE.encode()], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": text}), src / "rows.parquet")
    docs = read_all(BookParquetReader(src, source="p", exclusion_writer=JsonlWriter(str(tmp_path / "ex"),
                                                                                    compression=None)))
    assert [d.id for d in docs] == ["p/a", "p/c"]
    (rec,) = exclusions(tmp_path / "ex")
    assert rec["id"] == "p/rows.parquet_1" and rec["metadata"]["exclusion_reason"].startswith("undecodable_row")
