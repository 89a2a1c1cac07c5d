"""LanguageScorer: per-book language, mix over chunks, offline model."""

from __future__ import annotations

import json
import pickle

import pytest
from datatrove.data import Document

from finebooks.scoring.language import LanguageScorer

LANGS = ["en", "fr", "de", "nl", "it", "es", "pt", "la"]
EN = "The old man walked slowly along the river, thinking of the long winter that was coming. " * 30
FR = "Le vieil homme marchait lentement le long de la rivière, en pensant au long hiver qui venait. " * 30


def test_sample_books_get_their_labelled_language(tmp_path):
    from finebooks.readers.text import FormFeedTextReader
    from finebooks.sample import make_sample

    sample = tmp_path / "s"
    make_sample(sample, seed=0)
    truth = {b["book_id"]: b["language"] for b in map(json.loads, (sample / "books.jsonl").read_text().splitlines())}
    scorer = LanguageScorer(languages=LANGS)
    docs = list(scorer.run(FormFeedTextReader(sample / "formfeed").run()))
    assert docs
    for d in docs:
        assert d.metadata["language"] == truth[d.id.split("/")[-1]], d.id
        assert 0.5 < d.metadata["language_score"] <= 1.0


def test_language_mix_is_reported():
    scorer = LanguageScorer(languages=LANGS, chunk_chars=1000)
    (doc,) = scorer.run([Document(text=EN + "\f" + FR + "\f" + FR, id="b")])
    mix = doc.metadata["languages"]
    assert set(mix) == {"en", "fr"} and doc.metadata["language"] == "fr"
    assert abs(sum(mix.values()) - 1) < 1e-3 and doc.metadata["language_score"] == mix["fr"]


def test_declared_language_is_kept_aside_or_kept():
    (doc,) = LanguageScorer().run([Document(text=FR, id="b", metadata={"language": "en"})])
    assert doc.metadata["language"] == "fr" and doc.metadata["language_declared"] == "en"
    (doc,) = LanguageScorer(keep_declared=True).run([Document(text=FR, id="b", metadata={"language": "en"})])
    assert doc.metadata["language"] == "en" and doc.metadata["language_detected"] == "fr"


def test_too_short_text_gets_no_language():
    scorer = LanguageScorer()
    (doc,) = scorer.run([Document(text="Hi.", id="b")])
    assert "language" not in doc.metadata and doc.metadata["language_score"] == 0.0
    assert scorer.stats["too_short"].total == 1


def test_chunks_are_bounded_and_cover_the_book():
    scorer = LanguageScorer(chunk_chars=1000, max_chunks=5)
    chunks = scorer.chunks(EN * 20)
    assert len(chunks) == 5 and all(len(c) <= 1000 for c in chunks)


def test_pickles_without_the_model():
    scorer = LanguageScorer()
    scorer.classify(EN)
    clone = pickle.loads(pickle.dumps(scorer))
    assert clone._identifier is None and clone.classify(FR)[0] == "fr"


@pytest.mark.realdata
def test_chunk_accuracy_on_known_language_text(shared_data):
    """>= 0.97 on chunks of >= 500 characters (benchmarks/eval_language.py reports every subset)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from eval_language import chunks, gs_text

    scorer = LanguageScorer(languages=LANGS)
    cases = [("fr", (shared_data / "gold" / "eltec_fra").glob("*.txt"), lambda p: p.read_text(encoding="utf-8-sig")),
             ("nl", (shared_data / "ocr_gt_pairs" / "icdar2019").rglob("NL1/*.txt"), gs_text),
             ("la", (shared_data / "ocr_gt_pairs" / "icdar2019").rglob("DE4/*.txt"), gs_text),
             ("es", (shared_data / "ocr_gt_pairs" / "icdar2019").rglob("ES1/*.txt"), gs_text)]
    ok = n = 0
    for lang, files, read in cases:
        pieces = [c for f in sorted(files)[:40] for c in chunks(read(f))][:400]
        assert pieces, lang
        ok += sum(scorer.classify(p)[0] == lang for p in pieces)
        n += len(pieces)
    assert ok / n >= 0.97, ok / n
