"""Training on tiny fixtures, both backends, and content-hashed model files (no stale models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from finebooks.classifier.model import ModelError, load_model, resolve_model_path
from finebooks.classifier.train import TrainConfig, train

from .conftest import TINY_FASTTEXT, clean_book, noisy_book, write_labelled


def test_tiny_fasttext_model_separates_clean_from_noisy(tiny_model):
    res = tiny_model
    assert res.heldout["book"]["auc"] == 1.0
    assert res.heldout["book"]["accuracy"] == 1.0
    model = res.model
    # unseen books (seeds far from the training ones)
    clean = [c for i in range(100, 104) for c in model.chunks(clean_book(i))]
    noisy = [c for i in range(100, 104) for c in model.chunks(noisy_book(i))]
    assert model.score(clean).min() > model.score(noisy).max()
    card = model.card
    assert card["task"] == "classes" and card["positive"] == "clean" and card["labels"] == ["clean", "noisy"]
    assert set(card["split"]["heldout_groups"]) & {f"c{i}" for i in range(16)}  # clean books held out too


def test_sklearn_backend_and_score_task(tmp_path):
    import json

    rows = [{"id": f"b{i}", "text": (clean_book(i) if i % 2 else noisy_book(i)), "score": float(4 if i % 2 else 1)}
            for i in range(24)]
    data = tmp_path / "scores.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    from finebooks.classifier.data import Columns

    cfg = TrainConfig(data=str(data), output=str(tmp_path / "m"), backend="sklearn", chunk_chars=400, min_chars=100,
                      columns=Columns(label=None, score="score"), params={"n_features": 2 ** 16}, heldout=0.25)
    res = train(cfg, progress=None)
    assert res.path.endswith(".joblib") and res.model.task == "scores"
    assert res.heldout["book"]["spearman"] > 0.8
    assert res.heldout["book"]["mae"] < 1.0
    again = load_model(tmp_path / "m")
    assert np.allclose(again.score([clean_book(50)[:400]]), res.model.score([clean_book(50)[:400]]))


def test_retraining_to_the_same_folder_never_reuses_a_stale_model(tmp_path, monkeypatch, labelled):
    """datatrove caches models by path; FineBooks names model files by content instead."""
    import datatrove.io

    folder = tmp_path / "models"
    base = {"output": str(folder), "chunk_chars": 400, "min_chars": 100, "params": TINY_FASTTEXT, "threads": 1,
            "heldout": 0.25}
    first = train(TrainConfig(data=str(labelled), **base), progress=None)
    flipped = write_labelled(tmp_path / "flipped.jsonl", flip=True)  # same texts, opposite labels
    second = train(TrainConfig(data=str(flipped), **base), progress=None)

    assert first.path != second.path  # a new model is a new path ...
    assert resolve_model_path(folder) == resolve_model_path(second.path)  # ... and the folder now means it
    probe = [clean_book(200)[:400]]
    assert load_model(folder).score(probe)[0] < 0.5 < load_model(first.path).score(probe)[0]

    # the hazard, shown with datatrove's own cache: a fixed path is copied once and never looked at again
    cache = tmp_path / "dt_cache"
    monkeypatch.setattr(datatrove.io, "cached_assets_path", lambda **kw: str(cache.mkdir(exist_ok=True) or cache))
    fixed = tmp_path / "fixed.bin"
    shutil.copy(first.path, fixed)
    stale = datatrove.io.cached_asset_path_or_download(str(fixed), progress=False)
    shutil.copy(second.path, fixed)  # "retrain to the same path"
    again = datatrove.io.cached_asset_path_or_download(str(fixed), progress=False)
    assert Path(again).read_bytes() == Path(stale).read_bytes() != Path(second.path).read_bytes()
    # with content-hashed names the same cache returns the right model for each
    a = datatrove.io.cached_asset_path_or_download(first.path, progress=False)
    b = datatrove.io.cached_asset_path_or_download(second.path, progress=False)
    assert Path(a).read_bytes() == Path(first.path).read_bytes()
    assert Path(b).read_bytes() == Path(second.path).read_bytes()


def test_a_model_file_overwritten_in_place_is_refused(tmp_path, tiny_model):
    folder = tmp_path / "m"
    folder.mkdir()
    src = tiny_model.path
    dst = folder / src.rsplit("/", 1)[-1]
    shutil.copy(src, dst)
    shutil.copy(src[: -len(".bin")] + ".json", dst.with_suffix(".json"))
    assert load_model(dst, verify=True).sha256 == tiny_model.model.sha256
    with open(dst, "ab") as f:
        f.write(b"changed")
    with pytest.raises(ModelError, match="changed after training"):
        load_model(dst)
    with pytest.raises(ModelError, match="no LATEST"):
        resolve_model_path(tmp_path)


def test_a_fasttext_nan_in_this_process_is_retried_in_a_fresh_one(tmp_path, monkeypatch, labelled):
    """fastText's "Encountered NaN" (seen intermittently in long test processes) does not fail training."""
    import fasttext

    calls = []

    def diverges(*args, **kwargs):
        calls.append(kwargs.get("lr"))
        raise RuntimeError("Encountered NaN.")

    monkeypatch.setattr(fasttext, "train_supervised", diverges)  # this process only; the retry spawns
    result = train(TrainConfig(data=str(labelled), output=str(tmp_path / "m"), chunk_chars=400, min_chars=100,
                               params=TINY_FASTTEXT, threads=1, heldout=0.25), progress=None)
    assert calls == [TINY_FASTTEXT["lr"]]  # one in-process attempt, then a fresh process succeeded
    probe = [clean_book(201)[:400], noisy_book(201)[:400]]
    clean, noisy = load_model(result.path).score(probe)
    assert clean > noisy
