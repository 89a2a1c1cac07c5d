"""Train/eval separation: eval books and their near-duplicates are caught in training data."""

from __future__ import annotations

import random

import pytest

from finebooks._sample_text import ocr_noise
from finebooks.ablation.leakage import EvalFingerprints, LeakageError, check_no_leakage, find_overlaps


def _noisy(text: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(ocr_noise(w, rate, rng)[0] for w in text.split())


@pytest.fixture(scope="module")
def split(sample_books):
    books = [b for b in sample_books if len(b[1]) > 8000]
    eval_books = books[:3]
    # the sample plants duplicate scans: keep the training side free of the eval books' twins
    train = [b for b in books[3:] if all(b[1][:2000] != e[1][:2000] for e in eval_books)]
    return eval_books, train


def test_clean_training_pool_passes(split):
    eval_books, train = split
    fp = EvalFingerprints(eval_books, threshold=0.5)
    assert find_overlaps(train, fp) == []
    assert check_no_leakage("clean", train, fp) == len(train)


def test_planted_eval_book_is_caught_under_another_id(split):
    eval_books, train = split
    fp = EvalFingerprints(eval_books, threshold=0.5)
    planted = train + [("other-source/renamed", eval_books[1][1])]
    with pytest.raises(LeakageError, match="renamed ~ eval book"):
        check_no_leakage("arm_with_leak", planted, fp)


def test_same_id_is_caught_even_with_different_text(split):
    eval_books, _train = split
    fp = EvalFingerprints(eval_books, threshold=0.5)
    eid = eval_books[0][0]
    overlaps = find_overlaps([(f"sample-trove/{eid}", "completely different words here")], fp)
    assert [(o.eval_id, o.by_id) for o in overlaps] == [(eid, True)]


def test_noisy_rescan_and_slice_of_an_eval_book_are_near_duplicates(split):
    eval_books, train = split
    fp = EvalFingerprints(eval_books, threshold=0.5)
    text = eval_books[2][1]
    rescan = _noisy(text, 0.02, seed=1)                     # another OCR of the same book
    longer = train[0][1] + "\n\n" + text[: len(text) // 2]   # a training book that contains half of it
    found = find_overlaps([("x/rescan", rescan), ("x/longer", longer)], fp)
    assert {o.doc_id for o in found} == {"x/rescan", "x/longer"}
    assert all(o.eval_id == eval_books[2][0] for o in found)
    # heavy noise (1 letter in 3 changed) is no longer a near-duplicate at this threshold
    assert find_overlaps([("x/garbled", _noisy(text, 0.35, seed=2))], fp) == []
