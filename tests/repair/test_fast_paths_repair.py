"""The fast paths of the repair stages give exactly the output of the code they replaced.

``remove_running_heads``, ``dehyphenate`` and ``unwrap_lines`` were sped up (issue 9) with
changes that must not change a single character: inlined helpers, page-level shortcuts (no
indent/blank-run work on pages without them), a per-book memo of dehyphenation decisions, a
cheaper ``line_key``. The code they replaced is kept below as ``_Reference*`` classes and
``_reference_*`` functions (copied verbatim from the previous version of each method); the tests
run both on real Trove books (``shared_data``) and on the synthetic sample collection and
compare text, ``metadata`` (repair counts), stats and, for dehyphenation, every decision.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from datatrove.data import Document

import finebooks.repair.running_heads as rh_module
from finebooks.repair.dehyphenate import (
    _CANDIDATE,
    _FIRST_PART,
    _HYPHEN_OUT,
    _JOIN,
    _KEEP,
    _SECOND_PART,
    _WINDOW,
    Dehyphenator,
    _is_letter,
)
from finebooks.repair.lexicon import BookVocabulary, words
from finebooks.repair.running_heads import (
    _ITEM_MARK,
    _NON_LETTERS,
    _WORD_BREAK,
    RunningHeadRemover,
    _Cand,
    _noisy_number,
    parse_page_number,
)
from finebooks.repair.unwrap import (
    _DIGITS,
    _HYPHEN_END,
    _LIST_START,
    _OPENING_QUOTES,
    _SUSPENSION_WORDS,
    _VERY_SHORT,
    LineUnwrapper,
    _ends_sentence,
    _is_contents_line,
    _is_list_item,
    _is_upper,
    _starts_capital,
)

TROVE_EVERY = 25  # every 25th Trove book (sorted by name): 9 books of various sizes and layouts


# ------------------------------------------------------------------------------ references
class _ReferenceUnwrapper(LineUnwrapper):
    """unwrap_lines before the fast paths."""

    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        split = []
        book_lengths: list[int] = []
        for page in pages:
            lines, indents = [], []
            for raw in page.split("\n"):
                line = raw.strip()
                if line and ("  " in line or "\t" in line):
                    line = " ".join(line.split())
                lines.append(line)
                indents.append(len(raw) - len(raw.lstrip()) if raw[:1] in (" ", "\t") else 0)
            split.append((lines, indents))
            book_lengths.extend(len(ln) for ln in lines if ln)
        book_width = self._width(book_lengths) if book_lengths else 0
        out = []
        joined = paragraphs = 0
        for lines, indents in split:
            text, j, p = self._unwrap_page(lines, indents, book_width)
            out.append(text)
            joined += j
            paragraphs += p
        if joined:
            self.note(doc, "lines_joined", joined)
        if paragraphs:
            self.note(doc, "paragraphs", paragraphs)
        return out

    # ------------------------------------------------------------------ one page
    def _unwrap_page(self, lines: list[str], indents: list[int], book_width: int) -> tuple[str, int, int]:
        lengths = [len(ln) for ln in lines if ln]
        if not lengths:
            return "", 0, 0
        if max(lengths) > self.max_line_length:  # paragraphs on one line: not print lines
            lengths = [n for n in lengths if n <= self.max_line_length] or lengths
        width = self._width(lengths) if len(lengths) >= self.min_page_lines else max(book_width, max(lengths))
        short = self.short_line_ratio * width
        paragraphs: list[str] = []
        n_joined = 0
        start = None
        for i in range(len(lines) + 1):
            if i < len(lines) and lines[i]:
                if start is None:
                    start = i
                continue
            if start is not None:
                n_joined += self._unwrap_block(lines[start:i], indents[start:i], short, paragraphs)
                start = None
        return "\n\n".join(paragraphs), n_joined, len(paragraphs)

    def _unwrap_block(self, block: list[str], indents: list[int], short: float, paragraphs: list[str]) -> int:
        kept = self._kept_lines(block, short)
        if kept == "verse":
            paragraphs.append(self.kept_line_separator.join(block))
            return 0
        if kept == "lines":
            paragraphs.extend(block)
            return 0
        very_short = short * _VERY_SHORT
        long_line = self.max_line_length
        parts = [block[0]]
        n_joined = 0
        prev = block[0]
        prev_upper = _is_upper(prev)
        for k in range(1, len(block)):
            line = block[k]
            upper = _is_upper(line)
            if (
                len(prev) > long_line or len(line) > long_line  # already a paragraph per line
                or upper != prev_upper  # a heading in capitals starts or ends
                or (prev[-1] in _DIGITS and _is_contents_line(prev))
                or ((line[0] in _LIST_START or ")" in line[:6] or "." in line[:6]) and _is_list_item(line))
                or (len(prev) < short and (
                    _ends_sentence(prev)
                    # a capital after a short line: a heading or title-page line ("BY", "THE
                    # MERCHANT"), not any short line (German capitalises nouns; a line that gave
                    # its last word to a dehyphenated break above is short too)
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
                    parts.append(line)  # "well-" + "known", "word—" + "word"
                else:
                    parts.append(" ")
                    parts.append(line)
            prev, prev_upper = line, upper
        paragraphs.append("".join(parts))
        return n_joined


class _ReferenceDehyphenator(Dehyphenator):
    """dehyphenate before the fast paths (no decision memo, _is_letter called)."""

    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        text = "\f".join(pages)
        vocab = BookVocabulary(text) if self.use_book_vocabulary else None

        # --- find the breaks within pages (page breaks are \f, never matched) and at page ends
        found = []
        pos = 0
        for m in _CANDIDATE.finditer(text):
            s = m.start()
            if s <= pos or not _is_letter(text[s - 1]):
                continue
            window = text[max(pos, s - _WINDOW):s]
            parts = window.rsplit(None, 1)
            token = parts[-1] if parts else ""
            cut = s - len(window)
            if len(token) == len(window) and cut > pos and not text[cut - 1].isspace():
                continue  # a "word" longer than the window: not text
            first = _FIRST_PART.fullmatch(token)
            second = _SECOND_PART.match(m.group(1))
            if first is None or second is None:
                continue
            found.append((m, first["word"], second.group()))
        page_ends = self._page_ends(pages) if self.join_across_pages and len(pages) > 1 else []
        if not found and not page_ends:
            return pages
        lang = self.book_language(doc, text)
        counts = {_JOIN: 0, _KEEP: 0, "page": 0}

        # --- within pages
        out: list[str] = []
        pos = 0
        for m, word, second in found:
            s, end = m.start(), m.end()
            nxt = text[end:end + 1]
            hyphen = text[s]
            rest = bool(nxt) and nxt not in "\n\f\r"
            decision = self.decide(word, second, hyphen, lang, vocab, rest_of_line=rest)
            if self.trace is not None:
                page_start = text.rfind("\f", 0, s) + 1
                self.trace.append(
                    (text.count("\f", 0, s), text.count("\n", page_start, s), word, second, decision))
            if decision is None:
                continue
            counts[decision] += 1
            out.append(text[pos:s])
            if decision == _KEEP:
                out.append(_HYPHEN_OUT.get(hyphen, hyphen))
            out.append(m.group(1))
            if rest:
                out.append("\n")  # the rest of the second line stays on its line
            pos = end
        if out:
            out.append(text[pos:])
            pages = "".join(out).split("\f")

        # --- across pages
        for i, _, _ in page_ends:
            decision = self._join_page_end(pages, i, lang, vocab)
            if decision is not None:
                counts[decision] += 1
                counts["page"] += 1

        if counts[_JOIN]:
            self.note(doc, "joined", counts[_JOIN])
        if counts[_KEEP]:
            self.note(doc, "kept_hyphen", counts[_KEEP])
        if counts["page"]:
            self.note(doc, "page_joins", counts["page"])
        return pages


# running heads: _candidates before the cheap end-of-line test, with the old line_key and _grams
def _reference_line_key(line: str) -> str:
    """The matching key of a line: lower case, no digits / roman numerals / punctuation."""
    # tokens of one or two letters are too weak to match on, and are often a page number that
    # OCR read as letters ("io" for 10); a token made of roman digits only is a number
    return " ".join(t for t in _NON_LETTERS.sub(" ", line.lower()).split() if len(t) > 2 and t.strip("ivxlcdm"))


def _reference_grams(key: str) -> frozenset[str]:
    s = f" {key} "
    return frozenset(s[i : i + 3] for i in range(len(s) - 2))


class _ReferenceRunningHeadRemover(RunningHeadRemover):
    """remove_running_heads before the fast paths (module functions patched while it runs)."""

    def _candidates(self, pages: list[str]) -> tuple[list[_Cand], list[tuple[list[_Cand], list[_Cand]]]]:
        k = self.max_lines_from_edge
        cands: list[_Cand] = []
        by_page: list[tuple[list[_Cand], list[_Cand]]] = []
        for p, page in enumerate(pages):
            if not page.strip():
                by_page.append(([], []))
                continue
            lines = page.split("\n")
            top: list[int] = []
            for i, ln in enumerate(lines):
                if ln.strip():
                    top.append(i)
                    if len(top) == k:
                        break
            bottom: list[int] = []
            for i in range(len(lines) - 1, -1, -1):
                if lines[i].strip():
                    bottom.append(i)
                    if len(bottom) == k:
                        break
            # a line within reach of both edges belongs to the nearer one (ties: top)
            top_c, bot_c = [], []
            for r, i in enumerate(top):
                if i in bottom and bottom.index(i) < r:
                    continue
                top_c.append(_Cand(p, i, 0, r, lines[i]))
            for r, i in enumerate(bottom):
                if i in top and top.index(i) <= r:
                    continue
                bot_c.append(_Cand(p, i, 1, r, lines[i]))
            by_page.append((top_c, bot_c))
            cands.extend(top_c)
            cands.extend(bot_c)
        for c in cands:
            c.number = parse_page_number(c.text)
            if c.number is None:
                c.noisy = _noisy_number(c.text)
                # a footnote or a numbered item ("1. Reisen auf den ...", "* See ...") is text,
                # however often it cites the same source; so is a line broken by a hyphen
                if (len(c.text) <= self.max_head_chars and not _ITEM_MARK.match(c.text)
                        and not _WORD_BREAK.search(c.text)):
                    c.key = _reference_line_key(c.text)
        return cands, by_page


# ------------------------------------------------------------------------------ helpers
def _run(step, books: list[tuple[str, str, dict]]) -> tuple[list, dict]:
    """(text, metadata) of every book after ``step``, and the step's counters."""
    docs = [Document(text=text, id=book_id, metadata=dict(meta)) for text, book_id, meta in books]
    out = [(d.text, d.metadata) for d in step.run(iter(docs))]
    return out, {k: v.total for k, v in step.stats.stats.items() if k != "time"}


def _assert_same(new_step, ref_step, books) -> list[tuple[str, str, dict]]:
    """Run both steps on ``books``; assert identical output; return the output (for the next stage)."""
    new, new_stats = _run(new_step, books)
    ref, ref_stats = _run(ref_step, books)
    assert len(new) == len(ref) == len(books)
    for (text, meta), (ref_text, ref_meta), (_, book_id, _) in zip(new, ref, books):
        assert text == ref_text, f"{new_step.name}: text differs on {book_id}"
        assert meta == ref_meta, f"{new_step.name}: metadata differs on {book_id}"
    assert new_stats == ref_stats
    return [(text, book_id, meta) for (text, meta), (_, book_id, _) in zip(new, books)]


def _check_chain(books, monkeypatch) -> None:
    """remove_running_heads -> dehyphenate -> unwrap_lines, each against its reference."""
    assert books
    # remove_running_heads: the reference runs with the old module functions
    new_heads = RunningHeadRemover()
    new_out, new_stats = _run(new_heads, books)
    with monkeypatch.context() as m:
        m.setattr(rh_module, "line_key", _reference_line_key)
        m.setattr(rh_module, "_grams", _reference_grams)
        ref_out, ref_stats = _run(_ReferenceRunningHeadRemover(), books)
    assert new_out == ref_out and new_stats == ref_stats
    books = [(text, book_id, meta) for (text, meta), (_, book_id, _) in zip(new_out, books)]
    # dehyphenate: the same text and counts, and the same decision for every break
    new_dh, ref_dh = Dehyphenator(), _ReferenceDehyphenator()
    new_dh.trace, ref_dh.trace = [], []
    books = _assert_same(new_dh, ref_dh, books)
    assert new_dh.trace == ref_dh.trace
    assert any(d is not None for *_, d in new_dh.trace)  # the books had breaks to repair
    # unwrap_lines, with the default and with a non-default configuration
    _assert_same(LineUnwrapper(kept_line_separator="\n\n", quote_starts_paragraph=False, max_line_length=90),
                 _ReferenceUnwrapper(kept_line_separator="\n\n", quote_starts_paragraph=False, max_line_length=90),
                 books)
    _assert_same(LineUnwrapper(), _ReferenceUnwrapper(), books)


# ------------------------------------------------------------------------------ tests
def test_line_key_and_grams_match_the_reference():
    lines = ["THE HISTORY OF ENGLAND. 12", "  12  ", "Chap. IV. — Of the Ɵ ſtate", "l'été déjà", "x_y_z abc_def",
             "MDCCLXXVI", "über-all  Straße\tÆsop", "", "io 10 iv", "Ψυχή and ﬁsh", "a1b2c3 word3word",
             "ab abc abcd ab1cd_efg", "xiv xivx civic mix MIX Mix", "İstanbul ǅemal ΣΟΦΙΑ", "a\u0301bc de\u0301f"]
    for line in lines:
        assert rh_module.line_key(line) == _reference_line_key(line), line
        assert rh_module._grams(line) == _reference_grams(line), line


def test_lexicon_shares_one_word_list_with_normalise():
    import wordfreq

    from finebooks import wordlists
    from finebooks.repair import lexicon, normalise

    # one object per language for lexicon and normalise: loaded once per process, not twice
    assert lexicon._frequencies("en") is wordlists.frequencies("en")
    assert normalise._frequencies("en") is lexicon._frequencies("en")
    ref = wordfreq.get_frequency_dict("en", "best")
    assert len(lexicon._frequencies("en")) == len(ref)
    for word in ["the", "shoulder", "zymurgy", "ſhoulder", "notaword", "Straße", ""]:
        assert lexicon._frequencies("en").get(word) == ref.get(word), word


def test_fast_paths_match_reference_on_trove_books(shared_data, monkeypatch):
    from finebooks.readers.text import TroveTextReader

    folder = shared_data / "raw_ocr" / "trove_nla_books"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    names = sorted(p.name for p in folder.glob("*.txt"))[::TROVE_EVERY]
    books = []
    for name in names:
        for doc in TroveTextReader(str(folder), glob_pattern=name, metadata_file=None).run():
            books.append((doc.text, doc.id, dict(doc.metadata)))
    assert len(books) >= 8
    # one book read as German, one as Latin (no lexicon): other lexicons and the book-only path
    books.append((books[0][0], "as-de", {"language": "de"}))
    books.append((books[1][0], "as-la", {"language": "la"}))
    _check_chain(books, monkeypatch)


def test_fast_paths_match_reference_on_sample_collection(tmp_path, monkeypatch):
    from finebooks.engine import build_readers
    from finebooks.recipe import load_recipe
    from finebooks.sample import make_sample

    make_sample(tmp_path / "sample")
    recipe = load_recipe(Path(__file__).parents[2] / "recipes" / "default.yaml")
    recipe.input_root = str(tmp_path / "sample")
    recipe.output_path = str(tmp_path / "run")
    books = []
    for reader in build_readers(recipe, tmp_path / "run"):
        books += [(d.text, d.id, dict(d.metadata)) for d in reader.run()]
        with contextlib.suppress(Exception):
            reader.exclusion_writer.close()
    assert len(books) >= 30
    _check_chain(books, monkeypatch)


def _fuzz_books(n_books: int = 40, seed: int = 9) -> list[tuple[str, str, dict]]:
    """Synthetic books that hit the rare branches: indents of every width (spaces, tabs), runs of
    blanks, headings in capitals, verse, lists, contents lines, over-long lines, hyphens and dashes
    at line ends (before conjunctions too, the same break with and without text after it), soft
    hyphens, breaks across pages, running heads and page numbers, lines ending in a hyphen."""
    import random

    rng = random.Random(seed)
    vocab = sorted(words("the and of exam ple some thing well known sun dial Ein und oder Aus gang fall falling "
                         "Anglo Saxon Harrow dale un defined Mr. Smith said, “Yes.” — II. chapter 12 ſtate "
                         "l'exem où été Straße THE HISTORY OF ENGLAND (a) 1. • * word. end! why? to:"))
    heads = ["THE HISTORY OF ENGLAND.", "A VOYAGE ROUND THE WORLD", "Chap. IV. The Return",
             "A VOYAGE ROUND THE WOR\u00ac", "THE HISTORY OF ENG\u00ad", "OF THE KINGS AND QUEENS-"]
    ends = ["-", "-", "\u00ac", "\u00ad", "=", "\u2014", "", "", "", ".", ":", " 12", " . . . . 7"]
    books = []
    for b in range(n_books):
        lang = rng.choice([None, "en", "de", "fr", "la"])
        head = rng.choice(heads)
        pages = []
        for p in range(rng.randint(1, 12)):
            lines = []
            # pages indented with blanks and tabs, with tabs only, and not at all
            indents = rng.choice([["", "", "", " ", "  ", "   ", "    ", "\t", " \t", "\t\t", "\t  "],
                                  ["", "", "\t", "\t\t", "\t  "], [""]])
            if rng.random() < 0.7:
                lines.append(head if p % 2 else f"{p + 10}")
            for _ in range(rng.randint(0, 25)):
                r = rng.random()
                if r < 0.08:
                    lines.append("")
                    continue
                n_words = rng.choice([1, 2, 3, 8, 10, 12, 40] if r > 0.15 else [60])
                text = " ".join(rng.choice(vocab) for _ in range(n_words))
                if rng.random() < 0.2:
                    text = text.upper()
                if rng.random() < 0.15:
                    text = text.replace(" ", "  ", 1)
                if rng.random() < 0.1:
                    text += "\t" + rng.choice(vocab)
                indent = rng.choice(indents)
                lines.append(indent + text + rng.choice(ends))
            if rng.random() < 0.5:
                lines.append(rng.choice(["", "", "  "]) + str(p + 11))
            pages.append("\n".join(lines) + rng.choice(["", "\n", "\n\n", " \n"]))
        # the same break, with and without text after it on the next line
        pages.append("Ein-\nund Ausgang der Stadt.\nEin-\nund\nAusgang exam-\nple\nexam-\nple is here.")
        books.append(("\f".join(pages), f"fuzz{b}", {"language": lang} if lang else {}))
    return books


def test_fast_paths_match_reference_on_synthetic_edge_cases(monkeypatch):
    _check_chain(_fuzz_books(), monkeypatch)
