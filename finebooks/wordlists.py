"""wordfreq's word lists without a 300,000-entry dict per language and process.

The repair stages ask wordfreq's "best" lists how frequent a word is (dehyphenation, unwrapping,
long-s repair). ``wordfreq.get_frequency_dict`` builds a Python dict of every word of a language
(0.15-0.4 s and 35-70 MB each), and importing wordfreq costs 0.2-0.3 s more: on the trove
benchmark, whose books are in seven languages, that was ~1.2 s of CPU in every task, more than
some whole stages, to answer about 50,000 questions.

Here each language's list is turned once per machine into four flat arrays in the FineBooks cache
(``$FINEBOOKS_CACHE/wordfreq``, see :mod:`finebooks.cache`): the xxh3 hashes of the words,
sorted, their frequencies, and the words themselves (UTF-8, concatenated, with offsets). A lookup
is a binary search over the hashes plus a comparison of the stored word with the asked one, so
the answer is exactly the dict's (a hash collision cannot give a wrong word). Loading a language
takes milliseconds and wordfreq is not imported at all once the cache is filled. The entries are
named by wordfreq's version. Without a writable cache the arrays are built in memory.
"""

from __future__ import annotations

import json
import zipfile
from array import array
from bisect import bisect_left
from functools import cache
from pathlib import Path

import numpy as np
from xxhash import xxh3_64_intdigest

from finebooks.cache import cache_dir, write_atomically

WORDLIST = "best"


def _wordfreq_version() -> str:
    from importlib.metadata import version

    return version("wordfreq")


def _folder() -> Path:
    return cache_dir("wordfreq") / f"{_wordfreq_version()}-{WORDLIST}"


@cache
def available_languages() -> frozenset[str]:
    """``wordfreq.available_languages("best")`` (cached on disk: no wordfreq import)."""
    path = _folder() / "languages.json"
    try:
        return frozenset(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    from wordfreq import available_languages as wordfreq_languages

    langs = sorted(wordfreq_languages(WORDLIST))
    write_atomically(path, lambda tmp: tmp.write_text(json.dumps(langs), encoding="utf-8"))
    return frozenset(langs)


_hash = xxh3_64_intdigest  # of a word's UTF-8 bytes (a module name: tests swap it for a colliding one)


class WordFrequencies:
    """Read-only ``{word: frequency}`` of one language, with the dict's ``get`` / ``in`` / ``len``."""

    __slots__ = ("_blob", "_freqs", "_hashes", "_offsets", "lang")

    def __init__(self, lang: str, hashes: np.ndarray, freqs: np.ndarray, offsets: np.ndarray, blob: bytes):
        self.lang = lang
        # array.array: bisect and indexing on them run in C without numpy's per-call overhead
        self._hashes = array("Q", np.ascontiguousarray(hashes, dtype=np.uint64).tobytes())
        self._freqs = array("d", np.ascontiguousarray(freqs, dtype=np.float64).tobytes())
        self._offsets = array("q", np.ascontiguousarray(offsets, dtype=np.int64).tobytes())
        self._blob = blob

    @classmethod
    def from_dict(cls, lang: str, freqs: dict[str, float]) -> WordFrequencies:
        return cls(lang, *_arrays(freqs))

    def get(self, word: str, default=None):
        key = word.encode("utf-8", "surrogatepass")
        h = _hash(key)
        hashes = self._hashes
        i = bisect_left(hashes, h)
        n = len(hashes)
        offsets, blob = self._offsets, self._blob
        while i < n and hashes[i] == h:
            if blob[offsets[i]:offsets[i + 1]] == key:
                return self._freqs[i]
            i += 1
        return default

    def __contains__(self, word: str) -> bool:
        return self.get(word) is not None

    def __len__(self) -> int:
        return len(self._hashes)


def _arrays(freqs: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bytes]:
    """(sorted hashes, frequencies, word offsets, words blob) of a frequency dict."""
    words = [w.encode("utf-8", "surrogatepass") for w in freqs]
    hashes = np.fromiter((_hash(w) for w in words), dtype=np.uint64, count=len(words))
    order = np.argsort(hashes, kind="stable")
    values = np.fromiter(freqs.values(), dtype=np.float64, count=len(words))[order]
    sorted_words = [words[i] for i in order.tolist()]
    lengths = np.fromiter((len(w) for w in sorted_words), dtype=np.int64, count=len(words))
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return hashes[order], values, offsets, b"".join(sorted_words)


def _save(path: Path, hashes, freqs, offsets, blob: bytes) -> bool:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, hashes=hashes, freqs=freqs, offsets=offsets, blob=np.frombuffer(blob, dtype=np.uint8))

    return write_atomically(path, write)


@cache
def frequencies(lang: str) -> WordFrequencies:
    """wordfreq's "best" frequencies of ``lang`` (``get_frequency_dict(lang, "best")``'s values)."""
    path = _folder() / f"{lang}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            return WordFrequencies(lang, z["hashes"], z["freqs"], z["offsets"], z["blob"].tobytes())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # not cached yet (or a damaged entry): build it
    from wordfreq import get_frequency_dict

    hashes, freqs, offsets, blob = _arrays(get_frequency_dict(lang, WORDLIST))
    _save(path, hashes, freqs, offsets, blob)
    return WordFrequencies(lang, hashes, freqs, offsets, blob)
