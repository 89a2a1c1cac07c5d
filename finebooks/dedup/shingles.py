"""OCR-tolerant word shingles, MinHash signatures and shingle samples, vectorised with numpy.

Two scans of one book differ by OCR noise (``tbe``/``the``, ``fuch``/``such``, ligatures, long-s,
hyphenated line ends, page numbers, punctuation read as dust), two releases of one e-text by
line wrapping and small corrections. The signature must see past that and still tell books apart:

* **normalisation** (:func:`normalise_words`): hyphenated line ends are joined
  (``exam-\\nple`` -> ``example``), text is lower-cased, long-s and ligatures are folded
  (``ſ``->``s``, ``ﬁ``->``fi``, ``æ``->``ae``...), accents are dropped (NFKD), and only runs of
  letters are kept: digits (page numbers, signatures, shelf marks) and punctuation never enter a
  shingle. Optionally (``fold_confusions``) the classic OCR confusions are folded into one letter
  class (``f``/``s`` for long-s read as f). One-letter tokens, mostly OCR dust, are dropped
  (``min_word_len``).
* **shingles** (:func:`shingle_hashes`): word ``n``-grams, hashed without a Python loop over
  words or n-grams (:func:`word_hashes_of_text`): the text becomes an array of code points (case,
  folds and NFKD applied in numpy for ASCII and once per distinct non-ASCII character, see
  :func:`_prepared_code_points`), letters are classified once per distinct code point, a word's hash is a polynomial
  over its code points taken from prefix sums (uint64 arithmetic, stable across processes),
  mixed with splitmix64; the n-gram hash is a polynomial over the word hashes, mixed again. The
  result is the sorted *set* of shingle hashes.
* **signature** (:func:`oph_signature`): one-permutation MinHash (Li, Owen & Zhang 2012) with
  optimal densification (Shrivastava 2017): each shingle is hashed once, its top bits choose one
  of ``K`` bins and the bin keeps the minimum of the low 32 bits. Two books agree on a bin with
  probability equal to their Jaccard similarity, as with ``K`` independent permutations, but the
  cost is O(shingles) instead of O(shingles x K) - the step that dominates datatrove's
  ``MinhashDedupSignature`` on long books (with its per-n-gram Python hashing and spaCy tokenizer).
* **band keys** (:func:`band_keys`): the ``rows`` values of each LSH band mixed into one uint64.
* **sample** (:func:`shingle_sample`): the shingles whose (independent) hash has its top ``s``
  bits zero, with ``s`` chosen per book so that about ``sample_size`` remain. Samples nest (a
  coarser rate keeps a subset of a finer one), so two books' samples are compared at the coarser
  rate; that estimates Jaccard *and* containment of the full shingle sets in O(sample), which is
  how candidate pairs are verified without quadratic work on long books.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_POLY = np.uint64(0x100000001B3)  # FNV prime: odd, spreads word hashes across the n-gram
EMPTY = np.uint64(0xFFFFFFFF + 1)  # larger than any 32-bit bin value: marks an empty bin

# (str.replace per pair: much faster than str.translate with a dict on long texts)
_FOLD = (
    ("ſ", "s"), ("ﬁ", "fi"), ("ﬂ", "fl"), ("ﬀ", "ff"), ("ﬃ", "ffi"), ("ﬄ", "ffl"), ("ﬅ", "st"), ("ﬆ", "st"),
    ("æ", "ae"), ("œ", "oe"), ("ß", "ss"), ("ĳ", "ij"), ("ꝛ", "r"), ("ı", "i"), ("ȷ", "j"),
    ("ø", "o"), ("ł", "l"), ("đ", "d"), ("ð", "d"), ("þ", "th"),
    ("\u00ad", ""),  # soft hyphen
)
_HYPHEN_BREAK = re.compile(r"[-¬\u2010\u2011][ \t\r\v]*[\n\f][ \t\r\v\n\f]*")
# the same for the ASCII hyphen only: a literal first character lets the regex engine skip ahead
_ASCII_HYPHEN_BREAK = re.compile(r"-[ \t\r\v]*[\n\f][ \t\r\v\n\f]*")
# the same, never crossing a page break (for hashing each page of a book in one pass)
_PAGE_HYPHEN_BREAK = re.compile(r"[-¬\u2010\u2011][ \t\r\v]*\n[ \t\r\v\n]*")
_ASCII_PAGE_HYPHEN_BREAK = re.compile(r"-[ \t\r\v]*\n[ \t\r\v\n]*")
_OTHER_HYPHENS = ("¬", "\u2010", "\u2011")
_COMBINING = re.compile(r"[\u0300-\u036f]")


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective, well-mixed uint64 -> uint64 hash (vectorised)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _C1
        x = x ^ (x >> np.uint64(27))
        x = x * _C2
        return x ^ (x >> np.uint64(31))


def _prepare(text: str, fold_confusions: bool, within_pages: bool = False) -> str:
    """String-level normalisation (all C-speed ``str`` methods): hyphen joins, case, folds, accents.

    ``within_pages``: a hyphen is joined only across a line end, never across a page break, and
    page breaks are kept, so each page of the result is exactly what ``_prepare`` makes of that
    page alone (every other step here is character-local; ``str.lower``'s final-sigma context
    stops at ``\f``, which is neither cased nor case-ignorable).
    """
    other_hyphens = not text.isascii() and any(h in text for h in _OTHER_HYPHENS)
    if other_hyphens:
        text = (_PAGE_HYPHEN_BREAK if within_pages else _HYPHEN_BREAK).sub("", text)
    elif "-" in text:
        text = (_ASCII_PAGE_HYPHEN_BREAK if within_pages else _ASCII_HYPHEN_BREAK).sub("", text)
    text = text.lower()
    if not text.isascii():
        for src, dst in _FOLD:
            if src in text:
                text = text.replace(src, dst)
        text = unicodedata.normalize("NFKD", text)  # accents become combining marks, dropped later
    if fold_confusions:  # long-s is read as f (``fuch``, ``faid``) in one scan and as s in another
        text = text.replace("f", "s")
    return text


def normalise_words(text: str, fold_confusions: bool = True, min_word_len: int = 2) -> list[str]:
    """The words of ``text`` after OCR-tolerant normalisation (see the module doc).

    The reference (string) form of what :func:`word_hashes_of_text` hashes, for tests and audits.
    """
    text = _COMBINING.sub("", _prepare(text, fold_confusions))
    words = "".join(c if c.isalpha() else " " for c in text).split()
    return [w for w in words if len(w) >= min_word_len]


def word_hash(word: str, seed: int = 0) -> int:
    """Hash of one normalised word, as :func:`word_hashes_of_text` computes it (reference)."""
    h = 0
    for k, ch in enumerate(word):
        h = (h + ord(ch) * pow(int(_BASE), k, 1 << 64)) % (1 << 64)
    return int(mix64(np.array([h ^ (seed * int(_GOLDEN)) % (1 << 64)], dtype=np.uint64))[0])


_BASE = np.uint64(0x100000001B3)          # odd, so it has an inverse modulo 2**64
_BASE_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_CHUNK = 1 << 20                           # code points per vectorised block (bounds memory on long books)
_POWERS: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_ALPHA: dict[int, bool] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n not in _POWERS:
        with np.errstate(over="ignore"):
            pw = np.cumprod(np.full(n + 1, _BASE, dtype=np.uint64))
            inv = np.cumprod(np.full(n + 1, _BASE_INV, dtype=np.uint64))
        pw = np.concatenate(([np.uint64(1)], pw[:-1]))
        inv = np.concatenate(([np.uint64(1)], inv[:-1]))
        _POWERS.clear()
        _POWERS[n] = (pw, inv)
    return _POWERS[n]


def _letters(cp: np.ndarray) -> np.ndarray:
    """Letter mask of lower-cased code points (non-ASCII looked up once per distinct code point)."""
    is_letter = (cp >= 97) & (cp <= 122)
    high = cp > 127
    if high.any():
        hi = cp[high]
        distinct = sorted_unique(hi)
        for c in distinct.tolist():
            if c not in _ALPHA:
                _ALPHA[c] = chr(c).isalpha()
        alpha = np.fromiter((_ALPHA[c] for c in distinct.tolist()), dtype=bool, count=len(distinct))
        is_letter[high] = alpha[np.searchsorted(distinct, hi)]
    return is_letter


def word_hashes_of_text(text: str, fold_confusions: bool = True, min_word_len: int = 2,
                        seed: int = 0) -> np.ndarray:
    """Stable uint64 hashes of the normalised words of ``text``, in order, without Python strings.

    The text becomes an array of code points; letters are classified once per distinct code
    point; a word's hash is a polynomial over its code points taken from prefix sums
    (``(H[end] - H[start]) * BASE**-start`` modulo 2**64), mixed with splitmix64. Equal to
    ``[word_hash(w) for w in normalise_words(text)]`` and several times faster.
    """
    return _hash_words(_prepared_code_points(text, fold_confusions), min_word_len, seed)[0]


def _code_points(text: str) -> np.ndarray:
    """uint32 code points of a prepared text, combining marks (accents after NFKD) dropped."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if not text.isascii():
        cp = cp[(cp < 0x300) | (cp > 0x36F)]
    return cp


_CHAR_MAP: dict[tuple[int, bool], tuple[int, ...]] = {}
_SIGMA = "\u03a3"  # the one character whose lower case depends on its neighbours (final sigma)


def _map_char(c: int, fold_confusions: bool) -> tuple[int, ...]:
    """What :func:`_prepare` (then the combining-mark drop) makes of one non-ASCII character."""
    key = (c, fold_confusions)
    if key not in _CHAR_MAP:
        t = chr(c).lower()
        for src, dst in _FOLD:
            t = t.replace(src, dst)
        t = unicodedata.normalize("NFKD", t)
        if fold_confusions:
            t = t.replace("f", "s")
        _CHAR_MAP[key] = tuple(ord(x) for x in t if not 0x300 <= ord(x) <= 0x36F)
    return _CHAR_MAP[key]


def _prepared_code_points(text: str, fold_confusions: bool, within_pages: bool = False) -> np.ndarray:
    """``_code_points(_prepare(text, ...))``, with case, folds and NFKD applied to code points.

    Only the hyphen joins run on the string. ASCII is lower-cased (and ``f`` folded) in numpy;
    each distinct non-ASCII character (about 1% of OCR'd book text) is mapped once through
    lower case, folds, NFKD and the accent drop (:func:`_map_char`, cached), instead of running
    ``str.lower``, the fold replacements and NFKD over the whole book. Every one of those steps
    is character-local (NFKD's canonical reordering only permutes combining marks, which are
    either dropped or non-letters), except the final sigma of ``str.lower``: a text holding a
    capital sigma takes the string path.
    """
    if not text.isascii() and _SIGMA in text:
        return _code_points(_prepare(text, fold_confusions, within_pages))
    other_hyphens = not text.isascii() and any(h in text for h in _OTHER_HYPHENS)
    if other_hyphens:
        text = (_PAGE_HYPHEN_BREAK if within_pages else _HYPHEN_BREAK).sub("", text)
    elif "-" in text:
        text = (_ASCII_PAGE_HYPHEN_BREAK if within_pages else _ASCII_HYPHEN_BREAK).sub("", text)
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    upper = (cp - np.uint32(65)) < np.uint32(26)
    v = cp + (upper.view(np.uint8) << np.uint8(5)).astype(np.uint32)
    if text.isascii():
        if fold_confusions:
            v[v == 102] = 115
        return v
    high = np.flatnonzero(cp > 127)
    hi = cp[high]
    distinct = sorted_unique(hi)
    maps = [_map_char(c, fold_confusions) for c in distinct.tolist()]
    lens = np.fromiter((len(m) for m in maps), dtype=np.intp, count=len(maps))
    k = np.searchsorted(distinct, hi)
    if fold_confusions:
        v[v == 102] = 115  # ASCII f (mapped characters are folded already)
    if (lens == 1).all():
        v[high] = np.fromiter((m[0] for m in maps), dtype=np.uint32, count=len(maps))[k]
        return v
    counts = np.ones(len(v), dtype=np.intp)
    counts[high] = lens[k]
    out = np.repeat(v, counts)
    out_start = (np.cumsum(counts) - counts)[high]
    table = np.zeros((len(maps), max(1, int(lens.max()))), dtype=np.uint32)
    for i, m in enumerate(maps):
        table[i, :len(m)] = m
    klen = lens[k]
    for j in range(table.shape[1]):
        sel = klen > j
        out[out_start[sel] + j] = table[k[sel], j]
    return out


def _hash_words(cp: np.ndarray, min_word_len: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(word hashes, start offset of each word in ``cp``) of an array of prepared code points."""
    out, out_starts = [], []
    n = len(cp)
    pos = 0
    seed_mix = np.uint64(seed * int(_GOLDEN) % (1 << 64))
    while pos < n:
        end = min(pos + _CHUNK, n)
        if end < n:  # cut after a non-letter so that no word is split between blocks
            block_letters = _letters(cp[end - 64:end]) if end - 64 > pos else None
            if block_letters is not None and not block_letters.all():
                end = end - 64 + int(np.flatnonzero(~block_letters)[-1]) + 1
        block = cp[pos:end]
        is_letter = _letters(block)
        edges = np.diff(is_letter.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        if min_word_len > 1:
            keep = (ends - starts) >= min_word_len
            starts, ends = starts[keep], ends[keep]
        if len(starts):
            pw, inv = _powers(_CHUNK)
            with np.errstate(over="ignore"):
                prefix = np.zeros(len(block) + 1, dtype=np.uint64)
                np.cumsum(block.astype(np.uint64) * pw[: len(block)], out=prefix[1:])
                wh = (prefix[ends] - prefix[starts]) * inv[starts]
            out.append(mix64(wh ^ seed_mix))
            out_starts.append(starts + pos)
        pos = end
    if not out:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp)
    return np.concatenate(out), np.concatenate(out_starts)


def word_hashes_of_pages(text: str, fold_confusions: bool = True, min_word_len: int = 2,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(word hashes of all pages, word-index bounds): the words of page ``i`` are
    ``hashes[bounds[i]:bounds[i + 1]]``, equal to ``word_hashes_of_text(page_i, ...)``.

    One vectorised pass over the whole book instead of one call per page (a hyphen at a page end
    is not joined to the next page, as when each page is hashed alone).
    """
    n_pages = text.count("\f") + 1
    cp = _prepared_code_points(text, fold_confusions, within_pages=True)
    wh, starts = _hash_words(cp, min_word_len, seed)
    breaks = np.flatnonzero(cp == 12)  # \f: never a letter, never removed by _prepare
    page_of_word = np.searchsorted(breaks, starts)
    bounds = np.searchsorted(page_of_word, np.arange(n_pages + 1))
    return wh, bounds


def ngram_hashes(wh: np.ndarray, n: int) -> np.ndarray:
    """Hashes of the word n-grams of a sequence of word hashes (a text shorter than n: one gram)."""
    if len(wh) == 0:
        return np.zeros(0, dtype=np.uint64)
    n = min(n, len(wh))
    m = len(wh) - n + 1
    acc = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            acc = acc * _POLY + wh[k:k + m]
    return mix64(acc ^ np.uint64(n))


def shingle_hashes(text: str, n_grams: int = 5, fold_confusions: bool = True, min_word_len: int = 2,
                   seed: int = 0) -> tuple[np.ndarray, int]:
    """(sorted distinct shingle hashes, number of words) of a text."""
    wh = word_hashes_of_text(text, fold_confusions, min_word_len, seed)
    return sorted_unique(ngram_hashes(wh, n_grams)), len(wh)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique`` for a 1-d array by sort + mask (numpy 2.4's ``np.unique`` is far slower here)."""
    if len(x) == 0:
        return x
    x = np.sort(x)
    keep = np.empty(len(x), dtype=bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def _seeded(shingles: np.ndarray, seed: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return mix64(shingles ^ (np.uint64(seed) * _GOLDEN))


def oph_signature(shingles: np.ndarray, num_hashes: int, seed: int = 1) -> np.ndarray:
    """One-permutation MinHash of a shingle set: ``num_hashes`` uint64 values (< 2**32).

    Returns an all-``EMPTY`` signature for an empty set (such a book has no signature).
    """
    sig = np.full(num_hashes, EMPTY, dtype=np.uint64)
    if len(shingles) == 0:
        return sig
    h = _seeded(shingles, seed)
    bins = ((h >> np.uint64(32)) * np.uint64(num_hashes)) >> np.uint64(32)
    np.minimum.at(sig, bins.astype(np.intp), h & np.uint64(0xFFFFFFFF))
    empty = np.flatnonzero(sig == EMPTY)
    if len(empty):  # optimal densification: an empty bin copies a non-empty bin chosen by a hash
        filled = sig.copy()
        for i in empty:  # few: only books with fewer shingles than bins have empty bins
            attempt = 0
            while True:
                probe = mix64(np.array([(seed << 32) ^ (int(i) << 12) ^ attempt], dtype=np.uint64))[0]
                j = int(probe % np.uint64(num_hashes))
                if sig[j] != EMPTY:
                    filled[i] = sig[j]
                    break
                attempt += 1
        sig = filled
    return sig


def band_keys(sig: np.ndarray, num_bands: int, rows: int, seed: int = 1) -> np.ndarray:
    """One uint64 key per LSH band: the band's ``rows`` signature values mixed together."""
    vals = sig[: num_bands * rows].reshape(num_bands, rows)
    with np.errstate(over="ignore"):
        key = np.full(num_bands, np.uint64(seed), dtype=np.uint64) * _GOLDEN + np.arange(num_bands, dtype=np.uint64)
        for r in range(rows):
            key = mix64(key ^ vals[:, r]) * _POLY
    return mix64(key)


def shingle_sample(shingles: np.ndarray, sample_size: int = 1024, seed: int = 7) -> tuple[np.ndarray, int]:
    """(sorted sample keys, sample bits s): the shingles whose sample hash has its top s bits zero.

    ``s`` is the largest value that keeps at least ``sample_size`` shingles (0: all of them).
    """
    g = np.sort(_seeded(shingles, seed))
    if len(g) <= sample_size:
        return g, 0
    s = int(np.floor(np.log2(len(g) / sample_size)))
    while s > 0:
        kept = g[: np.searchsorted(g, np.uint64(1) << np.uint64(64 - s))]
        if len(kept) >= sample_size:
            return kept, s
        s -= 1
    return g, 0


def anchors(shingles: np.ndarray, bits: int = 8, seed: int = 11) -> np.ndarray:
    """Shingles kept at one fixed global rate (1 / 2**bits): for containment (overlap) candidates."""
    g = _seeded(shingles, seed)
    return np.sort(g[g < (np.uint64(1) << np.uint64(64 - bits))])


def compare_samples(a: np.ndarray, sa: int, b: np.ndarray, sb: int) -> tuple[float, float, int]:
    """(Jaccard, containment of the smaller in the larger, sample union size) from two samples."""
    s = max(sa, sb)
    limit = np.uint64(1) << np.uint64(64 - s) if s > 0 else None
    if limit is not None:
        a = a[: np.searchsorted(a, limit)]
        b = b[: np.searchsorted(b, limit)]
    if len(a) == 0 or len(b) == 0:
        return 0.0, 0.0, len(a) + len(b)
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union, inter / min(len(a), len(b)), union


def lsh_probability(jaccard, num_bands: int, rows: int):
    """Probability that a pair with this Jaccard similarity shares at least one band."""
    j = np.asarray(jaccard, dtype=float)
    return 1.0 - (1.0 - j ** rows) ** num_bands
