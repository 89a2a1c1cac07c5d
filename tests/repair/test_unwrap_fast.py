"""The whole-book numpy path of ``unwrap_lines`` equals the straightforward page -> block -> line
algorithm (written out below as it was before the fast path), on crafted edge cases of every
pre-check (list items, contents lines, closers, openers, capitals, hyphens, non-BMP characters,
lone surrogates, indents, runs of blanks), on random books made of them, and on real books."""

from __future__ import annotations

import random

import numpy as np
import pytest

import finebooks.repair.unwrap as unwrap_module
from finebooks.repair.unwrap import (
    _CLOSERS,
    _DIGITS,
    _HYPHEN_END,
    _LIST_START,
    _NUMBER_END,
    _OPENING_QUOTES,
    _SUSPENSION_WORDS,
    _VERY_SHORT,
    LineUnwrapper,
    _ends_in_number,
    _ends_sentence,
    _is_contents_line,
    _is_list_item,
    _starts_capital,
)


# ------------------------------------------------------------------------------ reference
class _Reference(LineUnwrapper):
    """unwrap_lines as a loop over pages, blocks and lines (the code before the fast path)."""

    def repair_pages(self, pages, doc):
        split = []
        book_lengths = []
        for page in pages:
            lines, indents = [], []
            for raw in page.split("\n"):
                line = raw.strip()
                if "  " in line or "\t" in line:
                    line = " ".join(line.split())
                lines.append(line)
                indents.append(len(raw) - len(raw.lstrip()) if raw[:1] in (" ", "\t") else 0)
            split.append((lines, indents))
            book_lengths.extend(len(ln) for ln in lines if ln)
        book_width = self._ref_width(book_lengths) if book_lengths else 0
        out, joined, paragraphs = [], 0, 0
        for lines, indents in split:
            text, j, p = self._ref_page(lines, indents, book_width)
            out.append(text)
            joined += j
            paragraphs += p
        if joined:
            self.note(doc, "lines_joined", joined)
        if paragraphs:
            self.note(doc, "paragraphs", paragraphs)
        return out

    def _ref_width(self, lengths):
        lengths = sorted(lengths)
        return lengths[int(self.width_percentile * (len(lengths) - 1))]

    def _ref_page(self, lines, indents, book_width):
        lengths = [len(ln) for ln in lines if ln]
        if not lengths:
            return "", 0, 0
        if max(lengths) > self.max_line_length:
            lengths = [n for n in lengths if n <= self.max_line_length] or lengths
        width = self._ref_width(lengths) if len(lengths) >= self.min_page_lines else max(book_width, max(lengths))
        short = self.short_line_ratio * width
        paragraphs, n_joined, start = [], 0, None
        for i in range(len(lines) + 1):
            if i < len(lines) and lines[i]:
                if start is None:
                    start = i
                continue
            if start is not None:
                n_joined += self._ref_block(lines[start:i], indents[start:i], short, paragraphs)
                start = None
        return "\n\n".join(paragraphs), n_joined, len(paragraphs)

    def _ref_kept(self, block, short):
        n = len(block)
        if n < 3:
            return None
        if sum(1 for ln in block if len(ln) > self.max_line_length) * 3 >= n:
            return "lines"
        if n >= self.verse_min_lines:
            capitals = sum(1 for ln in block[1:] if ln[0].isupper() or (not ln[0].isalpha() and _starts_capital(ln)))
            if capitals >= self.verse_capital_share * (n - 1):
                return "verse"
        if sum(1 for ln in block if len(ln) < short * _VERY_SHORT) >= self.short_block_share * n:
            return "lines"
        numbered = [ln for ln in block if ln[-1] in _NUMBER_END]
        if len(numbered) < 0.5 * n:
            return None
        numbered = sum(1 for ln in numbered if _ends_in_number(ln) or _is_contents_line(ln))
        return "lines" if numbered >= 0.5 * n else None

    def _ref_block(self, block, indents, short, paragraphs):
        kept = self._ref_kept(block, short)
        if kept == "verse":
            paragraphs.append(self.kept_line_separator.join(block))
            return 0
        if kept == "lines":
            paragraphs.extend(block)
            return 0
        very_short = short * _VERY_SHORT
        parts, n_joined = [block[0]], 0
        for k in range(1, len(block)):
            prev, line = block[k - 1], block[k]
            prev_upper = len(prev) > 2 and prev.isupper()
            upper = len(line) > 2 and line.isupper()
            if (
                len(prev) > self.max_line_length or len(line) > self.max_line_length
                or upper != prev_upper
                or (prev[-1] in _DIGITS and _is_contents_line(prev))
                or _is_list_item(line)
                or (len(prev) < short and (_ends_sentence(prev)
                                           or (_starts_capital(line) and (len(prev) < very_short or prev_upper))))
                or (indents[k] > indents[k - 1] + 1 and _ends_sentence(prev))
                or (self.quote_starts_paragraph and line[0] in _OPENING_QUOTES and _ends_sentence(prev))
            ):
                paragraphs.append("".join(parts))
                parts = [line]
            else:
                n_joined += 1
                if len(prev) > 1 and prev[-1] in _HYPHEN_END and prev[-2].isalpha() \
                        and line.split(None, 1)[0].lower() not in _SUSPENSION_WORDS:
                    parts.append(line)
                else:
                    parts += [" ", line]
        paragraphs.append("".join(parts))
        return n_joined


CONFIGS = [
    {},
    {"kept_line_separator": "\n\n", "quote_starts_paragraph": False, "max_line_length": 90},
    {"min_page_lines": 2, "short_line_ratio": 0.6, "width_percentile": 0.5, "verse_min_lines": 3},
    {"kept_line_separator": " / ", "short_block_share": 0.3, "verse_capital_share": 0.5},
]


def _assert_same(pages: list[str], **params) -> None:
    fast, ref = LineUnwrapper(**params), _Reference(**params)
    got, want = fast.repair_pages(list(pages), None), ref.repair_pages(list(pages), None)
    assert got == want, (params, pages)
    stats = {k: v.total for k, v in fast.stats.stats.items()}
    ref_stats = {k: v.total for k, v in ref.stats.stats.items()}
    assert stats == ref_stats, (params, pages)


# ------------------------------------------------------------------------------ crafted lines
LINES = [
    # prose, capitals, headings
    "the quick brown fox jumps over the lazy dog and keeps on running far",
    "and then it came back again to the same place where it had started.",
    "It was a dark and stormy night; the rain fell in torrents except at",
    "CHAPTER II", "THE END.", "BY", "A", "AB", "ABC", "'TIS TRUE", "ΣΟΦΙΑ", "İSTANBUL", "ǅemal ǅ",
    "Straße", "ß", "ABCª", "ªBC", "Ⅳ. Roman", "Ⓐ circled", "MR. SMITH'S", "1850", "\u00bbNon\u00ab",
    # closers and openers
    'He said."', "He said.\u201d)", "end.\u2019\u201d", '"', '."', 'word)"', "x.*", "Why?)", "a)", ")",
    '"Hello there', "\"'Tis so", "\u00abNon, dit-il", '("A', "\u201c1850 was", "\u201eJa", "'quoted", "(",
    '""', '" "', "\u2014 Yes, sir.", "\u2014", "\u201c\u2018Well", '"a', '"1',
    # list items and near misses
    "1. one", "12) two", "(a) three", "a) four", "iv. five", "xiii. six", "viii. seven", "\u2022 bullet",
    "- dash", "\u2013 en", "\u2014 em", "* star", "(iv) x", "(abcd) y", "1.\u00a0nbsp", "a)\u00a0b c",
    "a.b c", "i.e. that is", "v. the", "ix.  double", "123. x", "1234. not", "a) ", "x) y", "(1) z",
    "xiv. too long", "ii.x", "i.", "1.", "•", "-", "(a)", "b)c", "iv.\tv", "e.g.  so", "(a)\u2003b",
    # contents lines and numbers
    "Chapter I . . . . . 12", "Preface.......... 5", "Index     123", "Year 1850", "The 12345",
    "... 1\u06632", "x . . .\u00a012", "1", "12", "a 1", "page . 5", "Chapter IV", "part civil.",
    "see p. 12.", "vol. ix", "Contents . . 1999", "Notes ...\u200912", ". . . 7", "..7", "a..12", "\u0663",
    "line ending 5", "\u00a012", "x\u00a0\u00a0\u00a012",
    # hyphens and dashes
    "well-", "word\u2014", "Ein-", "und so weiter", "oder auch", "x-", "1-", "--", "a-", "known", "-",
    "Anglo-", "Saxon times", "de\u2010", "\u00e9t\u00e9=", "et le reste", "or not",
    # non-BMP, surrogates, controls, blanks inside
    "\U0001d400bc upper math", "a\U0001d400", "\U0001d400", "\U0001d41a lower math", "\ud800abc", "abc\udfff",
    "tab\tinside", "two  spaces", "nb\u00a0sp", "vt\x0binside", "fs\x1cinside", "x\u2028y", "\x85next",
    "x" * 161, "long " * 40, "y" * 160,
]


def _random_book(rng: random.Random) -> list[str]:
    indents = ["", "", "", " ", "  ", "   ", "\t", " \t", "\u00a0", "\u3000"]
    pages = []
    for _ in range(rng.randint(1, 8)):
        lines = []
        for _ in range(rng.choice([0, 1, 2, 4, 8, 15, 30])):
            r = rng.random()
            if r < 0.12:
                lines.append(rng.choice(["", "", " ", "\t", "\u00a0", "  "]))
                continue
            line = rng.choice(LINES) if r < 0.7 else LINES[rng.randrange(3)][: rng.randint(1, 70)]
            trail = rng.choice(["", "", "", " ", "\t", "\r"])
            lines.append(rng.choice(indents) + line + trail)
        pages.append("\n".join(lines))
    return pages


def test_every_crafted_line_alone_and_in_pairs():
    for a in LINES:
        _assert_same([a])
        _assert_same([f"{a}\n{LINES[0]}\n{a}\n{a}\n{LINES[1]}"])
    rng = random.Random(1)
    for _ in range(300):
        block = "\n".join(rng.choice(LINES) for _ in range(rng.randint(2, 6)))
        _assert_same([block, "", block])


@pytest.mark.parametrize("params", CONFIGS)
def test_random_books_match_the_reference(params):
    rng = random.Random(7)
    for _ in range(150):
        _assert_same(_random_book(rng), **params)


def test_edge_books():
    _assert_same([""])
    _assert_same(["", "", ""])
    _assert_same([" \n\t\n", "\n\n"])
    _assert_same(["", "One line only.", ""])
    _assert_same(["a\fb\nc\fd", "e"])  # a "\f" inside a page (direct call): pages stay apart
    _assert_same(["\ud800\ud800\n\udc00x"])  # lone surrogates survive the UTF-32 round trip
    verse = ("Tyger Tyger, burning bright,\nIn the forests of the night;\n"
             "What immortal hand or eye,\nCould frame thy fearful symmetry?")
    for params in CONFIGS:
        _assert_same([verse, verse + "\n\n" + verse], **params)


def test_character_classes_match_str_methods():
    codes = np.array([0, 9, 32, 46, 65, 97, 0xDF, 0x1C5, 0x2160, 0xD800, 0xFFFF, 0x1D400, 0x1D41A, 0x10FFFF],
                     np.uint32)
    got = unwrap_module._char_classes(codes)
    for code, bits in zip(codes.tolist(), got.tolist()):
        c = chr(code)
        assert bool(bits & unwrap_module._C_ALPHA) == c.isalpha(), hex(code)
        assert bool(bits & unwrap_module._C_UPPER) == c.isupper(), hex(code)
        assert bool(bits & unwrap_module._C_LOWER) == c.islower(), hex(code)
        assert bool(bits & unwrap_module._C_ISDIGIT) == c.isdigit(), hex(code)
        assert bool(bits & unwrap_module._C_CLOSER) == (c in _CLOSERS), hex(code)
        assert bool(bits & unwrap_module._C_LIST_START) == (c in _LIST_START), hex(code)


def test_pre_checks_keep_every_match():
    """The code-point pre-checks may only add candidates: every line the regular expressions accept
    is among them (crafted lines and a sweep of short strings over the relevant characters)."""
    rng = random.Random(3)
    alphabet = "1a(i)v.x \u00a0\t-\u2022IVX*\u0663"
    lines = list(LINES) + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(4000)]
    lines = [" ".join(ln.split()) for ln in lines if ln.strip()]
    joined = "\n".join(lines)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
    n = np.array([len(ln) for ln in lines])
    starts = np.concatenate(([0], np.cumsum(n[:-1] + 1)))
    ends = starts + n - 1
    first = unwrap_module._char_classes(codes[starts])
    last = unwrap_module._char_classes(codes[ends])
    maybe_list = set(unwrap_module._maybe_list_items(codes, starts, first).tolist())
    maybe_contents = set(unwrap_module._maybe_contents_lines(codes, ends, last).tolist())
    n_list = n_contents = 0
    for k, line in enumerate(lines):
        if _is_list_item(line):
            n_list += 1
            assert k in maybe_list, line
        if line[-1] in _DIGITS and _is_contents_line(line):
            n_contents += 1
            assert k in maybe_contents, line
    assert n_list > 50 and n_contents >= 5  # the sweep does reach both


def test_real_books_match_the_reference(shared_data):
    gold = sorted((shared_data / "gold").glob("*/*.txt"))[::9][:5]
    trove = sorted((shared_data / "raw_ocr" / "trove_nla_books").glob("*.txt"))[::60][:3]
    if not gold and not trove:
        pytest.skip("no gold or Trove books in the shared data")
    for path in gold + trove:
        text = path.read_text(encoding="utf-8", errors="replace")[:300_000]
        lines = text.split("\n")
        pages = text.split("\f") if "\f" in text else ["\n".join(lines[i:i + 40]) for i in range(0, len(lines), 40)]
        _assert_same(pages)
        _assert_same(pages, **CONFIGS[1])


def test_plain_books_take_the_short_way_and_match_the_reference():
    """Lines that need no strip() and no collapsing go through _plain_lines; the same output."""
    plain = [ln for ln in LINES if ln == ln.strip() and "  " not in ln and "\t" not in ln and "\r" not in ln]
    rng = random.Random(4)
    for params in CONFIGS:
        for _ in range(60):
            pages = ["\n".join(rng.choice(plain + ["", ""]) for _ in range(rng.choice([0, 1, 5, 20])))
                     for _ in range(rng.randint(1, 6))]
            n_lines = sum(p.count("\n") + 1 for p in pages)
            if any(p.strip() for p in pages):
                assert unwrap_module._plain_lines(pages, n_lines) is not None
            _assert_same(pages, **params)
    assert unwrap_module._plain_lines(["a \nb"], 2) is None  # a line to strip
    assert unwrap_module._plain_lines(["a  b\nc"], 2) is None  # a run of blanks
    assert unwrap_module._plain_lines(["a\fb", "c"], 2) is None  # a "\f" inside a page
