"""Safe XML parsing and the shared machinery of the page-XML readers (ALTO, hOCR, ABBYY).

Safety. OCR XML comes from many tools and many hands, so parsing is locked down:

* lxml parsers are built with ``resolve_entities=False, no_network=True, load_dtd=False``: no
  external DTD, entity or schema is ever fetched.
* libxml2 still expands *internal* entities inside attribute values, and ALTO keeps its text in
  attributes (``String@CONTENT``). No OCR format needs entity declarations, so a document whose
  prolog declares any (``<!ENTITY``, the "billion laughs" and XXE vectors) is refused up front as
  ``unsafe_xml`` before the parser sees it.
* Large files are fed to a pull parser in chunks and each page element is cleared once read, so a
  3,000-page ALTO or hOCR file never becomes one big tree.

Errors become :class:`~finebooks.exclusions.BadInput` codes: ``empty_file``, ``unsafe_xml``,
``malformed_xml`` (syntax error or truncated file; the detail is libxml2's message with line and
column), ``not_<format>`` (another kind of XML file) and ``no_pages``.

:class:`OcrXmlReader` is the base of the three readers: it lists book units (one file = one book,
or one folder of page files = one book), reads each file's pages through the subclass's
:meth:`OcrXmlReader.read_pages` and assembles the book with its OCR confidence.
"""

from __future__ import annotations

import codecs
import posixpath
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.utils.logging import logger
from lxml import etree

from finebooks.book import make_book
from finebooks.exclusions import BadInput
from finebooks.readers.base import BookReader, BookUnit, natural_key, strip_extensions

#: bytes read before parsing to check the prolog and find the root element
HEAD_SIZE = 64 * 1024
#: bytes fed to the pull parser at a time
CHUNK_SIZE = 1024 * 1024

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


# ---------------------------------------------------------------------------- parsers
def safe_parser_options(**overrides) -> dict:
    """Keyword arguments for lxml parsers that never fetch or expand anything external."""
    options = {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "huge_tree": True,  # allow long text nodes; entity expansion is refused before parsing
        "remove_comments": True,
        "remove_pis": True,
    }
    options.update(overrides)
    return options


def safe_xml_parser(**overrides) -> etree.XMLParser:
    """A whole-document XML parser with the safe options (see :func:`safe_parser_options`)."""
    return etree.XMLParser(**safe_parser_options(**overrides))


def safe_html_parser(encoding: str | None = "utf-8") -> etree.HTMLParser:
    """An HTML parser that never touches the network (HTML parsing does not load DTDs)."""
    return etree.HTMLParser(encoding=encoding, no_network=True, remove_comments=True, remove_pis=True)


def parse_xml(data: bytes) -> etree._Element:
    """Parse a small XML document safely; :class:`BadInput` for empty, unsafe or malformed input."""
    check_prolog(data[:HEAD_SIZE])
    try:
        return etree.fromstring(data, safe_xml_parser())
    except etree.XMLSyntaxError as e:
        raise _syntax_error(e) from None


def _syntax_error(e: etree.XMLSyntaxError) -> BadInput:
    """``malformed_xml``, or ``unsafe_xml`` when libxml2's own entity-amplification guard stopped it
    (entity declarations placed after more than :data:`HEAD_SIZE` bytes of comments escape the
    prolog check; libxml2 then refuses to expand them beyond a small factor of the input size)."""
    msg = str(e) or e.__class__.__name__
    if "amplification" in msg or "entity loop" in msg.lower():
        return BadInput("unsafe_xml", msg)
    return BadInput("malformed_xml", msg)


# ---------------------------------------------------------------------------- names
def local_name(el) -> str:
    """Tag name without namespace (``{ns}String`` -> ``String``); ``""`` for comments and PIs."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def any_ns(*names: str) -> list[str]:
    """lxml tag patterns matching ``names`` in any namespace or none (``{*}name``)."""
    return [f"{{*}}{n}" for n in names]


def iter_local(el, *names: str) -> Iterator[etree._Element]:
    """Descendants (and ``el`` itself) whose local name is one of ``names``, in document order."""
    return el.iter(*any_ns(*names))


def children_local(el, *names: str) -> Iterator[etree._Element]:
    """Direct children whose local name is one of ``names``."""
    return el.iterchildren(*any_ns(*names))


# ---------------------------------------------------------------------------- prolog checks
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ROOT_START = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._\-]+)""", re.IGNORECASE)


def _head_text(head: bytes) -> str:
    if head.startswith(_UTF16_BOMS):
        return head.decode("utf-16", errors="replace")
    return head.decode("latin-1")  # byte-preserving for every ASCII-compatible encoding


def is_blank(head: bytes) -> bool:
    """True when the bytes hold nothing but whitespace and byte-order marks."""
    return not head.replace(codecs.BOM_UTF8, b"").strip()


def check_prolog(head: bytes) -> str | None:
    """Check the start of an XML/HTML document; return the root element's local name.

    Raises ``empty_file`` for blank input and ``unsafe_xml`` when the prolog declares entities.
    Returns ``None`` when no start tag is found in ``head`` (the parser then decides).
    """
    if is_blank(head):
        raise BadInput("empty_file", "the file has no content")
    text = _head_text(head)
    pos = 0
    n = len(text)
    while True:
        start = text.find("<", pos)
        if start < 0 or start + 1 >= n:
            break
        nxt = text[start + 1]
        if nxt == "?":  # XML declaration or processing instruction
            end = text.find("?>", start)
            pos = n if end < 0 else end + 2
        elif text.startswith("<!--", start):
            end = text.find("-->", start)
            pos = n if end < 0 else end + 3
        elif nxt == "!":  # DOCTYPE, possibly with an internal subset [...]
            bracket = text.find("[", start)
            close = text.find(">", start)
            if bracket >= 0 and (close < 0 or bracket < close):
                end = text.find("]", bracket)
                subset = text[bracket:] if end < 0 else text[bracket:end]
                if "<!ENTITY" in subset or end < 0:
                    raise BadInput("unsafe_xml", "the document type declares entities; they are never expanded")
                close = text.find(">", end)
            pos = n if close < 0 else close + 1
        else:
            m = _ROOT_START.match(text, start)
            return m.group(2) if m else None
    if "<!ENTITY" in text:
        raise BadInput("unsafe_xml", "the document type declares entities; they are never expanded")
    return None


def sniff_encoding(head: bytes, default: str = "utf-8") -> str:
    """Declared encoding of an (X)HTML document: BOM, XML declaration, ``<meta charset>``, else ``default``."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    for pattern in (_XML_ENCODING, _META_CHARSET):
        m = pattern.search(head)
        if m:
            name = m.group(1).decode("ascii")
            try:
                return codecs.lookup(name).name
            except LookupError:
                continue
    return default


# ---------------------------------------------------------------------------- streaming
class ElementStream:
    """Stream the elements of one document that ``match``, parsed chunk by chunk.

    Each matching element is yielded at its end tag, fully built; once the consumer asks for the
    next one it is cleared and removed from the tree together with its preceding siblings, so
    memory stays bounded by one page (plus whatever one chunk of input holds). After iteration ``root`` holds the document root (with the matched
    elements emptied). Syntax errors raise ``BadInput("malformed_xml", ...)``.

    Args:
        stream: binary file object positioned after ``head``.
        head: bytes already read from ``stream`` (parsed first).
        tag: lxml tag filter(s) for the pull parser (e.g. ``"{*}Page"``), or ``None`` for all.
        match: optional extra predicate on an element.
        html: use the (recovering) HTML parser instead of the XML parser.
        encoding: document encoding for the HTML parser.
    """

    def __init__(
        self,
        stream: BinaryIO,
        head: bytes = b"",
        tag: str | tuple[str, ...] | None = None,
        match: Callable[[etree._Element], bool] | None = None,
        html: bool = False,
        encoding: str | None = None,
        chunk_size: int = CHUNK_SIZE,
    ):
        self.stream = stream
        self.head = head
        self.tag = tag
        self.match = match
        self.html = html
        self.encoding = encoding
        self.chunk_size = chunk_size
        self.root = None
        self.tail = b""  # last bytes of the document (truncation checks)

    def _parser(self):
        if self.html:
            return etree.HTMLPullParser(
                events=("end",), tag=self.tag, encoding=self.encoding, no_network=True,
                remove_comments=True, remove_pis=True,
            )
        return etree.XMLPullParser(events=("end",), tag=self.tag, **safe_parser_options())

    def _chunks(self) -> Iterator[bytes]:
        if self.head:
            yield self.head
        while True:
            chunk = self.stream.read(self.chunk_size)
            if not chunk:
                return
            yield chunk

    def _events(self, parser) -> Iterator[etree._Element]:
        for _event, el in parser.read_events():
            if self.match is None or self.match(el):
                yield el
                el.clear(keep_tail=False)
                parent = el.getparent()
                if parent is not None:  # drop it and everything before it: all read already
                    while el.getprevious() is not None:
                        del parent[0]
                    parent.remove(el)

    def __iter__(self) -> Iterator[etree._Element]:
        parser = self._parser()
        try:
            for chunk in self._chunks():
                self.tail = (self.tail + chunk)[-4096:]
                parser.feed(chunk)
                yield from self._events(parser)
            self.root = parser.close()
            yield from self._events(parser)
        except etree.XMLSyntaxError as e:
            raise _syntax_error(e) from None


# ---------------------------------------------------------------------------- pages and books
@dataclass
class PageText:
    """The text of one page and the OCR confidences seen on it (sum and count, in [0, 1])."""

    text: str
    conf_sum: float = 0.0
    conf_n: int = 0

    @property
    def confidence(self) -> float | None:
        return self.conf_sum / self.conf_n if self.conf_n else None


_METS_NAME = re.compile(r"(?:^|[/_.\-])mets\.xml$", re.IGNORECASE)


def is_mets_name(path: str) -> bool:
    """``mets.xml``, ``book_mets.xml``, ``book.mets.xml``... (METS files are not pages)."""
    return bool(_METS_NAME.search(path))


def mets_file_order(root: etree._Element) -> list[str]:
    """File names (``xlink:href`` base names) in the physical order of a METS document.

    Uses the ``PHYSICAL`` structMap (the first structMap when none is typed): its ``div``
    elements in ``ORDER`` (document order when ``ORDER`` is missing) and their ``fptr``/``area``
    ``FILEID`` references, resolved through the ``fileSec``.
    """
    hrefs: dict[str, str] = {}
    for f in iter_local(root, "file"):
        loc = next(children_local(f, "FLocat"), None)
        href = (loc.get(XLINK_HREF) or loc.get("href")) if loc is not None else None
        if f.get("ID") and href:
            hrefs[f.get("ID")] = posixpath.basename(href.replace("\\", "/")).lower()
    maps = list(iter_local(root, "structMap"))
    physical = [m for m in maps if (m.get("TYPE") or "").upper() == "PHYSICAL"] or maps[:1]
    if not physical:
        return []
    divs = [d for d in iter_local(physical[0], "div") if next(children_local(d, "fptr"), None) is not None]

    def order(item):
        i, d = item
        o = d.get("ORDER")
        return (int(o), i) if o and o.strip().lstrip("-").isdigit() else (float("inf"), i)

    names: list[str] = []
    for _i, div in sorted(enumerate(divs), key=order):
        for fptr in children_local(div, "fptr"):
            ids = [fptr.get("FILEID")] + [a.get("FILEID") for a in iter_local(fptr, "area")]
            for fid in ids:
                if fid in hrefs and hrefs[fid] not in names:
                    names.append(hrefs[fid])
    return names


class OcrXmlReader(BookReader):
    """Base of the page-XML readers: book units by file or by folder, pages, confidences.

    Args:
        data_folder: input folder (local path, fsspec URL or datatrove ``DataFolder``).
        group_by: ``"file"`` (default): every file is one book (a file may hold many pages);
            ``"folder"``: all files of one folder are one book, pages in natural file-name order
            (``page2`` before ``page10``), or in the physical order of a METS file
            (``mets.xml``, ``*_mets.xml``) in that folder when there is one. METS files are
            never read as pages, and in folder mode other XML files that are not of this
            format (e.g. PAGE-XML beside ALTO) are skipped and counted, not treated as pages.
        join_hyphenated: rebuild words that the format marks as hyphenated across lines (see the
            subclass for the format's marks).
        source, glob_pattern, recursive, limit, skip, default_metadata, exclusion_writer,
        progress, on_bad_page: see :class:`~finebooks.readers.base.BookReader`.

    Every book gets ``metadata["ocr_confidence"]`` (mean over the whole book of the format's
    confidence unit - word or character, see the subclass - in [0, 1], ``None`` when the source
    has none) and ``metadata["page_ocr_confidence"]`` (one value per page, ``None`` for pages
    without confidences).
    """

    #: local name of the root element of a file of this format (``None``: not checked)
    root_name: str | None = None

    def __init__(self, data_folder: DataFolderLike, group_by: str = "file", join_hyphenated: bool = True, **kwargs):
        super().__init__(data_folder, **kwargs)
        if group_by not in ("file", "folder"):
            raise ValueError(f"group_by must be 'file' or 'folder', not {group_by!r}")
        self.group_by = group_by
        self.join_hyphenated = join_hyphenated

    # ------------------------------------------------------------------ listing
    def list_units(self) -> list[BookUnit]:
        files = self.list_files()
        pages = [f for f in files if not is_mets_name(f)]
        if self.group_by == "file":
            return [BookUnit(self._file_key(f), (f,)) for f in pages]
        mets = {posixpath.dirname(f): f for f in files if is_mets_name(f)}
        groups: dict[str, list[str]] = {}
        for f in pages:
            groups.setdefault(posixpath.dirname(f), []).append(f)
        units = []
        for folder, group in sorted(groups.items(), key=lambda kv: natural_key(kv[0])):
            ordered = self._mets_ordered(mets[folder], group) if folder in mets else group
            units.append(BookUnit(folder or self._root_name(), tuple(ordered)))
        return units

    def _root_name(self) -> str:
        """Identifier of a book whose pages sit directly in the input folder: the folder's name."""
        return posixpath.basename(str(self.data_folder.path).replace("\\", "/").rstrip("/")) or self.source

    def _file_key(self, path: str) -> str:
        return strip_extensions(path, self.extensions)

    def _mets_ordered(self, mets_path: str, files: list[str]) -> list[str]:
        """``files`` in the order of the METS file; files it does not list follow in name order."""
        try:
            names = mets_file_order(parse_xml(self.read_bytes(mets_path)))
        except (BadInput, OSError, ValueError) as e:  # a broken METS file costs the ordering, not the book
            logger.warning(f"{self.name}: could not use METS order from {mets_path}: {e}")
            self.stat_update("mets_unreadable")
            return files
        rank = {name: i for i, name in enumerate(names)}
        return sorted(files, key=lambda f: (rank.get(posixpath.basename(f).lower(), len(rank)), natural_key(f)))

    # ------------------------------------------------------------------ reading
    @abstractmethod
    def read_pages(self, path: str, stream: BinaryIO, head: bytes, root: str | None) -> list[PageText]:
        """The pages of one file. ``head`` is its first bytes (already read from ``stream``)."""

    def read_file(self, path: str, in_folder: bool) -> list[PageText]:
        """Open, check and read one file; a foreign XML file is skipped in folder mode."""
        with self.data_folder.open(path, "rb") as stream:
            head = stream.read(HEAD_SIZE)
            root = check_prolog(head)
            if self.root_name and root is not None and root.lower() != self.root_name.lower():
                if in_folder:
                    self.stat_update("skipped_files", f"skipped_{root.lower()}_files")
                    return []
                raise BadInput(f"not_{self.format}", f"root element is <{root}>, not <{self.root_name}>")
            return self.read_pages(path, stream, head, root)

    def read_unit(self, unit: BookUnit) -> Iterator[Document]:
        in_folder = self.group_by == "folder"
        pages: list[PageText] = []
        bad_pages: list[dict] = []
        for path in unit.paths:
            try:
                pages.extend(self.read_file(path, in_folder))
            except BadInput as e:
                if not in_folder:
                    raise
                # one page file of a folder book: an empty page, recorded (or the book, if asked)
                self.bad_page(bad_pages, len(pages) + 1, path, e)
                pages.append(PageText("", 0.0, 0))
        self.all_pages_bad(bad_pages, len(pages))
        if not pages:
            raise BadInput("no_pages", f"no {self.format} page found")
        conf_n = sum(p.conf_n for p in pages)
        metadata = self.base_metadata(unit)
        if bad_pages:
            metadata["bad_pages"] = bad_pages
        metadata["ocr_confidence"] = round(sum(p.conf_sum for p in pages) / conf_n, 4) if conf_n else None
        metadata["page_ocr_confidence"] = [None if p.confidence is None else round(p.confidence, 4) for p in pages]
        yield make_book([p.text for p in pages], id=self.make_id(unit.key), metadata=metadata)


def join_marked_hyphens(lines: list[str], marks: tuple[str, ...], join: bool = True) -> list[str]:
    """Resolve line-end hyphens that the OCR engine marked as hyphenation in one block of lines.

    A line ending in one of ``marks`` (ABBYY's ``¬``, a soft hyphen U+00AD) has its last
    fragment moved to the start of the next line (``join=True``), or the mark printed as ``-``
    (``join=False``). At the end of the block a pending fragment keeps a ``-``. Ordinary ``-`` at
    line ends is never touched: it may be a real hyphen (``Rhein-`` / ``Mosel``).
    """
    out: list[str] = []
    carry = None  # (fragment, whether its line kept other words)
    for text in lines:
        if carry is not None:
            text = carry[0] + text
            carry = None
        if text.endswith(marks):
            body = text[:-1]
            if join:
                head, _, fragment = body.rpartition(" ")
                carry = (fragment, bool(head))
                text = head
            else:
                text = body + "-"
        if text:
            out.append(text)
    if carry is not None and carry[0]:
        if carry[1] and out:
            out[-1] += " " + carry[0] + "-"
        else:
            out.append(carry[0] + "-")
    return out


def collapse_spaces(text: str) -> str:
    """Collapse runs of whitespace to one space and strip (word and line texts)."""
    return " ".join(text.split())


__all__ = [
    "ElementStream",
    "OcrXmlReader",
    "PageText",
    "any_ns",
    "check_prolog",
    "children_local",
    "collapse_spaces",
    "is_mets_name",
    "iter_local",
    "join_marked_hyphens",
    "local_name",
    "mets_file_order",
    "parse_xml",
    "safe_html_parser",
    "safe_parser_options",
    "safe_xml_parser",
    "sniff_encoding",
]
