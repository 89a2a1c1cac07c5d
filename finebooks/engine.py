"""The one place that builds datatrove executors.

For now the engine runs *read* jobs: a reader streams books into Parquet, bad inputs go to an
exclusion table, and a summary accounts for every input (``in = kept + excluded``). The recipe
engine (stages from YAML, Ray and Slurm) grows from here.

Output layout of a run directory::

    RUN/books/*.parquet      kept books (BookParquetWriter schema)
    RUN/excluded/*.parquet   exclusion records (id, exclusion_stage, exclusion_reason, metadata)
    RUN/logs/                datatrove logs, per-task completions and stats
    RUN/summary.json         books kept / excluded by reason, bytes, seconds
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from finebooks.readers import get_reader_class
from finebooks.writers import BookParquetWriter

EXCLUSION_COLUMNS = {"exclusion_stage": "string", "exclusion_reason": "string"}


@dataclass
class RunSummary:
    output: str
    kept: int = 0
    excluded: int = 0
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    text_bytes: int = 0
    seconds: float = 0.0
    per_format: dict[str, dict] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.kept + self.excluded

    def render(self) -> str:
        lines = [
            f"books in: {self.total}  kept: {self.kept}  excluded: {self.excluded}",
            f"pages kept: {self.pages}  text: {self.text_bytes / 1e6:.2f} MB  time: {self.seconds:.1f} s",
        ]
        for reason, n in sorted(self.excluded_by_reason.items(), key=lambda kv: -kv[1]):
            lines.append(f"  excluded {n:>6}  {reason}")
        lines.append(f"output: {self.output}")
        return "\n".join(lines)


def build_reader(fmt: str, input_path: str, exclusion_folder: str | None = None, **options):
    """Instantiate the reader for ``fmt`` on ``input_path``, wired to an exclusion writer."""
    cls = get_reader_class(fmt)
    if exclusion_folder is not None:
        options["exclusion_writer"] = BookParquetWriter(exclusion_folder, extra_columns=EXCLUSION_COLUMNS)
    return cls(input_path, **options)


def run_read(
    fmt: str,
    input_path: str,
    output: str,
    tasks: int = 1,
    workers: int = 1,
    reader_options: dict | None = None,
    name: str | None = None,
) -> RunSummary:
    """Read ``input_path`` with the ``fmt`` reader into ``output`` and return the run summary.

    Re-running the same command resumes: tasks whose completion marker exists are skipped.
    """
    from datatrove.executor import LocalPipelineExecutor

    out = Path(output)
    sub = f"/{name}" if name else ""
    reader = build_reader(fmt, input_path, exclusion_folder=f"{out}/excluded{sub}", **(reader_options or {}))
    writer = BookParquetWriter(f"{out}/books{sub}")
    start = time.perf_counter()
    executor = LocalPipelineExecutor(
        pipeline=[reader, writer], tasks=tasks, workers=workers, logging_dir=f"{out}/logs{sub or '/read'}"
    )
    executor.run()
    summary = summarise(out)
    summary.seconds = time.perf_counter() - start
    return summary


def summarise(run_dir: str | Path) -> RunSummary:
    """Count kept and excluded books from a run directory's Parquet files."""
    import duckdb

    run_dir = Path(run_dir)
    summary = RunSummary(output=str(run_dir))
    con = duckdb.connect()
    books = list((run_dir / "books").rglob("*.parquet"))
    if books:
        files = [str(p) for p in books]
        kept, pages, nbytes = con.execute(
            "SELECT count(*), coalesce(sum(n_pages), 0), coalesce(sum(strlen(text)), 0) FROM read_parquet(?)",
            [files],
        ).fetchone()
        summary.kept, summary.pages, summary.text_bytes = int(kept), int(pages), int(nbytes)
    excluded = list((run_dir / "excluded").rglob("*.parquet"))
    if excluded:
        rows = con.execute(
            "SELECT exclusion_stage || ': ' || split_part(exclusion_reason, ':', 1) AS r, count(*) "
            "FROM read_parquet(?) GROUP BY r",
            [[str(p) for p in excluded]],
        ).fetchall()
        summary.excluded_by_reason = {r: int(n) for r, n in rows}
        summary.excluded = sum(summary.excluded_by_reason.values())
    return summary


def save_summary(summary: RunSummary, path: str | Path) -> None:
    data = asdict(summary)
    data["total"] = summary.total
    Path(path).write_text(json.dumps(data, indent=2))
