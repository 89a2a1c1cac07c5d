"""Near-duplicate books: OCR-tolerant MinHash LSH, verified pairs, best-scored copy kept.

One recipe entry, ``near_dedup``; the recipe engine cuts the pipeline there into dependent
executors (see :class:`NearDuplicateDedup`):

1. ``part<N>_<label>_sketches`` (the recipe's tasks): the books so far are written to an
   intermediate copy, and :class:`BookSketcher` computes per book the OCR-tolerant shingle set
   (:mod:`finebooks.dedup.shingles`), its one-permutation MinHash signature, one key per LSH band
   and a nested sample of the shingles (for verification), plus the ``keep_by`` values.
2. ``<label>_buckets``: :class:`LshBuckets` sorts each band's keys; books that share a key are
   candidate pairs (a star per bucket, never all pairs of a large bucket).
3. ``<label>_clusters`` (one task): :class:`NearDuplicateClusters` verifies each candidate pair on
   the shingle samples (estimated Jaccard >= ``threshold``; O(sample) per pair, whatever the
   book length), joins verified pairs into clusters, keeps the best copy of each (``keep_by``:
   OCR quality by default), writes ``RUN/clusters/<label>/clusters.parquet`` and, for pairs that
   overlap without being duplicates (a book inside an anthology, another edition),
   ``RUN/overlaps/<label>/overlaps.parquet`` - reported, never dropped.
4. the next part re-reads the intermediate copy; :class:`~finebooks.dedup.common.DuplicateFilter`
   drops the other copies (``near_duplicate: duplicate_of=<id> similarity=0.87 cluster=3``).

Compared with datatrove's MinHash stages (which :mod:`finebooks.dedup.minhash` wraps): shingles
tolerate OCR noise (case, punctuation, digits, long-s, ligatures, accents, hyphenated line
ends); a signature costs O(shingles) instead of O(shingles x hashes); buckets are sorted with
numpy instead of a heap merge in Python; candidate pairs are verified; the kept copy is chosen
by a score, not by position; clusters and overlaps are written for audit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from finebooks.dedup import shingles as sh
from finebooks.dedup.common import (
    DEFAULT_KEEP_BY,
    DuplicateFilter,
    Member,
    UnionFind,
    check_keep_by,
    intermediate_copy,
    keep_values,
    node_doc,
    node_rank,
    order_members,
    read_array,
    read_parquet,
    write_clusters,
    write_parquet,
)


def band_dtype(num_bands: int) -> np.dtype:
    """One record per book of a sketch task: its position and its key in every band."""
    return np.dtype([("doc", "<u4"), ("keys", "<u8", (num_bands,))])


PAIR_DTYPE = np.dtype([("a", "<u8"), ("b", "<u8")])
SAMPLE_SEED = 7
ANCHOR_SEED = 11


class ShingleConfig:
    """How a book becomes a shingle set (shared by every step of the stage; see shingles.py)."""

    def __init__(self, n_grams: int = 5, fold_confusions: bool = True, min_word_len: int = 2):
        if n_grams < 1:
            raise ValueError("n_grams must be at least 1")
        self.n_grams = n_grams
        self.fold_confusions = fold_confusions
        self.min_word_len = min_word_len

    def shingles(self, text: str) -> tuple[np.ndarray, int]:
        return sh.shingle_hashes(text, self.n_grams, self.fold_confusions, self.min_word_len)


class BookSketcher(PipelineStep):
    """Per book: its LSH band keys and a sketch row (shingle sample, keep_by values); one file each per task.

    Writes ``bands/<rank>.bin`` (per book: position in the task, one key per band) and
    ``sketches/<rank>.parquet`` (position, id, words, shingles, sample bits, sample, optional
    anchors, ``keep_by`` values) under ``output_folder``. Books with fewer than ``min_words``
    normalised words get no band keys: too little text to call two books the same.
    """

    type = "🫂 - DEDUP"
    name = "🫂 Book sketches"

    def __init__(self, output_folder, shingle_config: ShingleConfig | None = None, num_bands: int = 32,
                 rows_per_band: int = 4, seed: int = 1, sample_size: int = 1024, min_words: int = 50,
                 keep_by: Sequence[str] = DEFAULT_KEEP_BY, anchor_bits: int | None = None, batch_size: int = 1000):
        super().__init__()
        self.output_folder = get_datafolder(output_folder)
        self.shingle_config = shingle_config or ShingleConfig()
        self.num_bands = num_bands
        self.rows_per_band = rows_per_band
        self.seed = seed
        self.sample_size = sample_size
        self.min_words = min_words
        self.keep_by = check_keep_by(keep_by)
        self.anchor_bits = anchor_bits
        self.batch_size = batch_size

    def sketch(self, text: str) -> dict:
        """Everything the later steps need from one text (no band keys for a too-short text)."""
        shingles, n_words = self.shingle_config.shingles(text)
        sample, bits = sh.shingle_sample(shingles, self.sample_size, SAMPLE_SEED)
        out = {"n_words": n_words, "n_shingles": len(shingles), "sample_bits": bits, "sample": sample, "keys": None}
        if self.anchor_bits is not None:
            out["anchors"] = sh.anchors(shingles, self.anchor_bits, ANCHOR_SEED)
        if n_words >= self.min_words and len(shingles):
            sig = sh.oph_signature(shingles, self.num_bands * self.rows_per_band, self.seed)
            out["keys"] = sh.band_keys(sig, self.num_bands, self.rows_per_band, self.seed)
        return out

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow as pa
        import pyarrow.parquet as pq

        fields = [("doc", pa.uint32()), ("id", pa.string()), ("n_words", pa.int64()), ("n_shingles", pa.int64()),
                  ("sample_bits", pa.int8()), ("sample", pa.list_(pa.uint64())), ("keep_values", pa.string())]
        if self.anchor_bits is not None:
            fields.append(("anchors", pa.list_(pa.uint64())))
        schema = pa.schema(fields)
        keys: list[np.ndarray] = []
        docs: list[int] = []
        batch: dict[str, list] = {n: [] for n, _ in fields}
        with self.output_folder.open(f"sketches/{rank:05d}.parquet", "wb") as f, pq.ParquetWriter(f, schema) as pw:
            def flush():
                if batch["doc"]:
                    pw.write_table(pa.table(batch, schema=schema))
                    for v in batch.values():
                        v.clear()

            for idx, doc in enumerate(data):
                with self.track_time():
                    s = self.sketch(doc.text)
                    batch["doc"].append(idx)
                    batch["id"].append(doc.id)
                    batch["n_words"].append(s["n_words"])
                    batch["n_shingles"].append(s["n_shingles"])
                    batch["sample_bits"].append(s["sample_bits"])
                    batch["sample"].append(s["sample"])
                    batch["keep_values"].append(json.dumps(keep_values(doc, self.keep_by, s["n_words"])))
                    if self.anchor_bits is not None:
                        batch["anchors"].append(s["anchors"])
                    if s["keys"] is not None:
                        keys.append(s["keys"])
                        docs.append(idx)
                    else:
                        self.stat_update("too_short")
                    self.stat_update("books")
                    self.stat_update("shingles", value=s["n_shingles"])
                    self.update_doc_stats(doc)
                    if len(batch["doc"]) >= self.batch_size:
                        flush()
            flush()
        with self.track_time():
            rec = np.empty(len(docs), dtype=band_dtype(self.num_bands))
            rec["doc"] = np.asarray(docs, dtype=np.uint32)
            if keys:
                rec["keys"] = np.vstack(keys)
            with self.output_folder.open(f"bands/{rank:05d}.bin", "wb") as f:
                f.write(rec.tobytes())
        return
        yield  # a generator that forwards nothing: this step ends its pipeline part


class LshBuckets(PipelineStep):
    """Candidate pairs of each LSH band: books whose band keys are equal.

    Task ``r`` of ``world_size`` handles bands ``r, r + world_size, ...``: it reads the key file
    of every sketch task once (a few bytes per book and band), sorts each band's keys (numpy),
    and writes for each bucket of two or more books the pairs (first member, other member) to
    ``pairs/band_<b>.bin``.
    """

    type = "🫂 - DEDUP"
    name = "🫂 LSH buckets"

    def __init__(self, input_folder, output_folder, num_bands: int = 32):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)
        self.num_bands = num_bands

    @staticmethod
    def bucket_pairs(keys: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Star pairs (first, other) of every run of equal keys."""
        out = np.empty(0, dtype=PAIR_DTYPE)
        if len(keys) < 2:
            return out
        order = np.argsort(keys, kind="stable")
        k, n = keys[order], nodes[order]
        new_run = np.empty(len(k), dtype=bool)
        new_run[0] = True
        np.not_equal(k[1:], k[:-1], out=new_run[1:])
        starts = np.flatnonzero(new_run)
        first = np.repeat(starts, np.diff(np.append(starts, len(k))))
        member = ~new_run
        out = np.empty(int(member.sum()), dtype=PAIR_DTYPE)
        out["a"] = n[first[member]]
        out["b"] = n[member]
        return out

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        bands = list(range(rank, self.num_bands, world_size))
        if not bands:
            return
        with self.track_time():
            keys, nodes = [], []
            for name in self.input_folder.list_files(glob_pattern="*.bin"):
                rec = read_array(self.input_folder, name, band_dtype(self.num_bands))
                task = int(name.rsplit("/", 1)[-1].split(".")[0])
                keys.append(rec["keys"][:, bands])
                nodes.append((np.uint64(task) << np.uint64(32)) | rec["doc"].astype(np.uint64))
            k = np.concatenate(keys) if keys else np.zeros((0, len(bands)), dtype=np.uint64)
            n = np.concatenate(nodes) if nodes else np.zeros(0, dtype=np.uint64)
            self.stat_update("signatures", value=len(n))
            for j, band in enumerate(bands):
                pairs = self.bucket_pairs(np.ascontiguousarray(k[:, j]), n)
                with self.output_folder.open(f"band_{band:03d}.bin", "wb") as f:
                    f.write(pairs.tobytes())
                self.stat_update("bands")
                self.stat_update("candidate_pairs", value=len(pairs))
        return
        yield


class NearDuplicateClusters(PipelineStep):
    """Verify candidate pairs, cluster, keep the best copy; write decisions, clusters, overlaps.

    One task sees every candidate pair. A pair is a duplicate when the Jaccard similarity
    estimated on the two shingle samples is at least ``threshold`` (with ``verify=False`` every
    LSH candidate is, as in datatrove). A pair whose smaller book is mostly contained in the
    other (containment >= ``overlap_threshold``) without being a duplicate is written to the
    overlaps table. With ``detect_overlap``, pairs sharing at least ``min_shared_anchors``
    anchor shingles (a fixed 1/2**anchor_bits sample of every book) are also checked for
    containment, which finds a short book inside a long anthology (LSH on Jaccard cannot).
    """

    type = "🫂 - DEDUP"
    name = "🫂 Near-duplicate clusters"

    def __init__(self, work_folder, clusters_folder, overlaps_folder, stage: str,
                 keep_by: Sequence[str] = DEFAULT_KEEP_BY, threshold: float = 0.5, verify: bool = True,
                 overlap_threshold: float | None = 0.5, detect_overlap: bool = False, min_shared_anchors: int = 5,
                 max_anchor_books: int = 50, reason: str = "near_duplicate"):
        super().__init__()
        self.work_folder = get_datafolder(work_folder)
        self.clusters_folder = clusters_folder
        self.overlaps_folder = overlaps_folder
        self.stage = stage
        self.keep_by = check_keep_by(keep_by)
        self.threshold = threshold
        self.verify = verify
        self.overlap_threshold = overlap_threshold
        self.detect_overlap = detect_overlap
        self.min_shared_anchors = min_shared_anchors
        self.max_anchor_books = max_anchor_books
        self.reason = reason

    # ---------------------------------------------------------------- inputs
    def candidate_pairs(self) -> np.ndarray:
        parts = [read_array(self.work_folder, name, PAIR_DTYPE)
                 for name in self.work_folder.list_files(subdirectory="pairs", glob_pattern="*.bin")]
        return _unique_pairs(np.concatenate(parts) if parts else np.empty(0, dtype=PAIR_DTYPE))

    def load_sketches(self, nodes: set[int] | None, with_anchors: bool = False) -> dict[int, dict]:
        """Sketch rows by node (only ``nodes`` unless None)."""
        by_rank: dict[int, set[int]] | None = None
        if nodes is not None:
            by_rank = {}
            for node in nodes:
                by_rank.setdefault(node_rank(node), set()).add(node_doc(node))
        out: dict[int, dict] = {}
        for name in self.work_folder.list_files(subdirectory="sketches", glob_pattern="*.parquet"):
            rank = int(name.rsplit("/", 1)[-1].split(".")[0])
            if by_rank is not None and rank not in by_rank:
                continue
            cols = ["doc", "id", "n_words", "n_shingles", "sample_bits", "sample", "keep_values"]
            cols += ["anchors"] if with_anchors else []
            table = read_parquet(self.work_folder, name, cols)
            docs = table.column("doc").to_numpy()
            wanted = by_rank[rank] if by_rank is not None else None
            rows = np.flatnonzero(np.isin(docs, np.fromiter(wanted, dtype=np.int64))) if wanted is not None \
                else np.arange(len(docs))
            if len(rows) == 0:
                continue
            sub = table.take(rows).to_pydict()
            for i, doc in enumerate(sub["doc"]):
                out[(rank << 32) | int(doc)] = {
                    "id": sub["id"][i], "n_words": sub["n_words"][i], "bits": int(sub["sample_bits"][i]),
                    "sample": np.asarray(sub["sample"][i], dtype=np.uint64),
                    "values": json.loads(sub["keep_values"][i]),
                    "anchors": np.asarray(sub["anchors"][i], dtype=np.uint64) if with_anchors else None,
                }
        return out

    def anchor_pairs(self, sketches: dict[int, dict]) -> np.ndarray:
        """Pairs of books sharing at least ``min_shared_anchors`` anchors (rare anchors only)."""
        nodes = np.fromiter(sketches, dtype=np.uint64, count=len(sketches))
        lens = [len(sketches[int(n)]["anchors"]) for n in nodes]
        if not lens or sum(lens) == 0:
            return np.empty(0, dtype=PAIR_DTYPE)
        anc = np.concatenate([sketches[int(n)]["anchors"] for n in nodes])
        owner = np.repeat(nodes, lens)
        order = np.argsort(anc, kind="stable")
        anc, owner = anc[order], owner[order]
        starts = np.flatnonzero(np.concatenate(([True], anc[1:] != anc[:-1])))
        sizes = np.diff(np.append(starts, len(anc)))
        chunks = []
        for s, m in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            if m > self.max_anchor_books:  # a common shingle (formula, refrain): no evidence of overlap
                continue
            grp = owner[s:s + m]
            ia, ib = np.triu_indices(m, k=1)
            p = np.empty(len(ia), dtype=PAIR_DTYPE)
            p["a"], p["b"] = grp[ia], grp[ib]
            chunks.append(p)
        if not chunks:
            return np.empty(0, dtype=PAIR_DTYPE)
        allp = _normalise(np.concatenate(chunks))
        packed = np.empty(len(allp), dtype=[("a", "<u8"), ("b", "<u8")])
        packed["a"], packed["b"] = allp["a"], allp["b"]
        uniq, counts = np.unique(packed, return_counts=True)
        out = np.empty(int((counts >= self.min_shared_anchors).sum()), dtype=PAIR_DTYPE)
        out["a"], out["b"] = uniq["a"][counts >= self.min_shared_anchors], uniq["b"][counts >= self.min_shared_anchors]
        return out

    # ---------------------------------------------------------------- run
    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("the cluster step of near_dedup runs as a single task")
        with self.track_time():
            pairs = self.candidate_pairs()
            self.stat_update("candidate_pairs", value=len(pairs))
            if self.detect_overlap:
                sketches = self.load_sketches(None, with_anchors=True)
                extra = self.anchor_pairs(sketches)
                self.stat_update("anchor_pairs", value=len(extra))
                lsh = {(int(a), int(b)) for a, b in zip(pairs["a"], pairs["b"])}
            else:
                needed = set(pairs["a"].tolist()) | set(pairs["b"].tolist())
                sketches = self.load_sketches(needed)
                extra, lsh = np.empty(0, dtype=PAIR_DTYPE), None
            uf = UnionFind()
            overlaps = {k: [] for k in ("book_id", "other_id", "contained_id", "containment", "jaccard",
                                        "found_by", "stage")}
            checked = set()
            for source, arr in (("lsh", pairs), ("anchors", extra)):
                for a, b in zip(arr["a"].tolist(), arr["b"].tolist()):
                    if (a, b) in checked:
                        continue
                    checked.add((a, b))
                    sa, sb = sketches[a], sketches[b]
                    jac, cont, _ = sh.compare_samples(sa["sample"], sa["bits"], sb["sample"], sb["bits"])
                    is_lsh = lsh is None or (a, b) in lsh
                    if is_lsh and (not self.verify or jac >= self.threshold):
                        uf.union(a, b)
                        self.stat_update("verified_pairs")
                        continue
                    if is_lsh:
                        self.stat_update("rejected_pairs")
                    if self.overlap_threshold is not None and cont >= self.overlap_threshold:
                        small = a if sa["n_words"] <= sb["n_words"] else b
                        overlaps["book_id"].append(sa["id"])
                        overlaps["other_id"].append(sb["id"])
                        overlaps["contained_id"].append(sketches[small]["id"])
                        overlaps["containment"].append(round(cont, 4))
                        overlaps["jaccard"].append(round(jac, 4))
                        overlaps["found_by"].append(source)
                        overlaps["stage"].append(self.stage)
                        self.stat_update("overlaps")
            clusters = []
            for members in uf.groups().values():
                ms = order_members([Member(n, sketches[n]["id"], sketches[n]["values"]) for n in members],
                                   self.keep_by)
                kept = sketches[ms[0].node]
                for m in ms[1:]:
                    s = sketches[m.node]
                    m.similarity = sh.compare_samples(s["sample"], s["bits"], kept["sample"], kept["bits"])[0]
                clusters.append(ms)
            counts = write_clusters(clusters, self.keep_by, work_dir=self.work_folder,
                                    clusters_dir=self.clusters_folder, method="near", stage=self.stage,
                                    reason=self.reason)
            write_parquet(self.overlaps_folder, "overlaps.parquet", overlaps, [
                ("book_id", "string"), ("other_id", "string"), ("contained_id", "string"),
                ("containment", "float64"), ("jaccard", "float64"), ("found_by", "string"), ("stage", "string")])
            self.stat_update("clusters", value=counts["clusters"])
            self.stat_update("to_remove", value=counts["removed"])
            logger.info(f"{self.stage}: {len(pairs)} candidate pairs -> {counts['clusters']} clusters, "
                        f"{counts['removed']} copies to drop, {len(overlaps['book_id'])} overlaps reported")
        return
        yield


def _normalise(p: np.ndarray) -> np.ndarray:
    lo = np.minimum(p["a"], p["b"])
    hi = np.maximum(p["a"], p["b"])
    out = np.empty(len(p), dtype=PAIR_DTYPE)
    out["a"], out["b"] = lo, hi
    return out[lo != hi]


def _unique_pairs(p: np.ndarray) -> np.ndarray:
    p = _normalise(p)
    if len(p) == 0:
        return p
    order = np.lexsort((p["b"], p["a"]))
    p = p[order]
    keep = np.concatenate(([True], (p["a"][1:] != p["a"][:-1]) | (p["b"][1:] != p["b"][:-1])))
    return p[keep]


class NearDuplicateDedup:
    """Near-duplicate books (scans, editions, e-text releases): MinHash LSH on OCR-tolerant shingles.

    Candidate pairs are verified on shingle samples; in each cluster the best copy by ``keep_by``
    is kept (OCR quality by default), the others are excluded as ``near_duplicate:
    duplicate_of=<id> similarity=<s>``. Clusters go to ``RUN/clusters/<label>/``, overlaps
    (contained books, other editions) to ``RUN/overlaps/<label>/``.

    Args:
        n_grams: words per shingle (5: see docs/dedup.md for the measured choice).
        num_bands: LSH bands (b); more bands find less similar pairs.
        rows_per_band: signature values per band (r); more rows demand higher similarity. A pair
            of Jaccard J becomes a candidate with probability 1 - (1 - J**r)**b.
        threshold: verified duplicates have an estimated Jaccard of at least this.
        verify: check candidate pairs on the shingle samples (False: every LSH candidate is a
            duplicate, as in datatrove).
        keep_by: metadata keys that choose the kept copy, in order (prefix ``-`` to prefer the
            lower value); ``n_words``, ``n_pages`` and ``text_length`` are computed when missing.
            A book lacking a key ranks below books that have it; ties fall to the next key,
            then to the smallest id.
        sample_size: shingles kept per book for verification (at least this many, nested rates).
        min_words: books with fewer normalised words are never called duplicates.
        fold_confusions: fold f/s (long-s read as f) before shingling.
        min_word_len: shortest word kept (2 drops one-letter OCR dust).
        overlap_threshold: report pairs whose smaller book is at least this much contained in the
            other (``None``: no overlap report).
        detect_overlap: also look for contained books that LSH cannot find (anchor shingles).
        seed: hash seed (the same on every worker).
        bucket_tasks: tasks of the bucket step (default: the recipe's tasks, at most num_bands).
    """

    def __init__(self, n_grams: int = 5, num_bands: int = 32, rows_per_band: int = 4, threshold: float = 0.5,
                 verify: bool = True, keep_by: Sequence[str] = DEFAULT_KEEP_BY, sample_size: int = 1024,
                 min_words: int = 50, fold_confusions: bool = True, min_word_len: int = 2,
                 overlap_threshold: float | None = 0.5, detect_overlap: bool = False, seed: int = 1,
                 bucket_tasks: int | None = None):
        if num_bands < 1 or rows_per_band < 1:
            raise ValueError("num_bands and rows_per_band must be at least 1")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.n_grams = n_grams
        self.num_bands = num_bands
        self.rows_per_band = rows_per_band
        self.threshold = threshold
        self.verify = verify
        self.keep_by = check_keep_by(keep_by)
        self.sample_size = sample_size
        self.min_words = min_words
        self.fold_confusions = fold_confusions
        self.min_word_len = min_word_len
        self.overlap_threshold = overlap_threshold
        self.detect_overlap = detect_overlap
        self.seed = seed
        self.bucket_tasks = bucket_tasks

    def sketcher(self, output_folder) -> BookSketcher:
        return BookSketcher(output_folder, ShingleConfig(self.n_grams, self.fold_confusions, self.min_word_len),
                            num_bands=self.num_bands, rows_per_band=self.rows_per_band, seed=self.seed,
                            sample_size=self.sample_size, min_words=self.min_words, keep_by=self.keep_by,
                            anchor_bits=8 if self.detect_overlap else None)

    def run_in_process(self, docs: list, work_dir, label: str = "near_dedup") -> dict:
        """Run the four steps here, one task, on a list of documents (tests, notebooks, evaluation).

        Returns ``{"kept": [...], "excluded": [...], "clusters": pyarrow.Table, "overlaps": pyarrow.Table}``;
        intermediate files and the cluster/overlap tables go under ``work_dir``. Recipes use
        :meth:`plan` instead (dependent executors, any number of tasks).
        """
        from pathlib import Path

        work = Path(work_dir) / "work" / label
        clusters_dir = Path(work_dir) / "clusters" / label
        overlaps_dir = Path(work_dir) / "overlaps" / label
        for _ in self.sketcher(str(work)).run(iter(docs), 0, 1):
            pass
        for _ in LshBuckets(str(work / "bands"), str(work / "pairs"), self.num_bands).run(None, 0, 1):
            pass
        step = NearDuplicateClusters(str(work), str(clusters_dir), str(overlaps_dir), label, keep_by=self.keep_by,
                                     threshold=self.threshold, verify=self.verify,
                                     overlap_threshold=self.overlap_threshold, detect_overlap=self.detect_overlap)
        for _ in step.run(None, 0, 1):
            pass
        kept = list(DuplicateFilter(str(work / "decisions"), stage=label).run(iter(docs), 0, 1))
        kept_ids = {d.id for d in kept}
        return {
            "kept": kept,
            "excluded": [d for d in docs if d.id not in kept_ids],
            "clusters": read_parquet(str(clusters_dir), "clusters.parquet"),
            "overlaps": read_parquet(str(overlaps_dir), "overlaps.parquet"),
        }

    def plan(self, ctx):
        """Split the pipeline: sketches -> buckets -> clusters -> filter (see the module doc)."""
        from finebooks.engine import MultiStageSplit, PlannedExecutor
        from finebooks.readers.book_rows import RankShardReader

        work = ctx.work_dir
        tasks = self.bucket_tasks or max(1, min(ctx.tasks, self.num_bands))
        return MultiStageSplit(
            finish=[
                intermediate_copy(work),
                self.sketcher(str(work)),
            ],
            middle=[
                PlannedExecutor(f"{ctx.label}_buckets", [LshBuckets(str(work / "bands"), str(work / "pairs"),
                                                                    self.num_bands)], tasks),
                PlannedExecutor(f"{ctx.label}_clusters", [NearDuplicateClusters(
                    str(work), str(ctx.run_dir / "clusters" / ctx.label), str(ctx.run_dir / "overlaps" / ctx.label),
                    ctx.label, keep_by=self.keep_by, threshold=self.threshold, verify=self.verify,
                    overlap_threshold=self.overlap_threshold, detect_overlap=self.detect_overlap)], 1),
            ],
            resume=[
                RankShardReader(str(work / "books")),
                DuplicateFilter(str(work / "decisions"), reason="near_duplicate", stage=ctx.label,
                                exclusion_writer=ctx.exclusion_writer(default_reason="near_duplicate")),
            ],
            first_name="sketches",
        )
