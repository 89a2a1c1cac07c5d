"""The score_quality_classifier stage: batched chunk scoring, annotations, and a recipe run."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from finebooks.classifier.stage import QualityClassifierScorer
from finebooks.engine import run_recipe
from finebooks.recipe import validate

from .conftest import clean_book, noisy_book


def test_stage_annotates_books_in_batches(tiny_model):
    docs = [Document(text=clean_book(300 + i), id=f"c{i}") for i in range(3)]
    docs += [Document(text=noisy_book(300 + i), id=f"n{i}") for i in range(3)]
    docs.append(Document(text="", id="empty"))
    step = QualityClassifierScorer(str(Path(tiny_model.path).parent), batch_size=8)
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == [d.id for d in docs]  # order kept across batches
    m = {d.id: d.metadata for d in out}
    assert all(m[f"c{i}"]["quality_score"] > 0.5 > m[f"n{i}"]["quality_score"] for i in range(3))
    for d in out[:-1]:
        meta = d.metadata
        assert meta["quality_score_p10"] <= meta["quality_score_p50"] <= meta["quality_score_p90"]
        assert meta["quality_chunks"] >= 2 and meta["quality_model"] == Path(tiny_model.path).name
    assert m["empty"]["quality_score"] is None and m["empty"]["quality_chunks"] == 0
    # several model calls, each on up to ~batch_size chunks from several books
    assert step.stats.time_stats.n >= 2
    # batch size does not change the scores
    again = list(QualityClassifierScorer(tiny_model.path, batch_size=1000).run(
        iter([Document(text=d.text, id=d.id) for d in docs])))
    assert [d.metadata["quality_score"] for d in again] == [d.metadata["quality_score"] for d in out]


def test_recipe_with_stage_and_metadata_filter_accounts_for_every_book(tiny_model, tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    for i in range(5):
        (books / f"clean{i}.txt").write_text(clean_book(400 + i))
        (books / f"noisy{i}.txt").write_text(noisy_book(400 + i))
    (books / "empty.txt").write_text("")  # a bad input: excluded by the reader, still accounted
    recipe = validate({
        "name": "classifier-test",
        "input": {"reader": "formfeed", "path": str(books), "options": {"source": "t"}},
        "stages": [{"score_quality_classifier": {"model": str(Path(tiny_model.path).parent)}},
                   {"metadata_filter": {"key": "quality_score", "min": 0.5}}],
        "output": {"path": str(tmp_path / "run")},
        "executor": {"type": "local", "tasks": 2, "workers": 1},
    })
    summary = run_recipe(recipe)
    assert summary.books_in == 11 == summary.kept + summary.excluded
    kept = pq.read_table(sorted((tmp_path / "run" / "books").rglob("*.parquet"))).to_pylist()
    assert sorted(r["id"] for r in kept) == [f"t/clean{i}" for i in range(5)]
    assert all(json.loads(r["metadata_json"])["quality_score"] >= 0.5 for r in kept)
    excl = pq.read_table(sorted((tmp_path / "run" / "excluded" / "02_metadata_filter").rglob("*.parquet"))).to_pylist()
    assert sorted(r["id"] for r in excl) == [f"t/noisy{i}" for i in range(5)]
    assert all(r["exclusion_reason"].startswith("quality_score_below_min: quality_score=") for r in excl)


def test_stage_refuses_a_missing_model(tmp_path):
    from finebooks.classifier.model import ModelError

    with pytest.raises(ModelError, match="no LATEST"):
        QualityClassifierScorer(str(tmp_path))
