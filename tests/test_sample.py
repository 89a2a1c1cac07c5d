"""The synthetic sample collection: layout, determinism, and labels that match the files.

The helpers below read every format back independently of FineBooks' readers (which are tested
against this collection elsewhere), so that a layout mistake in the sample cannot hide behind
a matching mistake in a reader.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree, html

from finebooks._sample_text import LONG_S, to_long_s
from finebooks.sample import ALTO_NS, DEFECT_TYPES, FORMATS, SampleManifest, make_sample

A = f"{{{ALTO_NS}}}"


# --------------------------------------------------------------------------- readers for the test


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def decode_trove(text: str) -> list[str]:
    """Invert ``"".join("\\n\\n" + p for p in pages)`` (non-empty pages end with one newline)."""
    pages, pos = [], 0
    while pos < len(text):
        assert text.startswith("\n\n", pos), f"no page separator at {pos}"
        pos += 2
        if pos >= len(text) or text[pos] == "\n":
            pages.append("")
            continue
        end = text.find("\n\n\n", pos)
        end = len(text) if end == -1 else end + 1
        pages.append(text[pos:end])
        pos = end
    return pages


def alto_lines(path: Path) -> tuple[list[str], list[float]]:
    root = etree.parse(str(path)).getroot()
    lines, wcs = [], []
    for tl in root.iter(f"{A}TextLine"):
        toks: list[str] = []
        for el in tl:
            if el.tag == f"{A}String":
                toks.append(el.get("CONTENT"))
                wcs.append(float(el.get("WC")))
            elif el.tag == f"{A}HYP":
                toks[-1] += el.get("CONTENT")
        lines.append(" ".join(toks))
    return lines, wcs


def hocr_pages(path: Path) -> list[list[str]]:
    doc = html.fromstring(path.read_bytes())
    pages = []
    for page in doc.xpath("//*[@class='ocr_page']"):
        lines = []
        for line in page.xpath(".//*[@class='ocr_line']"):
            lines.append(" ".join(w.text_content() for w in line.xpath(".//*[@class='ocrx_word']")))
        pages.append(lines)
    return pages


class Sample:
    """A written sample collection, read back."""

    def __init__(self, out: Path, manifest: SampleManifest):
        self.out = out
        self.manifest = manifest
        self.books = {r["book_id"]: r for r in load_jsonl(out / "books.jsonl")}
        self.labels = load_jsonl(out / "labels.jsonl")
        self._page_rows = pq.read_table(out / "page_rows.parquet").to_pylist()
        self._book_rows = {r["identifier"]: r for r in load_jsonl(out / "book_rows.jsonl")}
        self._cache: dict[str, list[list[str]]] = {}

    def page_texts(self, book_id: str) -> list[str]:
        """Plain-text pages of a book in a plain format."""
        b = self.books[book_id]
        fmt, path = b["format"], self.out / b["path"]
        if fmt == "trove":
            return decode_trove(path.read_text(encoding="utf-8"))
        if fmt == "pages":
            return [p.read_text(encoding="utf-8") for p in sorted(path.iterdir())]
        if fmt == "formfeed":
            enc = b["encoding"]
            return path.read_bytes().decode(enc).split("\f")
        if fmt == "page_rows":
            rows = sorted((r for r in self._page_rows if r["book_id"] == book_id), key=lambda r: r["page"])
            return [r["text"] for r in rows]
        if fmt == "book_rows":
            return self._book_rows[book_id]["content"].split("\f")
        raise ValueError(fmt)

    def page_lines(self, book_id: str) -> list[list[str]]:
        """Lines of every page, indexed the way labels index them."""
        if book_id not in self._cache:
            b = self.books[book_id]
            if b["format"] == "alto":
                files = sorted((self.out / b["path"]).iterdir())
                pages = [alto_lines(f)[0] for f in files]
            elif b["format"] == "hocr":
                pages = hocr_pages(self.out / b["path"])
            else:
                pages = [t.split("\n") for t in self.page_texts(book_id)]
            self._cache[book_id] = pages
        return self._cache[book_id]

    def words(self, book_id: str) -> list[str]:
        return [w for page in self.page_lines(book_id) for line in page for w in line.split()]

    def by_defect(self, defect: str) -> list[dict]:
        return [lab for lab in self.labels if lab["defect"] == defect]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Sample:
    out = tmp_path_factory.mktemp("sample") / "s0"
    return Sample(out, make_sample(out, seed=0))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def shingles(words: list[str], n: int = 5) -> set[tuple[str, ...]]:
    words = [w.lower() for w in words]
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


# --------------------------------------------------------------------------- determinism, layout


def test_same_seed_same_bytes_other_seed_other_bytes(sample, tmp_path):
    again = make_sample(tmp_path / "again", seed=0)
    assert snapshot(tmp_path / "again") == snapshot(sample.out)
    assert again.defects == sample.manifest.defects

    other = snapshot(Path(make_sample(tmp_path / "other", seed=1).out_dir))
    first = snapshot(sample.out)
    assert other["labels.jsonl"] != first["labels.jsonl"]
    assert other["books.jsonl"] != first["books.jsonl"]
    common = set(other) & set(first) - {"README.md"}
    assert sum(other[k] != first[k] for k in common) > len(common) // 2


def test_writing_again_replaces_the_sample_but_refuses_foreign_folders(tmp_path):
    out = tmp_path / "s"
    make_sample(out, seed=3)
    before = snapshot(out)
    make_sample(out, seed=3)  # a folder that already holds a sample is rewritten
    assert snapshot(out) == before

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        make_sample(foreign)
    assert (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError):
        make_sample(tmp_path / "tiny", n_books=5)


def test_layout_every_format_and_file(sample):
    out, m = sample.out, sample.manifest
    for name in ("trove", "pages", "formfeed", "alto", "hocr", "bad", "page_rows.parquet", "book_rows.jsonl",
                 "labels.jsonl", "books.jsonl", "README.md"):
        assert (out / name).exists(), name
    formats = Counter(b["format"] for b in sample.books.values() if not b["path"].startswith("bad/"))
    assert set(formats) == set(FORMATS)
    assert dict(formats) == {k: v for k, v in m.formats.items() if v}
    assert m.n_books == sum(formats.values()) == 30
    assert 20 <= m.n_books <= 40
    for b in sample.books.values():
        assert (out / b["path"]).exists(), b["path"]
        assert 8 <= b["n_pages"] <= 40 or b["book_id"] == "latin1"
    assert sorted(p.name for p in (out / "trove").iterdir()) == sorted(
        f"{b['book_id']}.txt" for b in sample.books.values() if b["format"] == "trove")
    for b in sample.books.values():
        if b["format"] == "pages":
            names = sorted(p.name for p in (out / b["path"]).iterdir())
            assert names == [f"{i:04d}.txt" for i in range(1, b["n_pages"] + 1)]
        if b["format"] == "alto":
            names = sorted(p.name for p in (out / b["path"]).iterdir())
            assert names == [f"{i:04d}.xml" for i in range(1, b["n_pages"] + 1)]


def test_size_time_and_manifest(sample):
    m = sample.manifest
    assert m.total_bytes == sum(len(v) for v in snapshot(sample.out).values())
    assert m.total_bytes < 5_000_000
    assert m.seconds < 5.0
    assert m.defects == {d: Counter(lab["defect"] for lab in sample.labels)[d] for d in DEFECT_TYPES}
    assert all(m.defects[d] > 0 for d in DEFECT_TYPES), m.defects
    assert Path(m.labels_path) == sample.out / "labels.jsonl"
    assert Path(m.books_path) == sample.out / "books.jsonl"
    readme = (sample.out / "README.md").read_text(encoding="utf-8")
    for d in DEFECT_TYPES:
        assert f"`{d}`" in readme
    assert "synthetic" in readme.lower()
    assert "30 books" in m.summary()


def test_every_book_decodes_to_its_page_count(sample):
    for bid, b in sample.books.items():
        assert len(sample.page_lines(bid)) == b["n_pages"], bid
        assert len(b["clean_pages"]) == b["n_pages"], bid


def test_trove_page_structure(sample):
    trove = [b for b in sample.books.values() if b["format"] == "trove"]
    assert trove
    for b in trove:
        raw = (sample.out / b["path"]).read_text(encoding="utf-8")
        pages = decode_trove(raw)
        assert len(pages) == b["n_pages"]
        assert "".join("\n\n" + p for p in pages) == raw
        for p in pages:
            assert p == "" or (p.endswith("\n") and not p.endswith("\n\n") and not p.startswith("\n"))
            assert "\n\n\n" not in p
        # splitting on the 3-newline page break gives the same count when no page is blank
        if not any(p == "" for p in pages):
            assert len(raw[2:].split("\n\n\n")) == b["n_pages"]


def test_page_rows_parquet(sample):
    table = pq.read_table(sample.out / "page_rows.parquet")
    assert table.column_names == ["book_id", "page", "text"]
    rows = table.to_pylist()
    per_book = defaultdict(list)
    for r in rows:
        per_book[r["book_id"]].append(r["page"])
    expected = {b["book_id"]: b["n_pages"] for b in sample.books.values() if b["format"] == "page_rows"}
    assert {k: len(v) for k, v in per_book.items()} == expected
    for pages in per_book.values():
        assert sorted(pages) == list(range(1, len(pages) + 1))
    assert [(r["book_id"], r["page"]) for r in rows] != sorted((r["book_id"], r["page"]) for r in rows)


def test_book_rows_use_their_own_column_names(sample):
    rows = load_jsonl(sample.out / "book_rows.jsonl")
    assert rows
    for r in rows:
        assert set(r) == {"identifier", "content", "title", "creator", "date", "lang"}
        b = sample.books[r["identifier"]]
        assert r["content"].count("\f") + 1 == b["n_pages"]
        assert str(b["year"]) in r["date"] and r["lang"] == b["language"] and r["creator"] == b["author"]


# --------------------------------------------------------------------------- labels


def test_labels_reference_existing_files_pages_and_lines(sample):
    assert {lab["defect"] for lab in sample.labels} == set(DEFECT_TYPES)
    for lab in sample.labels:
        assert set(lab) == {"book_id", "format", "path", "page", "line", "defect", "detail"}
        assert (sample.out / lab["path"]).exists(), lab
        if lab["defect"] == "bad_input":
            continue
        b = sample.books[lab["book_id"]]
        assert lab["format"] == b["format"]
        if lab["page"] is None:
            assert lab["line"] is None
            continue
        assert 1 <= lab["page"] <= b["n_pages"], lab
        if b["format"] in ("pages", "alto"):
            ext = "txt" if b["format"] == "pages" else "xml"
            assert lab["path"] == f"{b['path']}/{lab['page']:04d}.{ext}"
        else:
            assert lab["path"] == b["path"]
        if lab["line"] is not None:
            assert 0 <= lab["line"] < len(sample.page_lines(lab["book_id"])[lab["page"] - 1]), lab


def test_running_heads_are_on_the_labelled_lines(sample):
    heads = sample.by_defect("running_head")
    assert heads and any(h["detail"]["page_number"] for h in heads) and any(
        not h["detail"]["page_number"] for h in heads)
    verso = defaultdict(set)
    for h in heads:
        d = h["detail"]
        line = sample.page_lines(h["book_id"])[h["page"] - 1][h["line"]]
        assert line == d["text"]
        assert d["running_text"] in line
        if d["page_number"]:
            # "12 THE HISTORY OF X" on a verso, "CHAPTER TITLE 13" on a recto
            expect = f"{d['page_number']} {d['running_text']}" if d["side"] == "verso" else \
                f"{d['running_text']} {d['page_number']}"
            assert line == expect
            assert (int(d["page_number"]) % 2 == 0) == (d["side"] == "verso")
        if d["side"] == "verso":
            verso[h["book_id"]].add(d["running_text"])
        clean = sample.books[h["book_id"]]["clean_pages"][h["page"] - 1]
        assert line not in clean
    # the verso head is the book's title: one text per book; rectos follow the chapters
    assert verso and all(len(v) == 1 for v in verso.values())
    for bid, texts in verso.items():
        assert next(iter(texts)) in sample.books[bid]["title"].upper()


def test_running_feet_and_page_numbers_are_on_the_labelled_lines(sample):
    feet = sample.by_defect("running_foot")
    assert {f["detail"]["kind"] for f in feet} == {"series", "watermark"}
    for f in feet:
        assert sample.page_lines(f["book_id"])[f["page"] - 1][f["line"]] == f["detail"]["text"]
    numbers = sample.by_defect("page_number")
    assert {n["detail"]["numeral"] for n in numbers} == {"arabic", "roman"}
    assert {n["detail"]["position"] for n in numbers} == {"head", "foot"}
    for n in numbers:
        d = n["detail"]
        assert sample.page_lines(n["book_id"])[n["page"] - 1][n["line"]] == d["text"]
        if d["numeral"] == "roman":
            assert re.fullmatch(r"[ivxlc]+", d["text"]) and d["value"] >= 1
        else:
            assert int(d["text"]) == d["value"]
    # printed numbers increase through a book
    seq = defaultdict(list)
    for n in sorted(numbers, key=lambda n: (n["book_id"], n["page"])):
        if n["detail"]["numeral"] == "arabic":
            seq[n["book_id"]].append(n["detail"]["value"])
    for values in seq.values():
        assert values == sorted(values) and len(set(values)) == len(values)


def test_hyphenation_labels_match_line_ends(sample):
    labels = sample.by_defect("hyphenated_line_end")
    real = [h for h in labels if h["detail"]["real_hyphen"]]
    soft = [h for h in labels if not h["detail"]["real_hyphen"]]
    assert real and len(soft) > 50
    for h in labels:
        d = h["detail"]
        lines = sample.page_lines(h["book_id"])[h["page"] - 1]
        assert lines[h["line"]].endswith(" " + d["line_end"]) or lines[h["line"]] == d["line_end"]
        assert lines[h["line"] + 1].startswith(d["next_line_start"])
        first, second = d["fragments"]
        assert d["line_end"] == first + "-" and d["next_line_start"].startswith(second)
        assert d["joined"] == (f"{first}-{second}" if d["real_hyphen"] else first + second)
        clean = sample.books[h["book_id"]]["clean_pages"][h["page"] - 1]
        assert re.search(rf"(?<!\S){re.escape(d['clean'])}(?!\w)", clean), (d, clean[:200])
        assert f"{d['line_end']} {d['next_line_start']}" not in clean
    # a real compound keeps its hyphen in the clean text
    assert all("-" in h["detail"]["clean"] for h in real)


def test_long_s_words_appear_as_labelled(sample):
    labels = sample.by_defect("long_s")
    variants = Counter(lab["detail"]["variant"] for lab in labels)
    assert variants["long_s"] > 20 and variants["f_for_long_s"] > 20
    for lab in labels:
        d = lab["detail"]
        assert d["long_s"] == to_long_s(d["word"]) != d["word"]
        assert d["long_s"].replace(LONG_S, "s") == d["word"]
        assert not re.search(rf"{LONG_S}($|[fbk])", d["long_s"])  # the documented rule
        expect = d["long_s"] if d["variant"] == "long_s" else d["long_s"].replace(LONG_S, "f")
        assert d["printed"] == expect
        line = sample.page_lines(lab["book_id"])[lab["page"] - 1][lab["line"]]
        assert d["printed"] in [w.strip(".,;:!?") for w in line.split()]
        assert sample.books[lab["book_id"]]["year"] < 1800
    long_s_books = {lab["book_id"] for lab in labels if lab["detail"]["variant"] == "long_s"}
    f_books = {lab["book_id"] for lab in labels if lab["detail"]["variant"] == "f_for_long_s"}
    for bid in sample.books:
        has = any(LONG_S in w for w in sample.words(bid))
        assert has == (bid in long_s_books), bid
    assert f_books and not f_books & long_s_books
    for b in sample.books.values():
        assert not any(LONG_S in p for p in b["clean_pages"])


def test_digitisation_notices(sample):
    notices = sample.by_defect("digitisation_notice")
    kinds = Counter(n["detail"]["kind"] for n in notices)
    assert set(kinds) == {"internet_archive", "google", "gutenberg_header", "gutenberg_footer"}
    for n in notices:
        d = n["detail"]
        b = sample.books[n["book_id"]]
        lines = [ln for ln in sample.page_lines(n["book_id"])[n["page"] - 1] if ln]
        assert lines == [ln for ln in d["text"].split("\n") if ln]
        assert b["clean_pages"][n["page"] - 1] == ""
        if d["kind"] == "internet_archive":
            assert lines[0] == "Digitized by the Internet Archive" and n["page"] == 1
        if d["kind"] == "gutenberg_header":
            assert n["page"] == 1 and "START OF THIS PROJECT GUTENBERG EBOOK" in d["text"]
        if d["kind"] == "gutenberg_footer":
            assert n["page"] == b["n_pages"] and "END OF THIS PROJECT GUTENBERG EBOOK" in d["text"]
    for b in sample.books.values():
        assert not any("Digitized by" in p or "Gutenberg" in p for p in b["clean_pages"])


def test_garbage_and_blank_pages(sample):
    garbage = sample.by_defect("garbage_page")
    assert len(garbage) >= 2
    for g in garbage:
        text = " ".join(sample.page_lines(g["book_id"])[g["page"] - 1])
        chars = [c for c in text if not c.isspace()]
        assert len(chars) > 50 and sum(c.isalpha() for c in chars) / len(chars) < 0.5
        assert sample.books[g["book_id"]]["clean_pages"][g["page"] - 1] == ""
    blanks = sample.by_defect("blank_page")
    assert len(blanks) >= 2
    for bl in blanks:
        assert [ln for ln in sample.page_lines(bl["book_id"])[bl["page"] - 1] if ln] == []
        assert sample.books[bl["book_id"]]["clean_pages"][bl["page"] - 1] == ""
    # ALTO word confidence is lower on garbage pages
    alto_garbage = [g for g in garbage if g["format"] == "alto"]
    for g in alto_garbage:
        low = alto_lines(sample.out / g["path"])[1]
        book = sample.out / sample.books[g["book_id"]]["path"]
        other = [wc for f in sorted(book.iterdir()) if f.name != Path(g["path"]).name
                 for wc in alto_lines(f)[1]]
        assert sum(low) / len(low) < 0.5 < sum(other) / len(other)


def test_duplicate_scans_share_shingles_other_books_do_not(sample):
    dups = sample.by_defect("duplicate_scan")
    assert 2 <= len(dups) <= 3
    pairs = set()
    for d in dups:
        a, b = d["book_id"], d["detail"]["duplicate_of"]
        assert sample.books[a]["format"] != sample.books[b]["format"]
        assert sample.books[a]["clean_pages"] == sample.books[b]["clean_pages"]
        assert sample.books[a]["duplicate_of"] == b and 0 < d["detail"]["noise_rate"] <= 0.05
        assert d["detail"]["n_substitutions"] > 0
        wa, wb = sample.words(a), sample.words(b)
        assert wa != wb
        changed = sum(x != y for x, y in zip(wa, wb))
        assert len(wa) == len(wb) and changed >= d["detail"]["n_substitutions"] // 2
        assert jaccard(shingles(wa), shingles(wb)) > 0.5
        pairs.add(frozenset((a, b)))
    sh = {bid: shingles(sample.words(bid)) for bid in sample.books}
    worst = max(jaccard(sh[x], sh[y]) for x, y in itertools.combinations(sorted(sh), 2)
                if frozenset((x, y)) not in pairs)
    assert worst < 0.1


_STOPWORDS = {"en": {"the", "and", "of"}, "fr": {"le", "la", "et"}, "de": {"der", "die", "und"},
              "nl": {"de", "het", "en"}, "la": {"et", "in", "cum"}}


def test_languages(sample):
    langs = Counter(b["language"] for b in sample.books.values() if b["book_id"] != "latin1")
    assert set(langs) == {"en", "fr", "de", "nl", "la"}
    assert langs["en"] > sum(langs.values()) / 2
    labels = sample.by_defect("language")
    book_scope = {lab["book_id"]: lab["detail"]["language"] for lab in labels
                  if lab["detail"]["scope"] == "book"}
    assert book_scope == {bid: b["language"] for bid, b in sample.books.items()
                          if b["language"] != "en" and bid != "latin1"}
    page_scope = [lab for lab in labels if lab["detail"]["scope"] == "page"]
    assert page_scope and all(lab["detail"]["language"] == "la" for lab in page_scope)
    for lab in page_scope:
        # (case-sensitive: the running head above the quotation is English, in capitals)
        words = Counter(" ".join(sample.page_lines(lab["book_id"])[lab["page"] - 1]).split())
        assert words["the"] == words["and"] == 0
        assert sum(words[w] for w in ("et", "in", "cum", "sine", "nisi", "qui")) > 2
    for bid, b in sample.books.items():  # the text is really in the book's language
        if b["format"] in ("alto", "hocr"):
            continue
        words = Counter(w.lower() for w in sample.words(bid))
        own = sum(words[w] for w in _STOPWORDS[b["language"]])
        for other, stop in _STOPWORDS.items():
            if other != b["language"] and not (stop & _STOPWORDS[b["language"]]):
                assert own > 3 * sum(words[w] for w in stop), (bid, other)


def test_bad_inputs(sample):
    out = sample.out
    assert (out / "bad/trove/empty.txt").read_bytes() == b""
    assert b"\x00" in (out / "bad/trove/binary.txt").read_bytes()
    truncated = (out / "bad/alto/truncated/0001.xml").read_bytes()
    assert truncated.startswith(b"<?xml") and b"<alto" in truncated
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(truncated)
    doc = html.fromstring((out / "bad/hocr/malformed.hocr").read_bytes())
    assert doc.xpath("//*[@class='ocr_page']") == [] and doc.xpath("//*[@class='ocrx_word']") == []
    bad = {lab["path"]: lab for lab in sample.by_defect("bad_input")}
    assert set(bad) == {"bad/trove/empty.txt", "bad/trove/binary.txt", "bad/alto/truncated/0001.xml",
                        "bad/hocr/malformed.hocr"}

    # the ISO-8859-1 book is not bad: it is read through the fallback encoding
    raw = (out / "bad/formfeed/latin1.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    (enc,) = sample.by_defect("encoding_fallback")
    text = raw.decode(enc["detail"]["encoding"])
    assert text.split("\n", 1)[0] == enc["detail"]["first_line"]
    assert "É" in text and "Ü" in text and "\x00" not in text
    assert raw.decode("cp1252") == text
    assert text.count("\f") + 1 == sample.books["latin1"]["n_pages"] == enc["detail"]["n_pages"]


def test_alto_and_hocr_structure(sample):
    alto = [b for b in sample.books.values() if b["format"] == "alto"]
    hyph = 0
    for b in alto:
        for f in sorted((sample.out / b["path"]).iterdir()):
            root = etree.parse(str(f)).getroot()
            assert root.tag == f"{A}alto"
            lines = list(root.iter(f"{A}TextLine"))
            for i, tl in enumerate(lines):
                kids = list(tl)
                for j, el in enumerate(kids):
                    if el.tag == f"{A}String":
                        assert 0 <= float(el.get("WC")) <= 1
                    if el.get("SUBS_TYPE") == "HypPart1":
                        hyph += 1
                        assert kids[j + 1].tag == f"{A}HYP" and kids[j + 1].get("CONTENT") == "-"
                        assert j + 2 == len(kids)  # the last thing on the line
                        nxt = lines[i + 1][0]
                        assert nxt.get("SUBS_TYPE") == "HypPart2"
                        assert nxt.get("SUBS_CONTENT") == el.get("SUBS_CONTENT")
                        first, second = el.get("CONTENT"), nxt.get("CONTENT")
                        full = el.get("SUBS_CONTENT")
                        assert full in (first + second, f"{first}-{second}")  # soft / real hyphen
                    if j and el.tag == f"{A}String":
                        assert kids[j - 1].tag == f"{A}SP"
    assert hyph > 0
    for b in (b for b in sample.books.values() if b["format"] == "hocr"):
        doc = html.fromstring((sample.out / b["path"]).read_bytes())
        assert len(doc.xpath("//div[@class='ocr_page']")) == b["n_pages"]
        words = doc.xpath("//span[@class='ocrx_word']")
        assert words and all(re.search(r"bbox \d+ \d+ \d+ \d+; x_wconf \d+$", w.get("title")) for w in words)
        assert doc.xpath("//p[@class='ocr_par']/span[@class='ocr_line']")


def test_clean_pages_are_the_printed_pages_without_the_labelled_defects(sample):
    """Undo every labelled defect on the printed page and get the clean page (whitespace aside)."""
    by_page = defaultdict(list)
    for lab in sample.labels:
        if lab["page"] is not None:
            by_page[(lab["book_id"], lab["page"])].append(lab)
    checked = 0
    for bid, b in sample.books.items():
        if b["format"] in ("alto", "hocr") or b["duplicate_of"]:
            continue
        for p, text in enumerate(sample.page_texts(bid), 1):
            labs = by_page[(bid, p)]
            if any(lab["defect"] in ("garbage_page", "digitisation_notice", "blank_page") for lab in labs):
                assert b["clean_pages"][p - 1] == ""
                continue
            lines = text.split("\n")
            furniture = {lab["line"] for lab in labs if lab["defect"] in ("running_head", "running_foot",
                                                                           "page_number")}
            kept = "\n".join(ln for i, ln in enumerate(lines) if i not in furniture)
            for lab in labs:
                d = lab["detail"]
                if lab["defect"] == "hyphenated_line_end":
                    rest = d["next_line_start"][len(d["fragments"][1]):]
                    kept = kept.replace(f"{d['line_end']}\n{d['next_line_start']}", d["clean"] + rest, 1)
            words = kept.split()
            swap = {lab["detail"]["printed"]: lab["detail"]["word"] for lab in labs
                    if lab["defect"] == "long_s"}
            words = [swap.get(w.rstrip(".,;:!?"), w.rstrip(".,;:!?")) + w[len(w.rstrip(".,;:!?")):]
                     for w in words]
            assert " ".join(words) == " ".join(b["clean_pages"][p - 1].split()), (bid, p)
            checked += 1
    assert checked > 100
