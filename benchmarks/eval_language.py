"""Language identification accuracy on text of known language, per subset and overall.

Chunks of >= 500 characters (cut at whitespace) from folders whose language is known:
gold/100_english_novels (en), gold/eltec_fra (fr), gold/gutenberg_gitenberg (language from its
metadata.yaml, PG boilerplate removed first), the ground-truth side of ICDAR 2017/2019
(eng/fr, EN1 en, FR2 fr, NL1 nl, ES1 es, DE2 de, DE4 la - GT4HistOCR Early Modern Latin, DE7
de - RIDGES) and CIS (Goethe gt de, Hobbes gt la). Prints accuracy with the model restricted to
the collection's languages (the FineBooks default set) and unrestricted, and the throughput of
the book-level stage on raw_ocr/trove_nla_books.

Run:  python benchmarks/eval_language.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[1].parent / "shared" / "data"
LANGS = ["en", "fr", "de", "nl", "it", "es", "pt", "la"]
CHUNK = 500


def gs_text(path: Path) -> str:
    """Ground-truth side of an ICDAR post-OCR file (alignment symbols removed)."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("[ GS_aligned]"):
            return line[len("[ GS_aligned]"):].replace("@", "").replace("#", "").strip()
    return ""


def chunks(text: str, size: int = CHUNK) -> list[str]:
    text = re.sub(r"\s+", " ", text).strip()
    out, pos = [], 0
    while pos + size <= len(text):
        end = text.find(" ", pos + size)
        end = len(text) if end == -1 else end
        out.append(text[pos:end])
        pos = end + 1
    return out


def subsets(data: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (language, list of texts)."""
    from finebooks.repair.boilerplate import DigitisationBoilerplateRemover

    out: dict[str, tuple[str, list[str]]] = {}
    gold = data / "gold"
    out["gold/100_english_novels"] = ("en", [p.read_text(encoding="utf-8-sig") for p in sorted((gold / "100_english_novels").glob("*.txt"))])
    out["gold/eltec_fra"] = ("fr", [p.read_text(encoding="utf-8-sig") for p in sorted((gold / "eltec_fra").glob("*.txt"))])
    remover = DigitisationBoilerplateRemover()
    for meta in sorted((gold / "gutenberg_gitenberg").glob("*/metadata.yaml")):
        m = re.search(r"^language:\s*(\w+)", meta.read_text(), re.MULTILINE)
        if not m:
            continue
        for txt in sorted(meta.parent.glob("*.txt")):
            raw = txt.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            out.setdefault(f"gutenberg/{m.group(1)}", (m.group(1), []))[1].append(remover.format(text))
    i17 = data / "ocr_gt_pairs" / "icdar2017"
    for sub, lang in (("eng_monograph", "en"), ("eng_periodical", "en"), ("fr_monograph", "fr"), ("fr_periodical", "fr")):
        files = sorted(i17.rglob(f"{sub}/*.txt"))
        out[f"icdar2017/{sub}"] = (lang, [gs_text(f) for f in files])
    i19 = data / "ocr_gt_pairs" / "icdar2019"
    for sub, lang in (("EN1", "en"), ("FR2", "fr"), ("NL1", "nl"), ("ES1", "es"), ("DE2", "de"), ("DE4", "la"), ("DE7", "de")):
        files = sorted(i19.rglob(f"{sub}/*.txt"))
        out[f"icdar2019/{sub}"] = (lang, [gs_text(f) for f in files])
    cis = data / "ocr_gt_pairs" / "cis_ocrtestset"
    out["cis/goethe-gt"] = ("de", ["\n".join(p.read_text(encoding="utf-8-sig") for p in sorted(cis.glob("german/*/gt/*.txt")))])
    out["cis/hobbes-gt"] = ("la", ["\n".join(p.read_text(encoding="utf-8-sig") for p in sorted(cis.glob("latin/*/gt/*.txt")))])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)
    if not (args.data / "gold").is_dir():
        print(f"data not found: {args.data}", file=sys.stderr)
        return 2
    from datatrove.utils.logging import logger

    logger.remove()
    from finebooks.scoring.language import LanguageScorer

    scorers = {"restricted": LanguageScorer(languages=LANGS), "all 97 languages": LanguageScorer()}
    data = subsets(args.data)
    totals = {k: Counter() for k in scorers}
    print(f"chunk accuracy (chunks of >= {CHUNK} characters); restricted = {LANGS}")
    print(f"{'subset':<28} {'lang':>4} {'chunks':>7} " + " ".join(f"{k:>17}" for k in scorers) + "  top confusions")
    for name, (lang, texts) in data.items():
        pieces = [c for t in texts for c in chunks(t)]
        if not pieces:
            continue
        row, confusions = [], Counter()
        for key, scorer in scorers.items():
            preds = [scorer.classify(p)[0] for p in pieces]
            ok = sum(p == lang for p in preds)
            totals[key]["ok"] += ok
            totals[key]["n"] += len(pieces)
            row.append(f"{ok / len(pieces):17.4f}")
            if key == "restricted":
                confusions = Counter(p for p in preds if p != lang)
        conf = ", ".join(f"{k}:{v}" for k, v in confusions.most_common(3))
        print(f"{name:<28} {lang:>4} {len(pieces):7d} " + " ".join(row) + f"  {conf}")
    print(f"{'ALL':<28} {'':>4} {totals['restricted']['n']:7d} "
          + " ".join(f"{t['ok'] / t['n']:17.4f}" for t in totals.values()))

    from finebooks.readers.text import TroveTextReader

    books = list(TroveTextReader(str(args.data / "raw_ocr" / "trove_nla_books")).run())
    mb = sum(len(b.text.encode()) for b in books) / 1e6
    scorer = LanguageScorer(languages=LANGS)
    scorer.identifier  # load the model outside the timing  # noqa: B018
    t = time.process_time()
    for b in books:
        scorer.score(b)
    cpu = time.process_time() - t
    langs = Counter(b.metadata["language"] for b in books)
    print(f"\nbook-level stage on trove_nla_books: {len(books)} books, {mb:.1f} MB in {cpu:.2f} CPU s = "
          f"{mb / cpu:.1f} MB/s per core; languages found: {dict(langs.most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
