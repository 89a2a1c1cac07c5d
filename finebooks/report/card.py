"""Hugging Face dataset cards for FineBooks runs.

A corpus published on the Hub needs a card: ``README.md`` with YAML front matter (languages,
size category, licence, configs) that the Hub reads, and a body that tells a reader what is in
the data, how it was made and from what. :func:`dataset_card` builds one from a run directory:

* ``language``: the (detected) languages of the kept books, most frequent first,
* ``size_categories``: from the number of kept books,
* ``license``: from the books' ``rights`` metadata where every book has a recognised statement
  (a Creative Commons licence, CC0, public domain); ``other`` with the breakdown when the books
  disagree, ``unknown`` when no rights were recorded -- the body explains which and why,
* ``configs``: the Parquet shards (``data/train-*.parquet``) as the ``train`` split,
* the body: stats, the recipe with every stage, the funnel and exclusions, the columns, the
  provenance (FineBooks and datatrove versions, recipe file, dates).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml

from finebooks import __version__
from finebooks.report.query import RunInfo, connect, funnel, inspect_run, stage_table

SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T")]
PUBLIC_DOMAIN_LINK = "https://creativecommons.org/publicdomain/mark/1.0/"
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for ``n`` rows."""
    for bound, label in SIZE_CATEGORIES:
        if n < bound:
            return label
    return "n>1T"


def licence_id(rights: str | None) -> str | None:
    """The Hub licence id of one rights statement, ``public-domain``, or None if unrecognised."""
    if not rights:
        return None
    r = rights.strip().lower()
    if re.search(r"public ?domain|publicdomain/mark|no known copyright|out of copyright|copyright expired|"
                 r"^pd$|^pdm$|noc-us|noc-nc", r) and "cc0" not in r and "zero" not in r:
        return "public-domain"
    if re.search(r"\bcc0\b|cc-zero|publicdomain/zero", r):
        return "cc0-1.0"
    m = re.search(r"(?:creative ?commons|\bcc)[ -]?(by(?:[ -](?:nc|sa|nd))*)[ -/]*(\d\.\d)?", r)
    if not m:
        m = re.search(r"licenses/(by(?:-(?:nc|sa|nd))*)/(\d\.\d)", r)
    if m:
        kind = re.sub(r"[ ]", "-", m.group(1))
        ver = m.group(2) or "4.0"
        return f"cc-{kind}-{ver}"
    if re.search(r"\bmit\b", r):
        return "mit"
    if re.search(r"apache", r):
        return "apache-2.0"
    return None


def licence_fields(rights: Counter) -> tuple[dict, str]:
    """YAML licence fields and a sentence explaining them, from rights statements and counts.

    ``rights`` counts each book's statement (``None`` for books without one).
    """
    total = sum(rights.values())
    known = Counter()
    for statement, n in rights.items():
        known[licence_id(statement)] += n
    missing = rights.get(None, 0) + rights.get("", 0)
    if total == 0 or missing == total:
        return ({"license": "unknown"},
                ("Licence: **unknown**. The source records carried no rights statement for any of the books "
                f"({total}); check the terms of the source collection before reuse. Books digitised from "
                "out-of-copyright originals are often public domain, but that is not recorded in this data."))
    if len(known) == 1 and None not in known:
        lic = next(iter(known))
        statements = ", ".join(f"'{s}'" for s in list(rights)[:3])
        if lic == "public-domain":
            return ({"license": "other", "license_name": "public-domain", "license_link": PUBLIC_DOMAIN_LINK},
                    (f"Licence: **public domain** (every book's rights statement says so: {statements}). The Hub "
                    "has no licence id for the public domain, hence `license: other` with `license_name`."))
        return {"license": lic}, f"Licence: **{lic}**, from every book's rights statement ({statements})."
    lines = ", ".join(f"{k or 'no/unrecognised statement'}: {n}" for k, n in known.most_common())
    return ({"license": "other"},
            (f"Licence: **other** -- the books do not share one licence ({lines}). Each book's own statement "
            "is in its `rights` field (or `metadata_json`); filter on it before reuse."))


def _card_fields(info: RunInfo, con) -> dict:
    langs = con.execute("SELECT language, count(*) FROM books WHERE language IS NOT NULL GROUP BY 1 "
                        "ORDER BY 2 DESC, 1").fetchall()
    rights = Counter()
    if "rights" in info.metadata_columns:
        rows = con.execute("SELECT nullif(trim(rights), ''), count(*) FROM books GROUP BY 1").fetchall()
    else:
        rows = [(None, con.execute("SELECT count(*) FROM books").fetchall()[0][0])]
    for r, n in rows:
        rights[r] += n
    return {"languages": langs, "rights": rights}


def dataset_card(run_dir: str | Path, data_files: str = "data/train-*.parquet", pretty_name: str | None = None,
                 columns: list[tuple[str, str]] | None = None, shards: int | None = None) -> str:
    """The dataset card (README.md text) for the kept books of ``run_dir``.

    ``data_files`` is the shard pattern relative to the card; ``columns`` (name, type) describes
    the exported Parquet columns (default: the ``books`` view's).
    """
    info = inspect_run(run_dir)
    con = connect(run_dir, info)
    fields = _card_fields(info, con)
    name = pretty_name or f"FineBooks: {info.recipe.get('name') or Path(run_dir).name}"
    kept, pages, chars, nbytes = con.execute(
        "SELECT count(*), coalesce(sum(n_pages), 0), coalesce(sum(n_chars), 0), coalesce(sum(n_bytes), 0) "
        "FROM books").fetchall()[0]
    codes = [lang for lang, _ in fields["languages"] if _LANG_CODE.match(str(lang))]
    licence, licence_text = licence_fields(fields["rights"])
    front = {"pretty_name": name}
    if codes:
        front["language"] = codes
    front.update(licence)
    front.update({
        "size_categories": [size_category(kept)],
        "task_categories": ["text-generation"],
        "tags": ["finebooks", "books", "ocr", "digitised-books"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": data_files}]}],
    })
    out = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", "", f"# {name}", ""]
    desc = info.recipe.get("description")
    out += ([str(desc), ""] if desc else []) + [
            (f"Digitised books curated with FineBooks {__version__} (built on "
            "[datatrove](https://github.com/huggingface/datatrove)): one row per book, the pages of a book "
            "joined by the form feed character (`\\f`, U+000C) unless the export says otherwise."), ""]
    out += ["## Contents", "", "| | |", "|---|---|", f"| books | {kept:,} |", f"| pages | {int(pages):,} |",
            f"| characters | {int(chars):,} |", f"| UTF-8 bytes | {int(nbytes):,} |"]
    if shards:
        out.append(f"| Parquet shards | {shards} |")
    out.append("")
    if fields["languages"]:
        out += ["| language | books |", "|---|---|"]
        out += [f"| {lang} | {n:,} |" for lang, n in fields["languages"][:30]]
        out.append("")
    decades = con.execute("SELECT century, count(*) FROM books WHERE century IS NOT NULL GROUP BY 1 ORDER BY 1"
                          ).fetchall()
    undated = con.execute("SELECT count(*) FROM books WHERE year IS NULL").fetchall()[0][0]
    if decades:
        out += ["| century of publication | books |", "|---|---|"]
        out += [f"| {c}th ({(c - 1) * 100}–{(c - 1) * 100 + 99}) | {n:,} |" for c, n in decades]
        if undated:
            out.append(f"| no year | {undated:,} |")
        out.append("")
    out += ["## Licence", "", licence_text, ""]
    out += ["## How it was made", "",
            (f"Recipe `{info.recipe.get('name', '?')}`: the readers, then these stages in order (scores are "
            "annotations in each book's metadata; `metadata_filter` stages drop by threshold). Every input "
            "book ended either here or in an exclusion table with the stage and reason."), ""]
    from finebooks.report.report import stage_description

    out += ["| stage | what | books in | excluded | books out |", "|---|---|---|---|---|"]
    params = {label: p for label, _, p in stage_table(info.recipe)}
    for r in funnel(con, info):
        out.append(f"| {r['stage']} | {stage_description(r['name'], params.get(r['stage'], {}))} | "
                   f"{r['books_in']:,} | {r['excluded']:,} | {r['books_out']:,} |")
    out.append("")
    reasons = con.execute("SELECT exclusion_stage, reason_code, count(*) FROM excluded GROUP BY 1, 2 "
                          "ORDER BY 1, 3 DESC").fetchall()
    if reasons:
        out += ["Exclusions by reason:", "", "| stage | reason | books |", "|---|---|---|"]
        out += [f"| {s} | {c} | {n:,} |" for s, c, n in reasons]
        out.append("")
    out += ["## Columns", "", "| column | type | |", "|---|---|---|"]
    col_notes = {"id": "stable book id (source/identifier)", "text": "the book, pages joined by `\\f`",
                 "metadata_json": "every metadata field and score of the book, as JSON",
                 "language": "language (detected by FineBooks' score_language where the recipe ran it)",
                 "ocr_quality": "reference-free OCR quality, 0-1 (higher is cleaner)",
                 "language_score": "confidence of the detected language, 0-1",
                 "quality_score": "quality classifier score"}
    if columns is None:
        columns = [(c[0], c[1]) for c in con.execute("DESCRIBE books").fetchall()]
    for col, typ in columns:
        note = col_notes.get(col, "book heuristic (Gopher/C4/FineWeb signal for whole books)"
                             if col.startswith("bh_") else "")
        out.append(f"| `{col}` | {typ} | {note} |")
    out.append("")
    prov = info.recipe.get("provenance") or {}
    out += ["## Provenance", ""]
    out += [f"- {k}: `{v}`" for k, v in prov.items()]
    out += [f"- card written by FineBooks {__version__}", ""]
    recipe = {k: v for k, v in info.recipe.items() if k != "provenance"}
    out += ["<details><summary>The resolved recipe</summary>", "", "```yaml",
            yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(), "```", "", "</details>", ""]
    out += ["## Limitations", "",
            ("The text is OCR output: expect recognition errors, especially in older printing, tables and "
            "non-Latin scripts. Scores are heuristics computed without ground truth. Bibliographic fields come "
            "from the source catalogue as recorded."), ""]
    return "\n".join(out)


__all__ = ["dataset_card", "licence_fields", "licence_id", "size_category"]
