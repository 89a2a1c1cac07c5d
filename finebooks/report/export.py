"""``finebooks export RUN_DIR --to DIR``: publishable Parquet shards + a dataset card.

The export is what a corpus builder puts on the Hugging Face Hub::

    DIR/README.md                         dataset card (YAML front matter + body, see card.py)
    DIR/data/train-00000-of-0000N.parquet the kept books, sharded by size
    DIR/finebooks/recipe.yaml             the run's resolved recipe with provenance
    DIR/finebooks/summary.json            the run's accounting (books in / kept / excluded)

Columns: ``id``, ``text``, the bibliographic columns, every scalar metadata field of the run
as a typed column (scores such as ``ocr_quality``, ``language_score``, ``bh_*``; strings such
as ``rights`` or ``source_path``) and ``metadata_json`` (everything, including per-page lists).
Every shard has the same schema, so ``datasets.load_dataset("parquet", data_dir=DIR)`` (or
``load_dataset(DIR)``, which reads the card's ``configs``) loads it offline.

``push_to_hub`` uploads such a folder with ``huggingface_hub``; it needs a token and a network
and says so clearly when either is missing. ``tokenize`` writes datatrove's tokenised format
(``.ds`` token files + index, the input of nanotron-style training) with datatrove's
``DocumentTokenizer`` and a *local* ``tokenizer.json`` (nothing is downloaded).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from finebooks.report.card import dataset_card
from finebooks.report.query import RunDirError, connect, inspect_run

DEFAULT_SHARD_BYTES = 500 * 1024**2
DATA_PATTERN = "data/train-*.parquet"


class ExportError(RuntimeError):
    """An export or upload that cannot be done, with the reason and what to do about it."""


@dataclass
class ExportResult:
    folder: Path
    shards: list[Path] = field(default_factory=list)
    rows: int = 0
    card: Path | None = None
    tokenized: Path | None = None


def export_run(run_dir: str | Path, to: str | Path, max_shard_bytes: int = DEFAULT_SHARD_BYTES,
               page_separator: str | None = None, overwrite: bool = False,
               pretty_name: str | None = None, batch_rows: int = 64) -> ExportResult:
    """Write the kept books of ``run_dir`` as Parquet shards + dataset card into ``to``.

    ``max_shard_bytes`` bounds the text bytes per shard (a new shard starts after a batch
    crosses it); ``page_separator`` replaces the ``\\f`` between pages (e.g. ``"\\n\\n"``) when
    given. An existing non-empty ``to`` is refused unless ``overwrite``.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    run_dir = Path(run_dir)
    info = inspect_run(run_dir)
    if not info.book_files:
        raise RunDirError(f"{run_dir} has no kept books (books/ is empty): nothing to export")
    out = Path(to)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ExportError(f"{out} exists and is not empty (use --overwrite to replace its data/ and README.md)")
        shutil.rmtree(out / "data", ignore_errors=True)
    (out / "data").mkdir(parents=True, exist_ok=True)
    con = connect(run_dir, info)
    derived = {"n_bytes", "decade", "century"}  # recomputable; n_chars is kept as a handy length
    cols = [c[0] for c in con.execute("DESCRIBE books").fetchall() if c[0] not in derived]
    # metadata columns that no kept book has (exclusion bookkeeping, scores of dropped books only)
    # would be all-null columns in the dataset: leave them out (they stay in metadata_json)
    counts = con.execute("SELECT " + ", ".join(f'count("{c}")' for c in info.metadata_columns) + " FROM books"
                         ).fetchall()[0] if info.metadata_columns else []
    empty = {c for c, n in zip(info.metadata_columns, counts) if n == 0}
    cols = [c for c in cols if c not in empty]
    select = ", ".join(
        "replace(text, chr(12), ?) AS text" if c == "text" and page_separator is not None else f'"{c}"'
        for c in cols)
    params = [page_separator] if page_separator is not None else []
    rel = con.sql(f"SELECT {select} FROM books ORDER BY id", params=params or None)
    # duckdb 2 calls it to_arrow_reader, duckdb 1 fetch_arrow_reader
    to_reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    reader = to_reader(batch_rows)
    tmp_paths: list[Path] = []
    writer = None
    shard_bytes = 0
    rows = 0
    schema = None
    for batch in reader:
        lengths = pc.binary_length(batch.column(batch.schema.get_field_index("text"))).fill_null(0).to_pylist()
        start = 0
        while start < batch.num_rows:
            if writer is None or shard_bytes >= max_shard_bytes:  # start a new shard
                if writer is not None:
                    writer.close()
                tmp_paths.append(out / "data" / f"_part-{len(tmp_paths):05d}.parquet")
                schema = schema or batch.schema
                writer = pq.ParquetWriter(tmp_paths[-1], schema, compression="zstd")
                shard_bytes = 0
            end = start
            while end < batch.num_rows and (end == start or shard_bytes < max_shard_bytes):
                shard_bytes += lengths[end]  # a book never straddles two shards
                end += 1
            writer.write_batch(batch.slice(start, end - start))
            rows += end - start
            start = end
    if writer is not None:
        writer.close()
    shards = []
    for i, p in enumerate(tmp_paths):
        final = p.with_name(f"train-{i:05d}-of-{len(tmp_paths):05d}.parquet")
        p.rename(final)
        shards.append(final)
    prov = out / "finebooks"
    prov.mkdir(exist_ok=True)
    for name in ("recipe.yaml", "summary.json"):
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, prov / name)
    columns = [(f.name, str(f.type)) for f in schema] if schema is not None else None
    card = dataset_card(run_dir, DATA_PATTERN, pretty_name=pretty_name, columns=columns, shards=len(shards))
    if page_separator is not None:
        card = card.replace("joined by the form feed character (`\\f`, U+000C) unless the export says otherwise",
                            f"joined by {json.dumps(page_separator)} (the form feeds of the run were replaced)")
    (out / "README.md").write_text(card, encoding="utf-8")
    return ExportResult(folder=out, shards=shards, rows=rows, card=out / "README.md")


def tokenize_export(export_dir: str | Path, tokenizer_file: str | Path, eos_token: str | None = None,
                    workers: int = 1) -> Path:
    """Tokenise the exported shards with datatrove's ``DocumentTokenizer`` into ``DIR/tokenized``.

    ``tokenizer_file`` must be a local ``tokenizer.json`` (Hugging Face ``tokenizers`` format);
    Hub names are refused because FineBooks never downloads at run time.
    """
    tokenizer_file = Path(tokenizer_file)
    if not tokenizer_file.is_file():
        raise ExportError(f"--tokenize needs a local tokenizer.json file; {str(tokenizer_file)!r} is not a file "
                          "(Hub tokenizer names are not fetched: FineBooks works offline)")
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    export_dir = Path(export_dir)
    out = export_dir / "tokenized"
    shards = sorted((export_dir / "data").glob("train-*.parquet"))
    if not shards:
        raise ExportError(f"{export_dir}/data has no shards to tokenise")
    executor = LocalPipelineExecutor(
        pipeline=[ParquetReader(str(export_dir / "data"), glob_pattern="train-*.parquet", text_key="text",
                                id_key="id", read_metadata=False),
                  DocumentTokenizer(str(out), tokenizer_name_or_path=str(tokenizer_file.resolve()),
                                    eos_token=eos_token, shuffle_documents=False)],
        tasks=len(shards), workers=workers, logging_dir=str(export_dir / "finebooks" / "tokenize_logs"))
    executor.run()
    return out


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None,
                commit_message: str = "Upload FineBooks export") -> str:
    """Upload an export folder to a Hub dataset repository; returns the repository URL.

    Fails with :class:`ExportError` (saying what to do) when offline mode is on, when there is
    no token, or when the Hub cannot be reached.
    """
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise ExportError(f"{folder} is not an export (no README.md): run finebooks export first")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise ExportError("cannot push to the Hub: HF_HUB_OFFLINE is set (offline mode). Unset it on a machine "
                          "with a network to upload; the export folder is ready as it is.")
    try:
        import huggingface_hub
    except ImportError as e:  # pragma: no cover - installed with datasets
        raise ExportError("pushing needs huggingface_hub: pip install huggingface_hub") from e
    token = token or huggingface_hub.get_token()
    if not token:
        raise ExportError("cannot push to the Hub: no token. Log in with `hf auth login` (or set HF_TOKEN) with a "
                          "token that can write to the repository.")
    api = huggingface_hub.HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset",
                          commit_message=commit_message, ignore_patterns=["finebooks/tokenize_logs/**"])
    except Exception as e:
        raise ExportError(f"push to the Hub repository {repo_id!r} failed: {type(e).__name__}: {e}") from e
    return f"https://huggingface.co/datasets/{repo_id}"


__all__ = ["ExportError", "ExportResult", "export_run", "push_to_hub", "tokenize_export"]
