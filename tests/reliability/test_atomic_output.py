"""Output integrity: a file is complete under its final name, or absent (only ``*.partial`` exists)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from finebooks.engine import ExclusionWriter
from finebooks.writers import BookJsonlWriter, BookParquetWriter, partial_name

REPO = Path(__file__).resolve().parents[2]


def docs(n: int):
    return [Document(text=f"page one of {i}\fpage two", id=f"t/{i}", metadata={"n_pages": 2}) for i in range(n)]


def test_partial_names_never_match_output_globs():
    assert partial_name("00003.parquet") == "00003_parquet.partial"
    assert partial_name("sub/dir/00003.jsonl.gz") == "sub/dir/00003_jsonl_gz.partial"
    for name in ("00003.parquet", "x/input00_00001.parquet", "00000.jsonl.gz"):
        p = Path(partial_name(name))
        assert not p.match("*.parquet") and "jsonl" not in p.suffix


@pytest.mark.parametrize("writer_cls", [BookParquetWriter, BookJsonlWriter])
def test_a_file_appears_under_its_name_only_when_complete(tmp_path, writer_cls):
    writer = writer_cls(str(tmp_path), **({"batch_size": 2} if writer_cls is BookParquetWriter else {}))
    with writer:
        for d in docs(5):
            writer.write(d, rank=3)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert len(names) == 1 and names[0].endswith(".partial")  # while the task runs: only the partial file
    names = sorted(p.name for p in tmp_path.iterdir())
    final = "000_00003.parquet" if writer_cls is BookParquetWriter else "00003.jsonl.gz"
    assert names == [final]
    if writer_cls is BookParquetWriter:
        assert pq.read_table(tmp_path / final).column("id").to_pylist() == [f"t/{i}" for i in range(5)]


def test_a_failing_task_leaves_no_file(tmp_path):
    writer = ExclusionWriter(str(tmp_path), "01_x")
    with pytest.raises(RuntimeError), writer:
        for d in docs(3):
            writer.write(d, rank=0)
        raise RuntimeError("the pipeline failed")
    assert list(tmp_path.iterdir()) == []


def test_rotated_files_are_completed_one_by_one(tmp_path):
    writer = BookParquetWriter(str(tmp_path), batch_size=1, max_file_size=1)
    with writer:
        for d in docs(3):
            writer.write(d, rank=0)
        done = sorted(p.name for p in tmp_path.glob("*.parquet"))
        assert done == ["000_00000.parquet", "001_00000.parquet"]  # rotated away: complete
        assert all(pq.read_table(tmp_path / n).num_rows == 1 for n in done)
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == ["000_00000.parquet", "001_00000.parquet",
                                                                 "002_00000.parquet"]
    assert not list(tmp_path.glob("*.partial"))


CRASH = textwrap.dedent("""
    import os, sys
    from datatrove.data import Document
    from finebooks.writers import BookParquetWriter
    w = BookParquetWriter(sys.argv[1], batch_size=10)
    w.__enter__()
    for i in range(1000):
        w.write(Document(text="x" * 1000 + str(i), id=f"t/{i}", metadata={}), rank=0)
    sys.stdout.flush()
    os.kill(os.getpid(), 9)   # the process dies mid-write: no close, no exception handler
""")


def test_a_killed_writer_leaves_no_complete_looking_file(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], cwd=REPO, capture_output=True, check=False)
    assert proc.returncode == -9
    assert list(tmp_path.glob("*.parquet")) == []  # nothing looks complete
    (partial,) = tmp_path.glob("*.partial")
    assert partial.stat().st_size > 0  # data was being written
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises: it is not a valid file
        pq.read_table(partial)
    # a rerun of the task writes the same name again: the partial file is replaced and completed
    writer = BookParquetWriter(str(tmp_path))
    with writer:
        for d in docs(2):
            writer.write(d, rank=0)
    assert [p.name for p in tmp_path.iterdir()] == ["000_00000.parquet"]
