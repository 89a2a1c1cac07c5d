"""hOCR reader: pages, lines, words, paragraphs, whitespace, hyphens, confidences, grouping, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from datatrove.pipeline.writers import JsonlWriter

from finebooks.book import METADATA_KEYS, split_pages
from finebooks.readers.hocr import HocrReader
from tests.conftest import exclusions, read_all

XHTML_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head><title></title><meta http-equiv="Content-Type" content="text/html;charset=utf-8" /></head>
 <body>
"""


def xhtml(body: str) -> str:
    return XHTML_HEAD + body + "\n </body>\n</html>\n"


def words(text: str, conf: int | None = None) -> str:
    title = f"bbox 0 0 1 1; x_wconf {conf}" if conf is not None else "bbox 0 0 1 1"
    return " ".join(f"<span class='ocrx_word' title='{title}'>{w}</span>" for w in text.split())


def ocr_line(text: str, cls: str = "ocr_line", conf: int | None = None) -> str:
    return f"<span class='{cls}' title='bbox 0 0 1 1'>{words(text, conf)}</span>\n"


def par(*lines: str) -> str:
    return f"<p class='ocr_par'>{''.join(lines)}</p>\n"


def ocr_page(*content: str) -> str:
    return f"<div class='ocr_page' title='image \"p.png\"; bbox 0 0 100 100'>{''.join(content)}</div>\n"


def read_one(tmp_path, text: str | bytes, name: str = "page.hocr", **kwargs):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    (doc,) = read_all(HocrReader(tmp_path, **kwargs))
    return doc


# ---------------------------------------------------------------- structure
def test_lines_paragraphs_and_blocks(tmp_path):
    body = ocr_page(
        "<div class='ocr_carea'>",
        par(ocr_line("Erstes Kapitel.")),
        par(ocr_line("Eduard so nennen"), ocr_line("wir einen reichen")),
        "</div><div class='ocr_carea'>",
        ocr_line("a line directly in a block"),
        "</div>",
    )
    doc = read_one(tmp_path, xhtml(body))
    assert doc.text == "Erstes Kapitel.\n\nEduard so nennen\nwir einen reichen\n\na line directly in a block"
    assert doc.metadata["format"] == "hocr" and doc.metadata["n_pages"] == 1


@pytest.mark.parametrize("cls", ["ocr_line", "ocrx_line", "ocr_header", "ocr_caption", "ocr_textfloat"])
def test_every_line_class_is_a_line(tmp_path, cls):
    doc = read_one(tmp_path, xhtml(ocr_page(par(ocr_line("one two", cls), ocr_line("three", cls)))))
    assert doc.text == "one two\nthree"


def test_lines_without_word_elements_use_their_text(tmp_path):
    # OCRopus writes the line text directly into ocr_line
    body = ocr_page("<span class='ocr_line' title='bbox 1 2 3 4'>De  Homine.\n</span><br/>"
                    "<span class='ocr_line' title='bbox 1 2 3 4'>Cap. 1.</span>")
    assert read_one(tmp_path, xhtml(body)).text == "De Homine.\nCap. 1."


def test_word_text_split_over_child_elements_and_whitespace(tmp_path):
    line = ("<span class='ocr_line'>"
            "<span class='ocrx_word'><strong><em>un</em>to</strong></span>"  # one word over 3 elements
            "<span class='ocrx_word'>come</span>"  # no whitespace between word elements
            "<span class='ocrx_word'>\n  reale \n</span>"  # whitespace inside the word element
            "<span class='ocrx_word'></span><span class='ocrx_word'> </span><span class='ocrx_word'/>"  # empty words
            "<span class='ocrx_word'>senz'al</span></span>")
    assert read_one(tmp_path, xhtml(ocr_page(line))).text == "unto come reale senz'al"


def test_several_pages_in_one_file_and_empty_pages_count(tmp_path):
    body = ocr_page(ocr_line("first page")) + ocr_page() + ocr_page(ocr_line("")) + ocr_page(ocr_line("last page"))
    doc = read_one(tmp_path, xhtml(body))
    assert split_pages(doc) == ["first page", "", "", "last page"]
    assert doc.metadata["n_pages"] == 4


def test_a_file_without_ocr_page_is_one_page(tmp_path):
    doc = read_one(tmp_path, "<html><body>" + par(ocr_line("just lines"), ocr_line("no page")) + "</body></html>",
                   name="frag.html")
    assert doc.text == "just lines\nno page" and doc.metadata["n_pages"] == 1


# ---------------------------------------------------------------- parsing
def test_plain_html_without_charset_is_read_as_utf8(tmp_path):
    html = "<html><body>" + ocr_page(ocr_line("Moſelzeitung schön")) + "</body></html>"
    assert read_one(tmp_path, html.encode("utf-8"), name="p.html").text == "Moſelzeitung schön"


def test_declared_latin1_charset_is_honoured(tmp_path):
    html = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'></head><body>"
            + ocr_page(ocr_line("café")) + "</body></html>")
    assert read_one(tmp_path, html.encode("latin-1"), name="p.html").text == "café"


def test_xhtml_with_html_entities_falls_back_to_the_html_parser(tmp_path):
    # &nbsp; is not defined without the XHTML DTD, which is never loaded
    body = ocr_page("<span class='ocr_line'><span class='ocrx_word'>a&nbsp;b</span> "
                    "<span class='ocrx_word'>&amp;c</span></span><br>")
    doc = read_one(tmp_path, xhtml(body))
    assert doc.text == "a b &c"


def test_self_closing_empty_elements_in_xhtml(tmp_path):
    body = ocr_page("<span class='ocr_line'><span class='ocrx_word' title='x_wconf 10'/></span>", ocr_line("after"))
    assert read_one(tmp_path, xhtml(body)).text == "after"


# ---------------------------------------------------------------- hyphens and confidence
def test_soft_hyphen_at_line_end_joins_words_within_a_paragraph(tmp_path):
    body = ocr_page(par(ocr_line("eng verbun\u00ad"), ocr_line("den mit der")), par(ocr_line("Rhein-"), ocr_line("Mosel")))
    assert read_one(tmp_path, xhtml(body)).text == "eng\nverbunden mit der\n\nRhein-\nMosel"
    (tmp_path / "page.hocr").unlink()
    assert read_one(tmp_path, xhtml(body), join_hyphenated=False).text == "eng verbun-\nden mit der\n\nRhein-\nMosel"


def test_word_confidence_mean_over_words(tmp_path):
    body = (ocr_page(ocr_line("a b", conf=90), ocr_line("c", conf=60))
            + ocr_page(ocr_line("no confidence"))
            + ocr_page("<span class='ocr_line'><span class='ocrx_word' title='bbox 1 1 2 2;x_conf 50.0'>x</span></span>"))
    doc = read_one(tmp_path, xhtml(body))
    assert doc.metadata["page_ocr_confidence"] == [0.8, None, 0.5]
    assert doc.metadata["ocr_confidence"] == pytest.approx((0.9 + 0.9 + 0.6 + 0.5) / 4, abs=1e-4)


# ---------------------------------------------------------------- grouping
def test_group_by_folder_in_file_number_order(tmp_path):
    book = tmp_path / "ocropus-hocr"
    book.mkdir()
    for n in ("0010", "0002", "0001"):
        (book / f"{n}.hocr").write_text(xhtml(ocr_page(ocr_line(f"page {int(n)}"))))
    (book / "0003.hocr").write_text(xhtml(ocr_page()))  # a blank page stays a page
    (book / "index.html").write_text("<html><body><p>Contents</p></body></html>")  # not hOCR: skipped
    (doc,) = read_all(HocrReader(tmp_path, group_by="folder", source="cis"))
    assert doc.id == "cis/ocropus-hocr"
    assert split_pages(doc) == ["page 1", "page 2", "", "page 10"]


# ---------------------------------------------------------------- bad input
def test_bad_files_are_excluded_with_reasons_and_the_run_continues(tmp_path):
    good = xhtml(ocr_page(ocr_line("good text")))
    (tmp_path / "a.hocr").write_text(good)
    (tmp_path / "b_truncated.hocr").write_text(good[: len(good) - 40])
    (tmp_path / "c_empty.hocr").write_text("")
    (tmp_path / "d_plain.html").write_text("<html><body><p>an ordinary web page</p></body></html>")
    (tmp_path / "e_blank.hocr").write_text(xhtml(ocr_page()))
    (tmp_path / "z.hocr").write_text(good)
    out = tmp_path / "excluded"
    docs = read_all(HocrReader(tmp_path, source="t", exclusion_writer=JsonlWriter(str(out), compression=None)))
    assert sorted(d.id for d in docs) == ["t/a", "t/z"]
    codes = {r["id"]: r["metadata"]["exclusion_reason"].split(":")[0] for r in exclusions(out)}
    assert codes == {"t/b_truncated": "malformed_xml", "t/c_empty": "empty_file", "t/d_plain": "not_hocr",
                     "t/e_blank": "no_text"}


# ---------------------------------------------------------------- real data
_OCR_PAGE = re.compile(r"""class\s*=\s*["'][^"']*\bocr_page\b""")
_WORD_TEXT = re.compile(r"""class\s*=\s*["'](?:ocrx_word|ocr_line)["'][^>]*>([^<]*\w[^<]*)<""")


def hocr_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".hocr", ".html", ".htm"))


@pytest.mark.realdata
def test_every_real_hocr_file_reads_with_its_page_count(shared_data, tmp_path):
    root = shared_data / "hocr"
    files = hocr_files(root)
    out = tmp_path / "excluded"
    docs = {d.metadata["source_path"]: d for d in
            read_all(HocrReader(root, exclusion_writer=JsonlWriter(str(out), compression=None)))}
    excluded = {r["metadata"]["source_path"]: r["metadata"]["exclusion_reason"] for r in exclusions(out)}
    assert len(files) == len(docs) + len(excluded) == 299
    for f in files:
        rel = str(f.relative_to(root))
        raw = f.read_text(encoding="utf-8-sig")
        if rel in excluded:  # blank scans: OCRopus wrote an ocr_page without any text
            assert excluded[rel].startswith("no_text") and not _WORD_TEXT.search(raw), rel
            continue
        doc = docs[rel]
        assert doc.text.strip(), rel
        assert set(doc.metadata) <= set(METADATA_KEYS)
        assert doc.metadata["n_pages"] == len(_OCR_PAGE.findall(raw)), rel
    assert len(excluded) == 4
    assert docs["ocr-fileformat-samples/1.1/452114306.hocr"].metadata["n_pages"] == 33
    assert split_pages(docs["solr-ocrhighlighting/empty_words_bug.html"]) == [
        "", "A Ephpol. /\n2/2", "", "", "-\n\nRhein-u. Moſelzeitung."]


@pytest.mark.realdata
def test_real_hocr_words_are_in_source_order(shared_data):
    root = shared_data / "hocr"
    for rel in ("ocr-fileformat-samples/1.1/452114306.hocr", "solr-ocrhighlighting/issue_288.hocr",
                "solr-ocrhighlighting/space_after.html", "solr-ocrhighlighting/multicolumn.hocr"):
        (doc,) = read_all(HocrReader(root, glob_pattern=rel, join_hyphenated=False))
        raw = re.sub(r"<[^>]*>", " ", (root / rel).read_text(encoding="utf-8-sig"))  # text between tags
        pos = 0
        for word in re.findall(r"(?<![\w&;])[A-Za-z]{4,}(?![\w&;])", doc.text):
            found = raw.find(word, pos)
            assert found >= pos, f"{rel}: {word!r} out of order"
            pos = found
        assert pos > len(raw) // 2


@pytest.mark.realdata
def test_real_hocr_whitespace_edge_cases(shared_data):
    root = shared_data / "hocr" / "solr-ocrhighlighting"
    docs = {d.metadata["source_path"]: d for d in read_all(HocrReader(root))}
    assert docs["space_after.html"].text.startswith("DESERT GOLD\nc/futhor of\nRiders of the Purple Sage.\n")
    assert "‘v‘p'unto come reale" in docs["issue_288.hocr"].text  # word split over <strong><em>
    hyphen = docs["hocr_hyphen.html"].text
    assert "Texten eng\nverbunden mit" in hyphen and "\u00ad" not in hyphen
    assert docs["hocr_hyphen.html"].metadata["ocr_confidence"] is None  # the one x_wconf is a meta capability
    assert docs["space_after.html"].metadata["ocr_confidence"] == pytest.approx(0.514, abs=1e-3)  # x_conf


@pytest.mark.realdata
def test_real_hocr_folder_book_pages_in_file_number_order(shared_data):
    folder = shared_data / "hocr" / "cis_ocrtestset" / "latin" / "1668-Hobbes-Leviathan" / "ocropus-hocr"
    files = sorted(folder.glob("*.hocr"))
    (book,) = read_all(HocrReader(folder, group_by="folder", source="cis"))
    assert book.id == "cis/ocropus-hocr" and book.metadata["n_pages"] == len(files) == 100
    singles = {d.metadata["source_path"]: d.text for d in read_all(HocrReader(folder))}
    assert split_pages(book) == [singles.get(f.name, "") for f in files]
    assert split_pages(book)[10].startswith("De Bomine.\nCap. 1.\nQuod ad primnmattinet")


@pytest.mark.realdata
@pytest.mark.parametrize("group_by", ["file", "folder"])
def test_real_hocr_sharding_gives_the_same_books(shared_data, group_by):
    root = shared_data / "hocr"
    one = read_all(HocrReader(root, group_by=group_by))
    three = read_all(HocrReader(root, group_by=group_by), world_size=3)
    assert sorted(d.id for d in one) == sorted(d.id for d in three)
    assert len({d.id for d in one}) == len(one)
