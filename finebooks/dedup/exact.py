"""Exact duplicates: books whose normalised text is identical (a cheap first dedup pass).

"Identical" ignores what never distinguishes two copies of one text: case, punctuation, digits
(page numbers, shelf marks), whitespace and line layout, hyphenated line ends, page breaks,
accents, ligatures and long-s (the word normalisation of :mod:`finebooks.dedup.shingles`, without
the f/s confusion fold). The hash is xxh3-128 of the normalised word sequence.

One recipe entry, ``exact_dedup``; the engine cuts the pipeline into: (1) intermediate copy +
:class:`TextHashRecorder` (the recipe's tasks), (2) :class:`ExactClusters` (one task: group by hash,
keep the best copy by ``keep_by``), (3) the intermediate copy through
:class:`~finebooks.dedup.common.DuplicateFilter` (``exact_duplicate: duplicate_of=<id>
similarity=1.000``). Clusters go to ``RUN/clusters/<label>/clusters.parquet``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from datatrove.data import DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep

from finebooks.dedup.common import (
    DEFAULT_KEEP_BY,
    DuplicateFilter,
    Member,
    check_keep_by,
    intermediate_copy,
    keep_values,
    node_id,
    order_members,
    read_parquet,
    write_clusters,
)
from finebooks.dedup.shingles import word_hashes_of_text


def text_digest(text: str) -> tuple[str | None, int]:
    """(hex xxh3-128 of the normalised words, word count); ``None`` for a text without words."""
    import xxhash

    wh = word_hashes_of_text(text, fold_confusions=False, min_word_len=1)
    if len(wh) == 0:
        return None, 0
    return xxhash.xxh3_128_hexdigest(wh), len(wh)  # (the array's bytes, as wh.tobytes())


class TextHashRecorder(PipelineStep):
    """Writes ``records/<rank>.parquet``: position, id, normalised-text hash, words, keep_by values."""

    type = "🫂 - DEDUP"
    name = "🫂 Text hashes"

    def __init__(self, output_folder, keep_by: Sequence[str] = DEFAULT_KEEP_BY):
        super().__init__()
        self.output_folder = get_datafolder(output_folder)
        self.keep_by = check_keep_by(keep_by)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from finebooks.dedup.common import write_parquet

        cols = {"doc": [], "id": [], "hash": [], "n_words": [], "keep_values": []}
        for idx, doc in enumerate(data):
            with self.track_time():
                digest, n_words = text_digest(doc.text)
                self.stat_update("books")
                if digest is None:
                    self.stat_update("no_words")
                    continue
                cols["doc"].append(idx)
                cols["id"].append(doc.id)
                cols["hash"].append(digest)
                cols["n_words"].append(n_words)
                cols["keep_values"].append(json.dumps(keep_values(doc, self.keep_by, n_words)))
        write_parquet(self.output_folder, f"records/{rank:05d}.parquet", cols, [
            ("doc", "int64"), ("id", "string"), ("hash", "string"), ("n_words", "int64"), ("keep_values", "string")])
        return
        yield


class ExactClusters(PipelineStep):
    """One task: books with the same hash form a cluster; the best copy by ``keep_by`` is kept."""

    type = "🫂 - DEDUP"
    name = "🫂 Exact clusters"

    def __init__(self, work_folder, clusters_folder, stage: str, keep_by: Sequence[str] = DEFAULT_KEEP_BY,
                 reason: str = "exact_duplicate"):
        super().__init__()
        self.work_folder = get_datafolder(work_folder)
        self.clusters_folder = clusters_folder
        self.stage = stage
        self.keep_by = check_keep_by(keep_by)
        self.reason = reason

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("the cluster step of exact_dedup runs as a single task")
        with self.track_time():
            groups: dict[str, list[Member]] = {}
            for name in self.work_folder.list_files(subdirectory="records", glob_pattern="*.parquet"):
                task = int(name.rsplit("/", 1)[-1].split(".")[0])
                cols = read_parquet(self.work_folder, name).to_pydict()
                for i, digest in enumerate(cols["hash"]):
                    groups.setdefault(digest, []).append(
                        Member(node_id(task, cols["doc"][i]), cols["id"][i], json.loads(cols["keep_values"][i])))
                    self.stat_update("books")
            clusters = [order_members(ms, self.keep_by) for ms in groups.values() if len(ms) > 1]
            counts = write_clusters(clusters, self.keep_by, work_dir=self.work_folder,
                                    clusters_dir=self.clusters_folder, method="exact", stage=self.stage,
                                    reason=self.reason)
            self.stat_update("clusters", value=counts["clusters"])
            self.stat_update("to_remove", value=counts["removed"])
        return
        yield


class ExactDedup:
    """Exact duplicate books (same normalised text): keep the best copy by ``keep_by``.

    Args:
        keep_by: metadata keys that choose the kept copy, in order (see ``near_dedup``).
    """

    def __init__(self, keep_by: Sequence[str] = DEFAULT_KEEP_BY):
        self.keep_by = check_keep_by(keep_by)

    def plan(self, ctx):
        from finebooks.engine import MultiStageSplit, PlannedExecutor
        from finebooks.readers.book_rows import RankShardReader

        work = ctx.work_dir
        return MultiStageSplit(
            finish=[
                intermediate_copy(work),
                TextHashRecorder(str(work), keep_by=self.keep_by),
            ],
            middle=[PlannedExecutor(f"{ctx.label}_clusters", [ExactClusters(
                str(work), str(ctx.run_dir / "clusters" / ctx.label), ctx.label, keep_by=self.keep_by)], 1)],
            resume=[
                RankShardReader(str(work / "books")),
                DuplicateFilter(str(work / "decisions"), reason="exact_duplicate", stage=ctx.label,
                                exclusion_writer=ctx.exclusion_writer(default_reason="exact_duplicate")),
            ],
            first_name="hashes",
        )
