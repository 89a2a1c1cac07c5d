"""XML safety: no entity expansion, no external entities or DTDs, no network; streaming stays bounded."""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from datatrove.pipeline.writers import JsonlWriter
from lxml import etree

from finebooks.exclusions import BadInput
from finebooks.readers.abbyy import AbbyyReader
from finebooks.readers.alto import AltoReader
from finebooks.readers.hocr import HocrReader
from finebooks.readers.xml_utils import (
    ElementStream,
    check_prolog,
    local_name,
    parse_xml,
    safe_parser_options,
    safe_xml_parser,
    sniff_encoding,
)
from tests.conftest import exclusions, read_all

LOLS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
)
SECRET = "TOP-SECRET-CONTENT"


def alto_with(doctype: str, content: str, text: str = "") -> str:
    return (f'<?xml version="1.0"?>\n{doctype}\n<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#"><Layout>'
            f'<Page><PrintSpace><TextBlock><TextLine><String CONTENT="{content}"/><SP/><String CONTENT="ok"/>'
            f"</TextLine></TextBlock></PrintSpace></Page></Layout></alto>{text}")


def abbyy_with(doctype: str, text: str) -> str:
    return (f'<?xml version="1.0"?>\n{doctype}\n<document xmlns="http://www.abbyy.com/FineReader_xml/'
            f'FineReader10-schema-v1.xml"><page><block blockType="Text"><text><par><line><formatting>{text} ok'
            f"</formatting></line></par></text></block></page></document>")


def hocr_with(doctype: str, text: str) -> str:
    return (f'<?xml version="1.0"?>\n{doctype}\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
            f"<div class='ocr_page'><span class='ocr_line'><span class='ocrx_word'>{text}</span> "
            f"<span class='ocrx_word'>ok</span></span></div></body></html>")


def run_reader(reader_cls, folder: Path, out: Path):
    docs = read_all(reader_cls(folder, source="t", exclusion_writer=JsonlWriter(str(out), compression=None)))
    return docs, exclusions(out)


# ---------------------------------------------------------------- entity expansion
@pytest.mark.parametrize(
    ("reader_cls", "doc"),
    [
        (AltoReader, alto_with(f"<!DOCTYPE alto [{LOLS}]>", "&lol9;")),
        (AbbyyReader, abbyy_with(f"<!DOCTYPE document [{LOLS}]>", "&lol9;")),
        (HocrReader, hocr_with(f"<!DOCTYPE html [{LOLS}]>", "&lol9;")),
    ],
)
def test_billion_laughs_is_refused_without_expansion(tmp_path, reader_cls, doc):
    src = tmp_path / "in"
    src.mkdir()
    name = "bomb.hocr" if reader_cls is HocrReader else "bomb.xml"
    (src / name).write_text(doc)
    (src / ("fine.hocr" if reader_cls is HocrReader else "fine.xml")).write_text(
        doc.replace(f"[{LOLS}]", "").replace("&lol9;", "fine"))
    start = time.perf_counter()
    docs, excluded = run_reader(reader_cls, src, tmp_path / "out")
    assert time.perf_counter() - start < 5
    assert [d.id for d in docs] == ["t/fine"] and "lol" not in docs[0].text
    (rec,) = excluded
    assert rec["id"] == "t/bomb" and rec["metadata"]["exclusion_reason"].startswith("unsafe_xml")


@pytest.mark.parametrize("reader_cls", [AltoReader, AbbyyReader, HocrReader])
def test_external_entities_are_never_read(tmp_path, reader_cls):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    src = tmp_path / "in"
    src.mkdir()
    doctype = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    if reader_cls is AltoReader:
        (src / "a.xml").write_text(alto_with(doctype, "x", text=""))
        (src / "b.xml").write_text(alto_with(doctype, "&xxe;"))
    elif reader_cls is AbbyyReader:
        (src / "a.xml").write_text(abbyy_with(doctype, "&xxe;"))
    else:
        (src / "a.hocr").write_text(hocr_with(doctype, "&xxe;"))
    docs, excluded = run_reader(reader_cls, src, tmp_path / "out")
    assert docs == [] and excluded
    assert all(r["metadata"]["exclusion_reason"].startswith("unsafe_xml") for r in excluded)
    assert SECRET not in json.dumps(excluded)


@pytest.mark.parametrize("reader_cls", [AltoReader, AbbyyReader, HocrReader])
def test_an_external_dtd_is_not_loaded(tmp_path, reader_cls):
    """A DTD referenced by the document (no internal subset) would define &secret;: it is never read."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY secret "{SECRET}">')
    src = tmp_path / "in"
    src.mkdir()
    doctype = f'<!DOCTYPE x SYSTEM "{dtd.as_uri()}">'
    if reader_cls is AltoReader:
        (src / "a.xml").write_text(alto_with(doctype, "word").replace("</TextLine>", "<!-- &secret; --></TextLine>"))
        (src / "b.xml").write_text(abbyy_with(doctype, "&secret;").replace("document", "alto"))
    elif reader_cls is AbbyyReader:
        (src / "b.xml").write_text(abbyy_with(doctype, "&secret;"))
    else:
        (src / "b.hocr").write_text(hocr_with(doctype, "&secret;"))
    docs, excluded = run_reader(reader_cls, src, tmp_path / "out")
    everything = json.dumps([d.text for d in docs]) + json.dumps(excluded)
    assert SECRET not in everything
    assert len(docs) + len(excluded) == len(list(src.iterdir()))


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        _CountingHandler.hits.append(self.path)
        body = f'<!ENTITY secret "{SECRET}">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_no_network_access_for_dtds_or_schemas(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        src = tmp_path / "in"
        src.mkdir()
        doctype = f'<!DOCTYPE alto SYSTEM "{url}/alto.dtd">'
        (src / "a.xml").write_text(alto_with(doctype, "word").replace(
            "<alto ", f'<alto xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x {url}/alto.xsd" '))
        (src / "b.hocr").write_text(hocr_with(f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "{url}/x.dtd">', "w"))
        alto_docs = read_all(AltoReader(src))
        hocr_docs = read_all(HocrReader(src))
        assert [d.text for d in alto_docs] == ["word ok"] and [d.text for d in hocr_docs] == ["w ok"]
        assert _CountingHandler.hits == []
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- helpers
def test_safe_parser_refuses_to_expand_even_without_the_prolog_check():
    bomb = f'<!DOCTYPE a [{LOLS}]><a b="&lol9;">&lol9;</a>'.encode()
    opts = safe_parser_options()
    assert opts["resolve_entities"] is False and opts["no_network"] is True and opts["load_dtd"] is False
    start = time.perf_counter()
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(bomb, safe_xml_parser())  # libxml2's amplification guard stops it
    assert time.perf_counter() - start < 2
    with pytest.raises(BadInput) as err:
        parse_xml(bomb)
    assert err.value.code == "unsafe_xml"


@pytest.mark.parametrize(
    ("head", "root"),
    [
        (b'<?xml version="1.0"?><alto xmlns="x"/>', "alto"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- <fake> -->\n<mets:mets xmlns:mets='m'/>", "mets"),
        (b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "http://w3.org/x.dtd">\n<html>', "html"),
        (b"<?xml-stylesheet href='s.xsl'?><document>", "document"),
        (b"   ", None),
    ],
)
def test_check_prolog_finds_the_root(head, root):
    if root is None:
        with pytest.raises(BadInput, match="empty_file"):
            check_prolog(head)
    else:
        assert check_prolog(head) == root


def test_check_prolog_refuses_entity_declarations():
    for doc in (b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://x/p.dtd"> %p;]><a/>',
                b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
                b'<?xml version="1.0"?><!DOCTYPE a [<!-- long subset never closed'):
        with pytest.raises(BadInput) as err:
            check_prolog(doc)
        assert err.value.code == "unsafe_xml"
    assert check_prolog(b'<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><a/>') == "a"  # declarations without entities are fine


def test_sniff_encoding():
    assert sniff_encoding(b'<?xml version="1.0" encoding="ISO-8859-1"?><html>') == "iso8859-1"
    assert sniff_encoding(b"<html><head><meta charset='windows-1252'>") == "cp1252"
    assert sniff_encoding(b"<html><body>") == "utf-8"
    assert sniff_encoding(b"\xef\xbb\xbf<html>") == "utf-8"


def test_element_stream_clears_pages_it_has_yielded():
    pages = "".join(f'<Page ID="p{i}"><String CONTENT="w{i}"/></Page>' for i in range(50))
    data = f'<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"><Layout>{pages}</Layout></alto>'.encode()
    stream = ElementStream(io.BytesIO(data), tag="{*}Page", chunk_size=64)
    seen = []
    for page in stream:
        seen.append(page.get("ID"))
        assert page.getprevious() is None  # pages already read are gone (later ones of this chunk may exist)
        assert local_name(page[0]) == "String"
    assert seen == [f"p{i}" for i in range(50)]
    assert local_name(stream.root) == "alto" and len(stream.root[0]) == 0


def test_element_stream_reports_truncation():
    with pytest.raises(BadInput) as err:
        list(ElementStream(io.BytesIO(b"<alto><Layout><Page><String CONTENT='x'/>"), tag="{*}Page"))
    assert err.value.code == "malformed_xml"


# ---------------------------------------------------------------- quadratic blow-up
QUAD_ENTITY = "x" * 100_000
QUAD_REFS = "&a;" * 20_000  # 2 GB if expanded


@pytest.mark.parametrize("padded", [False, True], ids=["in_prolog", "after_64k_comment"])
@pytest.mark.parametrize(
    ("reader_cls", "make"),
    [(AltoReader, alto_with), (AbbyyReader, abbyy_with), (HocrReader, hocr_with)],
)
def test_quadratic_blowup_is_refused_fast(tmp_path, reader_cls, make, padded):
    """One big entity referenced many times (no nesting, so no depth guard helps): refused, never expanded.

    ``padded`` hides the declaration behind more than the 64 kB prolog check reads; libxml2's
    amplification guard then stops it, and the reason is still ``unsafe_xml``.
    """
    doctype = ("<!--" + "p" * 70_000 + "-->" if padded else "") + f'<!DOCTYPE r [<!ENTITY a "{QUAD_ENTITY}">]>'
    src = tmp_path / "in"
    src.mkdir()
    name = "quad.hocr" if reader_cls is HocrReader else "quad.xml"
    (src / name).write_text(make(doctype, QUAD_REFS))
    start = time.perf_counter()
    docs, excluded = run_reader(reader_cls, src, tmp_path / "out")
    assert time.perf_counter() - start < 5
    assert all(len(d.text) < 200_000 for d in docs)  # never expanded
    if reader_cls is HocrReader and padded:
        # hOCR that is not XML is parsed as HTML, where a DOCTYPE subset is inert text: the book
        # may be kept, with the references left unexpanded
        assert len(docs) + len(excluded) == 1
        return
    assert docs == []
    (rec,) = excluded
    assert rec["metadata"]["exclusion_reason"].startswith("unsafe_xml")
