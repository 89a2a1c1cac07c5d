"""Train a quality classifier from labelled books: chunk, split by book, fit, save, report.

1. Every labelled row (a book, a page, an excerpt) is cut into chunks (``chunk_chars``, at most
   ``max_chunks_per_book`` evenly spaced ones, so that a 3,000-page book does not outweigh a
   hundred pamphlets). Chunks are the training examples; a row's label or score is theirs.
2. The held-out split is made over **groups** (books; see :mod:`finebooks.classifier.data`),
   stratified by class or score band, deterministic for a seed. Chunks of a held-out book are
   never trained on - chunk-level splits would put pages of the same book on both sides and
   measure memory.
3. For a class task, training chunks are balanced by down-sampling every class to the
   smallest (``balance``; fastText has no class weights), so the score is not a class prior.
4. The model is fitted (fastText by default, or scikit-learn), saved under a content-hashed
   name with its card (:mod:`finebooks.classifier.model`), and evaluated on the held-out books.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

from finebooks.classifier.data import (
    Columns,
    DataError,
    file_fingerprint,
    group_strata,
    read_labelled,
    split_groups,
    threads,
)
from finebooks.classifier.model import QualityModel, save_model, train_backend
from finebooks.classifier.text import chunk_text


@dataclass
class TrainConfig:
    """Everything that defines a training run (recorded in the model card)."""

    data: str
    output: str
    columns: Columns = field(default_factory=Columns)
    backend: str = "fasttext"
    name: str = "quality"
    positive: str | None = None
    chunk_chars: int = 1000
    min_chars: int = 200
    max_chunks_per_book: int = 64
    score_max_chunks: int = 32
    heldout: float = 0.2
    seed: int = 0
    balance: bool = True
    params: dict = field(default_factory=dict)
    hf_options: dict = field(default_factory=dict)
    limit: int = 0
    threads: int = 0


@dataclass
class TrainResult:
    model: QualityModel
    path: str
    counts: dict
    heldout: dict | None


def _log(progress, msg: str) -> None:
    if progress:
        progress(msg)


def train(cfg: TrainConfig, progress=print, evaluate_heldout: bool = True) -> TrainResult:
    """Run a training (see the module docstring). ``progress`` receives one-line messages."""
    task = cfg.columns.task
    books = []  # (group, target, source, chunks, row) - the rows themselves are kept only for held-out books
    n_rows = 0
    for row in read_labelled(cfg.data, cfg.columns, cfg.hf_options, cfg.limit):
        chunks = chunk_text(row.text, cfg.chunk_chars, cfg.max_chunks_per_book, cfg.min_chars)
        books.append((row, chunks))
        n_rows += 1
        if n_rows % 500 == 0:
            _log(progress, f"read {n_rows} labelled rows")
    if not books:
        raise DataError(f"no labelled rows in {cfg.data}")
    _log(progress, f"read {n_rows} labelled rows from {cfg.data}")
    strata = group_strata([r for r, _ in books])
    heldout_groups = split_groups(strata, cfg.heldout, cfg.seed)
    train_x, train_y = [], []
    for row, chunks in books:
        if row.group in heldout_groups:
            continue
        train_x.extend(chunks)
        train_y.extend([row.target] * len(chunks))
    if not train_x:
        raise DataError("no training chunks left after the held-out split")
    counts: dict = {"rows": n_rows, "groups": len(strata), "heldout_groups": len(heldout_groups),
                    "train_chunks_before_balance": len(train_x)}
    if task == "classes":
        per_class: dict[str, list[int]] = {}
        for i, y in enumerate(train_y):
            per_class.setdefault(str(y), []).append(i)
        counts["train_chunks_per_class"] = {k: len(v) for k, v in sorted(per_class.items())}
        counts["train_books_per_class"] = dict(sorted(
            {str(t): sum(1 for r, _ in books if r.group not in heldout_groups and str(r.target) == str(t))
             for t in per_class}.items()))
        counts["heldout_books_per_class"] = dict(sorted(
            {str(t): sum(1 for r, _ in books if r.group in heldout_groups and str(r.target) == str(t))
             for t in per_class}.items()))
        if cfg.balance and len(per_class) > 1:
            smallest = min(len(v) for v in per_class.values())
            rng = random.Random(cfg.seed)
            keep = sorted(i for v in per_class.values() for i in rng.sample(v, smallest))
            train_x = [train_x[i] for i in keep]
            train_y = [train_y[i] for i in keep]
            counts["train_chunks_balanced_per_class"] = smallest
    counts["train_chunks"] = len(train_x)
    rng = random.Random(cfg.seed)  # fastText learns online: shuffle so classes are interleaved
    order = list(range(len(train_x)))
    rng.shuffle(order)
    train_x = [train_x[i] for i in order]
    train_y = [train_y[i] for i in order]
    _log(progress, f"training {cfg.backend} on {len(train_x)} chunks from {len(strata) - len(heldout_groups)} "
                   f"groups; {len(heldout_groups)} groups held out")
    model, _ = train_backend(cfg.backend, task, train_x, train_y, cfg.params, cfg.seed,
                                cfg.threads or threads(), cfg.positive)
    cols = asdict(cfg.columns)
    card_extra = {
        "columns": cols,
        "chunking": {"chunk_chars": cfg.chunk_chars, "min_chars": cfg.min_chars,
                     "train_max_chunks": cfg.max_chunks_per_book, "score_max_chunks": cfg.score_max_chunks,
                     "normalise": "finebooks.classifier.text.normalise_text v1"},
        "data": {"path": cfg.data, "fingerprint": file_fingerprint(cfg.data), "hf_options": cfg.hf_options},
        "split": {"heldout": cfg.heldout, "seed": cfg.seed, "unit": "group",
                  "heldout_groups": sorted(heldout_groups)},
        "balance": cfg.balance,
        "counts": counts,
    }
    path = save_model(model, cfg.output, cfg.name, card_extra)
    _log(progress, f"saved {path}")
    heldout = None
    if evaluate_heldout and heldout_groups:
        from finebooks.classifier.evaluate import evaluate_rows

        rows = [r for r, _ in books if r.group in heldout_groups]
        heldout = evaluate_rows(model, rows)
        m = heldout["book"]
        if task == "classes":
            _log(progress, f"held-out books: {m['n']}, accuracy {m.get('accuracy', 0):.4f}, "
                           f"AUC {m['auc'] if m.get('auc') is None else round(m['auc'], 4)}")
        else:
            _log(progress, f"held-out books: {m['n']}, Spearman {m.get('spearman')}, MAE {m.get('mae')}")
    return TrainResult(model=model, path=str(path), counts=counts, heldout=heldout)


__all__ = ["TrainConfig", "TrainResult", "train"]
