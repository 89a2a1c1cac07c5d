"""Eval suite (held-out text, multiple-choice items) and the training stream sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from finebooks.ablation.config import EvalConfig
from finebooks.ablation.evalsuite import build_eval_suite, sentences, wilson
from finebooks.ablation.sampling import sample_stream


def test_sample_source_items_are_well_formed(sample_dir):
    suite = build_eval_suite(EvalConfig(source="sample", path=str(sample_dir), n_books=4, items_per_book=10),
                             Path("/nonexistent"))
    assert len(suite.books) == 4 and suite.eval_bytes > 10_000
    assert {i.task for i in suite.items} == {"next_sentence", "final_word"}
    for it in suite.items:
        assert len(it.candidates) == 4 and len(set(it.candidates)) == 4 and 0 <= it.answer < 4
        book = next(b for b in suite.books if b.id == it.book)
        if it.task == "next_sentence":
            ans = it.candidates[it.answer]
            assert " ".join((it.context + " " + ans).split()) in " ".join(book.eval_text.split())
            assert all(0.8 <= len(c) / len(ans) <= 1.25 for c in it.candidates)
        else:
            assert it.candidates[it.answer].islower() and it.context.split()[-1] != it.candidates[it.answer]
    # same config, same suite
    again = build_eval_suite(EvalConfig(source="sample", path=str(sample_dir), n_books=4, items_per_book=10),
                             Path("/nonexistent"))
    assert [i.candidates for i in again.items] == [i.candidates for i in suite.items]


def test_user_folder_source(tmp_path):
    text = " ".join(f"The keeper number {i} walked to the harbour and counted the boats." for i in range(200))
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text(text.replace("keeper", "miller"))
    suite = build_eval_suite(EvalConfig(source="folder", path=str(tmp_path), max_bytes_per_book=5000), Path("."))
    assert [b.id for b in suite.books] == ["eval/a", "eval/sub/b"]
    assert all(len(b.eval_text.encode()) <= 5000 for b in suite.books)
    with pytest.raises(FileNotFoundError, match="no .txt files"):
        (tmp_path / "empty").mkdir()
        build_eval_suite(EvalConfig(source="folder", path=str(tmp_path / "empty")), Path("."))


def test_sentence_split_and_wilson():
    assert sentences("Mr. Brown came. He sat down! Did he? Yes.\n\nA new paragraph.") == [
        "Mr. Brown came.", "He sat down!", "Did he?", "Yes.", "A new paragraph."]
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and abs((0.5 - lo) - (hi - 0.5)) < 1e-9 and 0.39 < lo < 0.41


def test_stream_has_the_exact_budget_and_says_when_it_repeats():
    books = [np.arange(1, 1001), np.arange(1, 501)]
    s = sample_stream(books, 4000, 100, seed=0, bos_id=0)
    assert s.tokens == 4000 and sum(len(c) - 1 for c in s.chunks) == 4000
    assert all(c[0] == 0 and len(c) <= 101 for c in s.chunks)
    assert s.repeat_factor == pytest.approx(4000 / 1500) and "REPEATED 2.67x" in s.note()
    same = sample_stream(books, 4000, 100, seed=0, bos_id=0)
    other = sample_stream(books, 4000, 100, seed=1, bos_id=0)
    assert all(np.array_equal(a, b) for a, b in zip(s.chunks, same.chunks))
    assert not all(np.array_equal(a, b) for a, b in zip(s.chunks, other.chunks))
    ep = sample_stream(books, 1500, 100, seed=0, bos_id=0, mode="epochs")   # one pass: every chunk once
    assert sorted(int(c[1]) for c in ep.chunks) == sorted(int(b[i]) for b in books for i in range(0, len(b), 100))
    with pytest.raises(ValueError, match="empty"):
        sample_stream([], 10, 5, seed=0, bos_id=0)
