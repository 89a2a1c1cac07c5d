"""Repair stages together: throughput and clean-text survival.

Prints, in one run:

* MB/s per core of the repair chain (the default recipe's order) over
  raw_ocr/trove_nla_books, beside stock datatrove read -> write (JsonlReader -> JsonlWriter)
  on the same books, and FineBooks read -> write without repairs;
* the share of characters the repair stages change on clean transcriptions
  (gold/100_english_novels, gold/eltec_fra), not counting whitespace changes (unwrapping
  turns line breaks into spaces by design) - the target is < 0.5 %.

Run:  python benchmarks/bench_repair.py [--data ../shared/data] [--repeat 2]
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[1].parent / "shared" / "data"

# the order used by recipes/default.yaml
CHAIN = ["remove_boilerplate", "normalise_characters", "remove_running_heads", "dehyphenate", "unwrap_lines"]


def make_stage(name: str):
    from finebooks.registry import REGISTRY

    return REGISTRY[name].load()()


def run_pipeline(steps, docs=None) -> tuple[int, float]:
    """Run datatrove steps in-process; return (docs out, cpu seconds)."""
    t = time.process_time()
    data = docs
    for step in steps:
        data = step.run(data, 0, 1)
    n = sum(1 for _ in data)
    return n, time.process_time() - t


_WS = re.compile(r"\s+")


def changed_chars(before: str, after: str) -> int:
    """Non-whitespace characters changed (unwrapping changes whitespace by design).

    Aligns the two texts word by word (difflib with its popular-word heuristic: fast on near
    identical books), then counts characters exactly inside each differing stretch.
    """
    a, b = before.split(), after.split()
    if a == b:
        return 0
    total = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if tag == "equal":
            continue
        x, y = "".join(a[i1:i2]), "".join(b[j1:j2])
        if not x or not y or len(x) * len(y) > 4_000_000:
            total += max(len(x), len(y))
            continue
        sm = difflib.SequenceMatcher(None, x, y, autojunk=False)
        total += sum(max(k2 - k1, l2 - l1) for t, k1, k2, l1, l2 in sm.get_opcodes() if t != "equal")
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    trove = args.data / "raw_ocr" / "trove_nla_books"
    if not trove.is_dir():
        print(f"data not found: {trove}", file=sys.stderr)
        return 2
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.logging import logger

    logger.remove()
    from finebooks.readers.text import FormFeedTextReader, TroveTextReader
    from finebooks.writers import BookParquetWriter

    books = list(TroveTextReader(trove).run())
    mb = sum(len(d.text.encode()) for d in books) / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="fb-bench-repair-"))
    (tmp / "in").mkdir()
    with open(tmp / "in" / "books.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in books)

    def best(make_steps):
        return min(run_pipeline(make_steps())[1] for _ in range(args.repeat))

    rows = [
        ("datatrove JsonlReader -> JsonlWriter (baseline)",
         best(lambda: [JsonlReader(str(tmp / "in"), compression=None), JsonlWriter(str(tmp / "o1"), compression=None)])),
        ("FineBooks TroveTextReader -> BookParquetWriter",
         best(lambda: [TroveTextReader(str(trove)), BookParquetWriter(str(tmp / "o2"))])),
        ("  + repair chain (" + ", ".join(CHAIN) + ")",
         best(lambda: [TroveTextReader(str(trove)), *[make_stage(n) for n in CHAIN], BookParquetWriter(str(tmp / "o3"))])),
    ]
    print(f"throughput on trove_nla_books ({len(books)} books, {mb:.1f} MB), best of {args.repeat}, one core:")
    base = mb / rows[0][1]
    for name, cpu in rows:
        print(f"  {name:<60} {cpu:7.2f} s  {mb / cpu:7.2f} MB/s/core  x{(mb / cpu) / base:.2f}")
    for name in CHAIN:
        cpu = best(lambda n=name: [_Replay(books), make_stage(n)])
        print(f"  stage {name:<54} {cpu:7.2f} s  {mb / cpu:7.2f} MB/s/core")

    print("\nclean text survival (non-whitespace characters changed by the whole chain):")
    for sub in ("gold/100_english_novels", "gold/eltec_fra"):
        folder = args.data / sub
        docs = list(FormFeedTextReader(str(folder)).run())
        before = {d.id: d.text for d in docs}
        steps = [make_stage(n) for n in CHAIN]
        data = iter(docs)
        for step in steps:
            data = step.run(data, 0, 1)
        total = changed = 0
        worst = (0.0, "")
        for d in data:
            c = changed_chars(before[d.id], d.text)
            n = len(_WS.sub("", before[d.id]))
            total, changed = total + n, changed + c
            worst = max(worst, (c / n, d.id))
        print(f"  {sub:<28} {len(docs):3d} books  {100 * changed / total:.3f} % changed"
              f"  (worst {100 * worst[0]:.3f} % {worst[1]})")
    return 0


class _Replay:
    """A pipeline step that replays already-read books (to time a stage alone)."""

    def __init__(self, books):
        self.books = books

    def run(self, data=None, rank=0, world_size=1):
        from datatrove.data import Document

        for d in self.books:
            yield Document(text=d.text, id=d.id, metadata=dict(d.metadata))


if __name__ == "__main__":
    sys.exit(main())
