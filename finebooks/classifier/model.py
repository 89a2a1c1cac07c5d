"""Trained quality models: fastText or scikit-learn, saved under a content-hashed file name.

A model is two files in a model folder::

    MODELS/quality-3fa2c1d9e0ab.bin      the model (fastText ``.bin``, or ``.joblib`` for scikit-learn)
    MODELS/quality-3fa2c1d9e0ab.json     its card: backend, task, labels, chunking, training data
                                         and parameters, the held-out groups, the SHA-256
    MODELS/LATEST                        the file name of the model trained last into this folder

The hash in the name is the first 12 hex digits of the SHA-256 of the model file. datatrove
caches models by *path* (``cached_asset_path_or_download`` copies a file once per path and
never looks again), and so does any long-lived worker that keeps a loaded model: with a fixed
name, retraining into the same place would silently keep scoring with the old model. With
the content in the name, a retrained model is a new path, and a file whose content no longer
matches its name is refused at load time.

Scores: for a class task the score of a text is the probability of the ``positive`` class
(``clean``), or, when the classes are numbers (``0``-``5``) and no positive class is set, the
expected value ``sum(p_i * label_i)``. For a score task it is the regression output
(scikit-learn) or, for fastText (a classifier only), the expected value over the rounded
score classes it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from finebooks.classifier.text import chunk_text

HASH_CHARS = 12
LATEST = "LATEST"
EXTENSIONS = {"fasttext": ".bin", "sklearn": ".joblib"}
FASTTEXT_DEFAULTS = {"lr": 0.5, "epoch": 5, "wordNgrams": 2, "dim": 32, "minn": 2, "maxn": 4,
                     "bucket": 200_000, "minCount": 2, "loss": "softmax"}
SKLEARN_DEFAULTS = {"n_features": 2 ** 20, "alpha": 1e-6, "max_iter": 20, "char_ngrams": [2, 4],
                    "word_ngrams": [1, 2], "ridge_alpha": 1.0}


class ModelError(ValueError):
    """A model folder or file that cannot be used (missing, changed since training, unknown)."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


class QualityModel:
    """A loaded model and its card. Build with :func:`load_model` or :func:`train_backend`."""

    def __init__(self, backend: str, task: str, labels: list[str], card: dict, impl, path: str | None = None):
        self.backend = backend
        self.task = task
        self.labels = labels
        self.card = card
        self.impl = impl
        self.path = path

    # ---------------------------------------------------------------- card accessors
    @property
    def positive(self) -> str | None:
        return self.card.get("positive")

    @property
    def chunking(self) -> dict:
        return self.card.get("chunking", {"chunk_chars": 1000, "min_chars": 200, "score_max_chunks": 32})

    @property
    def sha256(self) -> str:
        return self.card.get("sha256", "")

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "(unsaved)"

    def chunks(self, text: str, max_chunks: int | None = None) -> list[str]:
        """Chunks of a book as this model was trained on them."""
        c = self.chunking
        mc = c.get("score_max_chunks", 32) if max_chunks is None else max_chunks
        return chunk_text(text, c["chunk_chars"], mc, c["min_chars"])

    # ---------------------------------------------------------------- prediction
    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), len(self.labels))`` (class tasks, fastText scores)."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        if self.backend == "fasttext":
            index = {f"__label__{lab}": j for j, lab in enumerate(self.labels)}
            labs, probs = self.impl.predict([t.replace("\n", " ") for t in texts], k=-1, threshold=0.0)
            out = np.zeros((len(texts), len(self.labels)))
            for i, (ls, ps) in enumerate(zip(labs, probs)):
                for lab, p in zip(ls, ps):
                    j = index.get(lab)
                    if j is not None:
                        out[i, j] = p
            return np.clip(out, 0.0, 1.0)
        if self.task != "classes":
            raise ModelError("a scikit-learn score model has no class probabilities")
        proba = self.impl.predict_proba(texts)
        order = [list(self.impl.classes_).index(lab) for lab in self.labels]
        return proba[:, order]

    def score(self, texts: list[str]) -> np.ndarray:
        """One quality score per text (higher = better; see the module docstring)."""
        if not texts:
            return np.zeros(0)
        if self.backend == "sklearn" and self.task == "scores":
            return np.asarray(self.impl.predict(texts), dtype=float)
        proba = self.predict_proba(texts)
        if self.positive is not None:
            return proba[:, self.labels.index(self.positive)]
        values = np.array([float(lab) for lab in self.labels])
        return (proba * values).sum(axis=1) / np.maximum(proba.sum(axis=1), 1e-12)

    def predict_label(self, texts: list[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.labels[j] for j in proba.argmax(axis=1)]


# ---------------------------------------------------------------- training backends
def train_backend(backend: str, task: str, texts: list[str], targets: list, params: dict | None = None,
                  seed: int = 0, threads: int = 1, positive: str | None = None) -> tuple[QualityModel, dict]:
    """Fit a model on chunk texts; returns the (unsaved) model and the parameters used."""
    if backend not in EXTENSIONS:
        raise ModelError(f"unknown backend {backend!r}: use 'fasttext' or 'sklearn'")
    if not texts:
        raise ModelError("no training examples")
    params = dict(params or {})
    if task == "classes":
        labels = sorted({str(t) for t in targets}, key=lambda s: (not _is_number(s), float(s) if _is_number(s) else 0, s))
        if len(labels) < 2:
            raise ModelError(f"need at least two classes to train, found {labels}")
        if positive is None and not all(_is_number(lab) for lab in labels):
            if len(labels) == 2 and "clean" in labels:
                positive = "clean"
            else:
                raise ModelError(f"classes {labels} are not numbers: name the positive (good) class with --positive")
        if positive is not None and positive not in labels:
            raise ModelError(f"positive class {positive!r} is not among the classes {labels}")
    else:
        labels = []
    card = {"backend": backend, "task": task, "positive": positive}

    if backend == "fasttext":
        import fasttext

        used = {**FASTTEXT_DEFAULTS, **params}
        if task == "scores":  # fastText classifies: one class per rounded score, scored by expectation
            ft_targets = [str(round(float(t))) for t in targets]
            labels = sorted(set(ft_targets), key=float)
        else:
            ft_targets = [str(t) for t in targets]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            for text, t in zip(texts, ft_targets):
                f.write(f"__label__{t} {text.replace(chr(10), ' ')}\n")
            train_file = f.name
        try:
            for _attempt in range(4):
                try:
                    if _attempt == 0:
                        impl = fasttext.train_supervised(input=train_file, thread=threads, seed=seed, verbose=0,
                                                         **used)
                    else:
                        impl = _train_fasttext_in_fresh_process(train_file, threads, seed, used)
                    break
                except RuntimeError as e:
                    # "Encountered NaN": fastText diverges when lr is too high, and (seen in test
                    # runs, not reproducible alone) sometimes in a long-lived process whatever the lr.
                    # Retry in a fresh process, first with the same lr, then halving it.
                    if "NaN" not in str(e) or _attempt == 3:
                        raise
                    if _attempt >= 1:
                        used["lr"] = used["lr"] / 2
        finally:
            os.unlink(train_file)
        # fastText drops labels it never saw; keep only those the model has, in our order
        have = {lab.removeprefix("__label__") for lab in impl.labels}
        labels = [lab for lab in labels if lab in have]
    else:
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.linear_model import Ridge, SGDClassifier
        from sklearn.pipeline import FeatureUnion, make_pipeline

        used = {**SKLEARN_DEFAULTS, **params}
        features = FeatureUnion([
            ("words", HashingVectorizer(analyzer="word", token_pattern=r"\S+", lowercase=False,
                                        ngram_range=tuple(used["word_ngrams"]), n_features=used["n_features"],
                                        alternate_sign=False)),
            ("chars", HashingVectorizer(analyzer="char_wb", lowercase=False, ngram_range=tuple(used["char_ngrams"]),
                                        n_features=used["n_features"], alternate_sign=False)),
        ])
        if task == "classes":
            est = SGDClassifier(loss="log_loss", alpha=used["alpha"], max_iter=used["max_iter"], tol=None,
                                class_weight="balanced", random_state=seed)
            y = [str(t) for t in targets]
        else:
            est = Ridge(alpha=used["ridge_alpha"], solver="sparse_cg")
            y = [float(t) for t in targets]
        impl = make_pipeline(features, est)
        impl.fit(texts, y)
    card["labels"] = labels
    card["params"] = used
    return QualityModel(backend, task, labels, card, impl), used


# ---------------------------------------------------------------- saving and loading
def save_model(model: QualityModel, folder: str | Path, name: str = "quality", card_extra: dict | None = None) -> Path:
    """Write the model under ``folder/<name>-<sha12><ext>`` with its card; update ``folder/LATEST``.

    Returns the model file path. Saving the same bytes twice gives the same name (nothing to
    invalidate); any other content gets a new name.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ext = EXTENSIONS[model.backend]
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=ext, dir=folder)
    os.close(fd)
    try:
        if model.backend == "fasttext":
            model.impl.save_model(tmp)
        else:
            import joblib

            joblib.dump(model.impl, tmp)
        sha = sha256_file(tmp)
        final = folder / f"{name}-{sha[:HASH_CHARS]}{ext}"
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    from finebooks import __version__

    card = {**model.card, **(card_extra or {}), "file": final.name, "sha256": sha,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "finebooks_version": __version__}
    card_path = final.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False))
    (folder / LATEST).write_text(final.name + "\n")
    model.card, model.path = card, str(final)
    return final


def resolve_model_path(path: str | Path) -> Path:
    """The model file for ``path``: the file itself, or the one a model folder's ``LATEST`` names."""
    p = Path(path)
    if p.is_dir():
        latest = p / LATEST
        if not latest.is_file():
            raise ModelError(f"model folder {p} has no {LATEST} file: train into it with `finebooks classifier "
                             "train`, or give the model file itself")
        p = p / latest.read_text().strip()
    if not p.is_file():
        raise ModelError(f"model file {p} does not exist")
    return p


_CACHE: dict[tuple[str, str], QualityModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(path: str | Path, verify: bool = True) -> QualityModel:
    """Load a model file (or a model folder's latest model) with its card.

    The SHA-256 of the file must start with the hash in its name (``verify``): a model file
    overwritten in place is refused instead of being mistaken for the one its name promises.
    Loaded models are kept per process, keyed by path *and* hash.
    """
    p = resolve_model_path(path)
    card_path = p.with_suffix(".json")
    if not card_path.is_file():
        raise ModelError(f"model card {card_path} is missing (it is written next to the model by "
                         "`finebooks classifier train`)")
    card = json.loads(card_path.read_text())
    sha = card.get("sha256", "")
    if verify:
        actual = sha256_file(p)
        stem_hash = p.stem.rsplit("-", 1)[-1]
        if not actual.startswith(stem_hash) or actual != sha:
            raise ModelError(f"model file {p} does not match its name/card (sha256 {actual[:HASH_CHARS]}, "
                             f"expected {stem_hash}): it was changed after training; retrain or restore it")
    key = (str(p.resolve()), sha)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    backend = card["backend"]
    if backend == "fasttext":
        from fasttext.FastText import _FastText

        impl = _FastText(str(p))
    elif backend == "sklearn":
        import joblib

        impl = joblib.load(p)  # a pickle: load only models you trained (or trust)
    else:
        raise ModelError(f"{card_path}: unknown backend {backend!r}")
    model = QualityModel(backend, card["task"], list(card.get("labels", [])), card, impl, str(p))
    with _CACHE_LOCK:
        _CACHE[key] = model
    return model


__all__ = ["ModelError", "QualityModel", "load_model", "resolve_model_path", "save_model", "sha256_file",
           "train_backend"]


def _fasttext_train_and_save(train_file: str, threads: int, seed: int, params: dict, out: str) -> None:
    import fasttext

    fasttext.train_supervised(input=train_file, thread=threads, seed=seed, verbose=0, **params).save_model(out)


def _train_fasttext_in_fresh_process(train_file: str, threads: int, seed: int, params: dict):
    """Train in a spawned process (a clean heap) and load the result here."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import fasttext

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "model.bin")
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_fasttext_train_and_save, train_file, threads, seed, dict(params), out).result()
        return fasttext.load_model(out)
