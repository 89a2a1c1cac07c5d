"""Plain-text readers: Trove, form-feed, IA djvu, page folders; decoding and bad input."""

from __future__ import annotations

import json

import pytest
from datatrove.pipeline.writers import JsonlWriter

from finebooks.book import n_pages, split_pages
from finebooks.exclusions import BadInput
from finebooks.readers.base import decode_text
from finebooks.readers.text import (
    DjvuTextReader,
    FormFeedTextReader,
    PageFolderReader,
    TroveTextReader,
    split_trove_pages,
)
from tests.conftest import exclusions, read_all


def trove_layout(pages: list[str]) -> str:
    return "".join("\n\n" + p + ("\n" if p else "") for p in pages)


# ---------------------------------------------------------------- tiny fixtures
@pytest.mark.parametrize(
    "pages",
    [
        ["one\ntwo", "three"],
        ["", "first real page", "", "", "after two blanks", ""],
        ["a", "b\n\nparagraph inside page", "c"],
        ["\nstarts with a blank line", "x"],
        ["only page"],
    ],
)
def test_split_trove_pages_inverts_the_trove_layout(pages):
    got = split_trove_pages(trove_layout(pages))
    assert len(got) == len(pages)
    assert [p.strip() for p in got] == [p.strip() for p in pages]


def test_formfeed_reader_pages_ids_and_metadata(tmp_path):
    (tmp_path / "book_a.txt").write_text("p1 line\fp2\f\fp4", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "book_b.txt").write_text("single page", encoding="utf-8")
    docs = read_all(FormFeedTextReader(tmp_path, source="lib"))
    by_id = {d.id: d for d in docs}
    assert set(by_id) == {"lib/book_a", "lib/sub/book_b"}
    a = by_id["lib/book_a"]
    assert split_pages(a) == ["p1 line", "p2", "", "p4"]
    assert a.metadata["n_pages"] == 4 == n_pages(a)
    assert a.metadata["source"] == "lib" and a.metadata["format"] == "formfeed_text"
    assert by_id["lib/sub/book_b"].metadata["n_pages"] == 1


def test_crlf_is_normalised(tmp_path):
    (tmp_path / "b.txt").write_bytes(b"line one\r\nline two\r\n\x0cpage two\r\n")
    (doc,) = read_all(FormFeedTextReader(tmp_path))
    assert "\r" not in doc.text and split_pages(doc) == ["line one\nline two\n", "page two\n"]


def test_fallback_encoding_is_used_and_recorded(tmp_path):
    (tmp_path / "latin.txt").write_bytes("Gabriël poëzij café".encode("latin-1"))
    (doc,) = read_all(FormFeedTextReader(tmp_path))
    assert doc.text == "Gabriël poëzij café"
    assert doc.metadata["encoding"] == "cp1252"


def test_no_fallback_means_undecodable_is_excluded(tmp_path):
    (tmp_path / "latin.txt").write_bytes("poëzij".encode("latin-1"))
    (tmp_path / "ok.txt").write_text("fine")
    out = tmp_path / "excl"
    docs = read_all(FormFeedTextReader(tmp_path, fallback_encodings=(), exclusion_writer=JsonlWriter(str(out), compression=None)))
    assert [d.id for d in docs] == [f"{tmp_path.name}/ok"]
    (rec,) = exclusions(out)
    assert rec["metadata"]["exclusion_reason"].startswith("undecodable")
    assert rec["metadata"]["exclusion_stage"] == "read_formfeed_text"


def test_bom_decides_the_encoding():
    text, enc = decode_text("hello wörld".encode("utf-16"))  # encode() writes the BOM
    assert text == "hello wörld" and enc.startswith("utf-16")


@pytest.mark.parametrize(
    "raw, code",
    [(b"", "empty_file"), (b"   \n\n", "empty_file"), (b"abc\x00\x00def", "binary_content"),
     (bytes(range(1, 9)) * 50, "binary_content")],
)
def test_decode_rejects_empty_and_binary(raw, code):
    with pytest.raises(BadInput) as e:
        decode_text(raw)
    assert e.value.code == code


def test_bad_files_are_accounted_and_the_run_continues(tmp_path):
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "b_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (tmp_path / "c_ok.txt").write_text("a real book")
    (tmp_path / "d_only_formfeeds.txt").write_text("\f\f \f")  # whitespace only
    out = tmp_path / "excl"
    reader = FormFeedTextReader(tmp_path, exclusion_writer=JsonlWriter(str(out), compression=None))
    docs = read_all(reader)
    assert [d.id.split("/")[-1] for d in docs] == ["c_ok"]
    reasons = {r["id"].split("/")[-1]: r["metadata"]["exclusion_reason"].split(":")[0] for r in exclusions(out)}
    assert reasons == {"a_empty": "empty_file", "b_binary": "binary_content", "d_only_formfeeds": "empty_file"}
    assert reader.stats["excluded"].total == 3
    assert reader.stats["books"].total == 1


def test_page_folder_reader_orders_pages_naturally(tmp_path):
    book = tmp_path / "book1"
    book.mkdir()
    for i in (1, 2, 10, 3):
        (book / f"page{i}.txt").write_text(f"text of page {i}")
    (book / "page4.txt").write_text("")  # an empty page still counts
    other = tmp_path / "book2"
    other.mkdir()
    (other / "0001.txt").write_text("lonely page")
    docs = {d.id: d for d in read_all(PageFolderReader(tmp_path, source="s"))}
    assert set(docs) == {"s/book1", "s/book2"}
    assert split_pages(docs["s/book1"]) == ["text of page 1", "text of page 2", "text of page 3", "", "text of page 10"]
    assert docs["s/book1"].metadata["n_pages"] == 5


def test_page_folder_with_a_binary_page_keeps_the_book_and_records_the_page(tmp_path):
    book = tmp_path / "b"
    book.mkdir()
    (book / "1.txt").write_text("fine")
    (book / "2.txt").write_bytes(b"\x00\x01\x02garbage")
    (doc,) = read_all(PageFolderReader(tmp_path))
    assert split_pages(doc) == ["fine", ""]
    assert doc.metadata["bad_pages"] == [{"page": 2, "file": "2.txt", "reason": doc.metadata["bad_pages"][0]["reason"]}]
    assert doc.metadata["bad_pages"][0]["reason"].startswith("binary_content")
    out = tmp_path / "excl"
    assert read_all(PageFolderReader(tmp_path, on_bad_page="exclude_book",
                                     exclusion_writer=JsonlWriter(str(out), compression=None))) == []
    (rec,) = exclusions(out)
    assert "2.txt" in rec["metadata"]["exclusion_reason"]


def test_sharding_covers_every_book_once(tmp_path):
    for i in range(11):
        (tmp_path / f"b{i}.txt").write_text(f"book {i}")
    one = sorted(d.id for d in read_all(FormFeedTextReader(tmp_path)))
    four = [d.id for d in read_all(FormFeedTextReader(tmp_path), world_size=4)]
    assert sorted(four) == one and len(set(four)) == 11


def test_limit_and_skip_apply_per_task(tmp_path):
    for i in range(6):
        (tmp_path / f"b{i}.txt").write_text(f"book {i}")
    assert [d.id[-2:] for d in FormFeedTextReader(tmp_path, limit=2, skip=1).run()] == ["b1", "b2"]


# ---------------------------------------------------------------- real data
@pytest.mark.realdata
def test_trove_page_counts_match_the_catalogue(shared_data):
    folder = shared_data / "raw_ocr" / "trove_nla_books"
    meta = {json.loads(line)["trove_id"]: json.loads(line) for line in (folder / "metadata.jsonl").open()}
    docs = read_all(TroveTextReader(folder, source="trove"))
    assert len(docs) == len(meta) == 202
    for doc in docs:
        row = meta[doc.metadata["trove_id"]]
        assert doc.id == f"trove/{row['trove_id']}"
        assert doc.text.strip(), doc.id
        # pages in the source = Trove's own page count for the volume
        assert doc.text.count("\f") + 1 == int(row["pages"]) == doc.metadata["n_pages"], doc.id
        assert doc.metadata["year"] == row["year"]


@pytest.mark.realdata
def test_trove_reading_order_follows_the_file(shared_data):
    folder = shared_data / "raw_ocr" / "trove_nla_books"
    for doc in read_all(TroveTextReader(folder, limit=25)):
        raw = (folder / doc.metadata["source_path"]).read_text(encoding="utf-8")
        pos = 0
        for page in split_pages(doc):
            if page.strip():
                found = raw.find(page.strip(), pos)
                assert found >= pos, f"{doc.id}: page out of order"
                pos = found + len(page.strip())
    first = next(iter(TroveTextReader(folder, limit=1).run()))
    assert split_pages(first)[0].strip().startswith("LEONARD MASCALL")


@pytest.mark.realdata
def test_internet_archive_djvu_text(shared_data):
    folder = shared_data / "raw_ocr" / "wellcome_text_duplicates"
    docs = read_all(DjvuTextReader(folder, source="ia"))
    sources = sorted(folder.rglob("*_djvu.txt"))
    assert len(docs) == len(sources) == 7
    by_path = {d.metadata["source_path"]: d for d in docs}
    for src in sources:
        doc = by_path[str(src.relative_to(folder))]
        raw = src.read_text(encoding="utf-8")
        assert doc.text.count("\f") + 1 == raw.count("\f") + 1
        assert doc.text.strip()
    assert "ia/silentfriend/silentfriendame00cogoog" in {d.id for d in docs}
    assert by_path["silentfriend/silentfriendame00cogoog_djvu.txt"].text.startswith("Google")


@pytest.mark.realdata
def test_every_raw_ocr_text_file_reads(shared_data):
    folder = shared_data / "raw_ocr" / "wellcome_text_duplicates"
    docs = read_all(FormFeedTextReader(folder))
    assert len(docs) == len(list(folder.rglob("*.txt"))) == 15
    assert all(d.text.strip() for d in docs)


@pytest.mark.realdata
def test_gold_texts_including_the_latin1_file(shared_data):
    folder = shared_data / "gold"
    docs = {d.metadata["source_path"]: d for d in read_all(FormFeedTextReader(folder))}
    assert len(docs) == len(list(folder.rglob("*.txt")))
    dutch = docs["gutenberg_gitenberg/Ontboezemingen_24675/24675-8.txt"]
    assert dutch.metadata["encoding"] == "cp1252"
    assert "poëzij" in dutch.text and "\ufffd" not in dutch.text
    novel = next(d for p, d in docs.items() if p.startswith("100_english_novels/"))
    assert novel.metadata["encoding"] == "utf-8" and novel.metadata["n_pages"] == 1


def test_page_folder_whose_pages_are_all_empty_is_no_text(tmp_path):
    book = tmp_path / "blank_book"
    book.mkdir()
    for i in range(3):
        (book / f"{i}.txt").write_text("  \n")
    out = tmp_path / "excl"
    assert read_all(PageFolderReader(tmp_path, exclusion_writer=JsonlWriter(str(out), compression=None))) == []
    assert exclusions(out)[0]["metadata"]["exclusion_reason"].startswith("no_text")
