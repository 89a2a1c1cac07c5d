"""ABBYY FineReader XML reader: pages, blocks, lines, characters, hyphens, confidences, bad input."""

from __future__ import annotations

import html
import re

import pytest
from datatrove.pipeline.writers import JsonlWriter

from finebooks.book import METADATA_KEYS, split_pages
from finebooks.readers.abbyy import AbbyyReader
from tests.conftest import exclusions, read_all

FR6 = "http://www.abbyy.com/FineReader_xml/FineReader6-schema-v1.xml"
FR8 = "http://www.abbyy.com/FineReader_xml/FineReader8-schema-v2.xml"
FR10 = "http://www.abbyy.com/FineReader_xml/FineReader10-schema-v1.xml"


def document(*pages: str, ns: str = FR10) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<document xmlns="{ns}" version="1.0">{"".join(pages)}</document>'


def page(*blocks: str) -> str:
    return f'<page width="100" height="100">{"".join(blocks)}</page>'


def text_block(*pars: str, block_type: str = "Text") -> str:
    return f'<block blockType="{block_type}"><region><rect l="0" t="0" r="1" b="1"/></region><text>{"".join(pars)}</text></block>'


def par(*lines: str) -> str:
    return "<par>" + "".join(f'<line baseline="1"><formatting lang="German">{html.escape(t)}</formatting></line>'
                             for t in lines) + "</par>"


def char_line(text: str, confs: list[int] | None = None) -> str:
    """A line as pretty-printed charParams, one per character (FineReader 6/8 style)."""
    confs = confs or [90] * len(text)
    chars = "\n".join(f'<charParams l="0" t="0" r="1" b="1" charConfidence="{c}">{html.escape(ch)}</charParams>'
                      for ch, c in zip(text, confs, strict=True))
    return f'<line baseline="1">\n<formatting lang="German">\n{chars}\n</formatting>\n</line>'


def read_one(tmp_path, xml: str, name: str = "book.xml", **kwargs):
    (tmp_path / name).write_text(xml, encoding="utf-8")
    (doc,) = read_all(AbbyyReader(tmp_path, **kwargs))
    return doc


# ---------------------------------------------------------------- structure
@pytest.mark.parametrize("ns", [FR6, FR8, FR10])
def test_paragraphs_lines_and_blocks(tmp_path, ns):
    xml = document(page(
        text_block(par("Aus Stuttgart."), par("Das Gerücht, es seien", "hier wieder")),
        '<block blockType="Picture"><region><rect l="0" t="0" r="1" b="1"/></region></block>',
        '<block blockType="Separator"/>',
        text_block(par("Second block")),
    ), ns=ns)
    doc = read_one(tmp_path, xml)
    assert doc.text == "Aus Stuttgart.\n\nDas Gerücht, es seien\nhier wieder\n\nSecond block"
    assert doc.metadata["format"] == "abbyy" and doc.metadata["n_pages"] == 1


def test_char_params_give_the_line_text_without_layout_whitespace(tmp_path):
    xml = document(page(text_block(f"<par>{char_line('II.')}{char_line('Aus Stuttgart')}</par>")), ns=FR8)
    assert read_one(tmp_path, xml).text == "II.\nAus Stuttgart"


def test_recognition_variants_inside_char_params_are_not_text(tmp_path):
    line = ('<line><formatting><charParams charConfidence="80">d<charRecVariants><charRecVariant>cl'
            '</charRecVariant></charRecVariants></charParams><charParams charConfidence="80">a</charParams>'
            "</formatting></line>")
    assert read_one(tmp_path, document(page(text_block(f"<par>{line}</par>")))).text == "da"


def test_several_formattings_in_a_line_are_concatenated(tmp_path):
    line = '<line><formatting>Wis</formatting><formatting bold="1">sens</formatting><formatting> werthen</formatting></line>'
    assert read_one(tmp_path, document(page(text_block(f"<par>{line}</par>")))).text == "Wissens werthen"


def test_tables_and_empty_paragraphs(tmp_path):
    table = ('<block blockType="Table"><row><cell><text>' + par("cell one") + '</text></cell>'
             '<cell><text>' + par("cell two") + "</text></cell></row></block>")
    xml = document(page(text_block("<par/>", par("before")), table))
    assert read_one(tmp_path, xml).text == "before\n\ncell one\n\ncell two"


def test_pages_in_order_and_empty_pages_count(tmp_path):
    xml = document(page(text_block(par("page one"))), page(), page(text_block("<par/>")), page(text_block(par("page four"))))
    doc = read_one(tmp_path, xml)
    assert split_pages(doc) == ["page one", "", "", "page four"]
    assert doc.metadata["n_pages"] == 4


# ---------------------------------------------------------------- hyphens and confidence
def test_abbyy_hyphen_marks_join_words(tmp_path):
    xml = document(page(text_block(par("les ec¬", "clésiastiques n’étoient", "Rhein-", "Mosel"), par("fin de para¬"))))
    assert read_one(tmp_path, xml).text == "les\necclésiastiques n’étoient\nRhein-\nMosel\n\nfin de para-"
    (tmp_path / "book.xml").unlink()
    assert read_one(tmp_path, xml, join_hyphenated=False).text == (
        "les ec-\nclésiastiques n’étoient\nRhein-\nMosel\n\nfin de para-")


def test_char_confidence_is_a_mean_over_characters(tmp_path):
    xml = document(
        page(text_block(f"<par>{char_line('ab c', [100, 50, 0, -1])}</par>")),  # space ignored, -1 unknown
        page(text_block(par("no char params"))),
        page(text_block(f"<par>{char_line('x', [30])}</par>")),
    )
    doc = read_one(tmp_path, xml)
    assert doc.text == "ab c\fno char params\fx"
    assert doc.metadata["page_ocr_confidence"] == [0.75, None, 0.3]
    assert doc.metadata["ocr_confidence"] == pytest.approx((1.0 + 0.5 + 0.3) / 3, abs=1e-4)


# ---------------------------------------------------------------- grouping and bad input
def test_group_by_folder(tmp_path):
    book = tmp_path / "b"
    book.mkdir()
    for n in (10, 2, 1):
        (book / f"p{n}.abbyy.xml").write_text(document(page(text_block(par(f"page {n}")))))
    (doc,) = read_all(AbbyyReader(tmp_path, group_by="folder"))
    assert split_pages(doc) == ["page 1", "page 2", "page 10"]


def test_bad_files_are_excluded_with_reasons_and_the_run_continues(tmp_path):
    good = document(page(text_block(par("fine"))))
    (tmp_path / "a.xml").write_text(good)
    (tmp_path / "b_truncated.xml").write_text(good[:-30])
    (tmp_path / "c_empty.abbyy.xml").write_text("")
    (tmp_path / "d_alto.xml").write_text('<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#"/>')
    (tmp_path / "e_no_pages.xml").write_text(document())
    (tmp_path / "f_no_text.xml").write_text(document(page(), page()))
    (tmp_path / "z.xml").write_text(good)
    out = tmp_path / "excluded"
    docs = read_all(AbbyyReader(tmp_path, source="t", exclusion_writer=JsonlWriter(str(out), compression=None)))
    assert sorted(d.id for d in docs) == ["t/a", "t/z"]
    codes = {r["id"]: r["metadata"]["exclusion_reason"].split(":")[0] for r in exclusions(out)}
    assert codes == {"t/b_truncated": "malformed_xml", "t/c_empty": "empty_file", "t/d_alto": "not_abbyy",
                     "t/e_no_pages": "no_pages", "t/f_no_text": "no_text"}


# ---------------------------------------------------------------- real data
def strip_markup(raw: str) -> str:
    return re.sub(r"\s", "", html.unescape(re.sub(r"<[^>]*>", "", raw)))


@pytest.mark.realdata
def test_every_real_abbyy_file_reads_with_its_page_count_and_text_in_order(shared_data):
    root = shared_data / "abbyy_xml"
    files = sorted(p for p in root.rglob("*.xml"))
    docs = {d.metadata["source_path"]: d for d in read_all(AbbyyReader(root, join_hyphenated=False))}
    assert len(files) == len(docs) == 2
    for f in files:
        raw = f.read_text(encoding="utf-8")
        doc = docs[str(f.relative_to(root))]
        assert doc.text.strip()
        assert set(doc.metadata) <= set(METADATA_KEYS)
        assert doc.metadata["n_pages"] == len(re.findall(r"<(?:\w+:)?page[\s/>]", raw)) == 1
        # every line, in order, in the document's character data (the ¬ hyphen mark printed as "-")
        source = strip_markup(raw).replace("\u00ac", "-")
        pos = 0
        for line in doc.text.splitlines():
            key = re.sub(r"\s", "", line)
            if key:
                found = source.find(key, pos)
                assert found >= pos, f"{f.name}: {line!r} missing or out of order"
                pos = found + len(key)
        assert pos > len(source) * 0.9


@pytest.mark.realdata
def test_real_abbyy_hyphens_and_confidence(shared_data):
    root = shared_data / "abbyy_xml" / "ocr-fileformat-samples"
    docs = {d.metadata["source_path"]: d for d in read_all(AbbyyReader(root))}
    fr10 = docs["10v1/417589220_0018.abbyy.xml"]
    assert "les\necclésiastiques n’ctoient pas" in fr10.text and "¬" not in fr10.text
    assert fr10.metadata["ocr_confidence"] is None  # FR10 export without charParams
    fr8 = docs["8v2/184853.xml"]
    assert fr8.text.startswith("81\n\nII.\n\nAus Stuttgart.")
    raw = (root / "8v2/184853.xml").read_text(encoding="utf-8")
    confs = [int(c) for ch_conf, ch in re.findall(r'charConfidence="(-?\d+)"[^>]*>([^<]*)<', raw)
             for c in [ch_conf] if ch.strip() and int(ch_conf) >= 0]
    assert fr8.metadata["ocr_confidence"] == pytest.approx(sum(confs) / len(confs) / 100, abs=1e-3)


@pytest.mark.realdata
def test_real_abbyy_sharding_gives_the_same_books(shared_data):
    root = shared_data / "abbyy_xml"
    one = read_all(AbbyyReader(root))
    three = read_all(AbbyyReader(root), world_size=3)
    assert sorted(d.id for d in one) == sorted(d.id for d in three) and len(one) == 2
