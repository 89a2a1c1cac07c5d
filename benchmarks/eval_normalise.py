"""Evaluate the character normaliser (``normalise_characters``): what it changes, how well the
f-for-long-s restoration works, how much clean text it touches, and how fast it is.

Prints, in one run:

1. counts per kind of change on raw_ocr/trove_nla_books (202 books), with the default
   parameters and with ``f_for_long_s`` on (language from the catalogue's ``lang_guess``);
2. precision and recall of the f-for-long-s restoration
   * on the sample collection's planted labels (``long_s`` labels with variant
     ``f_for_long_s``, and hyphenated line ends whose printed word is such a form),
   * on OCR/ground-truth pairs: ICDAR 2019 EN1 (17th-18th century, BL) and ICDAR 2017
     eng_monograph (1858) - a word-by-word check of OCR words against the aligned gold word,
   * on real books: the hand-checked labels in ``tests/data/real_labels/long_s.jsonl``
     (positions in Trove's pre-1800 English books: file, page, line, word_index, label),
   * false positives on clean novels (gold/100_english_novels has no long s, so every change
     is one), per million words, with and without the book-level check;
3. the share of characters changed on clean text (gold/100_english_novels, gold/eltec_fra) with
   the default parameters, and the kinds of change;
4. throughput in MB/s per core (UTF-8 bytes of book text / CPU seconds of the stage alone) on
   trove_nla_books, default parameters and with ``f_for_long_s``.

``--list-candidates N`` instead prints N random f-for-long-s changes in the pre-1800 English
Trove books with their line, for hand-checking (positions go into the label file; the text
never does).

Run:  python benchmarks/eval_normalise.py [--data ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import difflib
import glob
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
REAL_LABELS = REPO / "tests" / "data" / "real_labels" / "long_s.jsonl"
sys.path.insert(0, str(REPO))

# word tokens of a line; word_index in the label file counts these (0-based)
TOKEN_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
ICDAR_LANG = {"EN": "en"}


def _quiet():
    from datatrove.utils.logging import logger

    logger.remove()


def stage(**kw):
    from finebooks.repair.normalise import CharacterNormaliser

    return CharacterNormaliser(**kw)


def trove_books(data: Path) -> tuple[list, dict]:
    from finebooks.readers.text import TroveTextReader

    folder = data / "raw_ocr" / "trove_nla_books"
    meta = {}
    for line in (folder / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            meta[row["file"]] = row
    books = list(TroveTextReader(str(folder)).run())
    return books, meta


def is_pre1800_english(row: dict) -> bool:
    return bool(row.get("year")) and row["year"] < 1800 and row.get("lang_guess") == "en"


def changed_tokens(before: list[str], after: list[str]):
    """(page 1-based, line 0-based, word_index, before word, after word) for each changed token."""
    for p, (a, b) in enumerate(zip(before, after), start=1):
        if a == b:
            continue
        for ln, (la, lb) in enumerate(zip(a.split("\n"), b.split("\n"))):
            if la == lb:
                continue
            ta, tb = TOKEN_RE.findall(la), TOKEN_RE.findall(lb)
            if len(ta) != len(tb):
                raise AssertionError(f"tokenisation changed on page {p} line {ln}")
            for wi, (wa, wb) in enumerate(zip(ta, tb)):
                if wa != wb:
                    yield p, ln, wi, wa, wb


def restore_only(doc, language: str | None, **kw):
    """Pages of ``doc`` before and after the f-for-long-s restoration alone (other parts off)."""
    st = stage(f_for_long_s=True, **kw)
    pages = doc.text.split("\f")
    counts: Counter = Counter()
    return pages, st.restore_long_s_book(pages, counts, language), counts


def char_changes(before: str, after: str) -> tuple[int, int]:
    """Characters changed between two texts (all, and not counting whitespace-only edits)."""
    if before == after:
        return 0, 0
    a_lines, b_lines = before.split("\n"), after.split("\n")
    pairs = zip(a_lines, b_lines) if len(a_lines) == len(b_lines) else [(before, after)]
    total = non_ws = 0
    for a, b in pairs:
        if a == b:
            continue
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            n = max(i2 - i1, j2 - j1)
            total += n
            if (a[i1:i2] + b[j1:j2]).strip():
                non_ws += n
    return total, non_ws


def fmt_counts(c: Counter) -> str:
    c = Counter({k: v for k, v in c.items() if isinstance(v, (int, float))})
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])) or "(none)"


# ---------------------------------------------------------------------------- 1. counts on trove
def trove_counts(books, meta) -> None:
    print(f"\n== 1. changes per kind on raw_ocr/trove_nla_books ({len(books)} books)")
    for label, kw, with_lang in (
        ("defaults", {}, False),
        ("f_for_long_s=True", {"f_for_long_s": True}, True),
    ):
        st = stage(**kw)
        total: Counter = Counter()
        changed = 0
        for d in books:
            d = copy.deepcopy(d)
            if with_lang:
                d.metadata["language"] = meta[d.metadata["source_path"]].get("lang_guess")
            before = d.text
            st.repair_book(d)
            changed += d.text != before
            total.update(
                {
                    k: v
                    for k, v in d.metadata.get("repairs", {}).get(st.name, {}).items()
                    if isinstance(v, int)
                }
            )
        print(f"  {label:20s} books changed {changed}: {fmt_counts(total)}")


# ---------------------------------------------------------------------------- 2a. sample labels
def sample_long_s(sample_dir: Path | None) -> None:
    from finebooks.readers.text import FormFeedTextReader, PageFolderReader, TroveTextReader
    from finebooks.sample import make_sample

    tmp = None
    if sample_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="fb-sample-")
        sample_dir = Path(tmp.name) / "sample"
        make_sample(sample_dir, seed=0)
    books_meta = {}
    for line in (sample_dir / "books.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        books_meta[row["book_id"]] = row
    expected: dict[tuple[str, int], Counter] = {}
    skipped = 0
    for line in (sample_dir / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        lab = json.loads(line)
        det = lab["detail"]
        pair = None
        if lab["defect"] == "long_s" and det.get("variant") == "f_for_long_s":
            pair, n = (det["printed"], det["word"]), det["count"]
        elif lab["defect"] == "hyphenated_line_end":
            joined, clean = det["joined"].replace("-", ""), det["clean"].replace("-", "")
            if (
                joined != clean
                and len(joined) == len(clean)
                and all(x == y or (x == "f" and y == "s") for x, y in zip(joined, clean))
            ):
                pair, n = (joined, clean), 1
        if pair is None:
            continue
        pair = (pair[0].replace("-", ""), pair[1].replace("-", ""))  # compounds: compare without hyphens
        if lab["format"] not in ("formfeed", "pages", "trove"):
            skipped += 1
            continue
        expected.setdefault((lab["book_id"], lab["page"]), Counter())[pair] += n
    readers = [
        FormFeedTextReader(str(sample_dir / "formfeed")),
        PageFolderReader(str(sample_dir / "pages")),
        TroveTextReader(str(sample_dir / "trove")),
    ]
    tp = fp = 0
    fps: Counter = Counter()
    for reader in readers:
        for d in reader.run():
            bid = d.id.split("/", 1)[1]
            lang = books_meta.get(bid, {}).get("language")
            before, after, _ = restore_only(d, lang)
            for p, (a, b) in enumerate(zip(before, after), start=1):
                if a == b:
                    continue
                got = Counter(_joined_changes(a, b))
                want = expected.get((bid, p), Counter())
                hit = sum((got & want).values())
                tp += hit
                fp += sum(got.values()) - hit
                fps.update(got - want)
    n_expected = sum(sum(c.values()) for c in expected.values())
    print(
        f"  sample collection (seed 0): changed {tp + fp}, correct {tp}, labelled {n_expected}"
        f" -> precision {_ratio(tp, tp + fp)}, recall {_ratio(tp, n_expected)}"
        + (f" ({skipped} labels in XML formats not evaluated)" if skipped else "")
    )
    if fps:
        print(f"    wrong: {fps.most_common(10)}")
    if tmp is not None:
        tmp.cleanup()


def _joined_changes(a: str, b: str):
    """Changed words of a page, a word broken by a line-end hyphen counted once, joined."""
    w = r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*"
    word = re.compile(rf"{w}(?:-{w})*(?:-[ \t]*\n[ \t]*{w}(?:-{w})*)?")
    ta, tb = word.findall(a), word.findall(b)
    for x, y in zip(ta, tb):
        if x != y:
            yield re.sub(r"-[ \t]*\n[ \t]*|-", "", x), re.sub(r"-[ \t]*\n[ \t]*|-", "", y)


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "n/a"


# ---------------------------------------------------------------------------- 2b. OCR/GT pairs
def icdar_long_s(data: Path) -> None:
    from finebooks.repair.normalise import long_s_variant

    st = stage(f_for_long_s=True)
    params = (st.f_max_zipf, st.s_min_zipf, st.min_zipf_gain)
    sets = {
        "ICDAR2019 EN1": data / "ocr_gt_pairs/icdar2019/evaluation_4M_without_Finnish/EN/EN1",
        "ICDAR2017 eng_monograph": data
        / "ocr_gt_pairs/icdar2017/ICDAR2017_datasetPostOCR_Evaluation_2M_v1.2/eng_monograph",
    }
    for name, folder in sets.items():
        if not folder.is_dir():
            print(f"  {name}: not found")
            continue
        tp = fp = fn = words = 0
        wrong: Counter = Counter()
        for path in sorted(glob.glob(str(folder / "*.txt"))):
            lines = Path(path).read_text(encoding="utf-8").split("\n")
            ocr = lines[1].split("] ", 1)[1]
            gold = lines[2].split("] ", 1)[1]
            if len(ocr) != len(gold):
                continue
            for m in TOKEN_RE.finditer(ocr):
                w, g = m.group(), gold[m.start() : m.end()].replace("\u017f", "s")
                if "f" not in w or not TOKEN_RE.fullmatch(g):
                    continue
                # "@" is an alignment gap: a word next to one is only part of a word ("fo@Uowing")
                if "@" in (
                    ocr[m.start() - 1 : m.start()],
                    ocr[m.end() : m.end() + 1],
                    gold[m.start() - 1 : m.start()],
                    gold[m.end() : m.end() + 1],
                ):
                    continue
                words += 1
                is_long_s = (
                    len(g) == len(w)
                    and g != w
                    and all(x == y or (x == "f" and y == "s") for x, y in zip(w, g))
                )
                v = long_s_variant(w, "en", *params)
                if v is not None:
                    if v == g:
                        tp += 1
                    else:
                        fp += 1
                        wrong[(w, v, g)] += 1
                elif is_long_s:
                    fn += 1
        print(
            f"  {name} (word by word, no book check; {words} OCR words with f): changed {tp + fp},"
            f" correct {tp}, gold f->s {tp + fn} -> precision {_ratio(tp, tp + fp)}, recall {_ratio(tp, tp + fn)}"
        )
        if wrong:
            print(f"    wrong (ocr, ours, gold): {wrong.most_common(8)}")
        if name.startswith("ICDAR2017"):  # 1858 books: no long s, so with the book check...
            n_book = 0
            from datatrove.data import Document

            for path in sorted(glob.glob(str(folder / "*.txt"))):
                ocr_text = Path(path).read_text(encoding="utf-8").split("\n")[0].split("] ", 1)[1]
                before, after, _ = restore_only(Document(text=ocr_text, id=path), "en")
                n_book += sum(1 for _ in changed_tokens(before, after))
            print(f"    with the book check (each file a book): {n_book} words changed (all false positives)")


# ---------------------------------------------------------------------------- 2c. hand labels
def trove_candidates(books, meta, rng_seed: int = 0):
    """Every f-for-long-s change in the pre-1800 English Trove books, with its position."""
    out = []
    for d in books:
        row = meta[d.metadata["source_path"]]
        if not is_pre1800_english(row):
            continue
        before, after, _ = restore_only(d, "en")
        for p, ln, wi, wa, wb in changed_tokens(before, after):
            out.append(
                {
                    "file": row["file"],
                    "page": p,
                    "line": ln,
                    "word_index": wi,
                    "before": wa,
                    "after": wb,
                    "context": before[p - 1].split("\n")[ln],
                }
            )
    return out


def real_labels(books, meta) -> None:
    if not REAL_LABELS.exists():
        print(f"  hand labels: {REAL_LABELS} not found")
        return
    labels = [json.loads(x) for x in REAL_LABELS.read_text(encoding="utf-8").splitlines() if x.strip()]
    cands = trove_candidates(books, meta)
    now = {(c["file"], c["page"], c["line"], c["word_index"]): c for c in cands}
    correct = wrong = gone = 0
    for lab in labels:
        key = (lab["file"], lab["page"], lab["line"], lab["word_index"])
        if key not in now:
            gone += 1
            continue
        if lab["label"] == "correct":
            correct += 1
        else:
            wrong += 1
    n_books = sum(1 for r in meta.values() if is_pre1800_english(r))
    print(
        f"  Trove pre-1800 English ({n_books} books): {len(cands)} words changed; hand-checked {len(labels)}"
        f" random ones ({tests_path(REAL_LABELS)}): correct {correct}, wrong {wrong}"
        + (f", no longer changed {gone}" if gone else "")
        + f" -> precision {_ratio(correct, correct + wrong)}"
    )


def tests_path(p: Path) -> str:
    return str(p.relative_to(REPO))


def list_candidates(books, meta, n: int, seed: int) -> None:
    cands = trove_candidates(books, meta)
    rng = random.Random(seed)
    pick = sorted(rng.sample(range(len(cands)), min(n, len(cands))))
    for i in pick:
        c = cands[i]
        print(
            json.dumps({k: c[k] for k in ("file", "page", "line", "word_index")}),
            "|",
            c["before"],
            "->",
            c["after"],
            "|",
            c["context"],
        )


# ---------------------------------------------------------------------------- 2d/3. clean text
def read_gold(data: Path, name: str):
    from finebooks.readers.text import FormFeedTextReader

    return list(FormFeedTextReader(str(data / "gold" / name)).run())


def clean_text(data: Path) -> None:
    print("\n== 3. clean text survival, default parameters (target < 0.5 % of characters changed)")
    for name, lang in (("100_english_novels", "en"), ("eltec_fra", "fr")):
        docs = read_gold(data, name)
        st = stage()
        chars = changed = changed_non_ws = 0
        kinds: Counter = Counter()
        for d in docs:
            before = d.text
            st.repair_book(d)
            chars += len(before)
            a, b = char_changes(before, d.text)
            changed += a
            changed_non_ws += b
            kinds.update(
                {
                    k: v
                    for k, v in d.metadata.get("repairs", {}).get(st.name, {}).items()
                    if isinstance(v, int)
                }
            )
        print(
            f"  gold/{name} ({len(docs)} books, {chars:,} chars): {changed:,} changed = {100 * changed / chars:.4f} %"
            f" ({100 * changed_non_ws / chars:.4f} % not counting whitespace-only edits); kinds: {fmt_counts(kinds)}"
        )


def clean_text_long_s(data: Path) -> None:
    docs = read_gold(data, "100_english_novels")
    words = sum(len(d.text.split()) for d in docs)
    for gate in (stage().long_s_book_min_rate, 0.0):
        n = 0
        seen: Counter = Counter()
        for d in docs:
            before, after, _ = restore_only(d, "en", long_s_book_min_rate=gate)
            for *_, wa, wb in changed_tokens(before, after):
                n += 1
                seen[(wa, wb)] += 1
        what = "with the book check (default)" if gate else "without the book check (long_s_book_min_rate=0)"
        print(
            f"  gold/100_english_novels {what}: {n} words changed in {words:,} words"
            f" = {1e6 * n / words:.1f} per million words (all false positives)"
            + (f": {dict(seen)}" if n else "")
        )


def mojibake_round_trip(data: Path, n_books: int = 3) -> None:
    """Clean French text made into mojibake (its UTF-8 bytes read as cp1252 / Latin-1), repaired."""
    docs = read_gold(data, "eltec_fra")[:n_books]
    st = stage(odd_spaces=False)  # keep U+00A0 so that the original can be compared exactly
    for codec in ("cp1252", "latin-1"):
        lines = exact = 0
        cpu = nbytes = 0.0
        for d in docs:
            bad = d.text.encode("utf-8").decode(codec, errors="replace")
            t = time.process_time()
            out = st.format(bad)
            cpu += time.process_time() - t
            nbytes += len(bad.encode("utf-8"))
            pairs = list(zip(d.text.split("\n"), out.split("\n")))
            lines += len(pairs)
            exact += sum(a == b for a, b in pairs)
        print(
            f"  gold/eltec_fra, {len(docs)} books as UTF-8 read as {codec}: {exact}/{lines} lines restored exactly"
            f" ({nbytes / 1e6 / cpu:.1f} MB/s/core on such pages: ftfy is slow, hence the pre-check)"
        )


# ---------------------------------------------------------------------------- 4. throughput
def throughput(books, repeat: int) -> None:
    from finebooks.repair import normalise

    nbytes = sum(len(d.text.encode("utf-8")) for d in books)
    print(
        f"\n== 4. throughput on raw_ocr/trove_nla_books ({len(books)} books, {nbytes / 1e6:.1f} MB), CPU time of the stage only"
    )
    for label, kw in (("defaults", {}), ("f_for_long_s=True (language en)", {"f_for_long_s": True})):
        times = []
        for r in range(repeat):
            if r == 0:  # first run from cold lexicon caches, as a fresh worker
                normalise.zipf.cache_clear()
                normalise.long_s_variant.cache_clear()
            docs = [copy.deepcopy(d) for d in books]
            st = stage(**kw)
            t = time.process_time()
            for d in st.run(iter(docs)):
                pass
            times.append(time.process_time() - t)
        print(
            f"  {label:34s} cold {nbytes / 1e6 / times[0]:6.1f} MB/s/core"
            + (
                f", warm (best of {repeat - 1}) {nbytes / 1e6 / min(times[1:]):6.1f} MB/s/core"
                if repeat > 1
                else ""
            )
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sample", type=Path, help="an existing sample collection (default: write one, seed 0)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--list-candidates", type=int, metavar="N", help="print N random changes for hand-checking"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not (args.data / "raw_ocr" / "trove_nla_books").is_dir():
        print(f"data not found: {args.data}", file=sys.stderr)
        return 2
    _quiet()
    books, meta = trove_books(args.data)
    if args.list_candidates:
        list_candidates(books, meta, args.list_candidates, args.seed)
        return 0
    trove_counts(books, meta)
    print("\n== 2. f-for-long-s restoration (f_for_long_s=True, default thresholds)")
    sample_long_s(args.sample)
    icdar_long_s(args.data)
    real_labels(books, meta)
    clean_text_long_s(args.data)
    clean_text(args.data)
    mojibake_round_trip(args.data)
    throughput(books, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
