"""The quickstart job: make (or find) the sample collection and read every format of it.

``finebooks quickstart`` is the offline "does it work here" command of the README. It writes
the synthetic sample collection (``finebooks sample``) if the folder does not exist yet, runs
one read job per format through the engine, and prints one accounting summary: every book of
the collection is either in ``OUT/books`` or in ``OUT/excluded`` with a reason.
"""

from __future__ import annotations

from pathlib import Path

from finebooks.engine import RunSummary, run_read, save_summary

#: (job name, reader format, path inside the sample, reader options)
SAMPLE_JOBS: list[tuple[str, str, str, dict]] = [
    ("trove", "trove", "trove", {"source": "sample-trove"}),
    ("pages", "page_folder", "pages", {"source": "sample-pages"}),
    ("formfeed", "formfeed", "formfeed", {"source": "sample-formfeed"}),
    ("alto", "alto", "alto", {"source": "sample-alto", "group_by": "folder"}),
    ("hocr", "hocr", "hocr", {"source": "sample-hocr"}),
    ("page_rows", "page_rows", ".", {"source": "sample-page-rows", "glob_pattern": "page_rows.parquet"}),
    ("book_rows", "book_jsonl", ".", {
        "source": "sample-book-rows", "glob_pattern": "book_rows.jsonl", "text_key": "content",
        "id_key": "identifier", "metadata_mapping": {"creator": "author", "date": "year", "lang": "language"},
    }),
    ("bad_trove", "trove", "bad/trove", {"source": "sample-bad-trove"}),
    ("bad_alto", "alto", "bad/alto", {"source": "sample-bad-alto", "group_by": "folder"}),
    ("bad_hocr", "hocr", "bad/hocr", {"source": "sample-bad-hocr"}),
    ("bad_formfeed", "formfeed", "bad/formfeed", {"source": "sample-bad-formfeed"}),
]


def run_quickstart(sample_dir: str | Path, output: str | Path, seed: int = 0, workers: int = 1,
                   echo=print) -> RunSummary:
    """Write the sample (if missing), read each format into ``output/<job>``; return the total summary."""
    from finebooks.sample import make_sample

    sample_dir, output = Path(sample_dir), Path(output)
    if not (sample_dir / "labels.jsonl").exists():
        echo(f"writing the sample collection to {sample_dir} ...")
        make_sample(sample_dir, seed=seed)
    total = RunSummary(output=str(output), recipe="quickstart")
    for name, fmt, rel, options in SAMPLE_JOBS:
        path = sample_dir / rel
        if not path.exists():
            continue
        echo(f"reading {name} ({fmt}) from {path}")
        total.add(run_read(fmt, str(path), str(output / name), workers=workers, reader_options=dict(options)))
    save_summary(total, output / "summary.json")
    return total
