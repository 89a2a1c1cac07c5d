"""Calibration table (Spearman rho vs CER on OCR/ground-truth pairs) and throughput of OcrQualityScorer.

Usage::

    .venv/bin/python benchmarks/eval_ocr_quality.py [--data ../shared/data] [--quick N] [--no-calibration]

1. Calibration: ``finebooks.scoring.calibrate.run_calibration`` - rho(score, -CER) per subset,
   per language and overall, for the shipped weights and cross-validated refits (see
   docs/ocr_quality.md for what each column means).
2. Throughput on ``raw_ocr/trove_nla_books``, CPU time (``time.process_time``) in one process:
   a bare read of the books (the Trove reader) and the scorer on the same documents, both in
   MB/s per core, and their ratio. Character models are loaded (or built and cached) before the
   clock starts: a one-off per worker, not per book. The scorer runs once per language setting:
   books as they come (no ``language`` metadata: English model), and with each book's
   ``lang_guess`` from the collection's metadata.jsonl set as ``metadata["language"]``; and with
   a user-trained English model (``charlm train`` on gold/100_english_novels) in place of the
   wordfreq one.
3. The calibration run ends with the held-out test of user-trained models for el and es
   (``calibrate.evaluate_user_models``: document-level split, train on one half's gold, rho on
   the other half only).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from finebooks.scoring.calibrate import run_calibration
from finebooks.scoring.ocr_quality import OcrQualityScorer


def train_english_user_model(data: Path, out: Path) -> Path | None:
    """An English user model (``charlm train``) from the clean novels of gold/100_english_novels,
    for the throughput of a user-trained model (its alphabet, hence its tables, can be larger)."""
    from finebooks.scoring import charlm

    folder = data / "gold" / "100_english_novels"
    if not folder.is_dir():
        return None
    texts, _ = charlm.read_text_folder(folder)
    model = charlm.train_user_model("en", texts)
    model.save(out)
    print(f"user model for the throughput run: en, {len(model.letters)} letters, trained on {folder}")
    return out


def throughput(data: Path, repeats: int = 2, user_model: Path | None = None) -> dict:
    from finebooks.readers.text import TroveTextReader

    folder = data / "raw_ocr" / "trove_nla_books"
    t = time.process_time()
    docs = list(TroveTextReader(str(folder)).run(None, 0, 1))
    t_read = time.process_time() - t
    n_bytes = sum(len(d.text.encode("utf-8")) for d in docs)
    mb = n_bytes / 1e6
    guesses = {}
    meta_file = folder / "metadata.jsonl"
    if meta_file.is_file():
        for line in meta_file.read_text().splitlines():
            row = json.loads(line)
            guesses[row["file"]] = row.get("lang_guess")
    scorer = OcrQualityScorer()
    for lang in {"en", *(g for g in guesses.values() if g)}:
        scorer.model(lang)  # load or build the character models outside the clock
    scorer.score_text("warm up the character class table", "en")
    results = {
        "books": len(docs),
        "MB": round(mb, 1),
        "read_s": round(t_read, 2),
        "read_MBps": round(mb / t_read, 1),
    }
    print(
        f"bare read (TroveTextReader): {len(docs)} books, {mb:.1f} MB in {t_read:.2f}s cpu = {mb / t_read:.1f} MB/s"
    )
    labels = ["no language (en model)", "lang_guess"]
    scorers = {label: scorer for label in labels}
    if user_model is not None:
        label = "no language, user-trained en model"
        labels.append(label)
        scorers[label] = OcrQualityScorer(user_models={"en": str(user_model)})
        scorers[label].score_text("warm up", "en")
    for label in labels:
        scorer = scorers[label]
        for d in docs:
            if label == "lang_guess":
                name = Path(str(d.metadata.get("source_path", ""))).name
                g = guesses.get(name)
                if g:
                    d.metadata["language"] = g
            else:
                d.metadata.pop("language", None)
        best = None
        for _ in range(repeats):  # best of N: other processes share the cores
            t = time.process_time()
            for d in docs:
                scorer.score(d)
            dt = time.process_time() - t
            best = dt if best is None else min(best, dt)
        print(
            f"OcrQualityScorer, {label}: {mb:.1f} MB in {best:.2f}s cpu = {mb / best:.1f} MB/s per core "
            f"({best / t_read:.2f}x the bare read's CPU time)"
        )
        results[label] = {
            "score_s": round(best, 2),
            "MBps": round(mb / best, 1),
            "ratio_vs_read": round(best / t_read, 2),
        }
    return results


def greek_throughput(data: Path, out: Path, copies: int = 20) -> dict | None:
    """CPU time of the default (accent-stripped) and a user-trained polytonic Greek model (about
    100 letters, so its trigram table is ~40x the English one) on the Zonaras OCR pages, all 170
    joined as pages of one book and repeated ``copies`` times. The user model is trained on the
    gold of all Zonaras pages: this measures speed only, not quality."""
    from finebooks.scoring import calibrate, charlm

    docs = [d for d in calibrate.load_cis(data / "ocr_gt_pairs") if d["lang"] == "el"]
    if not docs:
        return None
    model = charlm.train_user_model("el", sorted({d["gold"] for d in docs}))
    model.save(out)
    book = "\f".join([d["text"] for d in docs] * copies)
    mb = len(book.encode("utf-8")) / 1e6
    res = {}
    for label, scorer in (
        ("default el model", OcrQualityScorer()),
        (f"user-trained el model ({len(model.letters)} letters)", OcrQualityScorer(user_models={"el": str(out)})),
    ):
        scorer.score_text("warm up " * 30, "el")
        best = None
        for _ in range(2):
            t = time.process_time()
            scorer.score_text(book, "el")
            dt = time.process_time() - t
            best = dt if best is None else min(best, dt)
        res[label] = round(mb / best, 1)
        print(f"Zonaras OCR x{copies} ({mb:.1f} MB), {label}: {best:.2f}s cpu = {mb / best:.1f} MB/s per core")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--quick", type=int, default=None, help="at most N calibration documents per subset")
    ap.add_argument("--no-calibration", action="store_true", help="throughput only")
    args = ap.parse_args()
    data = Path(args.data)
    if not args.no_calibration:
        run_calibration(data, args.quick)
        print()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        throughput(data, user_model=train_english_user_model(data, Path(tmp) / "en-user.npz"))
        greek_throughput(data, Path(tmp) / "el-user.npz")


if __name__ == "__main__":
    main()
