"""MinHash near-duplicate removal as one recipe stage.

datatrove's MinHash dedup is four steps that must run one after another over the whole
collection (signatures -> LSH buckets -> clusters -> filter). In a recipe it is a single entry,
``minhash_dedup``; the recipe engine splits the pipeline there into dependent executors:

1. read + earlier stages -> an intermediate copy (one file per task) + MinHash signatures,
2. bucket matching, 3. clustering,
4. the intermediate copy, task by task -> ``MinhashDedupFilter`` (duplicates go to the
   exclusion table as ``minhash_duplicate``) -> later stages -> output.

This is datatrove's stock behaviour, kept as the baseline FineBooks is measured against: the
copy kept is whichever came first, candidate pairs are not verified and no cluster records are
written. For books use ``near_dedup`` (:mod:`finebooks.dedup.near`, docs/dedup.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MinhashDedup:
    """Near-duplicate removal with datatrove's MinHash (signatures, LSH buckets, clusters, filter).

    Args:
        n_grams: word n-gram (shingle) size.
        num_buckets: LSH bands; more bands find lower-similarity pairs.
        hashes_per_bucket: rows per band; more rows demand higher similarity.
        seed: seed of the hash functions (must be the same on every worker).
        language: language of the word tokenizer (ISO 639-1 code).
    """

    n_grams: int = 5
    num_buckets: int = 14
    hashes_per_bucket: int = 8
    seed: int = 1
    language: str = "en"

    def config(self):
        from datatrove.pipeline.dedup.minhash import MinhashConfig

        return MinhashConfig(n_grams=self.n_grams, num_buckets=self.num_buckets,
                             hashes_per_bucket=self.hashes_per_bucket, seed=self.seed)

    def plan(self, ctx):
        """Split the pipeline: signatures -> buckets -> clusters -> filter (see the module doc)."""
        from datatrove.pipeline.dedup.minhash import (
            MinhashDedupBuckets,
            MinhashDedupCluster,
            MinhashDedupFilter,
            MinhashDedupSignature,
        )

        from finebooks.dedup.common import intermediate_copy
        from finebooks.engine import MultiStageSplit, PlannedExecutor
        from finebooks.readers.book_rows import RankShardReader

        cfg = self.config()
        work = ctx.work_dir
        return MultiStageSplit(
            # one intermediate file per task, named by rank, so that the next part's task r reads
            # exactly the books (in the same order) whose signatures task r computed
            finish=[
                intermediate_copy(work),
                MinhashDedupSignature(output_folder=str(work / "signatures"), config=cfg, language=self.language),
            ],
            middle=[
                PlannedExecutor(f"{ctx.label}_buckets", [MinhashDedupBuckets(
                    input_folder=str(work / "signatures"), output_folder=str(work / "buckets"), config=cfg)],
                    cfg.num_buckets),
                PlannedExecutor(f"{ctx.label}_clusters", [MinhashDedupCluster(
                    input_folder=str(work / "buckets"), output_folder=str(work / "remove_ids"), config=cfg)], 1),
            ],
            resume=[
                RankShardReader(str(work / "books")),
                MinhashDedupFilter(input_folder=str(work / "remove_ids"),
                                   exclusion_writer=ctx.exclusion_writer(default_reason="minhash_duplicate")),
            ],
        )
