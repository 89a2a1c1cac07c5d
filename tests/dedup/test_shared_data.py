"""Real data: the known duplicate pairs of ../shared/data are found, nothing else is merged.

The collection and its known pairs are described in :mod:`finebooks.dedup.evaluation`.
"""

from __future__ import annotations

import pytest

from finebooks.dedup.evaluation import (
    HAND_CHECKED_PAIRS,
    OTHER_EDITIONS,
    known_pairs,
    merged_pairs,
    read_collection,
)
from finebooks.dedup.near import NearDuplicateDedup

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def result(shared_data, tmp_path_factory):
    docs = read_collection(shared_data)
    from finebooks.scoring.ocr_quality import OcrQualityScorer

    trove_pairs = {i for p in known_pairs(shared_data, {d.id for d in docs}) for i in p if i.startswith("trove/")}
    scorer = OcrQualityScorer()
    for d in docs:  # the score that picks the kept copy (only where it matters, to keep the test fast)
        if d.id in trove_pairs:
            scorer.score(d)
    out = NearDuplicateDedup(detect_overlap=True).run_in_process(docs, tmp_path_factory.mktemp("real"))
    return shared_data, docs, out


def test_every_known_pair_is_found_and_nothing_else_is_merged(result):
    data, docs, out = result
    assert len(docs) == 258
    known = known_pairs(data, {d.id for d in docs})
    assert len(known) == 8 + 1 + 3 + 1
    merged = merged_pairs(out["clusters"].to_pylist())
    assert known <= merged, f"missed: {known - merged}"
    assert merged - known == HAND_CHECKED_PAIRS  # precision 1.0 against the known and hand-checked pairs
    assert len(out["excluded"]) == 8 + 1 + 2 + 1 + 2


def test_kept_trove_copy_has_the_higher_ocr_quality(result):
    _, docs, out = result
    score = {d.id: d.metadata.get("ocr_quality") for d in docs}
    rows = [r for r in out["clusters"].to_pylist() if r["book_id"].startswith("trove/")]
    assert len(rows) == 16
    for r in rows:
        assert score[r["kept_id"]] is not None and score[r["kept_id"]] >= score[r["book_id"]]
        assert r["score"] == score[r["book_id"]]


def test_the_two_editions_of_a_museum_catalogue_are_not_merged(result):
    """Trove 528425676 and 535363273: 1824-25 vs 1825 Leverian Museum catalogues (Jaccard ~0.36)."""
    _, _, out = result
    ids = {r["book_id"] for r in out["clusters"].to_pylist()}
    assert not ids & OTHER_EDITIONS
    ov = [r for r in out["overlaps"].to_pylist() if {r["book_id"], r["other_id"]} == OTHER_EDITIONS]
    assert len(ov) == 1 and 0.25 < ov[0]["jaccard"] < 0.5 and ov[0]["containment"] >= 0.5
