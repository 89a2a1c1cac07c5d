"""Text preparation shared by training, evaluation and scoring: normalise, then cut into chunks.

A quality classifier must see the same kind of text when it is trained and when it scores, and
it must not learn *layout* instead of *text*. Clean transcriptions and raw OCR differ in many
ways that say nothing about the quality of the words: hard-wrapped lines vs long lines, form
feeds between pages, curly vs straight quotes, blank-line page breaks. :func:`normalise_text`
removes those differences before anything else sees the text:

* Unicode NFKC (ligatures ``ﬁ`` -> ``fi``, full-width forms, compatibility spaces);
* typographic quotes and apostrophes (``‘ ’ “ ” „ « » ‹ ›``) -> ``'`` and ``"``; dashes and
  minus signs -> ``-``; the ellipsis character -> ``...``;
* every run of whitespace (line breaks, page breaks ``\\f``, tabs) -> one space.

What remains is the characters and words themselves, which is what OCR noise damages.

Books are far longer than a useful classifier input, so they are cut into chunks of about
``chunk_chars`` characters at word boundaries (:func:`chunk_text`). Training uses up to
``max_chunks`` chunks per book as examples; scoring samples up to ``max_chunks`` evenly spaced
chunks, so the cost per book is bounded and long books are as cheap as short ones.
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_CHAR_MAP = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2039": '"', "\u203a": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00ad": "",  # soft hyphen: invisible
    "\u2026": "...",
    "\ufeff": "",  # byte-order mark
})


def normalise_text(text: str) -> str:
    """Layout- and typography-neutral text: NFKC, plain quotes and dashes, single spaces."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    return _WS.sub(" ", text).strip()


def _starts(n: int, size: int, max_chunks: int) -> list[int]:
    """Start offsets of consecutive windows of ``size`` over ``n`` characters, evenly subsampled."""
    if n <= size:
        return [0]
    count = -(-n // size)  # ceil: every character is in one window
    starts = [i * size for i in range(count)]
    if max_chunks and count > max_chunks:
        step = count / max_chunks
        starts = [starts[int(i * step)] for i in range(max_chunks)]
    return starts


def chunk_text(text: str, chunk_chars: int = 1000, max_chunks: int = 0, min_chars: int = 200) -> list[str]:
    """Normalised chunks of about ``chunk_chars`` characters, cut at word boundaries.

    The book is cut into consecutive windows of ``chunk_chars`` raw characters; when there are
    more than ``max_chunks`` (0: no limit) an evenly spaced subset is kept, so a sample covers
    the whole book. Each window is moved to start after the first space within its first 50
    characters and to end before the last space (no half words), then normalised with
    :func:`normalise_text`; windows shorter than ``min_chars`` after that are dropped (a nearly
    empty page says nothing). A book shorter than ``min_chars`` in total gives one chunk if it has
    any text at all, so that short books are still scored.
    """
    if chunk_chars <= 0:
        raise ValueError(f"chunk_chars must be positive, not {chunk_chars}")
    n = len(text)
    out: list[str] = []
    for s in _starts(n, chunk_chars, max_chunks):
        end = min(s + chunk_chars, n)
        piece = text[s:end]
        if s > 0:
            cut = piece.find(" ", 0, 50)
            if cut >= 0:
                piece = piece[cut + 1:]
        if end < n and not text[end].isspace():
            cut = piece.rfind(" ", max(len(piece) - 50, 0))
            if cut > 0:
                piece = piece[:cut]
        piece = normalise_text(piece)
        if len(piece) >= min_chars:
            out.append(piece)
    if not out:
        whole = normalise_text(text[: chunk_chars * 2])
        if whole:
            out.append(whole[:chunk_chars])
    return out


__all__ = ["chunk_text", "normalise_text"]
