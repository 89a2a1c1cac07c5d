"""ALTO XML reader (ALTO 1.x to 4.x, any namespace).

ALTO (Analyzed Layout and Text Object) is the page-layout format of most library digitisation
programmes (LoC Chronicling America, BnL, Europeana, the German DFG/OCR-D workflows, ABBYY and
Tesseract exports). Elements are matched on their local name, so files without a namespace,
with the old CCS namespace (``http://schema.ccs-gmbh.com/ALTO``) or with the LoC ``ns-v2``,
``ns-v3`` and ``ns-v4`` namespaces all read the same way.

How a page becomes text:

* every ``Page`` element is one page (a file may hold many; they are streamed and cleared one by
  one, so a 3,000-page file is fine);
* text blocks are read margin-aware: ``TopMargin``, ``LeftMargin``, ``PrintSpace``,
  ``RightMargin``, ``BottomMargin`` (the schema stores the margins first; reading them in page
  order keeps running heads on top and page footers at the bottom), then blocks in document order
  (``ComposedBlock`` nesting included);
* a word is ``String@CONTENT`` (``ALTERNATIVE`` readings are ignored); ``SP`` is a space; in a
  page that has no ``SP`` at all (some Tesseract exports) consecutive strings are separated by a
  space, otherwise strings not separated by ``SP`` are one word (``"25" "."`` -> ``25.``);
* lines end with a newline and text blocks are separated by a blank line.

Hyphenation (``join_hyphenated=True``, the default). ALTO marks a word broken over two lines with
``SUBS_TYPE="HypPart1"``/``"HypPart2"`` on the two fragments, the full word in ``SUBS_CONTENT`` and
a ``HYP`` element for the printed hyphen:

* a ``HypPart1`` string with ``SUBS_CONTENT`` is replaced by the full word, which is emitted once
  at the end of its line; the hyphen is dropped, and the next ``HypPart2`` string (normally the
  first word of the next line) is skipped; strings written directly against it without an ``SP``
  (``"gion" ","``) follow the full word. Some engines write alternative readings of the fragment
  as adjacent ``HypPart1`` strings; the last one, which the ``HypPart2`` pairs with, wins;
* a line ending in ``HYP`` without such a substitution has its last fragment joined to the first
  word of the next non-empty line of the same text block, without the hyphen; at the end of a
  block the fragment keeps a ``-`` (joining across columns or pages is left to the repair stage);
* a ``HYP`` in the middle of a line is printed as ``-``.

With ``join_hyphenated=False`` lines are kept as printed: fragments stay apart and a ``HYP`` is
printed as ``-``.

Confidence: ``String@WC`` (word confidence, 0-1). ALTO 1.x files without ``WC`` may carry
``String@CC`` character confidences (0 = sure ... 9 = unsure); the word's value is then
``1 - mean(CC) / 9``. Page and book confidences are means over *words* (every ``String`` with a
value counts once, whatever its length).
"""

from __future__ import annotations

import re
from typing import BinaryIO

from lxml import etree

from finebooks.readers.xml_utils import ElementStream, OcrXmlReader, PageText, iter_local

_MARGIN_ORDER = ("TopMargin", "LeftMargin", "PrintSpace", "RightMargin", "BottomMargin")
_DIGITS = re.compile(r"\d")
_SOFT_HYPHENS = ("", "\u00ad")
_LINE_CHILDREN = ("{*}String", "{*}SP", "{*}HYP")


def _string_confidence(el) -> float | None:
    wc = el.get("WC")
    if wc is not None:
        try:
            value = float(wc)
        except ValueError:
            return None
        if 0.0 <= value <= 1.0:
            return value
        return min(value / 100.0, 1.0) if value > 1.0 else 0.0  # a few exporters write percentages
    cc = el.get("CC")
    if cc:
        digits = _DIGITS.findall(cc)
        if digits:
            return 1.0 - sum(map(int, digits)) / (9.0 * len(digits))
    return None


class _PageState:
    """What is carried from line to line while reading one page."""

    __slots__ = ("conf_n", "conf_sum", "skip_part2")

    def __init__(self):
        self.conf_sum = 0.0
        self.conf_n = 0
        self.skip_part2 = False  # a HypPart1 was replaced by its full word: drop the next HypPart2


def _hyphen(el) -> str:
    content = el.get("CONTENT")
    return "-" if content in _SOFT_HYPHENS or content is None else content


class AltoReader(OcrXmlReader):
    """Read ALTO XML files (versions 1-4) into books: one ``Page`` element = one page.

    Args:
        data_folder: input folder of ALTO files (``.xml``, ``.alto``, ``.alto.xml``; ``.yml``
            sidecars and METS files are not read as pages).
        group_by: ``"file"`` (one book per file, possibly multi-page) or ``"folder"`` (one book per
            folder of page files, natural or METS order); see
            :class:`~finebooks.readers.xml_utils.OcrXmlReader`.
        join_hyphenated: rebuild words hyphenated across lines (see the module docstring).
        **kwargs: ``source``, ``glob_pattern``, ``recursive``, ``limit``, ``skip``,
            ``default_metadata``, ``exclusion_writer``, ``progress`` as for every reader.

    Bad input (malformed or truncated XML, an empty file, a file that is not ALTO, a file without
    any ``Page``) becomes an accounted exclusion with codes ``malformed_xml``, ``empty_file``,
    ``not_alto``, ``no_pages``, ``unsafe_xml``; a file whose pages hold no text is ``no_text``.
    """

    name = "read_alto"
    format = "alto"
    extensions = (".alto.xml", ".alto", ".xml")
    root_name = "alto"

    def read_pages(self, path: str, stream: BinaryIO, head: bytes, root: str | None) -> list[PageText]:
        return [self.page_text(page) for page in ElementStream(stream, head, tag="{*}Page")]

    # ------------------------------------------------------------------ one page
    def page_text(self, page: etree._Element) -> PageText:
        """The text of one ``Page`` element (see the module docstring for the rules)."""
        state = _PageState()
        uses_sp = next(iter_local(page, "SP"), None) is not None
        blocks = []
        for block in self._blocks(page):
            lines = self._block_lines(block, uses_sp, state)
            if lines:
                blocks.append("\n".join(lines))
        return PageText("\n\n".join(blocks), state.conf_sum, state.conf_n)

    @staticmethod
    def _blocks(page) -> list:
        regions = {name: [] for name in _MARGIN_ORDER}
        other = []
        for child in page:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = tag.rpartition("}")[2]
            regions.get(name, other).append(child)
        blocks = []
        for region in [*(r for name in _MARGIN_ORDER for r in regions[name]), *other]:
            blocks.extend(iter_local(region, "TextBlock"))
        return blocks

    def _block_lines(self, block, uses_sp: bool, state: _PageState) -> list[str]:
        lines: list[str] = []
        carry = None  # (fragment, hyphen, whether its line kept other words)
        for line in iter_local(block, "TextLine"):
            glue, text, trailing_hyp = self._line_text(line, uses_sp, state)
            if glue:  # punctuation written against a skipped HypPart2 belongs to the full word
                if lines and carry is None:
                    lines[-1] += glue
                else:
                    text = glue + text
            if carry is not None and text:
                text = carry[0] + text
                carry = None
            if trailing_hyp is not None and text:
                head, _, fragment = text.rpartition(" ")
                carry = (fragment, trailing_hyp, bool(head))
                text = head
            if text:
                lines.append(text)
        if carry is not None:  # the block ended inside a hyphenated word: keep the hyphen
            fragment, hyphen, kept_line = carry
            if kept_line and lines:
                lines[-1] += " " + fragment + hyphen
            else:
                lines.append(fragment + hyphen)
        return lines

    def _line_text(self, line, uses_sp: bool, state: _PageState) -> tuple[str, str, str | None]:
        """Text of one ``TextLine`` as ``(glue, text, trailing_hyphen)``.

        ``glue`` is text written directly against a skipped ``HypPart2`` fragment (``"gion" "."``
        -> ``"."``), which belongs after the full word at the end of the previous line;
        ``trailing_hyphen`` is set when the line ends in a hyphen still to be joined.
        """
        glue = ""  # strings glued to a skipped HypPart2 at the start of the line
        gluing = False
        parts: list[str] = []  # words, " " separators and printed hyphens
        subs_at = -1  # index in parts of a HypPart1 full word not yet followed by another word
        line_had_subs = False
        hyp_at = -1  # index in parts of the last HYP
        for el in line.iterchildren(_LINE_CHILDREN):
            tag = el.tag
            name = tag[tag.rfind("}") + 1 :]
            if name == "String":
                conf = _string_confidence(el)
                if conf is not None:
                    state.conf_sum += conf
                    state.conf_n += 1
                subs_type = el.get("SUBS_TYPE")
                if subs_type == "HypPart2" and state.skip_part2:
                    state.skip_part2 = False
                    gluing = uses_sp and not parts
                    continue
                if gluing:
                    glue += el.get("CONTENT") or ""
                    continue
                subs = el.get("SUBS_CONTENT") if subs_type == "HypPart1" and self.join_hyphenated else None
                if subs_at >= 0 and subs:  # alternative reading of the same fragment: the last one wins
                    del parts[subs_at:]
                    hyp_at = -1 if hyp_at >= subs_at else hyp_at
                content = subs or el.get("CONTENT") or ""
                if not content:
                    continue
                if parts and parts[-1] != " " and not uses_sp:
                    parts.append(" ")
                if subs:
                    subs_at = len(parts)
                    state.skip_part2 = line_had_subs = True
                else:
                    subs_at = -1
                parts.append(content)
            elif name == "SP":
                gluing = False
                if parts and parts[-1] != " ":
                    parts.append(" ")
            elif name == "HYP":
                gluing = False
                hyp_at = len(parts)
                parts.append(_hyphen(el))
        trailing_hyp = None
        if hyp_at >= 0 and all(p == " " for p in parts[hyp_at + 1 :]):  # the line ends with HYP
            if line_had_subs:  # the full word is already there
                del parts[hyp_at]
            elif self.join_hyphenated:
                trailing_hyp = parts.pop(hyp_at)
        return glue, "".join(parts).strip(), trailing_hyp
