"""The dedup steps on tiny fixtures, run in-process (one task): clusters, kept copy, reasons, pages."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datatrove.data import Document

from finebooks.dedup.common import DuplicateFilter, preference
from finebooks.dedup.exact import ExactDedup, text_digest
from finebooks.dedup.near import LshBuckets, NearDuplicateDedup
from finebooks.dedup.pages import RepeatedPages, page_hashes

VOCAB = [f"{a}{b}{c}" for a in "bcdfgklmnprstvw" for b in "aeiou" for c in ("n", "r", "st", "l", "m")]


def prose(n_words: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCAB) for _ in range(n_words))


def ocr_noise(text: str, rate: float, seed: int) -> str:
    """Character confusions at ``rate`` per letter (c->e, n->m, l->1, a->o)."""
    rng = random.Random(seed)
    swap = {"c": "e", "e": "c", "n": "m", "l": "1", "a": "o", "r": "n"}
    return "".join(swap.get(ch, ch) if rng.random() < rate else ch for ch in text)


def book(book_id: str, text: str, **meta) -> Document:
    return Document(text=text, id=book_id, metadata=dict(meta))


@pytest.fixture
def collection():
    a = prose(3000, 1)
    b = prose(3000, 2)
    c = prose(3000, 3)
    filler = prose(6000, 5)
    pages = lambda t, n: "\f".join(" ".join(t.split()[i::n]) for i in range(n))
    return [
        book("lib/a", a, ocr_quality=0.80),
        book("lib/a-rescan", ocr_noise(a, 0.01, 1), ocr_quality=0.90),   # the better scan of a
        book("lib/a-third", ocr_noise(a, 0.02, 2), ocr_quality=0.70),
        book("lib/b", b, ocr_quality=0.95),
        book("lib/anthology", b + " " + filler + " " + c, ocr_quality=0.9),  # contains b and c
        book("lib/c", c),
        book("lib/d", pages(prose(2000, 4), 5)),
        book("lib/short", "only a few words here"),
        book("lib/short-copy", "only a few words here"),
    ]


def test_near_dedup_keeps_the_best_scan_and_names_it_in_the_reason(collection, tmp_path):
    out = NearDuplicateDedup().run_in_process(collection, tmp_path)
    clusters = out["clusters"].to_pylist()
    a = sorted((r["book_id"], r["kept_id"], r["is_kept"]) for r in clusters if r["kept_id"] == "lib/a-rescan")
    assert a == [("lib/a", "lib/a-rescan", False), ("lib/a-rescan", "lib/a-rescan", True),
                 ("lib/a-third", "lib/a-rescan", False)]
    assert {r["book_id"] for r in clusters} == {"lib/a", "lib/a-rescan", "lib/a-third"}
    assert all(r["cluster_size"] == 3 and r["method"] == "near" for r in clusters)
    sims = {r["book_id"]: r["similarity"] for r in clusters}
    assert sims["lib/a-rescan"] == 1.0 and 0.5 <= sims["lib/a-third"] < sims["lib/a"] < 1.0
    assert {d.id for d in out["excluded"]} == {"lib/a", "lib/a-third"}
    dropped = {d.id: d for d in out["excluded"]}["lib/a"]
    assert dropped.metadata["duplicate_of"] == "lib/a-rescan"
    assert dropped.metadata["filter_detail"].startswith("duplicate_of=lib/a-rescan similarity=0.")
    kept = {d.id: d for d in out["kept"]}
    assert kept["lib/a-rescan"].metadata["dup_cluster"]["size"] == 3
    assert "dup_cluster" not in kept["lib/b"].metadata
    # the anthology holds b and c, but is no duplicate of either
    assert {"lib/b", "lib/c", "lib/anthology"} <= set(kept)
    assert all(r["containment"] > 0.9 for r in out["overlaps"].to_pylist())  # what LSH happened to meet
    # too short to call duplicates (min_words), even though identical
    assert {"lib/short", "lib/short-copy"} <= set(kept)


def test_detect_overlap_finds_a_short_book_inside_an_anthology(collection, tmp_path):
    out = NearDuplicateDedup(detect_overlap=True).run_in_process(collection, tmp_path)
    ov = {r["contained_id"]: r for r in out["overlaps"].to_pylist()}
    assert set(ov) == {"lib/b", "lib/c"}
    for r in ov.values():
        assert r["other_id"] == "lib/anthology" or r["book_id"] == "lib/anthology"
        assert r["containment"] > 0.9 and 0.15 < r["jaccard"] < 0.35
    assert len(out["kept"]) == len(collection) - 2  # overlaps are reported, never dropped


def test_threshold_and_verification(collection, tmp_path):
    strict = NearDuplicateDedup(threshold=0.95).run_in_process(collection, tmp_path / "strict")
    assert strict["clusters"].num_rows == 0 and not strict["excluded"]
    # without verification every LSH candidate is a duplicate: the anthology swallows b and c
    loose = NearDuplicateDedup(verify=False, num_bands=64, rows_per_band=1).run_in_process(collection, tmp_path / "l")
    assert {"lib/b", "lib/c", "lib/anthology"} <= {r["book_id"] for r in loose["clusters"].to_pylist()}
    verified = NearDuplicateDedup(num_bands=64, rows_per_band=1).run_in_process(collection, tmp_path / "v")
    assert "lib/anthology" not in {r["book_id"] for r in verified["clusters"].to_pylist()}


def test_missing_score_falls_back_to_completeness(tmp_path):
    a = prose(2000, 7)
    docs = [book("x/1", a, ocr_quality=None), book("x/2", a + " " + prose(30, 8)), book("x/3", ocr_noise(a, 0.01, 3))]
    out = NearDuplicateDedup().run_in_process(docs, tmp_path)
    kept = {r["kept_id"] for r in out["clusters"].to_pylist()}
    assert kept == {"x/2"}  # nobody has ocr_quality: same page count, most words wins
    docs[2].metadata["ocr_quality"] = 0.1  # one scored copy beats unscored ones, even a poor score
    out = NearDuplicateDedup().run_in_process(docs, tmp_path / "2")
    assert {r["kept_id"] for r in out["clusters"].to_pylist()} == {"x/3"}
    out = NearDuplicateDedup(keep_by=["-n_words"]).run_in_process(docs, tmp_path / "3")
    assert out["clusters"].to_pylist()[0]["kept_id"] == "x/1"  # '-key': the lower value wins


def test_preference_order():
    keep_by = ("ocr_quality", "-year")
    ranked = sorted([([0.9, 1850], "b"), ([0.9, 1820], "c"), ([None, 1800], "a"), ([0.95, None], "d")],
                    key=lambda m: preference(m[0], keep_by, m[1]))
    assert [m[1] for m in ranked] == ["d", "c", "b", "a"]
    assert sorted(["z", "y"], key=lambda i: preference([None], ("ocr_quality",), i)) == ["y", "z"]


def test_bucket_pairs_are_a_star_per_bucket():
    keys = np.array([5, 7, 5, 5, 9, 7], dtype=np.uint64)
    nodes = np.arange(6, dtype=np.uint64) + np.uint64(100)
    pairs = LshBuckets.bucket_pairs(keys, nodes)
    assert sorted(zip(pairs["a"].tolist(), pairs["b"].tolist())) == [(100, 102), (100, 103), (101, 105)]


def test_duplicate_filter_refuses_decisions_for_books_it_never_saw(collection, tmp_path):
    NearDuplicateDedup().run_in_process(collection, tmp_path)
    f = DuplicateFilter(str(tmp_path / "work" / "near_dedup" / "decisions"), stage="s")
    with pytest.raises(RuntimeError, match="were not in task 0"):
        list(f.run(iter(collection[3:]), 0, 1))


def test_exact_dedup_ignores_layout_but_not_words(tmp_path):
    from finebooks.dedup.common import read_parquet
    from finebooks.dedup.exact import ExactClusters, TextHashRecorder

    t = prose(300, 9)
    relaid = "\f".join(t.upper().split(" ", 100)[i] for i in range(3)) + "\f" + " ".join(t.split(" ")[3:])
    assert text_digest(t)[0] != text_digest(prose(300, 10))[0]
    docs = [book("e/1", t, ocr_quality=0.5), book("e/2", t.replace(" ", "\n  ") + " 17", ocr_quality=0.6),
            book("e/3", prose(300, 10)), book("e/4", ""), book("e/5", t[:-10])]
    assert text_digest(docs[1].text)[0] == text_digest(t)[0]
    assert text_digest(relaid)[1] == 300
    work = tmp_path / "work"
    list(TextHashRecorder(str(work)).run(iter(docs), 0, 1))
    list(ExactClusters(str(work), str(tmp_path / "clusters"), "x").run(None, 0, 1))
    rows = read_parquet(str(tmp_path / "clusters"), "clusters.parquet").to_pylist()
    assert sorted((r["book_id"], r["kept_id"], r["similarity"]) for r in rows) == [
        ("e/1", "e/2", 1.0), ("e/2", "e/2", 1.0)]
    kept = list(DuplicateFilter(str(work / "decisions"), reason="exact_duplicate").run(iter(docs), 0, 1))
    assert [d.id for d in kept] == ["e/2", "e/3", "e/4", "e/5"]
    assert ExactDedup(keep_by=["ocr_quality"]).keep_by == ("ocr_quality",)


def test_repeated_pages_are_emptied_and_counted(tmp_path):
    from finebooks.dedup.common import read_parquet
    from finebooks.dedup.pages import PageHashRecorder, RepeatedPageFinder, RepeatedPageRemover

    notice = "This book is held by the Library. Please return it by the date last stamped below."
    docs = []
    for i in range(4):
        body = [prose(80, 20 + 10 * i + k) for k in range(4)]
        pages = ([notice + f" No. {i}"] if i < 3 else []) + body + [" . , ' "]
        docs.append(book(f"p/{i}", "\f".join(pages)))
    twice = prose(80, 99)
    docs[0].text += "\f" + twice
    docs[1].text += "\f" + twice  # in two books only: not furniture at min_books=3
    three_scans = "\f".join(prose(80, 200 + k) for k in range(3))
    docs += [book(f"scan/{k}", three_scans) for k in range(3)]  # the same book thrice: left alone
    before = [d.text.count("\f") for d in docs]
    work = tmp_path / "work"
    list(PageHashRecorder(str(work)).run(iter(docs), 0, 1))
    list(RepeatedPageFinder(str(work), str(tmp_path / "rep"), "r", min_books=3).run(None, 0, 1))
    report = read_parquet(str(tmp_path / "rep"), "repeated_pages.parquet").to_pylist()
    assert sorted((r["n_books"], r["blank"]) for r in report) == [(3, False), (3, False), (3, False), (3, False),
                                                                  (4, True)]
    out = list(RepeatedPageRemover(str(work)).run(iter(docs), 0, 1))
    assert [d.text.count("\f") for d in out] == before  # page count never changes
    first = out[0].text.split("\f")
    assert first[0] == "" and first[-2] == "" and first[-1] == twice and first[1]
    assert out[0].metadata["repairs"]["repeated_pages"] == {"pages": 2, "blank": 1, "removed": 2}
    assert out[3].metadata["repeated_pages"] == [4]  # only its blank page (it has no notice)
    assert out[4].text == three_scans and out[4].metadata["repairs"]["repeated_pages"]["kept_mostly_repeated"]
    assert np.array_equal(page_hashes("a b\f\f12 A, B"), page_hashes("A B\f .\fa b"))
    assert not np.array_equal(page_hashes("a b"), page_hashes("a c"))
    h = page_hashes("a b\f\f12 A, B")
    assert h[0] == h[2] and h[1] == 0
    with pytest.raises(ValueError):
        RepeatedPages(action="delete")


def test_an_empty_collection_goes_through_every_step(tmp_path):
    out = NearDuplicateDedup(detect_overlap=True).run_in_process([], tmp_path)
    assert out["clusters"].num_rows == 0 and out["overlaps"].num_rows == 0 and out["kept"] == []
    from finebooks.dedup.exact import ExactClusters, TextHashRecorder

    list(TextHashRecorder(str(tmp_path / "x")).run(iter([]), 0, 1))
    list(ExactClusters(str(tmp_path / "x"), str(tmp_path / "xc"), "x").run(None, 0, 1))
    assert list(DuplicateFilter(str(tmp_path / "x" / "decisions")).run(iter([book("a", "b c")]), 0, 1))
