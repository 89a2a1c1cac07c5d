"""Evaluate the ``dehyphenate`` and ``unwrap_lines`` repair stages; print every figure.

Sections (each prints its figures; all of them come from this script):

1. **Sample collection** (``finebooks sample``, seed 0): every ``hyphenated_line_end`` label,
   read through its format's reader, is correct when, on its page, the printed word appears
   joined (``real_hyphen: false``) or as the hyphenated compound (``real_hyphen: true``) and the
   line-end fragment is gone; unlabelled lines ending in a hyphen that the stage changed are
   false joins. Unwrapping: on the plain-text formats, labelled heads/feet/page numbers are
   dropped using the labels, ``dehyphenate`` + ``unwrap_lines`` run, and each ``clean_pages``
   paragraph is looked up among the output paragraphs of its page (exactly, after normalising
   whitespace and long s / f-for-s; and by its boundaries: same word count, first and last word).
2. **Hand-checked real line ends** (``tests/data/real_labels/hyphenation.jsonl``: file, page,
   line, join|keep on trove_nla_books and the CIS Goethe ground truth; the text is read from
   ../shared/data): precision and recall of joins, accuracy of the decisions.
3. **CIS Goethe ground truth** (gt/ keeps line breaks and end-of-line hyphens): how many
   hyphen-ended lines get joined / kept / left, and the share of joined words found in the
   German lexicon or elsewhere in the book.
4. **Trove books**: join rate (joins per line ending in a hyphen after a letter), kept and
   cross-page counts.
5. **Clean text survival**: gold/100_english_novels and gold/eltec_fra: share of non-whitespace
   characters ``dehyphenate`` changes, lines touched, what the line-end hyphens became;
   paragraph counts before/after ``unwrap_lines`` for a few novels.
5b. **Paragraph breaks on real text**: hard-wrapped gold novels (and the dehyphenated Goethe
   ground truth) with the blank lines between their paragraphs deleted: precision and recall of
   the paragraph breaks ``unwrap_lines`` puts back.
6. **Throughput** of each stage on all 202 trove_nla_books (read by ``TroveTextReader``), MB of
   UTF-8 text per CPU second (``time.process_time``) of this single process: the one-off cost
   of loading the seven wordfreq lexicons, a first pass (word-lookup cache cold) and a second
   (steady state), for each stage and for both together. Run first, before anything has
   loaded a lexicon.

Run:  python benchmarks/eval_dehyphenate.py [--data ../shared/data] [--sample DIR] [--skip-real]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from datatrove.data import Document

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
LABELS = REPO / "tests" / "data" / "real_labels" / "hyphenation.jsonl"
sys.path.insert(0, str(REPO))

GOETHE = "ocr_gt_pairs/cis_ocrtestset/german/1809-Goethe-Wahlverwandtschaften-1/gt"
TROVE = "raw_ocr/trove_nla_books"
HYPHEN_EOL = re.compile(r"[^\W\d_][-\u2010\u2011\u00ac\u00ad=\u2e17\u2e40][ \t\r]*$")
PLAIN_FORMATS = ("trove", "pages", "formfeed", "page_rows", "book_rows")


# =========================================================================== helpers
def read_sample(sample: Path) -> dict[str, tuple[str, object]]:
    """book_id -> (format, Document) for every book of the sample collection."""
    from finebooks.readers.alto import AltoReader
    from finebooks.readers.book_rows import BookJsonlReader
    from finebooks.readers.hocr import HocrReader
    from finebooks.readers.page_rows import PageRowReader
    from finebooks.readers.text import FormFeedTextReader, PageFolderReader, TroveTextReader

    readers = {
        "trove": TroveTextReader(str(sample / "trove"), metadata_file=None),
        "pages": PageFolderReader(str(sample / "pages")),
        "formfeed": FormFeedTextReader(str(sample / "formfeed")),
        "alto": AltoReader(str(sample / "alto"), group_by="folder"),
        "hocr": HocrReader(str(sample / "hocr")),
        "page_rows": PageRowReader(str(sample), glob_pattern="page_rows.parquet"),
        "book_rows": BookJsonlReader(
            str(sample), glob_pattern="book_rows.jsonl", text_key="content", id_key="identifier",
            metadata_mapping={"creator": "author", "date": "year", "lang": "language"}),
    }
    books = {}
    for fmt, reader in readers.items():
        for doc in reader.run(None, 0, 1):
            key = doc.id.rsplit("/", 1)[-1]
            key = re.sub(r"\.(txt|hocr|xml)$", "", key)
            books[key] = (fmt, doc)
    return books


def token_count(text: str, form: str) -> int:
    return len(re.findall(rf"(?<![\w\u0300-\u036f\-]){re.escape(form)}(?![\w\u0300-\u036f\-])", text))


def norm_par(p: str) -> str:
    return " ".join(p.replace("\u017f", "s").replace("f", "s").split())


def words_sig(p: str) -> tuple:
    w = [re.sub(r"\W+", "", x) for x in norm_par(p).lower().split()]
    w = [x for x in w if x]
    return (len(w), w[0] if w else "", w[-1] if w else "")


# =========================================================================== 1. sample
def eval_sample(sample: Path) -> dict:
    from finebooks.repair.dehyphenate import Dehyphenator
    from finebooks.repair.unwrap import LineUnwrapper

    labels = [json.loads(x) for x in (sample / "labels.jsonl").read_text().splitlines()]
    truth = {b["book_id"]: b for b in map(json.loads, (sample / "books.jsonl").read_text().splitlines())}
    books = read_sample(sample)
    hyph = [lab for lab in labels if lab["defect"] == "hyphenated_line_end"]
    by_page: dict[tuple, list] = defaultdict(list)
    for lab in hyph:
        by_page[(lab["book_id"], lab["page"])].append(lab)

    before_pages, after_pages = {}, {}
    stage = Dehyphenator()
    for bid, (fmt, doc) in books.items():
        copy = Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata))
        before_pages[bid], after_pages[bid] = doc.text.split("\f"), stage.repair_book(copy).text.split("\f")

    # --- labelled line ends
    correct = total = 0
    per_kind = Counter()
    wrong_examples = []
    for (bid, page), labs in by_page.items():
        if bid not in books:
            continue
        b, a = before_pages[bid][page - 1], after_pages[bid][page - 1]
        groups = defaultdict(list)
        for lab in labs:
            groups[(lab["detail"]["joined"], lab["detail"]["real_hyphen"])].append(lab)
        for (joined, real), gl in groups.items():
            d0 = gl[0]["detail"]
            n = len(gl)
            pat = re.compile(re.escape(d0["line_end"]) + r"[ \t]*\n[ \t]*" + re.escape(d0["next_line_start"]))
            open_before = len(pat.findall(b))
            open_after = len(pat.findall(a))
            gained = token_count(a, joined) - token_count(b, joined)
            # breaks the reader already resolved (ALTO HypPart, hOCR soft hyphens) are not line
            # ends in its output; they count as correct when nothing is undone
            already = max(0, n - open_before)
            ok = max(0, min(n - open_after, gained + already))
            if real:
                unjoined = joined.replace("-", "")
                if token_count(a, unjoined) > token_count(b, unjoined):
                    ok = 0
            correct += ok
            total += n
            per_kind[("real" if real else "break", "ok")] += ok
            per_kind[("real" if real else "break", "all")] += n
            if ok < n and len(wrong_examples) < 12:
                wrong_examples.append(f"{bid} p{page} {books[bid][0]}: {d0['line_end']} / "
                                      f"{d0['next_line_start']} -> expected {joined!r}")
    # --- unlabelled hyphen line ends: false joins
    unlabelled = changed = 0
    for bid, pages in before_pages.items():
        for pno, b in enumerate(pages, 1):
            labelled = Counter((lab["detail"]["line_end"], lab["detail"]["next_line_start"])
                               for lab in by_page.get((bid, pno), []))
            lines = b.split("\n")
            for k in range(len(lines) - 1):
                if not HYPHEN_EOL.search(lines[k]) or not lines[k + 1].strip():
                    continue
                pair = (lines[k].split()[-1], lines[k + 1].split()[0])
                if labelled[pair] > 0:
                    labelled[pair] -= 1
                    continue
                unlabelled += 1
                pat = re.escape(pair[0]) + r"[ \t]*\n[ \t]*" + re.escape(pair[1])
                if not re.search(pat, after_pages[bid][pno - 1]):
                    changed += 1
    page_count_ok = all(len(before_pages[b]) == len(after_pages[b]) for b in books)

    print("== 1. sample collection (finebooks sample, seed 0) ==")
    print(f"hyphenated_line_end labels: {total}; correct {correct} = {correct / total:.4f}")
    for kind in ("break", "real"):
        k_all = per_kind[(kind, "all")]
        if k_all:
            ok = per_kind[(kind, "ok")]
            print(f"  real_hyphen={kind == 'real'!s:5}: {ok}/{k_all} = {ok / k_all:.4f}")
    print(f"unlabelled lines ending in letter+hyphen: {unlabelled}; changed (false joins): {changed}")
    print(f"page counts unchanged: {page_count_ok}")
    for w in wrong_examples:
        print("  wrong:", w)

    # --- unwrapping on plain formats, heads/feet/page numbers dropped with the labels
    drop = defaultdict(set)
    for lab in labels:
        if lab["defect"] in ("running_head", "running_foot", "page_number") and lab["line"] is not None:
            drop[(lab["book_id"], lab["page"])].add(lab["line"])
    unwrap = LineUnwrapper()
    dehyph = Dehyphenator()
    n_par = exact = bound = 0
    n_out = 0
    for bid, (fmt, doc) in books.items():
        t = truth.get(bid)
        if fmt not in PLAIN_FORMATS or t is None or t.get("duplicate_of"):
            continue
        pages = []
        for pno, page in enumerate(doc.text.split("\f"), 1):
            gone = drop.get((bid, pno), set())
            pages.append("\n".join(ln for i, ln in enumerate(page.split("\n")) if i not in gone))
        d = Document(text="\f".join(pages), id=bid, metadata=dict(doc.metadata))
        out = unwrap.repair_book(dehyph.repair_book(d)).text.split("\f")
        for pno, (clean, got) in enumerate(zip(t["clean_pages"], out), 1):
            if not clean.strip():
                continue
            cpars = [p for p in clean.split("\n\n") if p.strip()]
            gpars = [p for p in got.split("\n\n") if p.strip()]
            gnorm = Counter(norm_par(p) for p in gpars)
            gsig = Counter(words_sig(p) for p in gpars)
            n_out += len(gpars)
            for p in cpars:
                n_par += 1
                if gnorm[norm_par(p)] > 0:
                    exact += 1
                    gnorm[norm_par(p)] -= 1
                if gsig[words_sig(p)] > 0:
                    bound += 1
                    gsig[words_sig(p)] -= 1
    print(f"unwrap (plain formats, no duplicate scans; heads/feet/page numbers dropped by label): "
          f"{n_par} clean paragraphs, {n_out} output paragraphs")
    print(f"  reproduced exactly (whitespace, long s / f-for-s normalised): {exact}/{n_par} = "
          f"{exact / n_par:.4f}")
    print(f"  boundaries right (word count, first and last word): {bound}/{n_par} = {bound / n_par:.4f}")
    return {"hyphen_correct": correct / total, "false_joins": changed, "unwrap_exact": exact / n_par,
            "unwrap_boundaries": bound / n_par}


# =========================================================================== real data helpers
def outcomes(stage, doc, marks: list[tuple[int, int]]) -> list[tuple[str, str, str]]:
    """Run ``stage`` on ``doc``; for each line in ``marks`` ((page, line), 0-based, a line ending
    in a hyphen) return ``("join" | "keep" | "left", first part, second part)`` from the stage's
    decision trace (a page's last line is matched to the decision across that page end)."""
    stage.trace = []
    try:
        stage.repair_book(Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata)))
        trace = {(pg, ln): (dec or "left", a, b) for pg, ln, a, b, dec in stage.trace}
    finally:
        stage.trace = None
    pages = doc.text.split("\f")
    res = []
    for pg, ln in marks:
        lines = pages[pg].split("\n")
        # the page's last text line (a page number or signature under it, at most 12 characters,
        # does not count): its outcome is the decision across the page end
        last = all(len(x.strip()) <= 12 for x in lines[ln + 1:])
        key = (pg, ln) if (pg, ln) in trace or not last else (pg, -1)
        res.append(trace.get(key, ("left", lines[ln].split()[-1] if lines[ln].split() else "", "")))
    return res


def read_trove(data: Path):
    from finebooks.readers.text import TroveTextReader

    return list(TroveTextReader(str(data / TROVE)).run(None, 0, 1))


def goethe_book(data: Path):
    files = sorted((data / GOETHE).glob("*.gt.txt"))
    pages = [f.read_text(encoding="utf-8-sig").replace("\r\n", "\n") for f in files]
    doc = Document(text="\f".join(pages), id="cis/goethe-gt", metadata={"language": "de"})
    return doc, [str(f.relative_to(data)) for f in files]


def hyphen_line_ends(doc) -> list[tuple[int, int]]:
    """(page, line) of every line ending in letter + hyphen with a following line or page."""
    out = []
    pages = doc.text.split("\f")
    for pg, page in enumerate(pages):
        lines = page.split("\n")
        last = max((i for i, x in enumerate(lines) if x.strip()), default=-1)
        for i, x in enumerate(lines):
            if HYPHEN_EOL.search(x) and (i < last or pg + 1 < len(pages)):
                out.append((pg, i))
    return out


# =========================================================================== 2. hand labels
def eval_hand_labels(data: Path, trove_docs) -> dict:
    from finebooks.repair.dehyphenate import Dehyphenator

    rows = [json.loads(x) for x in LABELS.read_text().splitlines() if x.strip()]
    by_file = {"raw_ocr/trove_nla_books/" + d.metadata["source_path"]: d for d in trove_docs}
    gdoc, gfiles = goethe_book(data)
    stage = Dehyphenator()
    per_doc = defaultdict(list)
    for r in rows:
        if r["file"] in by_file:
            per_doc[("trove", r["file"])].append((r, (r["page"] - 1, r["line"])))
        else:
            per_doc[("goethe", "")].append((r, (gfiles.index(r["file"]), r["line"])))
    tally = Counter()
    strata = defaultdict(Counter)
    wrong = []
    for (kind, f), items in per_doc.items():
        doc = by_file[f] if kind == "trove" else gdoc
        res = outcomes(stage, doc, [m for _, m in items])
        for (r, _), (out, _a, _b) in zip(items, res):
            joined = out == "join"
            tally[(r["label"], joined)] += 1
            strata[r["stratum"]][(r["label"], joined)] += 1
            if joined != (r["label"] == "join"):
                wrong.append(f"{r['file'].rsplit('/', 1)[-1][:40]} p{r['page']} l{r['line']}: "
                             f"label {r['label']}, stage {out} ({_a}|{_b})")
    tp, fp, fn = tally[("join", True)], tally[("keep", True)], tally[("join", False)]
    n = sum(tally.values())
    print("== 2. hand-checked real line ends (tests/data/real_labels/hyphenation.jsonl) ==")
    print(f"{n} labelled line ends ({sum(v for (lab, _), v in tally.items() if lab == 'join')} join, "
          f"{sum(v for (lab, _), v in tally.items() if lab == 'keep')} keep)")
    print(f"  join precision {tp / max(tp + fp, 1):.4f} ({tp}/{tp + fp}), recall {tp / max(tp + fn, 1):.4f} "
          f"({tp}/{tp + fn}), decisions right {(tp + tally[('keep', False)]) / n:.4f}")
    for st, t in sorted(strata.items()):
        m = sum(t.values())
        print(f"  {st:14s}: {m:3d} lines, right {(t[('join', True)] + t[('keep', False)]) / m:.4f} "
              f"(joins {t[('join', True)] + t[('keep', True)]}, false joins {t[('keep', True)]}, "
              f"missed {t[('join', False)]})")
    for w in wrong:
        print("  wrong:", w)
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}


# =========================================================================== 3. Goethe
def eval_goethe(data: Path) -> dict:
    from finebooks.repair.dehyphenate import Dehyphenator
    from finebooks.repair.lexicon import BookVocabulary, zipf

    doc, _ = goethe_book(data)
    marks = hyphen_line_ends(doc)
    res = outcomes(Dehyphenator(), doc, marks)
    c = Counter(o for o, _, _ in res)
    vocab = BookVocabulary(doc.text)
    joined = [a + b for o, a, b in res if o == "join"]
    in_lex = sum(1 for w in joined if zipf(w, "de") > 0)
    in_book = sum(1 for w in joined if zipf(w, "de") == 0 and vocab.has(w))
    print("== 3. CIS Goethe 1809 ground truth (gt/, 1 page per file, language de) ==")
    print(f"{len(doc.text.split(chr(12)))} pages, {len(marks)} lines ending in a hyphen after a letter: "
          f"joined {c['join']}, kept {c['keep']}, left {c['left']}")
    print(f"  joined words in the German lexicon: {in_lex}/{len(joined)} = "
          f"{in_lex / max(len(joined), 1):.4f}; elsewhere in the book only: {in_book}; "
          f"neither: {len(joined) - in_lex - in_book}")
    print(f"  kept: {[a + '-' + b for o, a, b in res if o == 'keep']}")
    print(f"  left: {[a + '-|' + b for o, a, b in res if o == 'left']}")
    return {"joined": c["join"], "lines": len(marks)}


# =========================================================================== 4. trove
def eval_trove(trove_docs) -> dict:
    from finebooks.repair.dehyphenate import Dehyphenator

    stage = Dehyphenator()
    per_lang = defaultdict(Counter)
    for doc in trove_docs:
        n = len(hyphen_line_ends(doc))
        before = {k: stage.stats[k].total for k in ("joined", "kept_hyphen", "page_joins")}
        stage.repair_book(Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata)))
        lang = stage.book_language(doc, doc.text)
        c = per_lang[lang]
        c["books"] += 1
        c["lines"] += n
        for k, old in before.items():
            c[k] += stage.stats[k].total - old
    tot = Counter()
    for c in per_lang.values():
        tot.update(c)
    print("== 4. trove_nla_books (202 books, language as the stage guesses it) ==")
    print(f"{tot['lines']} lines ending in letter+hyphen (before a line or a page): joined {tot['joined']} "
          f"({tot['joined'] / tot['lines']:.4f}), kept hyphen {tot['kept_hyphen']} "
          f"({tot['kept_hyphen'] / tot['lines']:.4f}), across pages {tot['page_joins']}")
    for lang, c in sorted(per_lang.items(), key=lambda kv: -kv[1]["lines"]):
        n = max(c["lines"], 1)
        print(f"  {lang}: {c['books']:3d} books, {c['lines']:6d} lines, joined {c['joined'] / n:.3f}, "
              f"kept {c['kept_hyphen'] / n:.3f}, page joins {c['page_joins']}")
    return dict(tot)


# =========================================================================== 5. gold survival
def eval_gold(data: Path) -> dict:
    import difflib

    from finebooks.readers.text import FormFeedTextReader
    from finebooks.repair.dehyphenate import Dehyphenator
    from finebooks.repair.unwrap import LineUnwrapper

    print("== 5. clean text survival (dehyphenate on gold transcriptions) ==")
    hy = re.compile(r"[-\u2010\u2011\u00ac\u00ad=\u2e17\u2e40]")
    out = {}
    for sub, lang in (("gold/100_english_novels", "en"), ("gold/eltec_fra", "fr")):
        docs = list(FormFeedTextReader(str(data / sub), glob_pattern="*.txt").run(None, 0, 1))
        total = changed = lines_touched = n_lines = hyph = 0
        stage = Dehyphenator()
        kept, joined = [], []
        for doc in docs:
            before = doc.text
            marks = hyphen_line_ends(doc)
            hyph += len(marks)
            res = outcomes(stage, doc, marks)
            kept += [a + "-" + b for o, a, b in res if o == "keep"]
            joined += [a + b for o, a, b in res if o == "join"]
            after = stage.repair_book(Document(text=before, id=doc.id, metadata=dict(doc.metadata))).text
            a_nows, b_nows = "".join(before.split()), "".join(after.split())
            assert hy.sub("", a_nows) == hy.sub("", b_nows), "dehyphenate changed more than hyphens"
            total += len(before)
            changed += len(a_nows) - len(b_nows)
            bl, al = before.split("\n"), after.split("\n")
            n_lines += len(bl)
            sm = difflib.SequenceMatcher(None, bl, al, autojunk=False)
            lines_touched += sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes()
                                 if tag != "equal")
        print(f"{sub}: {len(docs)} books, {total} chars; non-whitespace characters changed {changed} = "
              f"{changed / total:.5%}; lines touched {lines_touched}/{n_lines} = "
              f"{lines_touched / n_lines:.4%}")
        print(f"  {hyph} lines end in letter+hyphen: kept as compounds {len(kept)}, joined {len(joined)}, "
              f"left {hyph - len(kept) - len(joined)}")
        print(f"  joined: {joined}")
        print(f"  kept: {kept}")
        out[sub] = changed / total

    print("unwrap_lines on gold novels: paragraphs before (blank-line blocks) -> after")
    unwrap = LineUnwrapper()
    # blank lines between paragraphs / no blank lines / one paragraph per line / blank lines
    for name in ("Hardy_Tess_1891.txt", "Dickens_Oliver_1839.txt", "Cbronte_Jane_1847.txt",
                 "Morris_Wood_1894.txt"):
        path = data / "gold/100_english_novels" / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        blocks = [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
        after = unwrap.format(text)
        pars = [p for p in after.split("\n\n") if p.strip()]
        same = len({"".join(b.split()) for b in blocks} & {"".join(p.split()) for p in pars})
        lines = sum(1 for ln in text.split("\n") if ln.strip())
        print(f"  {name}: {lines} lines, {len(blocks)} blank-line blocks -> {len(pars)} paragraphs; "
              f"{same} identical to an input block apart from whitespace; non-whitespace text unchanged: "
              f"{''.join(text.split()) == ''.join(after.split())}")
    return out


# =========================================================================== 5b. paragraph breaks
def boundaries(paragraphs: list[str]) -> set[int]:
    """Start offsets (in non-whitespace characters) of every paragraph but the first."""
    out, pos = set(), 0
    for p in paragraphs:
        if pos:
            out.add(pos)
        pos += len("".join(p.split()))
    return out


def eval_unwrap_real(data: Path, unwrap=None, quiet: bool = False) -> dict:
    """Paragraph breaks recovered after deleting the blank lines of real paragraphed text."""
    from finebooks.repair.dehyphenate import Dehyphenator
    from finebooks.repair.unwrap import LineUnwrapper

    if not quiet:
        print("== 5b. unwrap_lines: paragraph breaks recovered once the blank lines between paragraphs "
              "are deleted ==")
    unwrap = unwrap or LineUnwrapper()
    cases = []
    # the gold novels that are hard-wrapped with blank lines between paragraphs
    for name in ("Hardy_Tess_1891.txt", "Morris_Wood_1894.txt", "Haggard_Mines_1885.txt",
                 "Ward_Milly_1881.txt", "Ford_Girl_1907.txt"):
        path = data / "gold/100_english_novels" / name
        if path.exists():
            cases.append((name, [path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")]))
    gdoc, _ = goethe_book(data)
    gpages = Dehyphenator().repair_book(Document(text=gdoc.text, id="g", metadata={"language": "de"})).text
    # the page number on each page's first line goes, as the page-number stage would remove it
    gpages = [re.sub(r"\A\s*\d+\s*\n", "", p) for p in gpages.split("\f")]
    cases.append(("CIS Goethe gt (dehyphenated, page numbers dropped)", gpages))
    res = {}
    for name, pages in cases:
        tp = fp = fn = 0
        for page in pages:
            gold = [b for b in re.split(r"\n[ \t]*\n", page) if b.strip()]
            squeezed = "\n".join(ln for ln in page.split("\n") if ln.strip())
            got = [p for p in unwrap.format(squeezed).split("\n\n") if p.strip()]
            g, o = boundaries(gold), boundaries(got)
            tp += len(g & o)
            fp += len(o - g)
            fn += len(g - o)
        p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        if not quiet:
            print(f"  {name}: {tp + fn} paragraph breaks; found {tp + fp}: precision {p:.4f}, recall {r:.4f}")
        res[name] = (p, r)
    return res


# =========================================================================== 6. throughput
def eval_throughput(trove_docs) -> dict:
    from finebooks.repair import lexicon
    from finebooks.repair.dehyphenate import Dehyphenator
    from finebooks.repair.unwrap import LineUnwrapper

    nbytes = sum(len(d.text.encode("utf-8")) for d in trove_docs)
    print(f"== 6. throughput on trove_nla_books ({len(trove_docs)} books, {nbytes / 1e6:.1f} MB of text; "
          "MB/s per core = text MB / process CPU seconds) ==")
    res = {}
    t = time.process_time()
    for lang in lexicon.LEXICON_LANGUAGES:
        lexicon._frequencies(lang)
    print(f"  loading the 7 wordfreq lexicons once per process: {time.process_time() - t:.2f} s CPU")

    def run(make, label):
        copies = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in trove_docs]
        step = make()
        t0 = time.process_time()
        for d in copies:
            step.repair_book(d)
        dt = time.process_time() - t0
        print(f"  {label:48s} {dt:6.2f} s  {nbytes / 1e6 / dt:6.1f} MB/s")
        res[label] = nbytes / 1e6 / dt
        return copies

    lexicon.zipf.cache_clear()
    run(Dehyphenator, "dehyphenate (word cache cold, lexicons loaded)")
    dehyphenated = run(Dehyphenator, "dehyphenate (steady state)")
    run(LineUnwrapper, "unwrap_lines")

    def both():
        class Both:
            def repair_book(self, d):
                return unwrap.repair_book(dehyph.repair_book(d))
        dehyph, unwrap = Dehyphenator(), LineUnwrapper()
        return Both()
    run(both, "dehyphenate + unwrap_lines (steady state)")
    del dehyphenated
    return res


# =========================================================================== main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sample", type=Path, help="sample collection folder (default: written to a temp dir)")
    ap.add_argument("--skip-real", action="store_true", help="only the sample collection")
    args = ap.parse_args(argv)
    from datatrove.utils.logging import logger

    logger.remove()
    trove_docs = None
    if not args.skip_real and (args.data / TROVE).is_dir():
        trove_docs = read_trove(args.data)
        eval_throughput(trove_docs)  # first, so that loading the lexicons is measured
    sample = args.sample
    tmp = None
    if sample is None:
        from finebooks.sample import make_sample

        tmp = tempfile.TemporaryDirectory()
        sample = Path(tmp.name) / "sample"
        make_sample(sample, seed=0)
    eval_sample(sample)
    if args.skip_real:
        return 0
    if trove_docs is None:
        print(f"real data not found at {args.data}: sections 2-6 skipped", file=sys.stderr)
        return 0
    eval_hand_labels(args.data, trove_docs)
    eval_goethe(args.data)
    eval_trove(trove_docs)
    eval_gold(args.data)
    eval_unwrap_real(args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
