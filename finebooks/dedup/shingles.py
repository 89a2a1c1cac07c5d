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
  result is the sorted *set* of shingle hashes. For speed, a BMP text is handled as 16-bit code
  units with per-process lookup tables (:class:`_BmpMap`), and the book-sized temporaries live in
  reused work arrays (:func:`_scratch`): on these passes a fresh array's page faults cost more
  than the arithmetic. The values hashed are exactly those of the plain uint32 path.
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
import threading
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
    """Letter mask of lower-cased code points (non-ASCII looked up once per distinct code point).

    Used for uint32 code points (texts outside the BMP, or the final-sigma string path); 8- and
    16-bit code points take one lookup in :data:`_LETTER` (:func:`_letter_mask`).
    """
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


# Letter status of every BMP code unit that a prepared 8/16-bit array can hold: ASCII a-z (an
# ASCII capital can only come out of a compatibility mapping such as ℃ -> °C, and is no letter,
# as in :func:`_letters`), and every non-ASCII output of a mapping registered in :class:`_BmpMap`
# (filled when the mapping is registered, so every value of a prepared array is covered).
_LETTER = np.zeros(1 << 16, dtype=bool)
_LETTER[97:123] = True


class _BmpMap:
    """What :func:`_prepare` makes of each BMP code unit, as lookup tables (one per ``fold_confusions``).

    ``table[c]``: the prepared code unit of ``c`` when that is exactly one BMP code unit (ASCII:
    lower case and the f/s fold; a non-ASCII character once it is registered); ``multi[c]``: ``c``
    becomes zero or several code units (``ß`` -> ``ss``, a lone accent -> nothing), kept in
    ``expansions``; ``wide[c]``: its mapping leaves the BMP (the uint32 path takes such a text).
    Non-ASCII characters are registered lazily, once per process (:meth:`register`).
    """

    def __init__(self, fold_confusions: bool):
        self.fold = fold_confusions
        self.table = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        self.table[65:91] += 32
        if fold_confusions:
            self.table[[70, 102]] = 115
        self.known = np.zeros(1 << 16, dtype=bool)
        self.known[:128] = True
        self.multi = np.zeros(1 << 16, dtype=bool)
        self.wide = np.zeros(1 << 16, dtype=bool)
        self.expansions: dict[int, tuple[int, ...]] = {}

    def register(self, codes: np.ndarray) -> None:
        for c in sorted_unique(codes).tolist():
            m = _map_char(c, self.fold)
            if any(x > 0xFFFF for x in m):
                self.wide[c] = True
            elif len(m) == 1:
                self.table[c] = m[0]
            else:
                self.multi[c] = True
                self.expansions[c] = m
            for x in m:
                if 127 < x <= 0xFFFF:
                    _LETTER[x] = chr(x).isalpha()
            self.known[c] = True


_BMP_MAPS: dict[bool, _BmpMap] = {}


_SCRATCH = threading.local()
_SCRATCH_KEEP = 1 << 22  # work arrays up to this many elements are kept between calls (about 20
# bytes per character of the longest book seen, per thread; longer books get fresh arrays)


def _scratch(name: str, n: int, dtype) -> np.ndarray:
    """A per-thread work array of ``n`` elements (contents undefined), reused from call to call.

    Why: on this kind of code a fresh large array costs more than the arithmetic done in it (its
    pages are faulted in anew on every call: a fresh uint64 copy of a book is ~15x slower than
    the same copy into a reused array). Each name is one buffer: a caller must be done with a
    view before asking for the same name again.
    """
    dtype = np.dtype(dtype)
    if n > _SCRATCH_KEEP:
        return np.empty(n, dtype=dtype)
    buf = getattr(_SCRATCH, name, None)
    if buf is None or len(buf) < n or buf.dtype != dtype:
        buf = np.empty(min(_SCRATCH_KEEP, max(n + n // 4, 1 << 12)), dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:n]


def _letter_mask(cp: np.ndarray, out: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
    """Letter mask of prepared code points (any unsigned dtype) into ``out`` (bool, same length).

    8/16-bit: ASCII by arithmetic, the few non-ASCII code units looked up in :data:`_LETTER`
    (a full-size fancy index would first convert every code unit to a 64-bit index); ``high``:
    positions that hold every value above 127 (any order, a superset is fine), else found here.
    """
    if cp.dtype.itemsize > 2:
        out[:] = _letters(cp)
        return out
    n = len(cp)
    t = _scratch("letter_t", n, cp.dtype)
    np.subtract(cp, cp.dtype.type(97), out=t)
    np.less(t, 26, out=out)
    if high is None:
        high = np.flatnonzero(np.greater(cp, 127, out=_scratch("letter_g", n, bool)))
    hv = high
    if len(hv):
        out[hv] = _LETTER[cp[hv]]
    return out


def _lower_ascii(cp: np.ndarray, fold_confusions: bool, out: np.ndarray) -> np.ndarray:
    """``cp`` with ASCII capitals lower-cased (and ``f``/``F`` folded to ``s``) into ``out``.

    Non-ASCII code units come out unchanged or shifted (their caller overwrites them).
    """
    n = len(cp)
    t = _scratch("lower_t", n, cp.dtype)
    np.subtract(cp, cp.dtype.type(65), out=t)
    m = _scratch("lower_m", n, bool)
    np.less(t, 26, out=m)
    s8 = _scratch("lower_s", n, np.uint8)
    np.left_shift(m.view(np.uint8), np.uint8(5), out=s8)
    np.add(cp, s8, out=out)
    if fold_confusions:  # f (102) -> s (115) by arithmetic too: masked stores are slower here
        np.equal(out, 102, out=m)
        np.multiply(m.view(np.uint8), np.uint8(13), out=s8)
        np.add(out, s8, out=out)
    return out


def word_hashes_of_text(text: str, fold_confusions: bool = True, min_word_len: int = 2,
                        seed: int = 0) -> np.ndarray:
    """Stable uint64 hashes of the normalised words of ``text``, in order, without Python strings.

    The text becomes an array of code points; letters are classified once per distinct code
    point; a word's hash is a polynomial over its code points taken from prefix sums
    (``(H[end] - H[start]) * BASE**-start`` modulo 2**64), mixed with splitmix64. Equal to
    ``[word_hash(w) for w in normalise_words(text)]`` and several times faster (one difference:
    an ASCII capital that only a compatibility mapping makes, ``™`` -> ``TM``, ``℃`` -> ``°C``, is
    no letter here, a letter there).
    """
    cp, high = _prepared_units(text, fold_confusions)
    return _hash_words(cp, min_word_len, seed, high)[0]


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

    Only the hyphen joins run on the string. Each distinct non-ASCII character (about 1% of OCR'd
    book text) is mapped once through lower case, folds, NFKD and the accent drop
    (:func:`_map_char`, cached), instead of running ``str.lower``, the fold replacements and NFKD
    over the whole book. Every one of those steps is character-local (NFKD's canonical reordering
    only permutes combining marks, which are either dropped or non-letters), except the final
    sigma of ``str.lower``: a text holding a capital sigma takes the string path.

    The result holds the same values as that uint32 array, in the narrowest dtype that holds the
    text: uint8 for ASCII, uint16 for BMP text (almost every book: half the bytes of UTF-32 to
    encode and to scan, and the whole mapping is one lookup in a 64K table, :class:`_BmpMap`),
    uint32 only for text with characters outside the BMP (:func:`_wide_code_points`). The result
    may be a view of a reused work array (:func:`_scratch`): valid until the next call.
    """
    return _prepared_units(text, fold_confusions, within_pages)[0]


def _prepared_units(text: str, fold_confusions: bool, within_pages: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(:func:`_prepared_code_points`, positions that hold every value above 127 in it, or None).

    The positions (a superset is fine, in any order) let :func:`_letter_mask` classify the
    non-ASCII letters without another scan of the book.
    """
    if not text.isascii() and _SIGMA in text:
        return _code_points(_prepare(text, fold_confusions, within_pages)), None
    other_hyphens = not text.isascii() and any(h in text for h in _OTHER_HYPHENS)
    if other_hyphens:
        text = (_PAGE_HYPHEN_BREAK if within_pages else _HYPHEN_BREAK).sub("", text)
    elif "-" in text:
        text = (_ASCII_PAGE_HYPHEN_BREAK if within_pages else _ASCII_HYPHEN_BREAK).sub("", text)
    bmp = _BMP_MAPS.get(fold_confusions)
    if bmp is None:
        bmp = _BMP_MAPS[fold_confusions] = _BmpMap(fold_confusions)
    if text.isascii():
        cp = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        return _lower_ascii(cp, fold_confusions, _scratch("prepared8", len(cp), np.uint8)), np.zeros(0, np.intp)
    cp = np.frombuffer(text.encode("utf-16-le"), dtype=np.uint16)
    gt = _scratch("prepared_gt", len(cp), bool)
    np.greater(cp, 127, out=gt)
    high = np.flatnonzero(gt)
    hi = cp[high]
    if ((hi >= 0xD800) & (hi < 0xE000)).any():  # surrogates: characters outside the BMP
        return _wide_code_points(text, fold_confusions), None
    new = hi[~bmp.known[hi]]
    if len(new):
        bmp.register(new)
    if bmp.wide[hi].any():
        return _wide_code_points(text, fold_confusions), None
    v = _lower_ascii(cp, fold_confusions, _scratch("prepared16", len(cp), np.uint16))
    v[high] = bmp.table[hi]
    multi = bmp.multi[hi]
    if multi.any():
        return _expand(v, high[multi], hi[multi], bmp.expansions, _scratch, other_high=high[~multi])
    return v, high


def _expand(v: np.ndarray, pos: np.ndarray, codes: np.ndarray, expansions: dict[int, tuple[int, ...]],
            scratch=None, other_high: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(``v`` with the code unit at each of ``pos`` (sorted) replaced by ``expansions[codes[i]]``
    (zero or several code units), where ``other_high`` and the expansions went in it).

    A few per book (``ß``, ``œ``, ``™``...): the runs between them are copied slice by slice;
    when there are many, two boolean masks place the untouched code units and the expansions
    (no full-size index array either way). ``scratch``: :func:`_scratch` to build the result in a
    reused buffer, else a fresh array."""
    alloc = scratch or (lambda name, n, dtype: np.empty(n, dtype=dtype))
    distinct = sorted_unique(codes)
    maps = [expansions[c] for c in distinct.tolist()]
    lens = np.fromiter((len(m) for m in maps), dtype=np.intp, count=len(maps))
    k = np.searchsorted(distinct, codes)
    length = lens[k]                                  # code units each replaced one becomes
    growth = length - 1
    out_start = pos + (np.cumsum(growth) - growth)     # where each expansion starts in the output
    total = int(length.sum())
    n_out = len(v) + int(growth.sum())
    out = alloc("expand_out", n_out, v.dtype)
    within = np.arange(total) - np.repeat(np.cumsum(length) - length, length)
    epos = np.repeat(out_start, length) + within      # where each expansion's code units go
    if len(pos) * 256 < len(v):  # few: copy the runs between them
        src = dst = 0
        for p, n_units in zip(pos.tolist(), length.tolist()):
            out[dst:dst + p - src] = v[src:p]
            dst += p - src + n_units
            src = p + 1
        out[dst:] = v[src:]
    else:
        keep = alloc("expand_keep", len(v), bool)
        keep[:] = True
        keep[pos] = False
        dest = alloc("expand_dest", n_out, bool)
        dest[:] = True
        dest[epos] = False
        out[dest] = v[keep]  # (np.compress would first turn the mask into a full-size index array)
    if total:
        flat = np.fromiter((x for m in maps for x in m), dtype=v.dtype, count=int(lens.sum()))
        out[epos] = flat[np.repeat((np.cumsum(lens) - lens)[k], length) + within]
    if other_high is None:
        return out, None
    shift = np.concatenate(([0], np.cumsum(growth)))[np.searchsorted(pos, other_high)]
    return out, np.concatenate((other_high + shift, epos))


def _wide_code_points(text: str, fold_confusions: bool) -> np.ndarray:
    """uint32 prepared code points of a hyphen-joined text with characters outside the BMP (rare)."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    upper = (cp - np.uint32(65)) < np.uint32(26)
    v = cp + (upper.view(np.uint8) << np.uint8(5)).astype(np.uint32)
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
    single = lens[k] == 1
    v[high[single]] = np.fromiter((m[0] if len(m) == 1 else 0 for m in maps), dtype=np.uint32,
                                  count=len(maps))[k[single]]
    return _expand(v, high[~single], hi[~single], dict(zip(distinct.tolist(), maps)))[0]


def _mix64_(x: np.ndarray) -> np.ndarray:
    """:func:`mix64` in place (uint64 array ``x``, which it returns), one temporary instead of five."""
    t = _scratch("mix_t", len(x), np.uint64)
    with np.errstate(over="ignore"):
        np.right_shift(x, np.uint64(30), out=t)
        x ^= t
        x *= _C1
        np.right_shift(x, np.uint64(27), out=t)
        x ^= t
        x *= _C2
        np.right_shift(x, np.uint64(31), out=t)
        x ^= t
    return x


def _hash_words(cp: np.ndarray, min_word_len: int, seed: int,
                high: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(word hashes, start offset of each word in ``cp``) of an array of prepared code points
    (``high``: see :func:`_letter_mask`).

    Blocks of at most ``_CHUNK`` code points, cut after a non-letter among the last 64 (so that
    no word is split, unless 64 letters in a row meet the cut); in each, the prefix sums of
    ``cp[i] * BASE**i`` are made in one reused uint64 array (multiply into it, cumsum in place)
    and every word hash is ``(H[end] - H[start]) * BASE**-start``.
    """
    out, out_starts = [], []
    n = len(cp)
    pos = 0
    seed_mix = np.uint64(seed * int(_GOLDEN) % (1 << 64))
    padded = _scratch("hash_padded", n + 2, bool)  # the letter mask with a non-letter on each side
    padded[0] = padded[-1] = False
    letters = _letter_mask(cp, padded[1:-1], high)
    chunk = _CHUNK
    while pos < n:
        end = min(pos + chunk, n)
        if end < n and end - 64 > pos:  # cut after a non-letter so that no word is split between blocks
            tail = letters[end - 64:end]
            if not tail.all():
                end = end - 64 + int(np.flatnonzero(~tail)[-1]) + 1
        # word edges: where the block's letter mask, padded with a non-letter on both sides, changes
        before, after = padded[pos], padded[end + 1]
        padded[pos] = padded[end + 1] = False
        change = np.not_equal(padded[pos + 1:end + 2], padded[pos:end + 1],
                              out=_scratch("hash_change", end - pos + 1, bool))
        padded[pos], padded[end + 1] = before, after
        edges = np.flatnonzero(change)
        starts, ends = edges[0::2], edges[1::2]
        if min_word_len > 1:
            keep = (ends - starts) >= min_word_len
            starts, ends = starts[keep], ends[keep]
        if len(starts):
            pw, inv = _powers(chunk)
            block = cp[pos:end]
            with np.errstate(over="ignore"):
                prefix = _scratch("hash_prefix", len(block) + 1, np.uint64)
                prefix[0] = 0
                np.multiply(block, pw[: len(block)], out=prefix[1:])
                np.cumsum(prefix[1:], out=prefix[1:])
                wh = prefix[ends]
                tmp = np.take(prefix, starts, out=_scratch("hash_tmp", len(starts), np.uint64))
                wh -= tmp
                wh *= np.take(inv, starts, out=tmp)
            wh ^= seed_mix
            out.append(_mix64_(wh))
            out_starts.append(starts + pos if pos else starts)
        pos = end
    if not out:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp)
    if len(out) == 1:
        return out[0], out_starts[0]
    return np.concatenate(out), np.concatenate(out_starts)


def word_hashes_of_pages(text: str, fold_confusions: bool = True, min_word_len: int = 2,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(word hashes of all pages, word-index bounds): the words of page ``i`` are
    ``hashes[bounds[i]:bounds[i + 1]]``, equal to ``word_hashes_of_text(page_i, ...)``.

    One vectorised pass over the whole book instead of one call per page (a hyphen at a page end
    is not joined to the next page, as when each page is hashed alone).
    """
    n_pages = text.count("\f") + 1
    cp, high = _prepared_units(text, fold_confusions, within_pages=True)
    wh, starts = _hash_words(cp, min_word_len, seed, high)
    breaks = np.flatnonzero(np.equal(cp, 12, out=_scratch("pages_ff", len(cp), bool)))  # \f: never a letter,
    # never removed by _prepare. bounds[p] = the words before page p = the words that start before the
    # (p-1)-th break (a break is never a word start): one search per page, not one per word
    bounds = np.empty(n_pages + 1, dtype=np.intp)
    bounds[0] = 0
    k = min(len(breaks), n_pages)
    bounds[1:k + 1] = np.searchsorted(starts, breaks[:k])
    bounds[k + 1:] = len(starts)
    return wh, bounds


def ngram_hashes(wh: np.ndarray, n: int) -> np.ndarray:
    """Hashes of the word n-grams of a sequence of word hashes (a text shorter than n: one gram)."""
    if len(wh) == 0:
        return np.zeros(0, dtype=np.uint64)
    n = min(n, len(wh))
    m = len(wh) - n + 1
    acc = wh[:m].copy()  # in place from here: acc = acc * POLY + next word, from acc = 0
    with np.errstate(over="ignore"):
        for k in range(1, n):
            acc *= _POLY
            acc += wh[k:k + m]
    acc ^= np.uint64(n)
    return _mix64_(acc)


def shingle_hashes(text: str, n_grams: int = 5, fold_confusions: bool = True, min_word_len: int = 2,
                   seed: int = 0) -> tuple[np.ndarray, int]:
    """(sorted distinct shingle hashes, number of words) of a text."""
    wh = word_hashes_of_text(text, fold_confusions, min_word_len, seed)
    return _sorted_unique_(ngram_hashes(wh, n_grams)), len(wh)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique`` for a 1-d array by sort + mask (numpy 2.4's ``np.unique`` is far slower here)."""
    if len(x) == 0:
        return x
    return _sorted_unique_(np.sort(x))


def _sorted_unique_(x: np.ndarray) -> np.ndarray:
    """:func:`sorted_unique` that sorts ``x`` itself (no copy) on the way."""
    if len(x) == 0:
        return x
    x.sort()
    keep = _scratch("unique_keep", len(x), bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def _seeded(shingles: np.ndarray, seed: int) -> np.ndarray:
    """``mix64(shingles ^ seed * GOLDEN)`` (a fresh array)."""
    with np.errstate(over="ignore"):
        return _mix64_(shingles ^ (np.uint64(seed) * _GOLDEN))


def oph_signature(shingles: np.ndarray, num_hashes: int, seed: int = 1) -> np.ndarray:
    """One-permutation MinHash of a shingle set: ``num_hashes`` uint64 values (< 2**32).

    Returns an all-``EMPTY`` signature for an empty set (such a book has no signature).
    """
    sig = np.full(num_hashes, EMPTY, dtype=np.uint64)
    if len(shingles) == 0:
        return sig
    h = _seeded(shingles, seed)
    low = h & np.uint64(0xFFFFFFFF)
    with np.errstate(over="ignore"):  # the bin, in place: ((h >> 32) * num_hashes) >> 32
        h >>= np.uint64(32)
        h *= np.uint64(num_hashes)
        h >>= np.uint64(32)
    np.minimum.at(sig, h.view(np.int64), low)  # (bins < num_hashes: the same values as intp)
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
    g = _seeded(shingles, seed)
    if len(g) <= sample_size:
        g.sort()
        return g, 0
    s = int(np.floor(np.log2(len(g) / sample_size)))
    while s > 0:  # only the kept values are sorted (the prefix of sorted g below the rate's limit)
        kept = g[g < (np.uint64(1) << np.uint64(64 - s))]
        if len(kept) >= sample_size:
            kept.sort()
            return kept, s
        s -= 1
    g.sort()
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
