"""Real data: clean transcriptions vs raw OCR on a book-level split (a small, fast subset).

The full check (all of gold/ and raw_ocr/ plus ocr_gt_pairs, AUC >= 0.95) is
``benchmarks/build_clean_noisy.py`` + ``finebooks classifier train/eval`` (docs/classifier.md).
"""

from __future__ import annotations

import itertools

import pytest

from finebooks.classifier import bootstrap as bs
from finebooks.classifier.train import TrainConfig, train

pytestmark = pytest.mark.realdata


def test_gold_vs_trove_ocr_auc_on_held_out_books(shared_data, tmp_path):
    gold, trove = shared_data / "gold", shared_data / "raw_ocr" / "trove_nla_books"
    rows = itertools.chain(
        bs.folder_rows(str(gold / "100_english_novels"), "formfeed", bs.CLEAN, limit=8),
        bs.folder_rows(str(gold / "eltec_fra"), "formfeed", bs.CLEAN, limit=6),
        bs.folder_rows(str(trove), "trove", bs.NOISY, limit=40),
    )
    data = tmp_path / "labelled.jsonl"
    bs.write_jsonl(rows, data)
    cfg = TrainConfig(data=str(data), output=str(tmp_path / "m"), max_chunks_per_book=24, score_max_chunks=16,
                      heldout=0.3, threads=1,
                      params={"dim": 16, "bucket": 50_000, "epoch": 10, "lr": 0.5, "maxn": 4})
    res = train(cfg, progress=None)
    book = res.heldout["book"]
    assert book["confusion"]["rows"][0][0] + book["confusion"]["rows"][0][1] >= 4  # clean books held out
    # 4 clean and 12 noisy held-out books: one misordered pair costs 0.02, so the bar for this
    # subset is 0.9 (measured 0.958); the full data set reaches >= 0.95 (docs/classifier.md)
    assert book["auc"] >= 0.9
    assert book["accuracy"] >= 0.75  # at the 0.5 threshold; AUC is the threshold-free figure
