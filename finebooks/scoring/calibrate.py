"""Calibrate :class:`~finebooks.scoring.ocr_quality.OcrQualityScorer` against OCR ground truth.

``python -m finebooks.scoring.calibrate [--data ../shared/data] [--quick N] [--fit OUT.json]``
reads the OCR / ground-truth pairs under ``<data>/ocr_gt_pairs``, computes the true character
error rate (CER) of every OCR document, and prints Spearman's rho between the OCR quality score
and ``-CER`` (higher score = cleaner, so a good scorer has a rho near +1) per subset, per language
and overall - for the shipped weights and, cross-validated, for weights refitted on folds.

Documents (one document = what one file or article gives):

* **ICDAR 2017 / 2019** (one file = one document; lines ``[OCR_toInput]``, ``[OCR_aligned]``,
  ``[ GS_aligned]``): the OCR is ``OCR_toInput``, the gold is ``GS_aligned`` without ``@`` gaps
  and without the OCR stretches whose gold is missing (``#``). Languages: eng_* / EN1 en,
  fr_* / FR2 fr, ES1 es, NL1 nl, DE2/6/7 de; **DE4 and DE5 mix Latin and German incunabula**
  (GT4HistOCR "EarlyModernLatin" and "Kallimachos"), so their language is identified per
  document on the *gold* text with py3langid restricted to {de, la}.
* **CIS OCR test set** (one document = one page and one engine): ``gt/NNNN.gt.txt`` against
  ``abbyy-txt`` / ``tess-txt`` / ``ocropus-txt`` files of the same number.
* **overProof** (one document = one article; lines ``raw||@@||human||@@||overproof`` after an
  ``*$*OVERPROOF*$*`` header): raw OCR against the human correction. Language en.
* **OCR-D Kant 1784** (one document = one page and one engine): the text lines of each OCR
  PAGE-XML against the GT PAGE-XML of the same image. Language de.

Two CERs are computed per document, both on NFC text with long s folded to s and whitespace
collapsed (the ``normalise_characters`` stage does the same to books):

* ``cer`` (**order-robust, the calibration target**): the OCR is cut into chunks of about
  ``CHUNK_CHARS`` characters at spaces; each chunk is aligned to the best-matching stretch of the
  gold (edlib infix alignment, the gold searched around the chunk's proportional position,
  ``WINDOW_CHARS`` either side, or whole when shorter); CER = total edit distance / OCR characters.
  It measures how much of the OCR text is wrong, whatever the order in which the gold lists the
  text. Why: in the IMPACT-derived ICDAR 2019 subsets (ES1, NL1, EN1, DE2, FR2) the gold of many
  files is in another reading order or covers another region of the page than the OCR (ES1/18:
  the OCR holds the entry ARRECIFE, the gold ARRECIRSE), so the positional CER of those files says
  how the two transcripts were cut, not how good the OCR is (ES1: rho(positional CER, order-free
  word error) = 0.00). A score that reads only the OCR cannot and should not predict that.
* ``cer_positional``: plain Levenshtein distance / gold characters over the whole document (for
  ICDAR this equals the CER of the dataset's own alignment). Reported beside ``cer`` for
  comparison with the earlier figures.

Documents with fewer than ``MIN_GOLD_CHARS`` gold characters are skipped.

Licences: ICDAR 2017 and the ICDAR 2019 IMPACT subsets (EN1, FR2, ES1, DE2) are non-commercial;
the shipped weights are therefore fitted only on ``FIT_SUBSETS`` (CIS: Apache-2.0; GT4HistOCR
DE4-DE7: CC-BY-SA 4.0; NL1: CC BY; overProof: public-domain newspapers; Kant: public-domain
print) and the non-commercial subsets are pure held-out test data.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from finebooks.scoring.ocr_quality import FEATURES, OcrQualityScorer

MIN_GOLD_CHARS = 100
WITHIN = 0.75  # share of each subset's mean removed before fitting slopes (see fit_weights)
CHUNK_CHARS = 50
WINDOW_CHARS = 4000
ICDAR_LANG = {"eng": "en", "fr": "fr", "EN1": "en", "FR2": "fr", "ES1": "es", "NL1": "nl"}
MIXED_DE_LA = ("DE4", "DE5")  # GT4HistOCR EarlyModernLatin / Kallimachos: Latin and German
CIS_LANG = {"german": "de", "latin": "la", "greek": "el"}
# subsets whose licence allows shipping weights fitted on them (see module docstring)
FIT_SUBSETS = (
    "cis/",
    "icdar2019/DE4",
    "icdar2019/DE5",
    "icdar2019/DE6",
    "icdar2019/DE7",
    "icdar2019/NL1",
    "overproof/",
    "kant/",
)
_WS = re.compile(r"\s+")


# ---------------------------------------------------------------------------------- CER
def normalise(s: str) -> str:
    """NFC, long s -> s, whitespace runs -> one space (both sides of every CER)."""
    return _WS.sub(" ", unicodedata.normalize("NFC", s).replace("ſ", "s")).strip()


def _as_bytes(*texts: str) -> list[bytes]:
    """The texts re-encoded one byte per character over their joint alphabet (edlib is fast on
    bytes and handles at most 256 symbols); beyond 255 distinct characters the rarest share
    one byte (a tiny undercount of substitutions between two such rare characters)."""
    from collections import Counter

    freq = Counter()
    for t in texts:
        freq.update(t)
    ranked = [c for c, _ in freq.most_common()]
    table = {ord(c): i for i, c in enumerate(ranked[:255])}
    table.update({ord(c): 255 for c in ranked[255:]})
    return [t.translate(table).encode("latin-1") for t in texts]


def levenshtein(a: str, b: str) -> int:
    """Edit distance (unit costs), with edlib."""
    import edlib

    if a == b:
        return 0
    if not a or not b:
        return max(len(a), len(b))
    ab, bb = _as_bytes(a, b)
    return int(edlib.align(ab, bb, mode="NW", task="distance")["editDistance"])


def robust_cer(ocr: str, gold: str, chunk_chars: int = CHUNK_CHARS, window: int = WINDOW_CHARS) -> float:
    """Order-robust CER of ``ocr`` against ``gold`` (both already normalised); see module doc."""
    import edlib

    if not ocr:
        return 0.0
    ocr_b, gold_b = _as_bytes(ocr, gold)
    chunks: list[tuple[int, int]] = []  # (start, end) in ocr, cut after a space
    start = 0
    while start < len(ocr):
        end = ocr.find(" ", start + chunk_chars - 1)
        end = len(ocr) if end < 0 or len(ocr) - end < chunk_chars // 2 else end
        chunks.append((start, end))
        start = end + 1
    dist = total = 0
    L, G = len(ocr), len(gold)
    for s, e in chunks:
        n = e - s
        if n <= 0:
            continue
        center = int(s / max(L, 1) * G)
        lo, hi = (0, G) if G <= 2 * window else (max(0, center - window), min(G, center + window))
        if hi <= lo:
            d = n
        else:
            d = edlib.align(ocr_b[s:e], gold_b[lo:hi], mode="HW", task="distance")["editDistance"]
            d = n if d < 0 else min(d, n)
        dist += d
        total += n
    return dist / max(total, 1)


# ---------------------------------------------------------------------------------- loaders
def _doc(subset: str, lang: str | None, text: str, gold: str) -> dict | None:
    g = normalise(gold)
    if len(g) < MIN_GOLD_CHARS or lang is None:
        return None
    return {"subset": subset, "lang": lang, "text": text, "gold": g}


def read_icdar(path: Path) -> tuple[str, str] | None:
    """(OCR text, gold text) of one ICDAR file; gold without gaps, missing-gold stretches cut."""
    lines = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        for key in ("[OCR_toInput]", "[OCR_aligned]", "[ GS_aligned]"):
            if line.startswith(key):
                lines[key] = line[len(key) + 1 :]
    if len(lines) < 3:
        return None
    ocr_al, gs_al = lines["[OCR_aligned]"], lines["[ GS_aligned]"]
    n = min(len(ocr_al), len(gs_al))
    # OCR stretches whose gold is missing ('#') are cut from the OCR side of the CER
    gold = "".join(g for g in gs_al[:n] if g not in "@#")
    return lines["[OCR_toInput]"], gold


def load_icdar(root: Path) -> list[dict]:
    docs = []
    for base in sorted(root.glob("icdar20*")):
        for f in sorted(base.rglob("*.txt")):
            if f.name.lower().startswith("readme"):
                continue
            sub = f.parent.name
            key = sub.split("_")[0]
            if key in MIXED_DE_LA:
                lang = "mixed"
            else:
                lang = ICDAR_LANG.get(key) or ("de" if sub.startswith("DE") else None)
            r = read_icdar(f)
            if r is None:
                continue
            d = _doc(f"{base.name}/{sub}", lang, r[0], r[1])
            if d:
                d["file"] = str(f.relative_to(root))
                docs.append(d)
    mixed = [d for d in docs if d["lang"] == "mixed"]
    if mixed:
        from py3langid import langid

        ident = langid.LanguageIdentifier.from_modelpath(
            langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True
        )
        ident.set_languages(["de", "la"])
        for d in mixed:
            d["lang"] = ident.classify(d["gold"])[0]
    return docs


def load_cis(root: Path) -> list[dict]:
    docs = []
    for gt in sorted((root / "cis_ocrtestset").glob("*/*/gt/*.gt.txt")):
        book = gt.parent.parent
        num = gt.name.split(".")[0]
        gold = gt.read_text(encoding="utf-8", errors="replace")
        for engdir in sorted(book.glob("*-txt")):
            for f in sorted(engdir.glob(f"{num}.*.txt")):
                d = _doc(
                    f"cis/{book.parent.name}/{engdir.name.split('-')[0]}",
                    CIS_LANG.get(book.parent.name),
                    f.read_text(encoding="utf-8", errors="replace"),
                    gold,
                )
                if d:
                    d["file"] = str(f.relative_to(root))
                    docs.append(d)
    return docs


def load_overproof(root: Path) -> list[dict]:
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
        for i, art in enumerate(articles):
            d = _doc(f"overproof/{ds}", "en", "\n".join(r for r, _ in art), "\n".join(h for _, h in art))
            if d:
                d["file"] = f"{f.relative_to(root)}#{i}"
                docs.append(d)
    return docs


def _page_lines(path: Path) -> tuple[str, str]:
    from lxml import etree

    tree = etree.parse(str(path))
    image = (tree.xpath('//*[local-name()="Page"]/@imageFilename') or [""])[0]
    lines = tree.xpath(
        '//*[local-name()="TextLine"]/*[local-name()="TextEquiv"][1]/*[local-name()="Unicode"]/text()'
    )
    return Path(image).name, "\n".join(lines)


def load_kant(root: Path) -> list[dict]:
    base = root / "ocrd_kant_aufklaerung_1784"
    if not base.is_dir():
        return []
    gold = dict(_page_lines(f) for f in sorted((base / "OCR-D-GT-PAGE").glob("*.xml")))
    docs = []
    for engdir in sorted(base.glob("OCR-D-OCR-*")):
        for f in sorted(engdir.glob("*.xml")):
            image, text = _page_lines(f)
            if image in gold:
                d = _doc("kant/" + engdir.name.split("-")[3].lower(), "de", text, gold[image])
                if d:
                    d["file"] = str(f.relative_to(root))
                    docs.append(d)
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


def load_all(data_dir: Path, limit: int | None = None, progress: bool = False) -> list[dict]:
    """All calibration documents with ``cer`` and ``cer_positional`` (see module doc)."""
    root = Path(data_dir) / "ocr_gt_pairs"
    docs = load_icdar(root) + load_cis(root) + load_overproof(root) + load_kant(root)
    if limit:
        docs = _thin(docs, limit)
    t = time.time()
    for i, d in enumerate(docs):
        ocr = normalise(d["text"])
        d["cer"] = robust_cer(ocr, d["gold"])
        d["cer_positional"] = levenshtein(ocr, d["gold"]) / len(d["gold"])
        if progress and (i + 1) % 500 == 0:
            print(f"  CER of {i + 1}/{len(docs)} documents ({time.time() - t:.0f}s)", flush=True)
    return docs


# ---------------------------------------------------------------------------------- rho
def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def summarise(docs: list[dict], score_key: str = "score") -> dict:
    """``{"overall", "language", "subset"}`` -> rho(score, -cer), rho(score, -cer_positional), n."""
    docs = [d for d in docs if d.get(score_key) is not None]

    def summary(items):
        s = [d[score_key] for d in items]
        return {
            "n": len(items),
            "rho": spearman(s, [-d["cer"] for d in items]),
            "rho_positional": spearman(s, [-d["cer_positional"] for d in items]),
            "mean_cer": float(np.mean([d["cer"] for d in items])),
            "mean_cer_positional": float(np.mean([d["cer_positional"] for d in items])),
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


def add_features(docs: list[dict], scorer: OcrQualityScorer) -> None:
    """Book-level feature vector of every document (``d["x"]``), as the scorer computes it."""
    for d in docs:
        d["x"] = scorer.book_features(d["text"], d["lang"])


def evaluate(
    data_dir: str | Path = "../shared/data",
    scorer: OcrQualityScorer | None = None,
    limit: int | None = None,
    docs: list[dict] | None = None,
) -> dict:
    """Spearman rho of the scorer's book score against ``-cer`` per subset, language, overall."""
    scorer = scorer or OcrQualityScorer()
    docs = docs if docs is not None else load_all(Path(data_dir), limit)
    for d in docs:
        d["score"], _ = scorer.score_text(d["text"], d["lang"])
    return summarise(docs)


# ---------------------------------------------------------------------------------- fitting
def target(cer: np.ndarray) -> np.ndarray:
    """Regression target: log CER (errors are multiplicative across documents)."""
    return np.log(np.asarray(cer) + 0.005)


def fit_weights(docs: list[dict], within: float = WITHIN, ridge: float = 1e-3) -> dict:
    """Weights of the log-CER model: least squares on ``log(CER + 0.005)``.

    Every subset weighs the same (documents weighted by 1 / subset size), and each subset's mean
    is removed from features and target by the factor ``within`` before the slopes are fitted
    (0: plain pooled regression; 1: slopes from within-subset differences only). Pooled slopes
    learn "which collection is worse" from the mean CER of whole collections, where engines,
    scripts and gold conventions differ; within-subset slopes learn how the signals move with
    the error of one engine on one kind of print, which is what ranks pages within a language.
    ``WITHIN`` was chosen by 5-fold cross-validation (docs/ocr_quality.md). The intercept puts
    the subset-weighted mean residual at zero, so the score is on the CER scale.
    """
    rows = [d for d in docs if d["x"] is not None]
    X = np.array([d["x"] for d in rows], dtype=float)
    y = target([d["cer"] for d in rows])
    subs = np.array([d["subset"] for d in rows])
    counts = {s: int((subs == s).sum()) for s in set(subs.tolist())}
    w = np.array([1.0 / counts[s] for s in subs])
    Xd = X - np.average(X, axis=0, weights=w)
    yd = y - np.average(y, weights=w)
    for s in counts:
        m = subs == s
        Xd[m] -= within * Xd[m].mean(axis=0)
        yd[m] -= within * yd[m].mean()
    sw = np.sqrt(w)[:, None]
    A = (Xd * sw).T @ (Xd * sw) + ridge * np.eye(X.shape[1])
    coef = np.linalg.solve(A, (Xd * sw).T @ (yd * sw[:, 0]))
    intercept = float(np.sum(w * (y - X @ coef)) / w.sum())
    return {"intercept": intercept, **{f: float(c) for f, c in zip(FEATURES, coef, strict=True)}}


def predict(weights: dict, x) -> float | None:
    if x is None:
        return None
    return OcrQualityScorer.quality_from_features(np.asarray(x), weights)


def cross_validate(docs: list[dict], split: Callable[[list[dict]], list[list[int]]]) -> None:
    """Fill ``d["score_cv"]`` with a prediction from weights fitted without ``d``'s fold."""
    for test_idx in split(docs):
        test = set(test_idx)
        train = [d for i, d in enumerate(docs) if i not in test]
        w = fit_weights(train)
        for i in test_idx:
            docs[i]["score_cv"] = predict(w, docs[i]["x"])


def kfold(k: int = 5, seed: int = 0) -> Callable[[list[dict]], list[list[int]]]:
    def split(docs):
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(docs))
        return [sorted(idx[i::k].tolist()) for i in range(k)]

    return split


def by_subset(docs: list[dict]) -> list[list[int]]:
    folds: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        folds[d["subset"]].append(i)
    return list(folds.values())


# ---------------------------------------------------------------------------------- output
def format_table(
    results: dict[str, dict],
    show_positional: str | None = None,
    kinds: Sequence[str] = ("subset", "language", "overall"),
) -> str:
    """Markdown table, one rho column per result (``{column name: summarise() output}``)."""
    names = list(results)
    first = results[names[0]]
    head = "| group | n | mean CER | " + " | ".join(f"rho {n}" for n in names)
    if show_positional:
        head += " | mean positional CER | rho positional CER"
    rows = [head + " |", "|---|---:|---:|" + "---:|" * len(names) + ("---:|---:|" if show_positional else "")]
    for kind in kinds:
        keys = list(first[kind]) if kind != "overall" else [None]
        for key in keys:
            cells = []
            for n in names:
                r = results[n][kind] if kind == "overall" else results[n][kind].get(key)
                cells.append("" if r is None else f"{r['rho']:.3f}")
            r0 = first[kind] if kind == "overall" else first[kind][key]
            label = "**overall**" if kind == "overall" else f"{kind}:{key}"
            row = f"| {label} | {r0['n']} | {r0['mean_cer']:.3f} | " + " | ".join(cells)
            if show_positional:
                rp = (
                    results[show_positional][kind]
                    if kind == "overall"
                    else results[show_positional][kind][key]
                )
                row += f" | {rp['mean_cer_positional']:.3f} | {rp['rho_positional']:.3f}"
            rows.append(row + " |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------- user models
# languages whose calibration documents get a held-out test of a character model trained on the
# gold side of the *other* half of their documents: language -> (subset prefix, group key).
# Group = the unit that is never split between training and test: a Zonaras page (its gold is
# shared by the Tesseract and OCRopus documents of that page) or an ES1 file.
USER_MODEL_EVAL: dict[str, tuple[str, Callable[[dict], str]]] = {
    "el": ("cis/greek/", lambda d: Path(d["file"]).name.split(".")[0]),
    "es": ("icdar2019/ES1", lambda d: Path(d["file"]).name),
}
USER_MODEL_SEED = 0
USER_MODEL_WORDFREQ_SHARE = 0.5  # the train command's default (chosen on an inner split of half A)


def user_model_split(docs: list[dict], lang: str, seed: int = USER_MODEL_SEED) -> tuple[list[str], list[str]]:
    """The two halves (A, B) of the groups of ``lang``'s evaluation documents (seeded, by group)."""
    prefix, key = USER_MODEL_EVAL[lang]
    groups = sorted({key(d) for d in docs if d["subset"].startswith(prefix) and d["lang"] == lang})
    perm = np.random.default_rng(seed).permutation(len(groups))
    a = sorted(groups[i] for i in perm[: len(groups) // 2])
    return a, sorted(set(groups) - set(a))


def evaluate_user_models(
    docs: list[dict],
    langs: Sequence[str] = ("el", "es"),
    wordfreq_share: float = USER_MODEL_WORDFREQ_SHARE,
    score_key: str = "score_user",
    progress: bool = True,
    seed: int = USER_MODEL_SEED,
    **train_kwargs,
) -> dict:
    """Held-out test of user-trained character models (``charlm train``) on ``langs``.

    For each language, its documents are split by group (:data:`USER_MODEL_EVAL`) into halves A
    and B. A model is trained - through the same folder-of-text path as the train command - on
    the gold text of A's documents and scores only B's documents, and vice versa, so every
    document is scored by a model that never saw its page. Weights stay the shipped
    :data:`DEFAULT_WEIGHTS`; nothing is tuned on the test half. Fills ``d[score_key]`` for every
    document (the shipped ``d["score"]`` for the other languages) and returns
    ``{lang: {"A": rho, "B": rho, "pooled": rho, "shipped": rho, "n": n, ...}}``, where A is the
    rho on A's documents (model trained on B), pooled the rho over both held-out halves together
    and shipped the default model's rho on the same documents.
    """
    import tempfile

    from finebooks.scoring import charlm

    for d in docs:
        d[score_key] = d.get("score")
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang in langs:
            prefix, key = USER_MODEL_EVAL[lang]
            mine = [d for d in docs if d["subset"].startswith(prefix) and d["lang"] == lang]
            if not mine:
                continue
            halves = dict(zip("AB", user_model_split(docs, lang, seed), strict=True))
            res: dict = {"n": len(mine)}
            for test_name, train_name in (("A", "B"), ("B", "A")):
                train_groups = set(halves[train_name])
                folder = Path(tmp) / f"{lang}-{seed}-{train_name}"
                folder.mkdir()
                seen = set()
                for d in mine:  # one file per training group (engines share a page's gold)
                    if key(d) in train_groups and key(d) not in seen:
                        seen.add(key(d))
                        (folder / f"{len(seen):04d}.txt").write_text(d["gold"], encoding="utf-8")
                texts, _ = charlm.read_text_folder(folder)
                model = charlm.train_user_model(lang, texts, wordfreq_share=wordfreq_share, **train_kwargs)
                path = Path(tmp) / f"{lang}-{seed}-{train_name}.npz"
                model.save(path)
                scorer = OcrQualityScorer(user_models={lang: str(path)})
                test = [d for d in mine if key(d) in set(halves[test_name])]
                assert not {key(d) for d in test} & train_groups  # document-level split
                for d in test:
                    d[score_key], _ = scorer.score_text(d["text"], d["lang"])
                res[test_name] = spearman([d[score_key] for d in test], [-d["cer"] for d in test])
                res[f"n_{test_name}"] = len(test)
                res[f"train_words_{train_name}"] = model.source["tokens"]
                if progress:
                    print(
                        f"  {lang}: model trained on half {train_name} ({len(seen)} groups, "
                        f"{model.source['tokens']:,} words) -> rho {res[test_name]:.3f} on half "
                        f"{test_name} ({len(test)} documents)",
                        flush=True,
                    )
            res["pooled"] = spearman([d[score_key] for d in mine], [-d["cer"] for d in mine])
            if all(d.get("score") is not None for d in mine):
                res["shipped"] = spearman([d["score"] for d in mine], [-d["cer"] for d in mine])
                for h in "AB":
                    part = [d for d in mine if key(d) in set(halves[h])]
                    res[f"shipped_{h}"] = spearman([d["score"] for d in part], [-d["cer"] for d in part])
            out[lang] = res
    return out


def format_user_model_table(res: dict) -> str:
    rows = [
        (
            "| language | n | rho user model, half A | rho user model, half B | rho user model, both halves "
            "| rho shipped model (same documents: A / B / both) |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for lang, r in res.items():
        rows.append(
            f"| {lang} | {r['n']} | {r['A']:.3f} | {r['B']:.3f} | **{r['pooled']:.3f}** | "
            f"{r.get('shipped_A', float('nan')):.3f} / {r.get('shipped_B', float('nan')):.3f} / "
            f"{r.get('shipped', float('nan')):.3f} |"
        )
    return "\n".join(rows)


def run_calibration(
    data_dir: Path,
    limit: int | None = None,
    fit_out: Path | None = None,
    user_models: bool = True,
    user_model_seeds: Sequence[int] = (),
) -> dict:
    """Load, score with the shipped weights, cross-validate refits; print the table; then the
    held-out test of user-trained models (:func:`evaluate_user_models`) when ``user_models``."""
    t = time.process_time()
    docs = load_all(data_dir, limit, progress=True)
    t_load = time.process_time() - t
    scorer = OcrQualityScorer()
    t = time.process_time()
    add_features(docs, scorer)
    for d in docs:
        d["score"], _ = scorer.score_text(d["text"], d["lang"])
    t_score = time.process_time() - t
    results = {"shipped": summarise(docs)}
    fit_docs = [d for d in docs if d["subset"].startswith(FIT_SUBSETS)]
    held = [d for d in docs if not d["subset"].startswith(FIT_SUBSETS)]
    for d in held:
        d["score_lic"] = predict(fit_weights(fit_docs), d["x"])
    cross_validate(fit_docs, kfold(5))
    for d in fit_docs:
        d["score_lic"] = d["score_cv"]
    results["licence-split"] = summarise(docs, "score_lic")
    cross_validate(docs, kfold(5))
    results["5-fold"] = summarise(docs, "score_cv")
    cross_validate(docs, by_subset)
    results["leave-subset-out"] = summarise(docs, "score_cv")
    print(format_table(results, show_positional="shipped"))
    print(
        "\nrho = Spearman(score, -CER); shipped: the packaged weights (fitted on the licence-clean "
        "subsets, so in-sample there); licence-split: fitted on the licence-clean subsets, "
        "scored 5-fold there and fully held out on the others; 5-fold: random 5-fold by document "
        "over all subsets; leave-subset-out: each subset scored by weights fitted on all other "
        "subsets."
    )
    print(f"\nloading + CER: {t_load:.1f}s cpu; scoring {len(docs)} documents: {t_score:.1f}s cpu")
    if user_models:
        print(
            "\nUser-trained character models (charlm train, wordfreq share "
            f"{USER_MODEL_WORDFREQ_SHARE}), held out by document: each language's documents are "
            "split by page (el) or file (es) into halves A and B (seed "
            f"{USER_MODEL_SEED}); a model trained on the gold of one half scores only the other "
            "half, with the shipped weights:",
            flush=True,
        )
        ures = evaluate_user_models(docs)
        print(format_user_model_table(ures))
        results["user-models"] = summarise(docs, "score_user")
        print(
            f"\nPer language: the shipped models everywhere, and the held-out user models for "
            f"{', '.join(ures)} (shipped models elsewhere):\n"
        )
        print(
            format_table(
                {"shipped": results["shipped"], "with user models": results["user-models"]},
                kinds=("language", "overall"),
            )
        )
        results["user-model-split"] = ures
        if user_model_seeds:
            print(
                "\nThe same held-out test with other random splits (no tuning: a check of how much rho "
                "depends on the split):\n"
            )
            print("| seed | " + " | ".join(f"{lang} (A / B / both)" for lang in ures) + " |")
            print("|---:|" + "---|" * len(ures))
            per_seed = {}
            for seed in user_model_seeds:
                r = evaluate_user_models(docs, progress=False, score_key="score_user_seed", seed=seed)
                per_seed[seed] = r
                cells = [f"{v['A']:.3f} / {v['B']:.3f} / {v['pooled']:.3f}" for v in r.values()]
                print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)
            for lang in ures:
                vals = [per_seed[s_][lang]["pooled"] for s_ in user_model_seeds]
                print(
                    f"{lang}: both halves, mean over seeds {np.mean(vals):.3f} (min {min(vals):.3f}, max {max(vals):.3f})"
                )
            results["user-model-seeds"] = per_seed
    if fit_out:
        w = fit_weights(fit_docs)
        Path(fit_out).write_text(json.dumps(w, indent=2) + "\n")
        print(f"weights fitted on {len(fit_docs)} licence-clean documents written to {fit_out}")
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--quick", type=int, default=None, help="at most N documents per subset")
    ap.add_argument(
        "--fit", type=Path, default=None, help="write weights fitted on the licence-clean subsets here"
    )
    ap.add_argument(
        "--no-user-models", action="store_true", help="skip the held-out test of user-trained models (el, es)"
    )
    ap.add_argument(
        "--user-model-seeds",
        type=int,
        nargs="*",
        default=[],
        help="repeat the held-out user-model test with these random splits (e.g. 0 1 2 3 4)",
    )
    args = ap.parse_args(argv)
    run_calibration(
        Path(args.data),
        args.quick,
        args.fit,
        user_models=not args.no_user_models,
        user_model_seeds=args.user_model_seeds,
    )


if __name__ == "__main__":
    main()
