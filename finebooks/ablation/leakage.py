"""Train/eval separation by book: eval books (by id, or as near-duplicates) never reach training.

An eval book leaks into training directly (same id) or as another copy: a second scan, an
other edition, a cleaned transcription of the same OCR. Ids cannot see the second kind, so
every training document is also compared with every eval book on word 5-gram shingles. The
shingles are hashed with a stable hash (CRC32 of each word, combined in numpy) and *sampled*
by hash value (1 in ``sample_mod``, the same shingles on both sides, so the sample of an
intersection is the intersection of the samples). A document is a near-duplicate of an eval book
when the shared sampled shingles are at least ``threshold`` of the smaller of the two sets (the
overlap coefficient: a training book that contains an eval slice counts, however long it is).

:func:`find_overlaps` is used twice: to take eval books out of a training pool before any arm is
made (reported), and by :func:`check_no_leakage` on the exact documents each arm trains on,
which raises :class:`LeakageError` if anything got through.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
_MIX = np.uint64(0x9E3779B97F4A7C15)


class LeakageError(RuntimeError):
    """An eval book (or a near-duplicate of one) is in an arm's training data."""


def shingle_sample(text: str, n: int = 5, sample_mod: int = 8) -> np.ndarray:
    """Sorted unique sampled hashes of the word ``n``-grams of ``text`` (lower-cased words)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return np.zeros(0, dtype=np.uint64)
    wh = np.fromiter((zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in words), dtype=np.uint64,
                     count=len(words))
    h = np.zeros(len(words) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = (h * _MIX) ^ wh[j: len(words) - n + 1 + j]
        h = h * _MIX
        h ^= h >> np.uint64(29)
    keep = h[(h % np.uint64(sample_mod)) == 0]
    return np.unique(keep)


@dataclass
class Overlap:
    doc_id: str
    eval_id: str
    shared: int
    overlap: float      # shared / min(|doc sample|, |eval sample|)
    jaccard: float
    by_id: bool = False


def _id_forms(book_id: str) -> set[str]:
    """An id and its trailing identifier (``sample-trove/fb004`` -> ``fb004``), without extension."""
    forms = {book_id}
    tail = book_id.rsplit("/", 1)[-1]
    forms.add(tail)
    forms.add(tail.rsplit(".", 1)[0])
    return {f for f in forms if f}


class EvalFingerprints:
    """Ids and shingle samples of the eval books, to test training documents against."""

    def __init__(self, books: list[tuple[str, str]], threshold: float = 0.5, n: int = 5, sample_mod: int = 8,
                 min_shared: int = 3):
        self.threshold = threshold
        self.n = n
        self.sample_mod = sample_mod
        self.min_shared = min_shared
        self.ids = [b[0] for b in books]
        self.id_forms = {f: bid for bid, _ in books for f in _id_forms(bid)}
        self.samples = [shingle_sample(text, n, sample_mod) for _, text in books]
        self._cache: dict[int, tuple[str, np.ndarray]] = {}  # id(text) -> (text, its sample)

    def _sample(self, text: str) -> np.ndarray:
        """Shingle sample of a training text; memoised per text object (arms share a pool's texts)."""
        hit = self._cache.get(id(text))
        if hit is not None and hit[0] is text:
            return hit[1]
        s = shingle_sample(text, self.n, self.sample_mod)
        self._cache[id(text)] = (text, s)
        return s

    def match(self, doc_id: str, text: str) -> list[Overlap]:
        """The eval books this document duplicates (by id, or by shingles)."""
        found: dict[str, Overlap] = {}
        for f in _id_forms(doc_id):
            if f in self.id_forms:
                eid = self.id_forms[f]
                found[eid] = Overlap(doc_id, eid, 0, 1.0, 1.0, by_id=True)
        s = self._sample(text)
        if len(s):
            for eid, e in zip(self.ids, self.samples):
                if not len(e):
                    continue
                shared = len(np.intersect1d(s, e, assume_unique=True))
                if shared < self.min_shared:
                    continue
                ov = shared / min(len(s), len(e))
                if ov >= self.threshold:
                    jac = shared / (len(s) + len(e) - shared)
                    if eid in found:
                        found[eid].shared, found[eid].jaccard = shared, jac
                    else:
                        found[eid] = Overlap(doc_id, eid, shared, ov, jac)
        return list(found.values())


def find_overlaps(docs, fingerprints: EvalFingerprints) -> list[Overlap]:
    """Every (training document, eval book) pair that shares an id or is a near-duplicate.
    ``docs``: iterable of ``(id, text)``."""
    out = []
    for doc_id, text in docs:
        out.extend(fingerprints.match(doc_id, text))
    return out


def check_no_leakage(arm: str, docs, fingerprints: EvalFingerprints) -> int:
    """Raise :class:`LeakageError` if any document of ``arm`` is an eval book or a near-duplicate
    of one; returns the number of documents checked."""
    n = 0
    bad = []
    for doc_id, text in docs:
        n += 1
        bad.extend(fingerprints.match(doc_id, text))
    if bad:
        lines = [f"{o.doc_id} ~ eval book {o.eval_id} (" + ("same id" if o.by_id else
                 f"{o.shared} shared sampled 5-gram shingles, overlap {o.overlap:.2f}, Jaccard {o.jaccard:.2f}") + ")"
                 for o in bad[:20]]
        raise LeakageError(f"arm {arm!r}: {len(bad)} eval-book leak(s) into training data:\n  " + "\n  ".join(lines)
                           + "\nTake the eval books out of the pool (eval.exclude_from_training: true) or pick "
                             "other eval books.")
    return n
