"""Evaluation metrics on toy cases with known answers, and the JSON + Markdown report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from finebooks.classifier.evaluate import class_metrics, render_markdown, score_metrics, write_report


def test_class_metrics_known_case():
    true = ["clean", "clean", "clean", "noisy", "noisy", "noisy"]
    pred = ["clean", "clean", "noisy", "noisy", "noisy", "clean"]
    scores = np.array([0.9, 0.8, 0.4, 0.3, 0.1, 0.6])  # P(clean)
    m = class_metrics(true, pred, ["clean", "noisy"], scores, positive="clean")
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"]["rows"] == [[2, 1], [1, 2]]
    # AUC: of the 9 (clean, noisy) pairs, the clean one scores higher in 8
    assert m["auc"] == pytest.approx(8 / 9)
    assert m["per_class"]["clean"]["precision"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx(2 / 3)


def test_score_metrics_known_case():
    m = score_metrics([0, 1, 2, 3, 4, 5], [0.5, 1.5, 1.0, 3.5, 4.5, 4.0])
    assert m["mae"] == pytest.approx(4 / 6)
    assert m["spearman"] == pytest.approx(0.8857142857)
    assert m["confusion"]["labels"] == ["0", "1", "2", "3", "4", "5"]
    assert sum(map(sum, m["confusion"]["rows"])) == 6


def test_report_files(tmp_path):
    m = class_metrics(["a", "b"], ["a", "b"], ["a", "b"], np.array([0.9, 0.1]), positive="a")
    result = {"model": "quality-000000000000.bin", "sha256": "0", "backend": "fasttext", "task": "classes",
              "labels": ["a", "b"], "positive": "a", "books": 2, "chunks": 2, "chunking": {"chunk_chars": 10},
              "book": m, "chunk": m, "per_source": [], "data": "x.jsonl", "split": "all"}
    j, md = write_report(result, tmp_path / "out")
    assert json.loads(j.read_text())["book"]["auc"] == 1.0
    text = md.read_text()
    assert "| book | 2 | 1.0000 | 1.0000 | 1.0000 |" in text and "**Confusion, book level**" in text
    assert render_markdown(result) == text


def test_paired_share_counts_only_groups_with_both_classes():
    from finebooks.classifier.data import LabelledRow
    from finebooks.classifier.evaluate import paired

    rows = [LabelledRow("a/gt", "a", "", "clean"), LabelledRow("a/ocr", "a", "", "noisy"),
            LabelledRow("b/gt", "b", "", "clean"), LabelledRow("b/ocr", "b", "", "noisy"),
            LabelledRow("c", "c", "", "clean")]
    got = paired(rows, np.array([0.9, 0.2, 0.3, 0.6, 0.1]), "clean")
    assert got == {"groups": 2, "pairs": 2, "good_scores_higher": 0.5}
