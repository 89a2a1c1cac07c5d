"""The cached py3langid model gives py3langid's own identifier, faster, and survives a bad cache."""

from __future__ import annotations

import numpy as np
import pytest

from finebooks.scoring import langid_model

TEXTS = [
    "The quick brown fox jumps over the lazy dog and runs into the forest.",
    "Le renard brun saute par-dessus le chien paresseux et court dans la forêt.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae.",
]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FINEBOOKS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _reference():
    from py3langid import langid

    return langid.LanguageIdentifier.from_modelpath(langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True)


def test_cached_identifier_equals_py3langids_own(cache):
    ref = _reference()
    first = langid_model.load_identifier()          # decompresses into the cache
    assert langid_model.cached_model_path().is_file()
    assert langid_model.cached_model_path().is_relative_to(cache)
    second = langid_model.load_identifier()         # reads the cache
    for ident in (first, second):
        assert np.array_equal(ident.nb_ptc, ref.nb_ptc) and np.array_equal(ident.nb_pc, ref.nb_pc)
        assert list(ident.nb_classes) == list(ref.nb_classes)
        assert ident.tk_nextmove == ref.tk_nextmove and list(ident.tk_row) == list(ref.tk_row)
        for text in TEXTS:
            assert ident.classify(text) == ref.classify(text)


def test_damaged_cache_entry_is_rebuilt(cache):
    path = langid_model.cached_model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip file")
    ident = langid_model.load_identifier()
    assert ident.classify(TEXTS[1])[0] == "fr"
    assert path.stat().st_size > 1_000_000  # rewritten


def test_unwritable_cache_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("FINEBOOKS_CACHE", str(blocker))
    ident = langid_model.load_identifier()
    assert ident.classify(TEXTS[2])[0] == "de"
    assert not langid_model.cached_model_path().exists()
