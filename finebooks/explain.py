"""``finebooks explain RUN_DIR BOOK_ID``: the story of one book through a run.

Looks the book up in the run's output and in every stage's exclusion table, and prints where
it ended, the stage and reason that removed it (if any), the stages it passed, and the
metadata (bibliographic fields and scores) recorded at that point.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from finebooks.engine import READ_LABEL
from finebooks.recipe import stage_label

SHOWN_KEYS = ("title", "author", "year", "language", "source", "source_path", "format", "n_pages", "ocr_confidence")


def _stage_labels(recipe: dict) -> list[str]:
    labels = [READ_LABEL]
    for i, entry in enumerate(recipe.get("stages") or [], start=1):
        labels.append(stage_label(i, entry["python"] if "python" in entry else next(iter(entry))))
    return labels


def find_book(run_dir: str | Path, book_id: str) -> dict:
    """Where ``book_id`` ended: ``{"status": "kept"|"excluded"|"unknown", ...}``."""
    import duckdb

    run_dir = Path(run_dir)
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text()) if (run_dir / "recipe.yaml").exists() else {}
    books_dir = run_dir / "books"
    con = duckdb.connect()
    match = "id = ? OR ends_with(id, '/' || ?)"
    result = {"id": book_id, "status": "unknown", "labels": _stage_labels(recipe), "recipe": recipe.get("name")}
    kept = [str(p) for p in books_dir.rglob("*.parquet")] if books_dir.exists() else []
    if kept:
        row = con.execute(f"SELECT id, metadata_json FROM read_parquet(?) WHERE {match} LIMIT 1",
                          [kept, book_id, book_id]).fetchone()
        if row:
            result.update(status="kept", id=row[0], metadata=json.loads(row[1] or "{}"))
            return result
    excluded = [str(p) for p in (run_dir / "excluded").rglob("*.parquet")] if (run_dir / "excluded").exists() else []
    if excluded:
        row = con.execute(
            f"SELECT id, exclusion_stage, exclusion_reason, metadata_json FROM read_parquet(?) WHERE {match} LIMIT 1",
            [excluded, book_id, book_id]).fetchone()
        if row:
            result.update(status="excluded", id=row[0], stage=row[1], reason=row[2],
                          metadata=json.loads(row[3] or "{}"))
    return result


def explain(run_dir: str | Path, book_id: str) -> str:
    info = find_book(run_dir, book_id)
    if info["status"] == "unknown":
        return (f"{book_id}: not found in {run_dir} (neither in the output nor in any exclusion table); "
                "ids look like 'source/identifier' - an identifier suffix is enough")
    meta = info.get("metadata", {})
    lines = []
    if info["status"] == "kept":
        lines.append(f"{info['id']}: KEPT (in the output of recipe {info['recipe']!r})")
    else:
        step = f" ({meta['exclusion_step']})" if meta.get("exclusion_step") else ""
        lines.append(f"{info['id']}: EXCLUDED by {info['stage']}{step}: {info['reason']}")
    for key in SHOWN_KEYS:
        if meta.get(key) not in (None, ""):
            lines.append(f"  {key}: {meta[key]}")
    lines.append("  path through the recipe:")
    stopped = info.get("stage")
    reached = True
    for label in info["labels"]:
        if not reached:
            lines.append(f"    {label:<28} not reached")
        elif label == stopped:
            lines.append(f"    {label:<28} EXCLUDED  {info['reason']}")
            reached = False
        else:
            lines.append(f"    {label:<28} passed")
    if stopped and stopped not in info["labels"]:
        lines.append(f"    {stopped:<28} EXCLUDED  {info['reason']}")
    other = {k: v for k, v in meta.items() if k not in SHOWN_KEYS and k not in ("exclusion_stage", "exclusion_reason")
             and not isinstance(v, (list, dict))}
    if other:
        lines.append("  other metadata / scores:")
        lines += [f"    {k}: {v}" for k, v in sorted(other.items())]
    return "\n".join(lines)
