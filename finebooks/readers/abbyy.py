"""ABBYY FineReader XML reader (FineReader 6v1, 8v2, 9, 10v1 schemas and the Internet Archive's
``_abbyy.xml``).

ABBYY FineReader's XML export is the richest OCR format in library collections: the Internet
Archive keeps one ``_abbyy`` file per scanned book, and many national libraries converted their
ABBYY output to ALTO only later. Elements are matched on their local name, so every schema
namespace reads the same way.

How a page becomes text:

* every ``page`` element is one page (an Internet Archive book is one file with hundreds of
  pages; they are streamed and cleared one by one);
* text lives in ``block`` elements of type ``Text`` or ``Table`` as ``text`` / ``par`` /
  ``line`` / ``formatting``; other blocks (``Picture``, ``Separator``, ``Barcode``...) have none;
* a line's text is the concatenation of its ``formatting`` elements (a formatting change can fall
  inside a word); a ``formatting`` is the concatenation of its ``charParams`` characters (their
  own text only: recognition variants nested inside are not text, and indentation between the
  elements is not either) or, when it has no ``charParams``, its own text;
* lines end with a newline; paragraphs (``par``, table cells included) are separated by a blank
  line; empty paragraphs are skipped;
* hyphenation: ABBYY marks a hyphen it recognised as a line-break hyphenation with ``¬``
  (U+00AC). With ``join_hyphenated=True`` (default) the two fragments are joined on the second
  line, without the hyphen, within a paragraph (at a paragraph's end the fragment keeps a ``-``);
  with ``False`` the mark is printed as ``-``. Ordinary ``-`` at line ends are kept as printed
  (they may be real hyphens); the dehyphenation repair stage deals with those.

Confidence: ``charParams@charConfidence`` (0-100; ``-1`` = unknown and ignored), scaled to
[0, 1]. Page and book confidences are means over recognised non-space *characters*.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

from finebooks.readers.xml_utils import (
    ElementStream,
    OcrXmlReader,
    PageText,
    children_local,
    iter_local,
    join_marked_hyphens,
)

#: ABBYY writes a hyphen it recognised as a line-break hyphenation as U+00AC (NOT SIGN)
HYPHEN_MARKS = ("\u00ac", "\u00ad")


def _formatting_text(formatting, page: PageText) -> str:
    chars = list(children_local(formatting, "charParams"))
    if not chars:
        return "".join(formatting.itertext())
    out = []
    for cp in chars:
        ch = cp.text or ""
        out.append(ch)
        conf = cp.get("charConfidence")
        if conf is not None and ch.strip():
            try:
                value = float(conf)
            except ValueError:
                continue
            if value >= 0:
                page.conf_sum += min(value, 100.0) / 100.0
                page.conf_n += 1
    return "".join(out)


def _line_text(line, page: PageText) -> str:
    formattings = list(children_local(line, "formatting"))
    if formattings:
        text = "".join(_formatting_text(f, page) for f in formattings)
    else:  # no formatting level: characters directly in the line
        text = _formatting_text(line, page)
    return " ".join(text.split())


def page_text(page_el: etree._Element, join_hyphenated: bool = True) -> PageText:
    """The text and character confidences of one ABBYY ``page`` element."""
    page = PageText("")
    paragraphs = []
    for par in iter_local(page_el, "par"):
        lines = [t for t in (_line_text(line, page) for line in iter_local(par, "line")) if t]
        lines = join_marked_hyphens(lines, HYPHEN_MARKS, join_hyphenated)
        if lines:
            paragraphs.append("\n".join(lines))
    page.text = "\n\n".join(paragraphs)
    return page


class AbbyyReader(OcrXmlReader):
    """Read ABBYY FineReader XML files into books: one ``page`` element = one page.

    Args:
        data_folder: input folder of ABBYY XML files (``.xml``, ``.abbyy.xml``, ``.abbyy``).
        group_by: ``"file"`` (one book per file, e.g. an Internet Archive ``_abbyy.xml``) or
            ``"folder"`` (one book per folder of per-page files, natural or METS order); see
            :class:`~finebooks.readers.xml_utils.OcrXmlReader`.
        join_hyphenated: join words that ABBYY marked as hyphenated across lines (``¬``).
        **kwargs: ``source``, ``glob_pattern``, ``recursive``, ``limit``, ``skip``,
            ``default_metadata``, ``exclusion_writer``, ``progress`` as for every reader.

    Bad input becomes an accounted exclusion: ``empty_file``, ``unsafe_xml``, ``malformed_xml``,
    ``not_abbyy`` (root element is not ``document``), ``no_pages``, ``no_text``.
    """

    name = "read_abbyy"
    format = "abbyy"
    extensions = (".abbyy.xml", ".abbyy", ".xml")
    root_name = "document"

    def read_pages(self, path: str, stream: BinaryIO, head: bytes, root: str | None) -> list[PageText]:
        return [page_text(page, self.join_hyphenated) for page in ElementStream(stream, head, tag="{*}page")]
