"""Evaluate a quality model on held-out books: metrics at chunk and book level, JSON and Markdown.

Books are cut into chunks exactly as the scoring stage cuts them (the model card's chunking),
each chunk is scored, and a book's score is the mean of its chunk scores - the
``metadata["quality_score"]`` that :class:`~finebooks.classifier.stage.QualityClassifierScorer`
writes. Metrics are reported twice: over chunks (what the model sees) and over books (what a
threshold filter decides on).

* Class tasks: accuracy, macro F1, per-class precision/recall/F1, ROC AUC (of the positive
  class's probability, or one-vs-rest macro AUC for several numeric classes) and a confusion
  table (rows: true class, columns: predicted class).
* Score tasks: Spearman and Pearson correlation, mean absolute error, and a confusion table of
  rounded true vs rounded predicted scores.
* Per source (the ``source`` column, when present): books, mean book score and, for a binary
  task, the AUC of that source's books against every book of the other class - a source that
  is easy only because of how it was produced shows up here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from finebooks.classifier.data import Columns, DataError, LabelledRow, file_fingerprint, read_labelled
from finebooks.classifier.model import QualityModel


def _auc(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(y_true.tolist())) < 2:
        return None
    return float(roc_auc_score(y_true, scores))


def class_metrics(true: list[str], pred: list[str], labels: list[str], scores: np.ndarray | None = None,
                  positive: str | None = None, proba: np.ndarray | None = None) -> dict:
    """Accuracy, F1, AUC and a confusion table for class predictions."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

    t = np.array(true)
    p = np.array(pred)
    out: dict = {"n": len(t), "accuracy": float((t == p).mean()) if len(t) else None}
    if not len(t):
        return out
    out["macro_f1"] = float(f1_score(t, p, labels=labels, average="macro", zero_division=0))
    prec, rec, f1, sup = precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    out["per_class"] = {lab: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                              "support": int(sup[i])} for i, lab in enumerate(labels)}
    if positive is not None and scores is not None:
        out["auc"] = _auc((t == positive).astype(int), scores)
    elif proba is not None and len(labels) > 2:
        present = [i for i, lab in enumerate(labels) if lab in set(true)]
        if len(present) > 2:
            sub = proba[:, present] / np.maximum(proba[:, present].sum(axis=1, keepdims=True), 1e-12)
            out["auc"] = float(roc_auc_score(t, sub, multi_class="ovr", average="macro",
                                             labels=[labels[i] for i in present]))
        else:
            out["auc"] = None
    elif proba is not None and len(labels) == 2:
        out["auc"] = _auc((t == labels[1]).astype(int), proba[:, 1])
    counts = Counter(zip(true, pred))
    out["confusion"] = {"labels": labels, "rows": [[counts[(a, b)] for b in labels] for a in labels]}
    return out


def score_metrics(true: list[float], pred: list[float]) -> dict:
    """Spearman, Pearson, MAE and a rounded confusion table for numeric scores."""
    from scipy.stats import pearsonr, spearmanr

    t = np.asarray(true, dtype=float)
    p = np.asarray(pred, dtype=float)
    out: dict = {"n": len(t)}
    if len(t) < 2:
        return out
    const = np.all(t == t[0]) or np.all(p == p[0])
    out["spearman"] = None if const else float(spearmanr(t, p).statistic)
    out["pearson"] = None if const else float(pearsonr(t, p).statistic)
    out["mae"] = float(np.abs(t - p).mean())
    lo, hi = int(np.floor(t.min())), int(np.ceil(t.max()))
    tr = np.clip(np.round(t), lo, hi).astype(int)
    pr = np.clip(np.round(p), lo, hi).astype(int)
    labels = [str(v) for v in range(lo, hi + 1)]
    counts = Counter(zip(tr.tolist(), pr.tolist()))
    out["confusion"] = {"labels": labels, "rows": [[counts[(a, b)] for b in range(lo, hi + 1)] for a in range(lo, hi + 1)]}
    return out


def evaluate_rows(model: QualityModel, rows: list[LabelledRow], max_chunks: int | None = None,
                  progress=None) -> dict:
    """Score ``rows`` (books) chunk by chunk and compute chunk- and book-level metrics."""
    chunk_true, chunk_texts, chunk_book = [], [], []
    for i, r in enumerate(rows):
        for c in model.chunks(r.text, max_chunks):
            chunk_true.append(r.target)
            chunk_texts.append(c)
            chunk_book.append(i)
    if not chunk_texts:
        raise DataError("no text to evaluate on")
    scores = np.zeros(len(chunk_texts))
    probas = None
    step = 4096
    want_proba = model.task == "classes" or model.backend == "fasttext"
    if want_proba:
        probas = np.zeros((len(chunk_texts), len(model.labels)))
    for s in range(0, len(chunk_texts), step):
        batch = chunk_texts[s:s + step]
        scores[s:s + step] = model.score(batch)
        if want_proba and model.task == "classes":
            probas[s:s + step] = model.predict_proba(batch)
        if progress:
            progress(f"scored {min(s + step, len(chunk_texts))}/{len(chunk_texts)} chunks")
    book_idx = np.asarray(chunk_book)
    n_books = len(rows)
    book_scores = np.bincount(book_idx, weights=scores, minlength=n_books) / np.maximum(
        np.bincount(book_idx, minlength=n_books), 1)
    has_chunks = np.bincount(book_idx, minlength=n_books) > 0
    books = [r for i, r in enumerate(rows) if has_chunks[i]]
    book_scores = book_scores[has_chunks]
    result: dict = {"model": model.name, "sha256": model.sha256, "backend": model.backend, "task": model.task,
                    "labels": model.labels, "positive": model.positive, "books": len(books),
                    "chunks": len(chunk_texts), "chunking": model.chunking}
    if model.task == "classes":
        chunk_pred = [model.labels[j] for j in probas.argmax(axis=1)]
        result["chunk"] = class_metrics(chunk_true, chunk_pred, model.labels, scores if model.positive else None,
                                        model.positive, probas)
        book_proba = np.zeros((n_books, len(model.labels)))
        np.add.at(book_proba, book_idx, probas)
        book_proba = book_proba[has_chunks] / np.maximum(book_proba[has_chunks].sum(axis=1, keepdims=True), 1e-12)
        book_pred = [model.labels[j] for j in book_proba.argmax(axis=1)]
        result["book"] = class_metrics([r.target for r in books], book_pred, model.labels,
                                       book_scores if model.positive else None, model.positive, book_proba)
    else:
        result["chunk"] = score_metrics(chunk_true, scores.tolist())
        result["book"] = score_metrics([r.target for r in books], book_scores.tolist())
    result["per_source"] = per_source(books, book_scores, model)
    if model.task == "classes" and model.positive is not None:
        result["pairs"] = paired(books, book_scores, model.positive)
    result["book_scores"] = {r.id: round(float(s), 5) for r, s in zip(books, book_scores)}
    return result


def paired(books: list[LabelledRow], scores: np.ndarray, positive: str) -> dict:
    """Within groups that hold both classes (an OCR text and its ground truth: same words, same
    language, same period), how often the good side scores higher. Content cannot explain it."""
    by_group: dict[str, tuple[list[float], list[float]]] = {}
    for r, s in zip(books, scores):
        pos, neg = by_group.setdefault(r.group, ([], []))
        (pos if r.target == positive else neg).append(float(s))
    wins = total = groups = 0
    for pos, neg in by_group.values():
        if pos and neg:
            groups += 1
            for a in pos:
                for b in neg:
                    total += 1
                    wins += (a > b) + 0.5 * (a == b)
    return {"groups": groups, "pairs": total, "good_scores_higher": round(wins / total, 4) if total else None}


def per_source(books: list[LabelledRow], scores: np.ndarray, model: QualityModel) -> list[dict]:
    out = []
    sources = sorted({(r.source or "-", str(r.target) if model.task == "classes" else "") for r in books})
    binary = model.task == "classes" and model.positive is not None
    for src, target in sources:
        idx = [i for i, r in enumerate(books) if (r.source or "-") == src
               and (model.task != "classes" or str(r.target) == target)]
        row = {"source": src, "class": target or None, "books": len(idx),
               "mean_score": round(float(scores[idx].mean()), 4) if idx else None}
        if binary:
            others = [i for i, r in enumerate(books) if (r.target == model.positive) != (target == model.positive)]
            if idx and others:
                y = np.array([1 if target == model.positive else 0] * len(idx)
                             + [0 if target == model.positive else 1] * len(others))
                row["auc_vs_other_class"] = _auc(y, np.concatenate([scores[idx], scores[others]]))
            correct = [(scores[i] >= 0.5) == (target == model.positive) for i in idx]
            row["accuracy_at_0.5"] = round(float(np.mean(correct)), 4) if correct else None
        out.append(row)
    return out


def evaluate(model: QualityModel, data: str, columns: Columns | None = None, split: str = "heldout",
             hf_options: dict | None = None, max_chunks: int | None = None, progress=None,
             sources: list[str] | None = None) -> dict:
    """Evaluate on a labelled file: its held-out groups (``split="heldout"``, as recorded in the
    model card at training) or all of its rows (``split="all"``, for a separate test file).
    ``sources``: only rows whose source is one of these or starts with one of them."""
    if split not in ("heldout", "all"):
        raise ValueError(f"split must be 'heldout' or 'all', not {split!r}")
    cols = columns or Columns(**model.card.get("columns", {}))
    if model.task == "scores" and not cols.score:
        cols.score, cols.label = model.card.get("columns", {}).get("score") or "score", None
    rows = list(read_labelled(data, cols, hf_options))
    warnings = []
    if split == "heldout":
        groups = set(model.card.get("split", {}).get("heldout_groups", []))
        if not groups:
            raise DataError("the model card records no held-out groups; use split='all' with a separate test file")
        fp = model.card.get("data", {}).get("fingerprint")
        if fp and fp != file_fingerprint(data):
            warnings.append("the data file differs from the one the model was trained on (name, size or date); "
                            "held-out groups are matched by name")
        rows = [r for r in rows if r.group in groups]
        if not rows:
            raise DataError(f"none of the model's {len(groups)} held-out groups is in {data}")
    if sources:
        rows = [r for r in rows if any(r.source == s or r.source.startswith(s) for s in sources)]
        if not rows:
            raise DataError(f"no row of {data} ({split}) comes from the sources {sources}")
    result = evaluate_rows(model, rows, max_chunks, progress)
    result["data"] = data
    result["sources"] = sources or "all"
    result["split"] = split
    result["warnings"] = warnings
    return result


# ---------------------------------------------------------------- output
def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _confusion_md(conf: dict, title: str) -> list[str]:
    labels = conf["labels"]
    out = [f"{title} (rows: true, columns: predicted)", "",
           "| true \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for lab, row in zip(labels, conf["rows"]):
        out.append(f"| **{lab}** | " + " | ".join(str(v) for v in row) + " |")
    return out + [""]


def render_markdown(result: dict) -> str:
    """The evaluation as a Markdown report."""
    lines = [f"# Quality classifier evaluation: `{result['model']}`", "",
             (f"- backend: {result['backend']}, task: {result['task']}, labels: {', '.join(result['labels']) or '-'}"
              + (f", positive: {result['positive']}" if result.get("positive") else "")),
             (f"- data: `{result.get('data', '-')}` (split: {result.get('split', '-')}; sources: "
              f"{', '.join(result['sources']) if isinstance(result.get('sources'), list) else 'all'}): "
              f"{result['books']} books, {result['chunks']} chunks "
             f"(chunk_chars {result['chunking'].get('chunk_chars')}, "
              f"up to {result['chunking'].get('score_max_chunks')} per book)"), ""]
    for w in result.get("warnings", []):
        lines += [f"> warning: {w}", ""]
    keys = (["accuracy", "macro_f1", "auc"] if result["task"] == "classes" else ["spearman", "pearson", "mae"])
    lines += ["| level | n | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for level in ("book", "chunk"):
        m = result[level]
        lines.append(f"| {level} | {m['n']} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |")
    lines.append("")
    for level in ("book", "chunk"):
        if result[level].get("confusion"):
            lines += _confusion_md(result[level]["confusion"], f"**Confusion, {level} level**")
    pairs = result.get("pairs") or {}
    if pairs.get("pairs"):
        lines += [(f"**Paired** (groups holding both classes, e.g. OCR and its ground truth): the "
                   f"{result.get('positive')} side scores higher in {pairs['good_scores_higher']:.4f} of "
                   f"{pairs['pairs']} pairs ({pairs['groups']} groups)"), ""]
    if result.get("per_source"):
        cols = [k for k in ("source", "class", "books", "mean_score", "auc_vs_other_class", "accuracy_at_0.5")
                if any(k in r for r in result["per_source"])]
        lines += ["**Per source** (book level)", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in result["per_source"]:
            lines.append("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
        lines.append("")
    return "\n".join(lines)


def write_report(result: dict, output: str | Path) -> tuple[Path, Path]:
    """Write ``output/eval.json`` and ``output/eval.md`` (``output`` may also be a ``.json`` path)."""
    out = Path(output)
    if out.suffix == ".json":
        json_path, md_path = out, out.with_suffix(".md")
    else:
        out.mkdir(parents=True, exist_ok=True)
        json_path, md_path = out / "eval.json", out / "eval.md"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    md_path.write_text(render_markdown(result))
    return json_path, md_path


__all__ = ["class_metrics", "evaluate", "evaluate_rows", "render_markdown", "score_metrics", "write_report"]
