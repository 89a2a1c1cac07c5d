"""SQL over a run directory: DuckDB views of the kept books, the exclusions and the clusters.

``finebooks query RUN_DIR "SQL"`` and the report, the dataset card and the export all read a run
through :func:`connect`, which returns an in-memory DuckDB connection with these views (the
Parquet files are read in place, nothing is copied):

``books``     kept books (``RUN/books``): ``id``, ``text``, the typed bibliographic columns
              (``source``, ``title``, ``author``, ``year``, ``language``, ``n_pages``,
              ``ocr_confidence``), ``metadata_json``, then every *scalar* metadata key found in
              the run promoted to a typed column (scores such as ``ocr_quality``,
              ``language_score``, ``quality_score``, ``bh_*``; strings such as ``rights``,
              ``format``, ``source_path``), and derived columns ``n_chars`` (characters of text),
              ``n_bytes`` (UTF-8 bytes), ``decade`` (1780 for 1780-1789) and ``century``
              (18 for 1700-1799, the catalogue convention).
``excluded``  every exclusion record (``RUN/excluded/<NN_stage>``): the same columns plus
              ``exclusion_stage`` (recipe label, e.g. ``06_metadata_filter``),
              ``exclusion_reason`` (code and detail), ``reason_code`` (the code alone) and
              ``text_kept`` (whether the record carries the book's text: only with
              ``output.keep_excluded_text``). ``n_chars`` / ``n_bytes`` come from the text
              when kept, else from ``text_chars`` / ``text_bytes`` metadata when the exclusion
              writer recorded them, else NULL (unknown).
``clusters``  duplicate clusters (``RUN/clusters/<NN_stage>``, written by dedup stages that
              record them): ``stage``, ``cluster_id``, ``book_id``, ``kept_id``, ``is_kept``,
              ``similarity``, ``cluster_size``, ``score`` (the member's value of the key that
              chose the kept copy), ``method`` (``near`` or ``exact``), then any other column
              the stage wrote. Empty (with these columns) when the run has none.
``summary``   one row from ``RUN/summary.json``: ``recipe``, ``books_in``, ``kept``,
              ``excluded``, ``unaccounted``, ``pages``, ``text_bytes``, ``seconds``.
``stages``    the funnel: one row per recipe stage in order (``00_read`` first) with
              ``position``, ``stage``, ``name``, ``books_in``, ``excluded``, ``books_out``.

Metadata keys that hold lists or mappings (``page_ocr_quality``, ``languages``, ``repairs``)
stay in ``metadata_json``; reach them with DuckDB's JSON functions, e.g.
``metadata_json->'languages'->>'fr'``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from finebooks.writers import BOOK_COLUMNS

VIEWS = ("books", "excluded", "clusters", "summary", "stages")

#: columns of the ``clusters`` view (and their types when the run has no cluster tables)
CLUSTER_COLUMNS = {"stage": "VARCHAR", "cluster_id": "BIGINT", "book_id": "VARCHAR", "kept_id": "VARCHAR",
                   "is_kept": "BOOLEAN", "similarity": "DOUBLE", "cluster_size": "BIGINT", "score": "DOUBLE",
                   "method": "VARCHAR"}
SUMMARY_COLUMNS = ("recipe", "books_in", "kept", "excluded", "unaccounted", "pages", "text_bytes", "seconds")
_DERIVED = ("n_chars", "n_bytes", "decade", "century", "reason_code", "text_kept", "text_chars", "text_bytes")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: how many rows per table are inspected to find the metadata keys (every book of a stage
#: carries the same keys, so a prefix is enough and keeps huge runs quick to open)
KEY_SCAN_ROWS = 20000
_JSON_TYPES = {"DOUBLE": "DOUBLE", "BIGINT": "BIGINT", "UBIGINT": "BIGINT", "BOOLEAN": "BOOLEAN",
               "VARCHAR": "VARCHAR"}


class RunDirError(ValueError):
    """The folder is not a FineBooks run directory (or lacks what was asked of it)."""


@dataclass
class RunInfo:
    """What :func:`connect` found in a run directory."""

    run_dir: Path
    recipe: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    book_files: list[str] = field(default_factory=list)
    book_format: str = "parquet"
    excluded_files: list[str] = field(default_factory=list)
    cluster_files: list[str] = field(default_factory=list)
    #: promoted metadata keys and their DuckDB types, e.g. {"ocr_quality": "DOUBLE"}
    metadata_columns: dict[str, str] = field(default_factory=dict)
    stage_labels: list[str] = field(default_factory=list)

    @property
    def numeric_columns(self) -> list[str]:
        """Numeric metadata columns (scores and counts), in a stable order."""
        return [k for k, t in self.metadata_columns.items() if t in ("DOUBLE", "BIGINT")]


def _files(folder: Path, patterns: tuple[str, ...]) -> list[str]:
    if not folder.is_dir():
        return []
    out: set[str] = set()
    for pattern in patterns:
        out.update(str(p) for p in folder.rglob(pattern) if p.is_file() and p.stat().st_size > 0)
    return sorted(out)


def stage_table(recipe: dict) -> list[tuple[str, str, dict]]:
    """``(label, stage name, params)`` for each recipe stage, ``00_read`` first."""
    from finebooks.engine import READ_LABEL
    from finebooks.recipe import stage_label

    rows = [(READ_LABEL, "read", {})]
    for i, entry in enumerate(recipe.get("stages") or [], start=1):
        if not isinstance(entry, dict):
            entry = {str(entry): {}}
        if "python" in entry:
            name, params = entry["python"], entry.get("params") or {}
        else:
            name = next(iter(entry))
            params = entry[name] or {}
        rows.append((stage_label(i, name), name, params))
    return rows


def _sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _book_source(info: RunInfo) -> str:
    """A SELECT over the kept books with the BookParquetWriter columns, whatever the format."""
    files = _sql_list(info.book_files)
    if info.book_format == "parquet":
        return f"SELECT * FROM read_parquet({files}, union_by_name=true)"
    # datatrove JsonlWriter: {"text", "id", "metadata": {...}} -> the same columns as Parquet
    cols = ", ".join(
        f"TRY_CAST(json_extract_string(metadata_json, '$.{k}') AS {_duck_type(v)}) AS {k}"
        for k, v in BOOK_COLUMNS.items())
    return (f"SELECT id, text, {cols}, metadata_json FROM (SELECT CAST(id AS VARCHAR) AS id, "
            f"CAST(text AS VARCHAR) AS text, CAST(to_json(metadata) AS VARCHAR) AS metadata_json "
            f"FROM read_json({files}, format='newline_delimited', union_by_name=true))")


def _duck_type(alias: str) -> str:
    return {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE"}.get(alias, "VARCHAR")


def _scan_keys(con, source: str) -> dict[str, set[str]]:
    rows = con.execute(
        f"SELECT k, list_distinct(list(json_type(metadata_json, '$.\"' || k || '\"'))) FROM "
        f"(SELECT metadata_json, unnest(json_keys(metadata_json)) AS k FROM "
        f"(SELECT metadata_json FROM ({source}) WHERE metadata_json IS NOT NULL LIMIT {KEY_SCAN_ROWS})) "
        f"GROUP BY k").fetchall()
    return {k: set(types or []) for k, types in rows}


def _column_type(types: set[str]) -> str | None:
    """One DuckDB type for a metadata key from the JSON types seen, or None (lists, mixed)."""
    types = {t for t in types if t and t != "NULL"}
    if not types or not types <= set(_JSON_TYPES):
        return None
    mapped = {_JSON_TYPES[t] for t in types}
    if mapped <= {"BIGINT", "DOUBLE"}:
        return "DOUBLE" if "DOUBLE" in mapped else "BIGINT"
    return mapped.pop() if len(mapped) == 1 else None


def inspect_run(run_dir: str | Path) -> RunInfo:
    """Find the files of a run directory (raises :class:`RunDirError` if it is not one)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist")
    info = RunInfo(run_dir=run_dir)
    if (run_dir / "recipe.yaml").is_file():
        info.recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text()) or {}
    if (run_dir / "summary.json").is_file():
        try:
            info.summary = json.loads((run_dir / "summary.json").read_text())
        except json.JSONDecodeError:
            info.summary = {}
    info.book_files = _files(run_dir / "books", ("*.parquet",))
    if not info.book_files:
        jsonl = _files(run_dir / "books", ("*.jsonl", "*.jsonl.gz", "*.jsonl.zst"))
        if jsonl:
            info.book_files, info.book_format = jsonl, "jsonl"
    info.excluded_files = _files(run_dir / "excluded", ("*.parquet",))
    info.cluster_files = _files(run_dir / "clusters", ("*.parquet",))
    if not (info.recipe or info.summary or info.book_files or info.excluded_files):
        raise RunDirError(f"{str(run_dir)!r} is not a FineBooks run directory (no recipe.yaml, summary.json, "
                          "books/ or excluded/)")
    info.stage_labels = [label for label, _, _ in stage_table(info.recipe)]
    return info


def connect(run_dir: str | Path, info: RunInfo | None = None):
    """An in-memory DuckDB connection with the views ``books``, ``excluded``, ``clusters``,
    ``summary`` and ``stages`` over the run directory (see the module docstring)."""
    import duckdb

    info = info or inspect_run(run_dir)
    con = duckdb.connect()
    book_cols = set(BOOK_COLUMNS) | {"id", "text", "metadata_json"}
    sources = {}
    if info.book_files:
        sources["books"] = _book_source(info)
    if info.excluded_files:
        sources["excluded"] = f"SELECT * FROM read_parquet({_sql_list(info.excluded_files)}, union_by_name=true)"
    # metadata keys seen in either table, promoted to typed columns
    seen: dict[str, set[str]] = {}
    for source in sources.values():
        for k, types in _scan_keys(con, source).items():
            seen.setdefault(k, set()).update(types)
    reserved = book_cols | set(_DERIVED) | {"exclusion_stage", "exclusion_reason"}
    info.metadata_columns = {}
    for k in sorted(seen):
        t = _column_type(seen[k])
        if t and _IDENT.match(k) and k.lower() not in reserved:
            info.metadata_columns[k] = t
    extra = "".join(f", TRY_CAST(json_extract(metadata_json, '$.\"{k}\"') AS {t}) AS \"{k}\"" if t != "VARCHAR"
                    else f", json_extract_string(metadata_json, '$.\"{k}\"') AS \"{k}\""
                    for k, t in info.metadata_columns.items())
    derived = (", length(text) AS n_chars, strlen(text) AS n_bytes, "
               "CAST(floor(year / 10) * 10 AS BIGINT) AS decade, CAST(floor(year / 100) + 1 AS BIGINT) AS century")
    typed = "id, text, " + ", ".join(BOOK_COLUMNS) + ", metadata_json"
    empty_typed = ("NULL::VARCHAR AS id, NULL::VARCHAR AS text, "
                   + ", ".join(f"NULL::{_duck_type(v)} AS {k}" for k, v in BOOK_COLUMNS.items())
                   + ", NULL::VARCHAR AS metadata_json")
    if "books" in sources:
        con.execute(f"CREATE VIEW books AS SELECT {typed}{extra}{derived} FROM ({sources['books']})")
    else:
        con.execute(f"CREATE VIEW books AS SELECT {empty_typed}{_nulls(info)}{derived} FROM (SELECT NULL::BIGINT "
                    "AS year, NULL::VARCHAR AS text) WHERE false")
    exc = ", exclusion_stage, exclusion_reason"
    # an excluded book's length: from its text when the run kept it, else from the lengths the
    # exclusion writer recorded (metadata text_chars / text_bytes) if it did, else unknown (NULL)
    has_text = "coalesce(length(text), 0) > 0"
    recorded = "TRY_CAST(json_extract(metadata_json, '$.\"{}\"') AS BIGINT)"
    exc_derived = (f", CASE WHEN {has_text} THEN length(text) ELSE {recorded.format('text_chars')} END AS n_chars"
                   f", CASE WHEN {has_text} THEN strlen(text) ELSE {recorded.format('text_bytes')} END AS n_bytes"
                   + ", " + derived.split("AS n_bytes,", 1)[1].strip()
                   + f", trim(split_part(exclusion_reason, ':', 1)) AS reason_code, {has_text} AS text_kept")
    if "excluded" in sources:
        con.execute(f"CREATE VIEW excluded AS SELECT {typed}{exc}{extra}{exc_derived} "
                    f"FROM ({sources['excluded']})")
    else:
        con.execute(f"CREATE VIEW excluded AS SELECT {empty_typed}, NULL::VARCHAR AS exclusion_stage, "
                    f"NULL::VARCHAR AS exclusion_reason{_nulls(info)}{exc_derived} "
                    "FROM (SELECT NULL::BIGINT AS year, NULL::VARCHAR AS text, NULL::VARCHAR AS metadata_json, "
                    "NULL::VARCHAR AS exclusion_reason) WHERE false")
    _create_clusters(con, info)
    _create_summary(con, info)
    _create_stages(con, info)
    return con


def _nulls(info: RunInfo) -> str:
    return "".join(f", NULL::{t} AS \"{k}\"" for k, t in info.metadata_columns.items())


def _create_clusters(con, info: RunInfo) -> None:
    if info.cluster_files:
        have = {r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_sql_list(info.cluster_files)}, union_by_name=true)").fetchall()}
        # the stage is the folder name (RUN/clusters/<label>/), also when the writer records it
        cols = ["regexp_extract(filename, '[/\\\\]clusters[/\\\\]([^/\\\\]+)[/\\\\]', 1) AS stage"]
        for name, t in CLUSTER_COLUMNS.items():
            if name == "stage":
                continue
            if name == "cluster_id" and name in have:  # keep the writer's own id type
                cols.append("cluster_id")
            elif name in have:
                cols.append(f"TRY_CAST({name} AS {t}) AS {name}")
            else:
                cols.append(f"NULL::{t} AS {name}")
        # anything else a dedup stage records, as it wrote it
        cols += [f'"{c}"' for c in sorted(have) if c not in CLUSTER_COLUMNS and c != "filename"]
        con.execute(f"CREATE VIEW clusters AS SELECT {', '.join(cols)} FROM "
                    f"read_parquet({_sql_list(info.cluster_files)}, union_by_name=true, filename=true)")
    else:
        cols = ", ".join(f"NULL::{t} AS {n}" for n, t in CLUSTER_COLUMNS.items())
        con.execute(f"CREATE VIEW clusters AS SELECT {cols} WHERE false")


def _create_summary(con, info: RunInfo) -> None:
    s = info.summary
    if not s:
        con.execute("CREATE VIEW summary AS SELECT NULL::VARCHAR AS recipe, " + ", ".join(
            f"NULL::{'DOUBLE' if c == 'seconds' else 'BIGINT'} AS {c}" for c in SUMMARY_COLUMNS[1:]) + " WHERE false")
        return
    con.execute("CREATE TABLE _summary AS SELECT ?::VARCHAR AS recipe, ?::BIGINT AS books_in, ?::BIGINT AS kept, "
                "?::BIGINT AS excluded, ?::BIGINT AS unaccounted, ?::BIGINT AS pages, ?::BIGINT AS text_bytes, "
                "?::DOUBLE AS seconds",
                [s.get("recipe") or info.recipe.get("name"), s.get("books_in"), s.get("kept"), s.get("excluded"),
                 s.get("unaccounted"), s.get("pages"), s.get("text_bytes"), s.get("seconds")])
    con.execute("CREATE VIEW summary AS SELECT * FROM _summary")


def funnel(con, info: RunInfo) -> list[dict]:
    """Books entering, excluded by and leaving each stage, in recipe order.

    ``books_in`` of ``00_read`` is what the readers saw (``summary.json``'s ``books_in``; the
    kept + excluded total when the summary is missing). Exclusions of labels the recipe does
    not name (a changed recipe) are appended at the end.
    """
    counts = dict(con.execute("SELECT exclusion_stage, count(*) FROM excluded GROUP BY 1").fetchall())
    kept = con.execute("SELECT count(*) FROM books").fetchall()[0][0]
    total_excluded = sum(counts.values())
    books_in = info.summary.get("books_in") or (kept + total_excluded)
    rows = []
    stages = stage_table(info.recipe)
    known = {label for label, _, _ in stages}
    stages += [(label, "?", {}) for label in sorted(counts) if label not in known]
    current = books_in
    for pos, (label, name, _params) in enumerate(stages):
        n = int(counts.get(label, 0))
        rows.append({"position": pos, "stage": label, "name": name, "books_in": int(current), "excluded": n,
                     "books_out": int(current - n)})
        current -= n
    return rows


def _create_stages(con, info: RunInfo) -> None:
    rows = funnel(con, info)
    con.execute("CREATE TABLE _stages (position INTEGER, stage VARCHAR, name VARCHAR, books_in BIGINT, "
                "excluded BIGINT, books_out BIGINT)")
    con.executemany("INSERT INTO _stages VALUES (?, ?, ?, ?, ?, ?)",
                    [[r["position"], r["stage"], r["name"], r["books_in"], r["excluded"], r["books_out"]]
                     for r in rows])
    con.execute("CREATE VIEW stages AS SELECT * FROM _stages ORDER BY position")


def query(run_dir: str | Path, sql: str):
    """Run ``sql`` against the run's views; returns ``(column names, rows)``."""
    con = connect(run_dir)
    cur = con.execute(sql)
    if cur.description is None:
        return [], []
    return [d[0] for d in cur.description], cur.fetchall()


__all__ = [
    "CLUSTER_COLUMNS",
    "VIEWS",
    "RunDirError",
    "RunInfo",
    "connect",
    "funnel",
    "inspect_run",
    "query",
    "stage_table",
]
