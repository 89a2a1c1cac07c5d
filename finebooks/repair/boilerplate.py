"""Remove the notices that digitisation adds to books (Gutenberg, Google, Internet Archive, ...).

A scanned or transcribed book arrives wrapped in text that its author never wrote: Project
Gutenberg's header and licence, Google's "usage guidelines" page and the ``Digitized by
Google`` watermark on every page, the Internet Archive's ``Digitized by the Internet Archive
in 2011 with funding from ...`` stamp, HathiTrust's ``Generated on ... / Public Domain``
lines, a library's ownership stamp. A language model trained on it learns the licence by
heart, and a near-duplicate detector sees thousands of books share the same paragraphs. This
stage removes those notices, and only those: every notice is recognised by *anchors* (fixed
phrases of the notice, tolerant to case, spacing and the usual OCR confusions), never by a
single word such as "Google" in a paragraph, and what was removed is recorded per book.

What is removed (``kind`` in the records):

``gutenberg_header``
    Everything up to and including Project Gutenberg's ``*** START OF THE/THIS PROJECT GUTENBERG
    EBOOK ... ***`` line or, in pre-2000s files, the ``*END*THE SMALL PRINT! FOR PUBLIC DOMAIN
    ETEXTS*...*END*`` line that closes the legal small print; plus the PG production credit
    that follows it (``Produced by ...``, ``This etext was produced from ...``, ``Transcribed
    from the ... edition by ...``) and a bracketed note on the file's character encoding.
    Files without either marker lose only a ``The Project Gutenberg EBook of ...`` title line at
    the top and the ``Title:``/``Author:``/``Release Date:`` block that follows it.
``gutenberg_footer``
    Everything from the first ``End of (the) Project Gutenberg('s) EBook/Etext ...`` or ``***
    END OF THE/THIS PROJECT GUTENBERG EBOOK ... ***`` line (or an old small print that opens
    after the book) to the end of the book, licence included.
``google``
    Google Books' notice page: from ``This is a digital copy of a book that was preserved ...``
    (or the ``About this book`` heading; French, German, Spanish, Italian, Dutch and Portuguese
    versions too), with the ``Google`` logo line above it, through the ``... at
    http://books.google.com/`` line that ends it (or, in e-book exports without the address,
    through the ``Google's mission is to organize ...`` paragraph). A candidate without such an
    end, longer than 8,000 characters or mentioning Google fewer than twice is left alone.
``google_watermark``
    Whole lines ``Digitized by Google`` and their OCR readings (``Digitized by VjOOQIC``).
``microsoft_watermark``
    Whole lines ``Digitized by Microsoft®`` (Internet Archive scans funded by Microsoft).
``internet_archive``
    ``Digitized by the Internet Archive`` (also OCR-split, e.g. ``Digitized 1`` / ``by the
    Internet Archive``) with the year, ``with funding from`` and funder lines that follow and
    the ``https://archive.org/details/...`` line that closes it; a line holding only such an
    address; ``This book made available by the Internet Archive.``
``hathitrust``
    Lines carrying HathiTrust's access statement or handle (``Generated on 2015-03-01 12:00 GMT
    / http://hdl.handle.net/2027/...``, ``Public Domain, Google-digitized /
    http://www.hathitrust.org/access_use#pd-google``).
``nla_stamp``
    The National Library of Australia's ownership stamp as OCR reads it (``NATIONAL`` /
    ``LIBRARY OF AUSTRALIA``, ``NA TIONAL LIBRARY OF AUSTRALIA``) and the ``COMMONWEALTH
    NATIONAL LIBRARY / By returning this book ...`` date-slip heading, on Trove scans.

Where notices are looked for: Project Gutenberg headers and Google's notice page only in the
first and last ``edge_pages`` pages of a book and, within them, the first and last
``edge_chars`` characters (a Gutenberg e-text is usually one page; a paged book carries its
header on the first pages and its footer on the last); the line-sized notices anywhere.

Pages are never removed (a page whose whole text was a notice becomes empty) and the rest of
a page is left as it was, apart from the blank lines that separated the notice from it.
Each removal is recorded as ``{"kind", "page" (1-based), "chars"}`` in
``metadata["repairs"]["remove_boilerplate"]["removed"]`` (at most ``max_records`` per book),
with a counter per kind there and in the step's stats (and ``<kind>_chars`` in the stats).

Speed: the line-anchored notice patterns are searched from the line starts only
(``_from_line_starts``), one pass over the line starts (``_LINE_NOTICE``) skips books that have
none of those notices, and a rare address fragment gates the HathiTrust scans; the results are
those of the plain ``finditer`` over the book.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from datatrove.data import Document

from finebooks.repair.base import PageRepairer

KINDS = (
    "gutenberg_header",
    "gutenberg_footer",
    "google",
    "google_watermark",
    "microsoft_watermark",
    "internet_archive",
    "hathitrust",
    "nla_stamp",
)

_I = re.IGNORECASE
_IM = re.IGNORECASE | re.MULTILINE
_H = r"[^\S\n]"  # horizontal white space
_NW = r"[^\w\n]"  # a non-word character on the same line

# ------------------------------------------------------------------ Project Gutenberg
# closes the header: "*** START OF THIS PROJECT GUTENBERG EBOOK X ***", "***START OF THE ..."
_PG_START = re.compile(rf"^{_NW}*START\s+OF\s+(?:THE|THIS)\s+PROJECT\s+GUTENBERG\b[^\n]*$", _IM)
# closes the legal small print of a pre-2000s header: "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ..."
_PG_SMALL_PRINT_END = re.compile(rf"^{_NW}*END{_NW}*THE\s+SMALL\s+PRINT\b[^\n]*$", _IM)
# opens the footer: "End of the Project Gutenberg EBook of", "End of Project Gutenberg's X",
# "End of Project Gutenberg Etext of", "*** END OF THIS PROJECT GUTENBERG EBOOK X ***"
_PG_END = re.compile(rf"^{_NW}*END\s+OF\s+(?:(?:THE|THIS)\s+)?PROJECT\s+GUTENBERG\b[^\n]*$", _IM)
# an old small print placed after the book: "***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ..."
_PG_SMALL_PRINT_START = re.compile(rf"^{_NW}*START{_NW}*THE\s+SMALL\s+PRINT\b[^\n]*$", _IM)
# "The Project Gutenberg EBook of X", "Project Gutenberg's X", "**The Project Gutenberg Etext of X**"
_PG_TITLE = re.compile(r"\A\s*\W*(?:The\s+)?Project\s+Gutenberg(?:'s|\u2019s|\s+e-?book|\s+e-?text)\b[^\n]*$", _IM)
_PG_META = re.compile(
    r"^[^\S\n]*(?:Title|Author|Editor|Translator|Illustrator|Release\s+Date|Posting\s+Date|"
    r"Last\s+Updated|Edition|Language|Character\s+set\s+encoding)\s*:[^\n]*$|^[^\S\n]*\[E-?(?:Book|text)\s+#\d+\][^\n]*$",
    _IM,
)
# the PG production credit right after the header (one paragraph)
_PG_CREDIT = re.compile(
    r"\s*(?:Produced\s+by|(?:This\s+)?e-?(?:text|book)\s+(?:was\s+)?(?:produced|prepared|created|scanned|transcribed)"
    r"|(?:e-?text|e-?book)\s+(?:was\s+)?(?:prepared|produced|scanned|transcribed)\s+by"
    r"|Transcribed\s+(?:from\s+.{1,200}?\s+)?by|Prepared\s+by|Scanned\s+(?:and\s+proof-?read\s+)?by)\b",
    re.IGNORECASE | re.DOTALL,
)
# "[This e-text includes characters that require UTF-8 (Unicode) file encoding: ...]"
_PG_ENCODING_NOTE = re.compile(
    r"\s*\[[^\]]{0,1500}?(?:UTF-?8|Unicode|Latin-?1|ISO-8859|character\s+set|file\s+encoding)[^\]]{0,1500}\]\s*\Z",
    re.IGNORECASE | re.DOTALL,
)
_PG_CREDIT_MAX = 1500  # a credit paragraph longer than this is book text

# ------------------------------------------------------------------ Google
_GOOGLE_START = re.compile(
    rf"digital\s+copy\s+of\s+a\s+book|^{_NW}*About\s+this\s+book\b|About\s+this\s+digital\s+copy"
    rf"|copie\s+num[\u00e9e]rique\s+d.un\s+(?:ouvrage|livre)|^{_NW}*[A\u00c0]\s+propos\s+de\s+ce\s+livre"
    rf"|digitales\s+Exemplar\s+eines\s+Buches|^{_NW}*(?:\u00dc|Ue?)ber\s+dieses\s+Buch"
    rf"|copia\s+digital\s+de\s+un\s+libro|^{_NW}*Acerca\s+de\s+este\s+libro"
    rf"|copia\s+digitale\s+di\s+un\s+libro|^{_NW}*Informazioni\s+su\s+questo\s+libro"
    rf"|digitale\s+kopie\s+van\s+een\s+boek|^{_NW}*Over\s+dit\s+boek"
    rf"|c[\u00f3o]pia\s+digital\s+de\s+um\s+livro|^{_NW}*Sobre\s+este\s+livro",
    _IM,
)
_GOOGLE_URL = re.compile(r"books\s*\.\s*google\s*\.\s*[a-z]{2,3}\b", _I)
_GOOGLE_MISSION = re.compile(r"Google.?s\s+mission\s+is\s+to\s+organi[sz]e", _I)
_GOOGLE_LOGO = re.compile(r"\W{0,3}(?:Google|G[o0]{2}\S?[gq]?[l1I]e|Go\S{1,2}gle)\W{0,3}", _I)  # one stripped line
_GOOGLE_MAX = 8000

# ------------------------------------------------------------------ watermarks
# OCR reads Google's logo as "Google", "GoOglc", "VjOOQIC", "LjOOQlC", "CjOOQ IC", "^oogle", ...
_GOOGLE_TOKEN = rf"(?:[gvlc^(]j?)?[o0]{{2,3}}{_H}?[gq]{_H}?[li1|]{_H}?[ec]"
_WATERMARK = re.compile(
    rf"^{_H}*{_NW}{{0,2}}Dig[il1]t[il1][sz][ec]d{_H}+by{_H}*(?:{_NW}{{0,2}}(?P<google>{_GOOGLE_TOKEN})"
    rf"|(?P<microsoft>Micro[s$]oft)){_NW}{{0,4}}$",
    _IM,
)

# ------------------------------------------------------------------ Internet Archive
_IA_ANCHOR = re.compile(
    rf"^{_H}*{_NW}{{0,2}}Dig[il1]t[il1][sz][ec]d(?:{_H}+\S{{1,2}})?\s{{1,8}}by\s+the\s+Intern[ec]t\s+Arch[il1]v[ec]\b[^\n]*$",
    _IM,
)
_IA_MADE_AVAILABLE = re.compile(
    rf"^{_NW}*This\s+(?:book|volume|e-?book|text)\s+(?:was\s+|is\s+)?made\s+available\s+by\s+the\s+Internet\s+Archive{_NW}*$",
    _IM,
)
_IA_URL_LINE = re.compile(
    rf"^{_NW}*https?{_H}*:{_H}*/{_H}*/{_H}*(?:www{_H}*\.{_H}*)?archive{_H}*\.{_H}*org{_H}*/{_H}*details{_H}*/[^\s]*{_NW}*$", _IM
)
# the scan year ("in 2011", OCR-split "i" / "n 2015"): digitisation years only, never a title-page date
_IA_YEAR = re.compile(r"\W*(?:i\s*)?n?\s*(?:199\d|20\d\d)\b(?P<funding>\s+with\s+funding\s+from)?\W*", _I)
_IA_FUNDING = re.compile(r"\W*with\s+funding\s+from\W*", _I)
_IA_NOISE = re.compile(r"[^A-Za-z]*(?:[A-Za-z]{1,2}[^A-Za-z]+)*[A-Za-z]{0,2}[^A-Za-z]*")  # no 3-letter word
_IA_MAX_LINES = 8  # non-blank lines after the anchor line
_IA_MAX_CHARS = 600

# ------------------------------------------------------------------ HathiTrust
_HATHI = re.compile(
    r"^[^\n]{0,250}(?:hathitrust\s*\.\s*org/access_use|hdl\s*\.\s*handle\s*\.\s*net/2027/)[^\n]{0,250}$", _IM
)

# ------------------------------------------------------------------ National Library of Australia
# the line starts of _WATERMARK, _IA_ANCHOR, _IA_MADE_AVAILABLE, _IA_URL_LINE and _NLA (a prefix of
# each pattern, with its case rule): a book without any of them has none of these notices, which
# one fast pass over its line starts tells (instead of five substring scans and the patterns)
_LINE_NOTICE_START = (
    rf"(?:{_NW}*(?i:Dig[il1]t[il1][sz][ec]d|This\s+(?:book|volume|e-?book|text)\s|https?{_H}*:{_H}*/)"
    rf"|{_H}*(?:COMMONWEALTH|N{_H}?A{_H}?T{_H}?I{_H}?O{_H}?N{_H}?A{_H}?L))"
)
_LINE_NOTICE = re.compile("\n" + _LINE_NOTICE_START)
_LINE_NOTICE_AT_START = re.compile(_LINE_NOTICE_START)

# every _HATHI match holds one of these (ignoring case like it): a cheap first test
_HATHI_ADDRESS = re.compile(r"/(?:access_use|2027/)", _I)

_NLA = re.compile(
    rf"^{_H}*(?:COMMONWEALTH{_H}+)?N{_H}?A{_H}?T{_H}?I{_H}?O{_H}?N{_H}?A{_H}?L{_H}*(?:\n{_H}*)?LIBRARY"
    rf"(?P<aus>{_H}+OF{_H}+AUSTRALIA)?{_NW}{{0,3}}$",
    re.MULTILINE,
)
_NLA_SLIP = re.compile(r"\n[^\S\n]*By returning this book[^\n]*(?:\n[^\S\n]*stamped below[^\n]*)?", _I)

_BLANK_LINES = re.compile(r"(?:[^\S\n]*\n)+")
_TRAILING_BLANK_LINES = re.compile(r"(?:^[^\S\n]*\n)+\Z", re.MULTILINE)
_PARA_END = re.compile(r"\n[^\S\n]*(?:\n|\Z)")


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end == -1 else end


def _trailing_blank_lines(text: str) -> int | None:
    """Where the blank lines that end ``text`` start: ``_TRAILING_BLANK_LINES.search(text).start()``
    (``None`` for no match), found from the end instead of by trying every position of a page
    that may be a whole e-text: the first line start after the last non-blank character, if
    one or more whole blank lines follow it."""
    if not text.endswith("\n"):
        return None
    r = len(text.rstrip())
    if r == 0:
        return 0
    after = text.find("\n", r) + 1
    return after if after < len(text) else None


def _cut(text: str, start: int, end: int) -> str:
    """Remove ``text[start:end]`` (whole lines) and the blank lines that only framed it."""
    if end < len(text) and text[end] == "\n":
        end += 1
    before, after = text[:start], text[end:]
    if not before or before.isspace():  # the notice opened the page
        before = ""
        m = _BLANK_LINES.match(after)
        if m:
            after = after[m.end():]
    elif not after or after.isspace():  # the notice closed the page
        after = ""
        blank = _trailing_blank_lines(before)
        if blank is not None:
            before = before[:blank]
    elif before.endswith("\n\n") or _trailing_blank_lines(before) is not None:  # keep one blank line
        m = _BLANK_LINES.match(after)
        if m:
            after = after[m.end():]
    new = before + after
    return new if new.strip() else ""


class DigitisationBoilerplateRemover(PageRepairer):
    """Remove digitisation notices (Gutenberg header/footer, Google, Internet Archive, HathiTrust,
    library stamps) from books, recognised by their fixed phrases; record what was removed.

    Args:
        kinds: the notice kinds to remove (default: all of ``gutenberg_header``,
            ``gutenberg_footer``, ``google``, ``google_watermark``, ``microsoft_watermark``,
            ``internet_archive``, ``hathitrust``, ``nla_stamp``).
        edge_pages: Project Gutenberg headers/footers and Google's notice page are looked for in
            this many pages at the start and at the end of a book.
        edge_chars: ... and within the first/last this many characters of the book (a Gutenberg
            e-text is one long page; its header and licence are each well under 25,000
            characters).
        max_records: at most this many ``{"kind", "page", "chars"}`` records are kept per book
            in ``metadata["repairs"]`` (counters always count everything).
        record: keep per-book records in ``metadata["repairs"]["remove_boilerplate"]``.
    """

    name = "remove_boilerplate"

    def __init__(
        self,
        kinds: list[str] | None = None,
        edge_pages: int = 10,
        edge_chars: int = 60000,
        max_records: int = 50,
        record: bool = True,
    ):
        super().__init__(record=record)
        if kinds is not None:
            unknown = sorted(set(kinds) - set(KINDS))
            if unknown:
                raise ValueError(f"unknown boilerplate kind(s) {unknown}; choose from {list(KINDS)}")
        self.kinds = list(kinds) if kinds is not None else list(KINDS)
        self.edge_pages = edge_pages
        self.edge_chars = edge_chars
        self.max_records = max_records

    # ================================================================== repair
    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        spans = self.find_notices(pages)
        if not spans:
            return pages
        starts = _page_starts(pages)
        per_page: dict[int, list[tuple[int, int, str]]] = {}
        for s, e, kind in spans:
            first = bisect_right(starts, s) - 1
            last = bisect_right(starts, max(e - 1, s)) - 1
            for p in range(first, last + 1):
                ps, pe = starts[p], starts[p] + len(pages[p])
                ls, le = max(s, ps) - ps, min(e, pe) - ps
                if le > ls:
                    per_page.setdefault(p, []).append((ls, le, kind))
        out = list(pages)
        removed: list[tuple[int, int, str, int]] = []  # page index, offset, kind, chars
        for p in sorted(per_page):
            text = out[p]
            for ls, le, kind in sorted(per_page[p], reverse=True):  # from the end: offsets stay valid
                new = _cut(text, ls, le)
                if len(new) < len(text):
                    removed.append((p, ls, kind, len(text) - len(new)))
                text = new
            out[p] = text
        removed.sort()
        self._record(doc, [{"kind": kind, "page": p + 1, "chars": chars} for p, _, kind, chars in removed])
        return out

    def _record(self, doc: Document | None, records: list[dict]) -> None:
        for r in records:
            self.note(doc, r["kind"], 1)
            self.stat_update(f"{r['kind']}_chars", value=r["chars"])
        if records:
            self.note(doc, "removed", records[: self.max_records])
            if len(records) > self.max_records:
                self.note(doc, "removed_unlisted", len(records) - self.max_records)

    # ================================================================== detection
    def find_notices(self, pages: list[str]) -> list[tuple[int, int, str]]:
        """Notices in a book as ``(start, end, kind)`` spans of whole lines in ``"\\f".join(pages)``.

        Spans do not overlap; they are sorted by start.
        """
        flat = "\n".join(pages)  # "\n" for "\f": same offsets, and page edges are line edges
        starts = _page_starts(pages)
        n = len(flat)
        head_end = min(n, self.edge_chars)
        if len(pages) > self.edge_pages:
            head_end = min(head_end, starts[self.edge_pages] - 1)
        tail_start = max(0, n - self.edge_chars)
        if len(pages) > self.edge_pages:
            tail_start = max(tail_start, starts[len(pages) - self.edge_pages])
        found: list[tuple[int, int, str]] = []

        def add(s: int, e: int, kind: str) -> bool:
            if e <= s or any(s < fe and fs < e for fs, fe, _ in found):
                return False
            found.append((s, e, kind))
            return True

        want = set(self.kinds)
        line_notices = _LINE_NOTICE_AT_START.match(flat) is not None or _LINE_NOTICE.search(flat) is not None
        if {"gutenberg_header", "gutenberg_footer"} & want:
            self._gutenberg(flat, starts, head_end, tail_start, add, want)
        if "google" in want:
            self._google(flat, head_end, tail_start, add)
        if {"google_watermark", "microsoft_watermark"} & want and line_notices and ("igit" in flat or "IGIT" in flat):
            for s, e, m in _from_line_starts(_WATERMARK, flat):
                kind = "google_watermark" if m.group("google") else "microsoft_watermark"
                if kind in want:
                    add(s, e, kind)
        if "internet_archive" in want and line_notices and ("rchive" in flat or "RCHIVE" in flat):
            self._internet_archive(flat, add)
        # (the notice's address, a rare "/", is looked for first: one fast scan instead of five)
        if "hathitrust" in want and _HATHI_ADDRESS.search(flat) and _maybe_hathi(flat):
            for s, e, _ in _from_line_starts(_HATHI, flat):
                add(s, e, "hathitrust")
        if "nla_stamp" in want and line_notices and "LIBRARY" in flat:
            for s, end, m in _from_line_starts(_NLA, flat):
                if m.group("aus") or flat[s:end].lstrip().startswith("COMMONWEALTH"):
                    slip = _NLA_SLIP.match(flat, end)
                    add(s, slip.end() if slip else end, "nla_stamp")
        found.sort()
        return found

    # ------------------------------------------------------------------ Project Gutenberg
    def _gutenberg(self, flat, starts, head_end, tail_start, add, want) -> None:
        n = len(flat)
        if not any(_has_pg_words(flat, lo, hi) for lo, hi in ((0, head_end), (tail_start, n))):
            return
        # 1. the footer's own anchors ("End of the Project Gutenberg EBook", "*** END OF THIS ...")
        #    never occur in a header, so they bound where the header may end
        m = _PG_END.search(flat, tail_start)
        footer_at = m.start() if m else n
        # 2. the header ends at its last START line, else at the end of the small print
        head_limit = min(head_end, footer_at)
        ends = [m.end() for m in _PG_START.finditer(flat, 0, head_limit)]
        if not ends:
            ends = [m.end() for m in _PG_SMALL_PRINT_END.finditer(flat, 0, head_limit)][:1]
        header_end = max(ends) if ends else self._gutenberg_title_block(flat, head_limit)
        if header_end is not None and not _pg_dense(flat, 0, header_end):
            header_end = None  # a marker after the book (a short e-text's small print at its end)
        # 3. an old small print set after the book also opens the footer
        m = _PG_SMALL_PRINT_START.search(flat, max(tail_start, header_end or 0), footer_at)
        if m and _pg_dense(flat, m.start(), n):
            footer_at = m.start()
        if header_end is not None and "gutenberg_header" in want:
            page_end = _next_page_start(starts, header_end, n) - 1
            header_end = _after_credits(flat, header_end, min(page_end, footer_at))
            add(0, header_end, "gutenberg_header")
        if footer_at < n and "gutenberg_footer" in want:
            add(_line_start(flat, footer_at), n, "gutenberg_footer")

    @staticmethod
    def _gutenberg_title_block(flat: str, limit: int) -> int | None:
        """End of a header without START marker: the title line and the metadata block after it."""
        m = _PG_TITLE.match(flat, 0, min(limit, 2000))
        if not m:
            return None
        end = m.end()
        for f in _PG_META.finditer(flat, end, min(limit, end + 6000)):
            if f.start() - end > 1500:  # the metadata block is contiguous
                break
            end = f.end()
        return end

    # ------------------------------------------------------------------ Google
    def _google(self, flat: str, head_end: int, tail_start: int, add) -> None:
        n = len(flat)
        regions = [(0, n)] if tail_start <= head_end else [(0, head_end), (tail_start, n)]
        for lo, hi in regions:
            if flat.find("oogle", lo, hi) < 0 and flat.find("OOGLE", lo, hi) < 0:  # (no slice copies)
                continue
            pos = lo
            while True:
                m = _GOOGLE_START.search(flat, pos, hi)
                if not m:
                    break
                start = _line_start(flat, m.start())
                window_end = min(len(flat), start + _GOOGLE_MAX)
                end = None
                u = _GOOGLE_URL.search(flat, m.end(), window_end)
                if u:
                    end = _line_end(flat, u.end())
                else:
                    mission = _GOOGLE_MISSION.search(flat, m.end(), window_end)
                    if mission:
                        pe = _PARA_END.search(flat, mission.end(), window_end)
                        end = pe.start() if pe else None
                if end is None or flat[start:end].lower().count("google") < 2:
                    pos = m.end()
                    continue
                start = _google_logo_above(flat, start)
                add(start, end, "google")
                pos = end

    # ------------------------------------------------------------------ Internet Archive
    def _internet_archive(self, flat: str, add) -> None:
        for s, e, _ in _from_line_starts(_IA_MADE_AVAILABLE, flat):
            add(s, e, "internet_archive")
        for s, e, _ in _from_line_starts(_IA_ANCHOR, flat):
            if e - s > 250:  # not a stamp: the phrase inside running text
                continue
            add(s, _ia_block_end(flat, e), "internet_archive")
        for s, e, _ in _from_line_starts(_IA_URL_LINE, flat):
            add(s, e, "internet_archive")


# ====================================================================== helpers
_AFTER_NEWLINE: dict[re.Pattern, re.Pattern] = {}


def _from_line_starts(pattern: re.Pattern, flat: str) -> list[tuple[int, int, re.Match]]:
    """The matches of a ``^``-anchored MULTILINE ``pattern`` in ``flat``, exactly as
    ``pattern.finditer(flat)`` finds them, as ``(start, end, match)``.

    Speed: ``re`` tries a ``^`` pattern at every position of the text; the same pattern behind a
    literal ``"\\n"`` is only tried after the newlines (found by a fast literal scan), ~4x
    faster on a book. A match at position 0 is looked for with the pattern itself; the match
    objects of the others start at their ``"\\n"`` (``start`` does not).
    """
    after_newline = _AFTER_NEWLINE.get(pattern)
    if after_newline is None:
        if not pattern.pattern.startswith("^") or not pattern.flags & re.MULTILINE:
            raise ValueError(f"not a ^-anchored multi-line pattern: {pattern.pattern[:40]!r}")
        after_newline = _AFTER_NEWLINE[pattern] = re.compile("\n" + pattern.pattern[1:], pattern.flags)
    found = []
    pos = 0
    m = pattern.match(flat)
    if m:
        found.append((m.start(), m.end(), m))
        pos = m.end()
    found.extend((m.start() + 1, m.end(), m) for m in after_newline.finditer(flat, pos))
    return found


def _page_starts(pages: list[str]) -> list[int]:
    starts, pos = [], 0
    for p in pages:
        starts.append(pos)
        pos += len(p) + 1
    return starts


def _next_page_start(starts: list[int], pos: int, n: int) -> int:
    i = bisect_right(starts, pos)
    return starts[i] if i < len(starts) else n + 1


def _after_credits(flat: str, pos: int, limit: int) -> int:
    """Extend a Gutenberg header over the production credit / encoding note that follow it."""
    for _ in range(3):
        p0 = pos + 1 if pos < len(flat) and flat[pos] == "\n" else pos
        m = _BLANK_LINES.match(flat, p0)
        p = m.end() if m else p0
        if p >= limit:
            break
        pe = _PARA_END.search(flat, p, min(limit + 1, p + _PG_CREDIT_MAX + 2))
        para_end = pe.start() if pe else (limit if limit - p <= _PG_CREDIT_MAX else None)
        if para_end is None:
            break
        para = flat[p:para_end]
        if para.lstrip().startswith("[") and "]" not in para:  # a bracketed note of several paragraphs
            close = flat.find("]", para_end, min(limit, p + _PG_CREDIT_MAX))
            if close == -1:
                break
            para_end = _line_end(flat, close)
            para = flat[p:para_end]
        if not (_PG_CREDIT.match(para) or _PG_ENCODING_NOTE.match(para)):
            break
        pos = para_end
    return pos


def _google_logo_above(flat: str, start: int) -> int:
    """Include the ``Google`` logo line printed above the notice (up to 4 blank lines above)."""
    pos, blank = start, 0
    while pos > 0 and blank <= 4:
        ls = _line_start(flat, pos - 1)
        line = flat[ls : pos - 1]
        if not line.strip():
            blank += 1
            pos = ls
            continue
        return ls if _GOOGLE_LOGO.fullmatch(line.strip()) else start
    return start


def _ia_block_end(flat: str, pos: int) -> int:
    """End of an Internet Archive stamp whose anchor line ends at ``pos``.

    Follows the year, ``with funding from`` and funder lines, blank lines and short OCR noise
    up to the ``archive.org/details`` address. Blank and noise lines count only when a real part
    of the stamp follows them; funder lines (at most 3) only when a blank line or the address
    follows them, so that a title page set right under the stamp is never taken for a funder.
    """
    end = cur = pos
    funder_end = None  # end of the funder lines read so far, not yet confirmed
    funder_lines = -1  # >= 0: reading the funder's name
    limit = min(len(flat), pos + _IA_MAX_CHARS)
    seen = 0
    while cur < limit and seen < _IA_MAX_LINES:
        ls = cur + 1
        if ls >= len(flat):  # the end of the text is not a blank line
            break
        le = _line_end(flat, ls)
        line = flat[ls:le]
        cur = le
        s = line.strip()
        if not s:
            if funder_end is not None:
                end, funder_end = funder_end, None
            if funder_lines > 0:  # a blank line after the funder's name ends it
                funder_lines = -1
            continue
        if _IA_URL_LINE.fullmatch(line):
            return le
        seen += 1
        if funder_lines >= 0:
            if funder_lines < 3 and len(s) <= 100:
                funder_lines += 1
                funder_end = le
                continue
            break
        y = _IA_YEAR.fullmatch(s)
        if y:
            end = le
            funder_lines = 0 if y.group("funding") else -1
            continue
        if _IA_FUNDING.fullmatch(s):
            end, funder_lines = le, 0
            continue
        if len(s) <= 8 and _IA_NOISE.fullmatch(s):
            continue
        break
    return end


_PG_WORDS = re.compile(r"gutenberg|e-?texts?\b|e-?books?\b|small\s+print", _I)


def _has_pg_words(text: str, lo: int = 0, hi: int | None = None) -> bool:
    """``text[lo:hi]`` names Project Gutenberg or its small print (searched in place, no copy)."""
    return any(text.find(word, lo, hi) >= 0 for word in ("utenberg", "UTENBERG", "SMALL PRINT"))


def _pg_dense(flat: str, start: int, end: int) -> bool:
    """Is ``flat[start:end]`` Gutenberg boilerplate rather than a book with a marker at its end?

    Headers and licences name Project Gutenberg, e-texts or the small print about every few
    hundred characters; a book does not.
    """
    if end - start <= 2000:
        return True
    hits = sum(1 for _ in _PG_WORDS.finditer(flat, start, end))
    return hits * 1000 >= end - start


def _maybe_hathi(flat: str) -> bool:
    return "athitrust" in flat or "athiTrust" in flat or "ATHITRUST" in flat or "andle.net" in flat or "andle .net" in flat
