"""hOCR reader (Tesseract, OCRopus, ABBYY and Chronicling America exports).

hOCR is HTML whose elements carry the OCR structure in their ``class`` attribute and its
geometry and confidences in ``title`` (``bbox 10 20 30 40; x_wconf 93``). Files come as XHTML
(``.hocr``, ``.xhtml``, often with an XML declaration) or as plain HTML (``.html``, ``.htm``).
An XML-looking file is parsed with the safe XML pull parser first; when that fails (HTML entities
such as ``&nbsp;`` without their DTD, unclosed tags) it is parsed again with lxml's recovering
HTML parser. The encoding is taken from a byte-order mark, the XML declaration or
``<meta charset>``, else UTF-8 (not the HTML default of Latin-1, which would garble ``ſ`` and
``ä`` in hOCR written without a charset).

How a page becomes text:

* every ``ocr_page`` element (a ``div``, or ``body``/``section``/``article``/``main``) is one
  page; a file may hold many, streamed one by one. A file without any ``ocr_page`` but with
  lines or words is one page;
* lines are ``ocr_line``, ``ocrx_line``, ``ocr_header``, ``ocr_caption`` and ``ocr_textfloat``
  (the outermost one when they nest); a line's text is its ``ocrx_word`` words joined by one
  space, a word's text being all the text inside it (words split over ``<strong>``/``<em>``
  children are joined) with whitespace collapsed; empty words are dropped. A line without word
  elements uses its own text, whitespace collapsed;
* lines end with a newline; paragraphs (``ocr_par``) and blocks without paragraphs
  (``ocr_carea``, ``ocrx_block``, ``ocr_block``) are separated by a blank line;
* hyphenation: hOCR has no element for it, but converters from ABBYY write a line-break
  hyphenation as a soft hyphen (U+00AD) or ``¬`` (U+00AC) at the end of the line. With
  ``join_hyphenated=True`` (default) such a fragment is joined to the first word of the next line
  of the same paragraph, without the mark (a fragment at a paragraph's end keeps a ``-``); with
  ``False`` the mark is printed as ``-``. Ordinary ``-`` at line ends are kept as printed (they
  may be real hyphens); the dehyphenation repair stage deals with those.

Confidence: ``x_wconf`` (0-100) of each word, or ``x_conf`` when a producer writes that on words
instead (Chronicling America); scaled to [0, 1]. Page and book confidences are means over
*words*.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from lxml import etree

from finebooks.exclusions import BadInput
from finebooks.readers.xml_utils import (
    CHUNK_SIZE,
    ElementStream,
    OcrXmlReader,
    PageText,
    join_marked_hyphens,
    sniff_encoding,
)

LINE_CLASSES = frozenset({"ocr_line", "ocrx_line", "ocr_header", "ocr_caption", "ocr_textfloat"})
BLOCK_CLASSES = frozenset({"ocr_par", "ocr_carea", "ocrx_block", "ocr_block"})
WORD_CLASS = "ocrx_word"
PAGE_CLASS = "ocr_page"
_ALL_CLASSES = LINE_CLASSES | BLOCK_CLASSES | {WORD_CLASS, PAGE_CLASS}
#: a soft hyphen (U+00AD) or ABBYY's U+00AC at a line end marks a hyphenated word
HYPHEN_MARKS = ("\u00ad", "\u00ac")

#: elements that may carry ``ocr_page`` (the hOCR spec says ``div``); only these reach Python
_PAGE_TAGS = ("{*}div", "{*}body", "{*}section", "{*}article", "{*}main")
_WCONF = re.compile(r"\bx_wconf\s+(-?\d+(?:\.\d+)?)")
_XCONF = re.compile(r"\bx_conf\s+(-?\d+(?:\.\d+)?)")


def _classes(el) -> tuple[str, ...]:
    cls = el.get("class") if isinstance(el.tag, str) else None
    return tuple(cls.split()) if cls else ()


def _is_page(el) -> bool:
    cls = el.get("class")
    return bool(cls) and PAGE_CLASS in cls.split()


def _word_confidence(el) -> float | None:
    title = el.get("title")
    if not title or "conf" not in title:
        return None
    m = _WCONF.search(title) or _XCONF.search(title)
    if not m:
        return None
    value = float(m.group(1)) / 100.0
    return value if 0.0 <= value <= 1.0 else min(max(value, 0.0), 1.0)


def _text(el) -> str:
    """All text inside ``el`` with whitespace collapsed (a leaf's own text on the fast path)."""
    if len(el) == 0:
        text = el.text
        return " ".join(text.split()) if text else ""
    return " ".join("".join(el.itertext()).split())


def _is_word(el) -> bool:
    cls = el.get("class")
    return cls is not None and WORD_CLASS in cls and WORD_CLASS in cls.split()


def page_text(page: etree._Element, join_hyphenated: bool = True) -> PageText:
    """The text and word confidences of one hOCR page element (any element works)."""
    lines: list[tuple[object, etree._Element]] = []  # (block key, line element)
    loose_words: list[etree._Element] = []
    _collect(page, page, lines, loose_words)
    result = PageText("")
    blocks: list[list[str]] = []
    previous_key = None
    for key, line in lines:
        text = _line_text(line, result)
        if not text:
            continue
        if not blocks or key is not previous_key:
            blocks.append([])
        blocks[-1].append(text)
        previous_key = key
    if not lines and loose_words:  # words outside any line: one line of words
        blocks.append([_words_text(loose_words, result)])
    joined = (join_marked_hyphens(b, HYPHEN_MARKS, join_hyphenated) for b in blocks)
    result.text = "\n\n".join("\n".join(b) for b in joined if b)
    return result


def _collect(el, key, lines: list, loose_words: list) -> None:
    """Lines of ``el`` in document order with their nearest paragraph/block; outermost lines only."""
    for child in el:
        if not isinstance(child.tag, str):
            continue
        cls = _classes(child)
        if cls:
            if LINE_CLASSES.intersection(cls):
                lines.append((key, child))
                continue
            if WORD_CLASS in cls:
                loose_words.append(child)
                continue
        _collect(child, child if BLOCK_CLASSES.intersection(cls) else key, lines, loose_words)


def _line_text(line, result: PageText) -> str:
    words = [w for w in line.iterdescendants() if _is_word(w)]
    if not words:
        return _text(line)
    return _words_text(words, result)


def _words_text(words, result: PageText) -> str:
    texts = []
    for w in words:
        conf = _word_confidence(w)
        if conf is not None:
            result.conf_sum += conf
            result.conf_n += 1
        text = _text(w)
        if text:
            texts.append(text)
    return " ".join(texts)


def _has_ocr_classes(el) -> bool:
    return any(_ALL_CLASSES.intersection(_classes(e)) for e in el.iter())


class HocrReader(OcrXmlReader):
    """Read hOCR files (HTML or XHTML) into books: one ``ocr_page`` element = one page.

    Args:
        data_folder: input folder of hOCR files (``.hocr``, ``.html``, ``.htm``, ``.xhtml``).
        group_by: ``"file"`` (one book per file, possibly multi-page) or ``"folder"`` (one book per
            folder of page files in natural file-name order, e.g. ``0002.hocr`` before
            ``0010.hocr``); see :class:`~finebooks.readers.xml_utils.OcrXmlReader`.
        join_hyphenated: join words marked as hyphenated across lines (soft hyphen, ``¬``).
        **kwargs: ``source``, ``glob_pattern``, ``recursive``, ``limit``, ``skip``,
            ``default_metadata``, ``exclusion_writer``, ``progress`` as for every reader.

    Bad input becomes an accounted exclusion: ``empty_file``, ``unsafe_xml``, ``malformed_xml``
    (an HTML document cut off before ``</html>``), ``not_hocr`` (HTML without any hOCR class; in
    folder mode such files are skipped instead), ``no_text``.
    """

    name = "read_hocr"
    format = "hocr"
    extensions = (".hocr", ".html", ".htm", ".xhtml")

    def read_pages(self, path: str, stream: BinaryIO, head: bytes, root: str | None) -> list[PageText]:
        looks_xml = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml") or b"http://www.w3.org/1999/xhtml" in head
        if looks_xml:
            try:
                return self._read(stream, head, html=False)
            except BadInput as e:  # not well-formed XML: many hOCR producers write loose XHTML
                if e.code != "malformed_xml":
                    raise
                self.stat_update("xml_fallback_to_html")
        with self.data_folder.open(path, "rb") as again:
            head = again.read(len(head))
            return self._read(again, head, html=True)

    def _read(self, stream: BinaryIO, head: bytes, html: bool) -> list[PageText]:
        elements = ElementStream(
            stream, head, tag=_PAGE_TAGS, match=_is_page, html=html,
            encoding=sniff_encoding(head) if html else None, chunk_size=CHUNK_SIZE,
        )
        pages = [page_text(page, self.join_hyphenated) for page in elements]
        if html and b"<html" in head.lower() and b"</html>" not in elements.tail.lower():
            raise BadInput("malformed_xml", "the HTML document ends before </html> (truncated file?)")
        if pages:
            return pages
        root = elements.root
        if root is None or not _has_ocr_classes(root):
            if self.group_by == "folder":
                self.stat_update("skipped_files", "skipped_non_hocr_files")
                return []
            raise BadInput("not_hocr", "no hOCR page, line or word element (class ocr_page/ocr_line/ocrx_word)")
        page = page_text(root, self.join_hyphenated)
        return [page] if page.text else []
