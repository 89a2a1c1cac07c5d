"""ALTO reader: words, spaces, lines, blocks, hyphenation, confidences, pages, grouping, bad input."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import pytest
from datatrove.pipeline.writers import JsonlWriter

from finebooks.book import METADATA_KEYS, split_pages
from finebooks.readers.alto import AltoReader
from tests.conftest import exclusions, read_all

V2 = "http://www.loc.gov/standards/alto/ns-v2#"
V3 = "http://www.loc.gov/standards/alto/ns-v3#"
V4 = "http://www.loc.gov/standards/alto/ns-v4#"
CCS = "http://schema.ccs-gmbh.com/ALTO"


def alto(*pages: str, ns: str | None = V3) -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alto{xmlns}><Description><MeasurementUnit>pixel'
            f"</MeasurementUnit></Description><Layout>{''.join(pages)}</Layout></alto>")


def page(*blocks: str) -> str:
    return f"<Page><PrintSpace>{''.join(blocks)}</PrintSpace></Page>"


def block(*lines: str) -> str:
    return f"<TextBlock>{''.join(lines)}</TextBlock>"


def line(*items: str) -> str:
    """``"a b"`` -> two Strings with an SP between them; items starting with ``<`` are raw XML."""
    xml = []
    for item in items:
        if item.startswith("<"):
            xml.append(item)
        else:
            xml.append("<SP/>".join(f'<String CONTENT="{html.escape(w)}"/>' for w in item.split()))
    return f"<TextLine>{''.join(xml)}</TextLine>"


def read_one(tmp_path, xml: str, name: str = "book.xml", **kwargs):
    (tmp_path / name).write_text(xml, encoding="utf-8")
    (doc,) = read_all(AltoReader(tmp_path, **kwargs))
    return doc


# ---------------------------------------------------------------- words, lines, blocks
@pytest.mark.parametrize("ns", [None, CCS, V2, V3, V4])
def test_words_lines_and_blocks_in_every_alto_namespace(tmp_path, ns):
    xml = alto(page(block(line("Hello world"), line("second line")), block(line("new block"))), ns=ns)
    doc = read_one(tmp_path, xml)
    assert doc.text == "Hello world\nsecond line\n\nnew block"
    assert doc.metadata["n_pages"] == 1 and doc.metadata["format"] == "alto"


def test_strings_without_sp_are_one_word_when_the_page_uses_sp(tmp_path):
    xml = alto(page(block(line('<String CONTENT="25"/><String CONTENT="."/><SP/><String CONTENT="Tadjikazgan"/>'))))
    assert read_one(tmp_path, xml).text == "25. Tadjikazgan"


def test_pages_without_any_sp_get_spaces_between_strings(tmp_path):
    xml = alto(page(block(line('<String CONTENT="Schachteln"/><String CONTENT="und"/><String CONTENT="Packete,"/>'))))
    assert read_one(tmp_path, xml).text == "Schachteln und Packete,"


def test_alternatives_and_empty_lines_are_ignored(tmp_path):
    xml = alto(page(block(
        line('<String CONTENT="Tho"><ALTERNATIVE>The</ALTERNATIVE></String><SP/><String CONTENT="cat"/>'),
        "<TextLine/>",
        line("sat"),
    ), "<TextBlock/>"))
    assert read_one(tmp_path, xml).text == "Tho cat\nsat"


def test_margins_are_read_in_page_order(tmp_path):
    xml = alto(
        '<Page><TopMargin><TextBlock>' + line("Running head") + '</TextBlock></TopMargin>'
        '<BottomMargin><TextBlock>' + line("12") + '</TextBlock></BottomMargin>'
        '<PrintSpace><TextBlock>' + line("Body text") + '</TextBlock></PrintSpace></Page>'
    )
    assert read_one(tmp_path, xml).text == "Running head\n\nBody text\n\n12"


def test_composed_blocks_are_read_in_document_order(tmp_path):
    xml = alto(page("<ComposedBlock>" + block(line("one")) + block(line("two")) + "</ComposedBlock>", block(line("three"))))
    assert read_one(tmp_path, xml).text == "one\n\ntwo\n\nthree"


# ---------------------------------------------------------------- hyphenation
HYP1 = '<String CONTENT="nais" SUBS_TYPE="HypPart1" SUBS_CONTENT="naissance"/><HYP CONTENT="\u00ad"/>'
HYP2 = '<String CONTENT="sance" SUBS_TYPE="HypPart2" SUBS_CONTENT="naissance"/>'


def test_subs_content_gives_the_full_word_once(tmp_path):
    xml = alto(page(block(line("dès la", "<SP/>", HYP1), line(HYP2, "<SP/>", "de l'église"))))
    assert read_one(tmp_path, xml).text == "dès la naissance\nde l'église"


def test_punctuation_glued_to_the_second_fragment_follows_the_full_word(tmp_path):
    xml = alto(page(block(line("bis 4.300 m", "<SP/>", HYP1), line(HYP2, '<String CONTENT="."/><SP/>', "Zwischen den"))))
    assert read_one(tmp_path, xml).text == "bis 4.300 m naissance.\nZwischen den"


def test_trailing_hyp_without_subs_content_joins_the_next_line(tmp_path):
    xml = alto(page(block(
        line("a long", '<SP/><String CONTENT="frag"/><HYP CONTENT="-"/>'),
        line("ment and more"),
    )))
    assert read_one(tmp_path, xml).text == "a long\nfragment and more"


def test_hyphen_at_the_end_of_a_block_is_kept(tmp_path):
    xml = alto(page(
        block(line("a long", '<SP/><String CONTENT="frag"/><HYP CONTENT="-"/>')),
        block(line("next block")),
    ))
    assert read_one(tmp_path, xml).text == "a long frag-\n\nnext block"


def test_alternative_hyppart1_readings_keep_the_last(tmp_path):
    # alto_hyphen.xml (Chronicling America) writes OCR variants as adjacent HypPart1 strings
    first = ('<String CONTENT="To" SUBS_TYPE="HypPart1" SUBS_CONTENT="Toledo,"/>'
             '<String CONTENT="Te" SUBS_TYPE="HypPart1" SUBS_CONTENT="Teledo,"/><HYP CONTENT="-"/>')
    second = '<String CONTENT="ledo," SUBS_TYPE="HypPart2" SUBS_CONTENT="Teledo,"/><SP/><String CONTENT="Chicago"/>'
    xml = alto(page(block(line("Ce.;", "<SP/>", first), line(second))))
    assert read_one(tmp_path, xml).text == "Ce.; Teledo,\nChicago"


def test_join_hyphenated_false_keeps_the_lines_as_printed(tmp_path):
    xml = alto(page(block(line("dès la", "<SP/>", HYP1), line(HYP2, "<SP/>", "de"))))
    assert read_one(tmp_path, xml, join_hyphenated=False).text == "dès la nais-\nsance de"


def test_hyp_inside_a_line_is_printed(tmp_path):
    xml = alto(page(block(line('<String CONTENT="Rhein"/><HYP CONTENT="-"/><String CONTENT="Mosel"/><SP/>', "Zeitung"))))
    assert read_one(tmp_path, xml).text == "Rhein-Mosel Zeitung"


# ---------------------------------------------------------------- confidence
def test_word_confidence_is_a_mean_over_words(tmp_path):
    xml = alto(
        page(block(line('<String CONTENT="good" WC="1.0"/><SP/><String CONTENT="bad" WC="0.5"/>'))),
        page(block(line("no confidence here"))),
        page(block(line('<String CONTENT="old" CC="0 9"/><SP/><String CONTENT="x" WC="0.0"/>'))),
    )
    doc = read_one(tmp_path, xml)
    assert doc.metadata["page_ocr_confidence"] == [0.75, None, 0.25]
    assert doc.metadata["ocr_confidence"] == pytest.approx((1.0 + 0.5 + 0.5 + 0.0) / 4, abs=1e-4)


def test_no_confidence_anywhere_gives_none(tmp_path):
    doc = read_one(tmp_path, alto(page(block(line("plain")))))
    assert doc.metadata["ocr_confidence"] is None and doc.metadata["page_ocr_confidence"] == [None]


# ---------------------------------------------------------------- pages and units
def test_every_page_element_is_a_page_even_when_empty(tmp_path):
    xml = alto(page(block(line("first"))), "<Page/>", page(block("<TextLine/>")), page(block(line("last"))))
    doc = read_one(tmp_path, xml)
    assert split_pages(doc) == ["first", "", "", "last"]
    assert doc.metadata["n_pages"] == 4 and len(doc.metadata["page_ocr_confidence"]) == 4


def test_a_file_with_thousands_of_pages_streams(tmp_path):
    n = 3000
    body = "".join(page(block(line(f"page {i} text"), line("more words on the page"))) for i in range(n))
    start = time.perf_counter()
    doc = read_one(tmp_path, alto(body))
    assert doc.metadata["n_pages"] == n
    assert split_pages(doc)[2999].startswith("page 2999 text")
    assert time.perf_counter() - start < 20


def test_extensions_ids_and_sidecars(tmp_path):
    xml = alto(page(block(line("x"))))
    (tmp_path / "a.alto").write_text(xml)
    (tmp_path / "b.alto.xml").write_text(xml)
    (tmp_path / "C.XML").write_text(xml)
    (tmp_path / "a.alto.yml").write_text("engine: abbyy\n")
    (tmp_path / "notes.txt").write_text("not alto")
    docs = read_all(AltoReader(tmp_path, source="lib"))
    assert sorted(d.id for d in docs) == ["lib/C", "lib/a", "lib/b"]


def test_group_by_folder_orders_pages_naturally_and_skips_mets(tmp_path):
    book = tmp_path / "book1"
    book.mkdir()
    for n in (10, 2, 1):
        (book / f"page{n}.xml").write_text(alto(page(block(line(f"page {n}")))))
    (book / "mets.xml").write_text('<mets:mets xmlns:mets="http://www.loc.gov/METS/"/>')
    (book / "page1.xml.yml").write_text("x: 1\n")
    (doc,) = read_all(AltoReader(tmp_path, group_by="folder", source="lib"))
    assert doc.id == "lib/book1"
    assert split_pages(doc) == ["page 1", "page 2", "page 10"]
    assert doc.metadata["source_path"] == "book1"


def test_group_by_folder_follows_the_mets_physical_order(tmp_path):
    book = tmp_path / "b"
    book.mkdir()
    for name in ("a", "b", "c"):
        (book / f"{name}.xml").write_text(alto(page(block(line(f"text {name}")))))
    (book / "mets.xml").write_text("""<?xml version="1.0"?>
<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink">
 <mets:fileSec><mets:fileGrp USE="FULLTEXT">
  <mets:file ID="F1"><mets:FLocat LOCTYPE="URL" xlink:href="alto/c.xml"/></mets:file>
  <mets:file ID="F2"><mets:FLocat LOCTYPE="URL" xlink:href="alto/a.xml"/></mets:file>
  <mets:file ID="F3"><mets:FLocat LOCTYPE="URL" xlink:href="alto/b.xml"/></mets:file>
 </mets:fileGrp></mets:fileSec>
 <mets:structMap TYPE="LOGICAL"><mets:div><mets:fptr FILEID="F3"/></mets:div></mets:structMap>
 <mets:structMap TYPE="PHYSICAL"><mets:div TYPE="physSequence">
  <mets:div ORDER="2" TYPE="page"><mets:fptr FILEID="F2"/></mets:div>
  <mets:div ORDER="1" TYPE="page"><mets:fptr FILEID="F1"/></mets:div>
  <mets:div ORDER="3" TYPE="page"><mets:fptr><mets:area FILEID="F3"/></mets:fptr></mets:div>
 </mets:div></mets:structMap>
</mets:mets>""")
    (doc,) = read_all(AltoReader(tmp_path, group_by="folder"))
    assert split_pages(doc) == ["text c", "text a", "text b"]


def test_group_by_folder_skips_other_xml_files(tmp_path):
    (tmp_path / "0001.xml").write_text(alto(page(block(line("alto page")))))
    (tmp_path / "0002.xml").write_text('<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"/>')
    (doc,) = read_all(AltoReader(tmp_path, group_by="folder"))
    assert split_pages(doc) == ["alto page"]


def test_group_by_must_be_file_or_folder(tmp_path):
    with pytest.raises(ValueError, match="group_by"):
        AltoReader(tmp_path, group_by="book")


# ---------------------------------------------------------------- bad input
def test_bad_files_are_excluded_with_reasons_and_the_run_continues(tmp_path):
    good = alto(page(block(line("good text"))))
    (tmp_path / "a_good.xml").write_text(good)
    (tmp_path / "b_truncated.xml").write_text(good[: len(good) // 2])
    (tmp_path / "c_empty.xml").write_text("")
    (tmp_path / "d_blank.xml").write_text("  \n")
    (tmp_path / "e_abbyy.xml").write_text('<document xmlns="http://www.abbyy.com/FineReader_xml/FineReader10-schema-v1.xml"/>')
    (tmp_path / "f_no_page.xml").write_text(alto())
    (tmp_path / "g_no_text.xml").write_text(alto(page(block("<TextLine/>"))))
    (tmp_path / "h_garbage.xml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "z_good.xml").write_text(good)
    out = tmp_path / "excluded"
    docs = read_all(AltoReader(tmp_path, source="t", exclusion_writer=JsonlWriter(str(out), compression=None)))
    assert sorted(d.id for d in docs) == ["t/a_good", "t/z_good"]
    reasons = {r["id"]: r["metadata"]["exclusion_reason"] for r in exclusions(out)}
    codes = {k: v.split(":")[0] for k, v in reasons.items()}
    assert codes == {
        "t/b_truncated": "malformed_xml",
        "t/c_empty": "empty_file",
        "t/d_blank": "empty_file",
        "t/e_abbyy": "not_alto",
        "t/f_no_page": "no_pages",
        "t/g_no_text": "no_text",
        "t/h_garbage": "malformed_xml",
    }
    assert "line" in reasons["t/b_truncated"]  # libxml2's message says where it broke
    assert all(r["metadata"]["exclusion_stage"] == "read_alto" for r in exclusions(out))


def test_a_broken_page_becomes_a_recorded_empty_page_by_default(tmp_path):
    good = alto(page(block(line("fine"))))
    for book in ("b1", "b2"):
        (tmp_path / book).mkdir()
        (tmp_path / book / "1.xml").write_text(good)
        (tmp_path / book / "3.xml").write_text(good)
    (tmp_path / "b1" / "2.xml").write_text(good[:-20])
    reader = AltoReader(tmp_path, group_by="folder")
    docs = {d.id.split("/")[-1]: d for d in read_all(reader)}
    assert docs["b1"].text.split("\f") == ["fine", "", "fine"]
    (bad,) = docs["b1"].metadata["bad_pages"]
    assert bad["page"] == 2 and bad["file"] == "2.xml" and bad["reason"].startswith("malformed_xml")
    assert "bad_pages" not in docs["b2"].metadata
    assert reader.stats["bad_pages"].total == 1


def test_a_broken_page_excludes_its_folder_book_when_asked(tmp_path):
    good = alto(page(block(line("fine"))))
    for book in ("b1", "b2"):
        (tmp_path / book).mkdir()
        (tmp_path / book / "1.xml").write_text(good)
    (tmp_path / "b1" / "2.xml").write_text(good[:-20])
    out = tmp_path / "excluded"
    docs = read_all(AltoReader(tmp_path, group_by="folder", on_bad_page="exclude_book",
                               exclusion_writer=JsonlWriter(str(out), compression=None)))
    assert [d.id.split("/")[-1] for d in docs] == ["b2"]
    (rec,) = exclusions(out)
    assert rec["metadata"]["exclusion_reason"].startswith("malformed_xml: page file 2.xml:")


def test_a_folder_book_whose_pages_are_all_broken_is_excluded(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1.xml").write_text(alto(page(block(line("x"))))[:-30])
    out = tmp_path / "excluded"
    assert read_all(AltoReader(tmp_path, group_by="folder", exclusion_writer=JsonlWriter(str(out), compression=None))) == []
    (rec,) = exclusions(out)
    assert rec["metadata"]["exclusion_reason"].startswith("malformed_xml: every page file is unreadable (1.xml:")


# ---------------------------------------------------------------- real data
_PAGE = re.compile(r"<(?:[\w.\-]+:)?Page[\s/>]")
_TOKEN = re.compile(r'<(?:[\w.\-]+:)?(String|HYP)\b[^>]*?\sCONTENT="([^"]*)"')


def alto_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".xml", ".alto"))


@pytest.mark.realdata
def test_every_real_alto_file_reads_with_its_page_count(shared_data):
    root = shared_data / "alto"
    files = alto_files(root)
    docs = {d.metadata["source_path"]: d for d in read_all(AltoReader(root))}
    assert len(files) == len(docs) == 19
    for f in files:
        doc = docs[str(f.relative_to(root))]
        assert doc.text.strip(), f
        assert set(doc.metadata) <= set(METADATA_KEYS)
        assert doc.metadata["n_pages"] == len(_PAGE.findall(f.read_text(encoding="utf-8-sig"))) >= 1, f
    assert docs["solr-ocrhighlighting/alto.xml"].metadata["n_pages"] == 2


@pytest.mark.realdata
def test_real_alto_text_is_every_string_in_source_order(shared_data):
    """Without hyphen joining, the text is exactly the String/HYP contents in file order."""
    root = shared_data / "alto"
    for doc in read_all(AltoReader(root, join_hyphenated=False)):
        raw = (root / doc.metadata["source_path"]).read_text(encoding="utf-8-sig")
        tokens = [html.unescape(c) for _, c in _TOKEN.findall(raw)]
        expected = re.sub(r"\s", "", "".join(tokens)).replace("\u00ad", "-")
        assert re.sub(r"\s", "", doc.text) == expected, doc.id


@pytest.mark.realdata
def test_real_alto_hyphenation_uses_subs_content(shared_data):
    root = shared_data / "alto" / "ocr-fileformat-samples" / "2.0"
    (doc,) = read_all(AltoReader(root, glob_pattern="417576986_0012.alto"))
    assert "dès la naissance\nde Téglise" in doc.text
    assert "conservation\nde la foi" in doc.text and "nais" + "\n" not in doc.text
    (concat,) = read_all(AltoReader(shared_data / "alto" / "solr-ocrhighlighting" / "alto_concat_421",
                                    glob_pattern="009.xml"))
    assert "4.300 m Höhe a.s.l. herab.\nZwischen" in concat.text


@pytest.mark.realdata
def test_real_alto_folder_book_has_seven_pages_in_file_order(shared_data):
    folder = shared_data / "alto" / "solr-ocrhighlighting" / "alto_concat_421"
    (book,) = read_all(AltoReader(folder, group_by="folder", source="gbv"))
    assert book.id == "gbv/alto_concat_421" and book.metadata["n_pages"] == 7
    singles = {d.metadata["source_path"]: d.text for d in read_all(AltoReader(folder))}
    order = ["007", "009", "017", "019", "020", "046", "052"]
    assert split_pages(book) == [singles[f"{n}.xml"] for n in order]
    assert split_pages(book)[0].startswith("herangezogen worden")


@pytest.mark.realdata
def test_real_alto_multi_page_file_keeps_page_order(shared_data):
    root = shared_data / "alto" / "solr-ocrhighlighting"
    (doc,) = read_all(AltoReader(root, glob_pattern="alto.xml"))
    first, second = split_pages(doc)
    assert first.startswith("Ao. 1795")
    raw = (root / "alto.xml").read_text(encoding="utf-8")
    last_word_1 = first.split()[-1]
    first_word_2 = second.split()[0]
    assert raw.rfind(f'CONTENT="{last_word_1}"', 0, raw.find("<Page", raw.find("<Page") + 1)) >= 0
    assert raw.find(f'CONTENT="{first_word_2}"', raw.find("<Page", raw.find("<Page") + 1)) >= 0


@pytest.mark.realdata
def test_real_alto_confidences(shared_data):
    root = shared_data / "alto"
    docs = {d.metadata["source_path"]: d for d in read_all(AltoReader(root))}
    for path in ("ocr-fileformat-samples/1.1/sn86069133.1910-10-31.alto", "solr-ocrhighlighting/alto.xml"):
        raw = (root / path).read_text(encoding="utf-8")
        wc = [float(v) for v in re.findall(r'<(?:\w+:)?String\b[^>]*?\sWC="([^"]+)"', raw)]
        assert docs[path].metadata["ocr_confidence"] == pytest.approx(sum(wc) / len(wc), abs=1e-3)
    assert docs["ocr-fileformat-samples/2.0/wetzel_reisebegleiter_1901_0021.alto"].metadata["ocr_confidence"] is None


@pytest.mark.realdata
@pytest.mark.parametrize("group_by", ["file", "folder"])
def test_real_alto_sharding_gives_the_same_books(shared_data, group_by):
    root = shared_data / "alto"
    one = read_all(AltoReader(root, group_by=group_by))
    three = read_all(AltoReader(root, group_by=group_by), world_size=3)
    assert sorted(d.id for d in one) == sorted(d.id for d in three)
    assert len({d.id for d in one}) == len(one)
