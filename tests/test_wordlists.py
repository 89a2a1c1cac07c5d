"""finebooks.wordlists answers exactly as wordfreq's frequency dict, from a cache or without one."""

from __future__ import annotations

import random

import pytest
from wordfreq import available_languages as wordfreq_languages
from wordfreq import get_frequency_dict

from finebooks import wordlists


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FINEBOOKS_CACHE", str(tmp_path / "cache"))
    wordlists.frequencies.cache_clear()
    wordlists.available_languages.cache_clear()
    yield tmp_path / "cache"
    wordlists.frequencies.cache_clear()
    wordlists.available_languages.cache_clear()


def _questions(ref: dict, n: int = 20_000) -> list[str]:
    rng = random.Random(0)
    words = rng.sample(sorted(ref), n)
    near_misses = [w + "x" for w in words[:2000]] + [w[:-1] for w in words[:2000] if len(w) > 1]
    odd = ["", " ", "ß", "STRASSE", "\u017fo", "\ud800", "e\u0301", "naïve", "1848", "don't", "x" * 300]
    return words + near_misses + odd


def test_same_answers_as_wordfreq_built_then_cached(fresh_cache):
    ref = get_frequency_dict("nl", "best")
    built = wordlists.frequencies("nl")                  # builds the cache entry
    assert any(fresh_cache.rglob("nl.npz"))
    wordlists.frequencies.cache_clear()
    cached = wordlists.frequencies("nl")                 # reads it
    assert len(built) == len(cached) == len(ref)
    for word in _questions(ref):
        expected = ref.get(word)
        assert built.get(word) == expected, word
        assert cached.get(word) == expected, word
        assert (word in cached) == (word in ref)
    assert cached.get("certainly-not-a-word", -1.0) == -1.0


def test_colliding_hashes_compare_the_words(fresh_cache, monkeypatch):
    monkeypatch.setattr(wordlists, "_hash", lambda word: len(word))  # every word of a length collides
    table = wordlists.WordFrequencies.from_dict("xx", {"cat": 0.5, "dog": 0.25, "horse": 0.125})
    assert table.get("cat") == 0.5 and table.get("dog") == 0.25 and table.get("horse") == 0.125
    assert table.get("cow") is None and table.get("mouse") is None and table.get("ox") is None


def test_damaged_entry_is_rebuilt_and_unwritable_cache_still_answers(fresh_cache, tmp_path, monkeypatch):
    ref = get_frequency_dict("it", "best")
    path = wordlists._folder() / "it.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 truncated")
    assert wordlists.frequencies("it").get("della") == ref["della"]
    assert path.stat().st_size > 100_000  # rewritten

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FINEBOOKS_CACHE", str(blocker))
    wordlists.frequencies.cache_clear()
    wordlists.available_languages.cache_clear()
    assert wordlists.frequencies("it").get("della") == ref["della"]
    assert wordlists.available_languages() == frozenset(wordfreq_languages("best"))


def test_available_languages_matches_wordfreq(fresh_cache):
    assert wordlists.available_languages() == frozenset(wordfreq_languages("best"))
    wordlists.available_languages.cache_clear()
    assert wordlists.available_languages() == frozenset(wordfreq_languages("best"))  # from the cache file
