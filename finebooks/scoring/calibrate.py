"""Calibrate :class:`~finebooks.scoring.ocr_quality.OcrQualityScorer` against OCR ground truth.

``python -m finebooks.scoring.calibrate [--data ../shared/data] [--quick]`` reads the aligned
OCR / ground-truth pairs under ``<data>/ocr_gt_pairs`` and prints Spearman's rho between the
OCR quality score of the OCR side and ``1 - CER`` (so higher = better agreement) per subset, per
language and overall.

Documents and CER:

* **ICDAR 2017 / 2019** (one file = one document; lines ``[OCR_toInput]``, ``[OCR_aligned]``,
  ``[ GS_aligned]``): CER is computed position by position from the two aligned strings,
  skipping positions where the gold is ``#`` (missing gold); an error is any position where the
  aligned characters differ (substitution; ``@`` in gold = insertion, ``@`` in OCR = deletion),
  divided by the number of gold characters (gold without ``@``/``#``). ``OCR_toInput`` is scored.
  Languages: eng_* / EN1 en, fr_* / FR2 fr, ES1 es, NL1 nl, DE2/5/6/7 de, DE4 (early modern
  Latin) la.
* **CIS OCR test set** (one document = one page and one engine): ``gt/NNNN.gt.txt`` against
  ``abbyy-txt`` / ``tess-txt`` / ``ocropus-txt`` files of the same number; CER = Levenshtein
  distance (whitespace runs collapsed) / gold length, with a numpy row-by-row DP.
* **overProof** (one document = one article; lines ``raw||@@||human||@@||overproof`` after an
  ``*$*OVERPROOF*$*`` header): lines are already aligned, so CER = sum of per-line Levenshtein
  distances / sum of human line lengths. Language en.

Documents with fewer than ``MIN_GOLD_CHARS`` gold characters are skipped.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from finebooks.scoring.ocr_quality import OcrQualityScorer

MIN_GOLD_CHARS = 100
ICDAR_LANG = {"eng": "en", "fr": "fr", "EN1": "en", "FR2": "fr", "ES1": "es", "NL1": "nl", "DE4": "la"}
CIS_LANG = {"german": "de", "latin": "la", "greek": "el"}
_WS = re.compile(r"\s+")


def levenshtein(a: str, b: str) -> int:
    """Edit distance (unit costs); numpy rows, cumulative-min trick for insertions."""
    if a == b:
        return 0
    if not a or not b:
        return max(len(a), len(b))
    if len(a) < len(b):
        a, b = b, a
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    ar = np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32)
    m = len(bb)
    idx = np.arange(m + 1)
    prev = idx.copy()
    for i in range(1, len(ar) + 1):
        cur = np.empty(m + 1, dtype=np.int64)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (bb != ar[i - 1]))
        cur = np.minimum.accumulate(cur - idx) + idx
        prev = cur
    return int(prev[-1])


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip()


def read_icdar(path: Path) -> tuple[str, float] | None:
    lines = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        for key in ("[OCR_toInput]", "[OCR_aligned]", "[ GS_aligned]"):
            if line.startswith(key):
                lines[key] = line[len(key) + 1 :]
    if len(lines) < 3:
        return None
    ocr_al, gs_al = lines["[OCR_aligned]"], lines["[ GS_aligned]"]
    n = min(len(ocr_al), len(gs_al))
    errors = gold = 0
    for i in range(n):
        g = gs_al[i]
        if g == "#":
            continue
        if g != "@":
            gold += 1
        if ocr_al[i] != g:
            errors += 1
    if gold < MIN_GOLD_CHARS:
        return None
    return lines["[OCR_toInput]"], errors / gold


def load_icdar(root: Path, limit: int | None = None) -> list[dict]:
    docs = []
    for base in sorted(root.glob("icdar20*")):
        year = base.name
        for f in sorted(base.rglob("*.txt")):
            if f.name.lower().startswith("readme"):
                continue
            sub = f.parent.name
            key = sub.split("_")[0]
            lang = ICDAR_LANG.get(key) or ICDAR_LANG.get(sub) or ("de" if sub.startswith("DE") else None)
            if lang is None:
                continue
            r = read_icdar(f)
            if r is None:
                continue
            docs.append({"subset": f"{year}/{sub}", "lang": lang, "text": r[0], "cer": r[1]})
    if limit:
        docs = _thin(docs, limit)
    return docs


def load_cis(root: Path, limit: int | None = None) -> list[dict]:
    docs = []
    for gt in sorted((root / "cis_ocrtestset").glob("*/*/gt/*.gt.txt")):
        book = gt.parent.parent
        lang = CIS_LANG.get(book.parent.name)
        num = gt.name.split(".")[0]
        gold = _norm(gt.read_text(encoding="utf-8", errors="replace"))
        if len(gold) < MIN_GOLD_CHARS:
            continue
        for engdir in sorted(book.glob("*-txt")):
            for f in engdir.glob(f"{num}.*.txt"):
                ocr = f.read_text(encoding="utf-8", errors="replace")
                cer = levenshtein(_norm(ocr), gold) / len(gold)
                docs.append(
                    {
                        "subset": f"cis/{book.parent.name}/{engdir.name.split('-')[0]}",
                        "lang": lang,
                        "text": ocr,
                        "cer": cer,
                    }
                )
    if limit:
        docs = _thin(docs, limit)
    return docs


def load_overproof(root: Path, limit: int | None = None) -> list[dict]:
    docs = []
    for f in sorted((root / "overproof").glob("dataset*/**/allArticles.txt")):
        ds = f.relative_to(root / "overproof").parts[0]
        articles: list[list[tuple[str, str]]] = []
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("*$*OVERPROOF*$*"):
                articles.append([])
                continue
            parts = line.split("||@@||")
            if len(parts) >= 2 and articles:
                articles[-1].append((parts[0], parts[1]))
        if limit:
            articles = articles[: max(1, limit // 2)]
        for art in articles:
            gold = sum(len(h.strip()) for _, h in art)
            if gold < MIN_GOLD_CHARS:
                continue
            dist = sum(levenshtein(_norm(r), _norm(h)) for r, h in art)
            docs.append(
                {
                    "subset": f"overproof/{ds}",
                    "lang": "en",
                    "text": "\n".join(r for r, _ in art),
                    "cer": dist / gold,
                }
            )
    return docs


def _thin(docs: list[dict], limit: int) -> list[dict]:
    """At most ``limit`` documents per subset, evenly spaced."""
    by: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        by[d["subset"]].append(d)
    out = []
    for items in by.values():
        step = max(1, len(items) // limit)
        out += items[::step][:limit]
    return out


def load_all(data_dir: Path, limit: int | None = None) -> list[dict]:
    root = Path(data_dir) / "ocr_gt_pairs"
    return load_icdar(root, limit) + load_cis(root, limit) + load_overproof(root, limit)


def _rho(scores, cers) -> float:
    from scipy.stats import spearmanr

    if len(scores) < 3:
        return float("nan")
    return float(spearmanr(scores, 1.0 - np.asarray(cers)).statistic)


def evaluate(
    data_dir: str | Path = "../shared/data",
    scorer: OcrQualityScorer | None = None,
    limit: int | None = None,
    docs: list[dict] | None = None,
) -> dict:
    """Spearman rho(score, 1 - CER) per subset, per language and overall.

    Returns ``{"overall": {...}, "language": {lang: {...}}, "subset": {name: {...}}}``, each
    entry ``{"rho": float, "n": int, "mean_cer": float, "mean_score": float}``.
    """
    scorer = scorer or OcrQualityScorer()
    docs = docs if docs is not None else load_all(Path(data_dir), limit)
    for d in docs:
        d["score"], _ = scorer.score_text(d["text"], d["lang"])
    docs = [d for d in docs if d["score"] is not None]

    def summary(items):
        s = [d["score"] for d in items]
        c = [d["cer"] for d in items]
        return {
            "rho": _rho(s, c),
            "n": len(items),
            "mean_cer": float(np.mean(c)),
            "mean_score": float(np.mean(s)),
        }

    groups: dict[str, dict[str, list]] = {"subset": defaultdict(list), "language": defaultdict(list)}
    for d in docs:
        groups["subset"][d["subset"]].append(d)
        groups["language"][d["lang"]].append(d)
    return {
        "overall": summary(docs),
        "language": {k: summary(v) for k, v in sorted(groups["language"].items())},
        "subset": {k: summary(v) for k, v in sorted(groups["subset"].items())},
    }


def format_table(result: dict) -> str:
    rows = ["| group | n | mean CER | mean score | rho(score, 1-CER) |", "|---|---:|---:|---:|---:|"]
    for kind in ("subset", "language"):
        for name, r in result[kind].items():
            rows.append(
                f"| {kind}:{name} | {r['n']} | {r['mean_cer']:.3f} | {r['mean_score']:.3f} | {r['rho']:.3f} |"
            )
    r = result["overall"]
    rows.append(
        f"| **overall** | {r['n']} | {r['mean_cer']:.3f} | {r['mean_score']:.3f} | **{r['rho']:.3f}** |"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--quick", type=int, default=None, help="at most N documents per subset")
    ap.add_argument("--fallback", default="union", choices=["union", "none"])
    args = ap.parse_args(argv)
    t = time.process_time()
    docs = load_all(Path(args.data), args.quick)
    t_load = time.process_time() - t
    t = time.process_time()
    result = evaluate(args.data, OcrQualityScorer(lexicon_fallback=args.fallback), docs=docs)
    print(format_table(result))
    print(f"\nloading + CER: {t_load:.1f}s cpu; scoring: {time.process_time() - t:.1f}s cpu")


if __name__ == "__main__":
    main()
