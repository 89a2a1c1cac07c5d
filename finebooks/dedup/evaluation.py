"""Known answers for evaluating dedup on the project's real test data (``../shared/data``).

Used by ``tests/dedup/test_shared_data.py`` and ``benchmarks/eval_dedup.py``. The collection is
every book of ``raw_ocr/`` and ``gold/`` (258 books, 51 MB), read the way
``recipes/dedup-shared-data.yaml`` reads it. Known duplicate pairs:

* the 8 Trove scan pairs (``dup_partner`` in ``raw_ocr/trove_nla_books/metadata.jsonl``);
* the Wellcome Google scan vs the cleaned text of *The Silent Friend*;
* the Gutenberg releases of *The Complete Angler* (x3: 3 pairs) and *News from Nowhere* (x2).

Two more pairs in the Wellcome folder were checked by hand (:data:`HAND_CHECKED_PAIRS`): an
extracted copy of an Internet Archive OCR file next to the file itself (``second_batch/caton`` =
``b22033294``; ``first_test/nervous`` = ``nervousexhaustion``: the same OCR errors, e.g.
"friglitful", Jaccard 0.96-0.98). SOURCES.md does not list them; they are real duplicates, so
merging them is correct and is not counted as a false positive.
"""

from __future__ import annotations

import json
from pathlib import Path

HAND_CHECKED_PAIRS = frozenset({
    frozenset(("wellcome/second_batch/caton", "wellcome/b22033294")),
    frozenset(("wellcome/first_test/nervous", "wellcome/nervousexhaustion")),
})
#: two catalogues of the Leverian Museum (1824-25 and 1825): different editions, Jaccard ~0.36
OTHER_EDITIONS = frozenset(("trove/nla.obj-528425676", "trove/nla.obj-535363273"))


def read_collection(data: str | Path) -> list:
    """Every book of raw_ocr/ and gold/ as documents (ids as the shared-data recipe gives them)."""
    from finebooks.readers.text import DjvuTextReader, FormFeedTextReader, TroveTextReader

    data = Path(data)
    w = data / "raw_ocr" / "wellcome_text_duplicates"
    readers = [
        TroveTextReader(str(data / "raw_ocr" / "trove_nla_books"), source="trove"),
        DjvuTextReader(str(w), source="wellcome", glob_pattern="*_djvu.txt"),
        DjvuTextReader(str(w), source="wellcome", glob_pattern="silentfriend/*_djvu.txt"),
        FormFeedTextReader(str(w), source="wellcome", glob_pattern="*/*[!u].txt"),
        FormFeedTextReader(str(w), source="wellcome", glob_pattern="nervousexhaustion.txt"),
        FormFeedTextReader(str(data / "gold"), source="gold", glob_pattern="**/*.txt"),
    ]
    return [doc for r in readers for doc in r.run(None, 0, 1)]


def known_pairs(data: str | Path, ids: set[str]) -> set[frozenset]:
    """The labelled duplicate pairs (see the module doc); every id must be in ``ids``."""
    data = Path(data)

    def obj(file: str) -> str:
        return "trove/nla.obj-" + file.removesuffix(".txt").rsplit("nla.obj-", 1)[1]

    pairs = set()
    for line in (data / "raw_ocr" / "trove_nla_books" / "metadata.jsonl").read_text().splitlines():
        m = json.loads(line)
        if m.get("dup_partner"):
            pairs.add(frozenset((obj(m["file"]), obj(m["dup_partner"]))))
    pairs.add(frozenset(("wellcome/silentfriend/silentfriendame00cogoog", "wellcome/first_test/silentfriend_1847")))
    for work in ("The-Complete-Angler", "News-from-Nowhere"):
        releases = sorted(i for i in ids if i.startswith("gold/gutenberg_gitenberg/" + work))
        pairs |= {frozenset((a, b)) for k, a in enumerate(releases) for b in releases[k + 1:]}
    missing = {i for p in pairs for i in p} - set(ids)
    if missing:
        raise ValueError(f"known pairs name books that were not read: {sorted(missing)[:5]}")
    return pairs


def merged_pairs(rows: list[dict]) -> set[frozenset]:
    """Every pair of books that share a cluster, from cluster records (dicts with cluster_id, book_id)."""
    by_cluster: dict[tuple, list[str]] = {}
    for r in rows:
        by_cluster.setdefault((r.get("stage"), r["cluster_id"]), []).append(r["book_id"])
    return {frozenset((a, b)) for ms in by_cluster.values() for k, a in enumerate(ms) for b in ms[k + 1:]}
