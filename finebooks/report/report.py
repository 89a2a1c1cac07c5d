"""``finebooks report RUN_DIR``: what a run kept, what it dropped and why, in one HTML file.

A library deciding whether to trust a filter wants to *see* what it removed. The report reads a
run directory through the DuckDB views of :mod:`finebooks.report.query` and shows:

* books and text in / kept / excluded per stage and per reason (the funnel),
* the distribution of every numeric score in the books' metadata (OCR quality, language
  confidence, classifier scores, book heuristics), kept against excluded, overall, by language
  and by decade,
* lengths (pages, characters), languages and dates,
* duplicate clusters (when the dedup stage recorded them),
* examples of excluded books with the stage, the reason, the deciding score and a short excerpt
  (only when the run kept excluded text: ``output.keep_excluded_text``), and pages dropped from
  kept books,
* the resolved recipe and the software versions.

The HTML is self-contained (plots embedded as base64 PNG, no scripts, no external files); a
Markdown twin is written next to it with its images in ``<name>_files/``.
"""

from __future__ import annotations

import json
import math
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

import yaml

from finebooks import __version__
from finebooks.report.document import (
    Document,
    Image,
    Paragraph,
    Pre,
    Section,
    Table,
    render_html,
    render_markdown,
)
from finebooks.report.query import RunInfo, connect, funnel, inspect_run, stage_table

#: scores shown by language and by decade (others only overall), in this order when present
PRIMARY_SCORES = ("ocr_quality", "quality_score", "language_score", "ocr_confidence")
#: numeric metadata that are bibliographic facts or bookkeeping, not scores
NOT_SCORES = {"year", "n_pages", "n_chars", "n_bytes", "decade", "century", "dropped_page_chars", "source_pages",
              "bytes", "pages"}
TOP_LANGUAGES = 8
#: books behind the score and length distributions (a fixed random sample beyond this)
SAMPLE_ROWS = 200_000
EXCERPT_CHARS = 300
MAX_SCORE_PANELS = 12  # the histogram grid; every score is in the table
KEPT_COLOR, EXCLUDED_COLOR = "#2b7bba", "#d9534f"


# ---------------------------------------------------------------- plotting helpers
def _figure(width: float, height: float, constrained: bool = True):
    from matplotlib.figure import Figure  # object API: no pyplot state, no backend switching

    # constrained layout costs seconds on a grid of many panels: grids space themselves
    return Figure(figsize=(width, height), dpi=100, layout="constrained" if constrained else None)


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def score_columns(info: RunInfo, con) -> list[str]:
    """Numeric metadata that hold at least one value, primary scores first."""
    candidates = [c for c in info.numeric_columns if c not in NOT_SCORES] + ["ocr_confidence"]
    present = []
    for c in dict.fromkeys(candidates):
        n = con.execute(f'SELECT (SELECT count("{c}") FROM books) + (SELECT count("{c}") FROM excluded)').fetchall()[0][0]
        if n:
            present.append(c)
    primary = [c for c in PRIMARY_SCORES if c in present]
    primary += [c for c in present if c not in primary and c.endswith(("_score", "_quality"))]
    return primary + [c for c in present if c not in primary]


def _primary(scores: list[str]) -> list[str]:
    return [c for c in scores if c in PRIMARY_SCORES or c.endswith(("_score", "_quality"))][:5]


# ---------------------------------------------------------------- sections
def _overview(info: RunInfo, con) -> Section:
    s = Section("overview", "Overview")
    summ = info.summary
    kept, kept_chars, kept_bytes, pages = con.execute(
        "SELECT count(*), coalesce(sum(n_chars), 0), coalesce(sum(n_bytes), 0), coalesce(sum(n_pages), 0) "
        "FROM books").fetchall()[0]
    excluded = con.execute("SELECT count(*) FROM excluded").fetchall()[0][0]
    books_in = summ.get("books_in") or kept + excluded
    desc = info.recipe.get("description")
    if desc:
        s.add(Paragraph(str(desc)))
    rows = [["books in", books_in], ["kept", kept], ["excluded", excluded],
            ["unaccounted (in − kept − excluded)", books_in - kept - excluded],
            ["pages kept", int(pages)], ["text kept (characters)", int(kept_chars)],
            ["text kept (UTF-8 bytes)", int(kept_bytes)]]
    if summ.get("seconds"):
        rows.append(["run time (s)", round(float(summ["seconds"]), 1)])
    rows.append(["run directory", str(info.run_dir.resolve())])
    s.add(Table(["", "value"], rows))
    if books_in - kept - excluded:
        s.add(Paragraph(f"{books_in - kept - excluded} book(s) are unaccounted for: a step dropped books "
                        "without an exclusion record.", note=True))
    return s


def reader_text_chars(run_dir: Path) -> int | None:
    """Characters of the books the readers emitted (datatrove reader stats), or None."""
    from finebooks.engine import input_reader_stats

    total, found = 0, False
    for stats in input_reader_stats(run_dir):
        v = stats.get("doc_len")
        if isinstance(v, dict):
            total += int(v.get("total", 0))
            found = True
    return total if found else None


def _funnel_section(info: RunInfo, con, figures: list) -> Section:
    s = Section("funnel", "Books and text by stage")
    rows = funnel(con, info)
    params = {label: p for label, _, p in stage_table(info.recipe)}
    text = {r[0]: r[1:] for r in con.execute(
        "SELECT exclusion_stage, sum(n_chars), sum(n_bytes), count(*) FILTER (WHERE n_bytes IS NULL), count(*) "
        "FROM excluded GROUP BY 1").fetchall()}
    kept_bytes = con.execute("SELECT coalesce(sum(n_bytes), 0) FROM books").fetchall()[0][0]
    # UTF-8 bytes that reached each stage, as written (kept text + text excluded there or later);
    # known only while every later exclusion kept its text
    bytes_in: dict[str, int | None] = {}
    acc: int | None = int(kept_bytes)
    for r in reversed(rows):
        _, nbytes, missing, _ = text.get(r["stage"], (0, 0, 0, 0))
        if r["stage"] == "00_read":
            bytes_in[r["stage"]] = acc
            continue
        acc = None if acc is None or missing else acc + int(nbytes or 0)
        bytes_in[r["stage"]] = acc
    table = []
    for r in rows:
        chars, nbytes, missing, n = text.get(r["stage"], (0, 0, 0, 0))
        if r["stage"] == "00_read":
            note = "unreadable inputs (no text)" if n else ""
            chars = nbytes = None
        elif missing:
            note = f"text not kept for {missing} of {n}"
            chars = nbytes = None
        else:
            note = ""
        table.append([r["stage"], stage_description(r["name"], params.get(r["stage"], {})),
                      r["books_in"], r["excluded"], r["books_out"], bytes_in.get(r["stage"]),
                      None if chars is None else int(chars), None if nbytes is None else int(nbytes), note])
    s.add(Table(["stage", "what", "books in", "excluded", "books out", "text in (bytes)", "excluded text (chars)",
                 "excluded text (bytes)", "note"], table))
    s.add(Paragraph("Text in: UTF-8 bytes of the books that reached the stage, measured as written (kept "
                    "books plus books excluded at this stage or later), so repairs before the stage are "
                    "already applied. Unknown (—) where a later stage did not keep excluded text.", note=True))
    read_chars = reader_text_chars(info.run_dir)
    kept_chars = con.execute("SELECT coalesce(sum(n_chars), 0) FROM books").fetchall()[0][0]
    exc_chars, exc_missing = con.execute(
        "SELECT coalesce(sum(n_chars), 0), count(*) FILTER (WHERE n_bytes IS NULL AND exclusion_stage <> '00_read') "
        "FROM excluded").fetchall()[0]
    vol = [["read (books the readers produced)", read_chars], ["kept", int(kept_chars)],
           ["excluded (where known)", int(exc_chars)]]
    if read_chars is not None and not exc_missing:
        vol.append(["removed by repair stages (read − kept − excluded)", read_chars - int(kept_chars) - int(exc_chars)])
    s.add(Table(["text", "characters"], vol, caption="Text volume"))
    if exc_missing:
        s.add(Paragraph(f"The length of {exc_missing} excluded book(s) is unknown: the run did not keep excluded "
                        "text (set output.keep_excluded_text: true in the recipe to measure and show it).",
                        note=True))
    # chart: books out after each stage, excluded stacked on top
    labels = [r["stage"] for r in rows]
    fig = _figure(9, 0.35 * len(rows) + 1.2)
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r["books_out"] for r in rows], color=KEPT_COLOR, label="books out")
    ax.barh(y, [r["excluded"] for r in rows], left=[r["books_out"] for r in rows], color=EXCLUDED_COLOR,
            label="excluded here")
    ax.set_yticks(y, labels)
    ax.set_xlabel("books")
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    ax.set_title("Books entering each stage: passed on / excluded")
    s.add(Image(None, "books passed on and excluded by each stage", "funnel", fig=fig))
    figures.append("funnel")

    reasons = con.execute(
        "SELECT exclusion_stage, reason_code, count(*) AS n, sum(n_chars), "
        "count(*) FILTER (WHERE n_chars IS NULL), list_slice(list(id ORDER BY id), 1, 3) "
        "FROM excluded GROUP BY 1, 2 ORDER BY 1, n DESC, 2").fetchall()
    books_in = rows[0]["books_in"] if rows else 0
    rtable = []
    for stage, code, n, chars, missing, ids in reasons:
        rtable.append([stage, code, n, round(100 * n / books_in, 2) if books_in else None,
                       int(chars) if chars is not None and not missing else None,
                       ", ".join(ids[:2]) + (" …" if len(ids) > 2 else "")])
    if rtable:
        s.add(Table(["stage", "reason", "books", "% of books in", "text (chars)", "examples"], rtable,
                    caption="Exclusions by stage and reason"))
    else:
        s.add(Paragraph("No book was excluded."))
    return s


def _sampled(sql: str) -> str:
    """At most SAMPLE_ROWS rows of ``sql``, a fixed random sample (plots of a huge run stay cheap)."""
    return f"SELECT * FROM ({sql}) USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (0)"


def _sample_note(con, s: Section) -> None:
    n = con.execute("SELECT (SELECT count(*) FROM books) + (SELECT count(*) FROM excluded)").fetchall()[0][0]
    if n > SAMPLE_ROWS:
        s.add(Paragraph(f"Distributions computed on a random sample of {SAMPLE_ROWS:,} of the {n:,} books.", note=True))


def _score_frame(con, cols: list[str]) -> dict:
    """Numeric scores of every book, kept and excluded, with language and decade."""
    sel = ", ".join(f'"{c}"' for c in cols)
    rows = con.execute(_sampled(
        f"SELECT 'kept' AS status, language, decade, {sel} FROM books UNION ALL "
        f"SELECT 'excluded', language, decade, {sel} FROM excluded WHERE exclusion_stage <> '00_read'")).fetchall()
    frame = {"status": [r[0] for r in rows], "language": [r[1] or "unknown" for r in rows],
             "decade": [r[2] for r in rows]}
    for i, c in enumerate(cols):
        frame[c] = [r[3 + i] for r in rows]
    return frame


def _quantiles(values: list[float]) -> tuple:
    import numpy as np

    if not values:
        return (0, None, None, None, None, None, None)
    a = np.asarray(values, dtype=float)
    p10, med, p90 = np.percentile(a, [10, 50, 90])
    return (len(a), float(a.mean()), float(p10), float(med), float(p90), float(a.min()), float(a.max()))


def _language_groups(languages: list[str]) -> list[str]:
    from collections import Counter

    top = [lang for lang, _ in Counter(languages).most_common(TOP_LANGUAGES)]
    return top


def _scores_section(info: RunInfo, con, scores: list[str]) -> Section:
    s = Section("scores", "Score distributions")
    if not scores:
        s.add(Paragraph("The books carry no numeric scores (the recipe has no scoring stage)."))
        return s
    frame = _score_frame(con, scores)
    _sample_note(con, s)
    s.add(Paragraph("Every numeric score found in the books' metadata, for kept books and for books that later "
                    "stages excluded (books that could not be read have none). Scores are annotations; the "
                    "recipe's metadata_filter thresholds decide what is dropped."))
    table = []
    for c in scores:
        kept = _finite(v for v, st in zip(frame[c], frame["status"]) if st == "kept")
        exc = _finite(v for v, st in zip(frame[c], frame["status"]) if st == "excluded")
        n, mean, p10, med, p90, lo, hi = _quantiles(kept + exc)
        table.append([c, n, mean, p10, med, p90, lo, hi, _quantiles(kept)[3], _quantiles(exc)[3]])
    s.add(Table(["score", "books", "mean", "p10", "median", "p90", "min", "max", "median kept", "median excluded"],
                table, caption="All scored books"))
    # overall: one small histogram per score, kept vs excluded
    shown = scores[:MAX_SCORE_PANELS]
    ncols = 3 if len(shown) > 2 else len(shown)
    nrows = -(-len(shown) // ncols)
    height = 2.3 * nrows + 0.6
    fig = _figure(10, height, constrained=False)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.35 / height, top=1 - 0.7 / height, wspace=0.28,
                        hspace=0.55)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, c in zip(axes.flat, shown):
        kept = _finite(v for v, st in zip(frame[c], frame["status"]) if st == "kept")
        exc = _finite(v for v, st in zip(frame[c], frame["status"]) if st == "excluded")
        values = kept + exc
        lo, hi = (min(values), max(values)) if values else (0, 1)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        ax.hist([kept, exc], bins=30, range=(lo, hi), stacked=True, color=[KEPT_COLOR, EXCLUDED_COLOR],
                label=["kept", "excluded"])
        ax.set_title(c, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.locator_params(nbins=4)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Scores overall (stacked: kept / excluded)", y=1 - 0.12 / height)
    s.add(Image(None, "histograms of every score, kept and excluded", "scores_overall", fig=fig))
    if len(scores) > len(shown):
        s.add(Paragraph(f"{len(scores) - len(shown)} more scores are in the table above only.", note=True))

    primary = _primary(scores)
    langs = _language_groups(frame["language"])
    if primary and langs:
        fig = _figure(10, 2.6 * len(primary) + 0.4)
        axes = fig.subplots(len(primary), 1, squeeze=False)
        ltable = []
        for ax, c in zip(axes.flat, primary):
            groups = [_finite(v for v, lang in zip(frame[c], frame["language"]) if lang == g) for g in langs]
            keep = [(g, vals) for g, vals in zip(langs, groups) if vals]
            if keep:
                ax.boxplot([v for _, v in keep], tick_labels=[f"{g}\n(n={len(v)})" for g, v in keep])
            ax.set_title(f"{c} by language", fontsize=9)
            ax.tick_params(labelsize=7)
        for g in langs:
            row = [g, sum(1 for lang in frame["language"] if lang == g)]
            for c in primary:
                row.append(_quantiles(_finite(v for v, lang in zip(frame[c], frame["language"]) if lang == g))[3])
            ltable.append(row)
        s.add(Image(None, "primary scores by language", "scores_by_language", fig=fig))
        s.add(Table(["language", "books"] + [f"median {c}" for c in primary], ltable,
                    caption=f"By language (the {len(langs)} most frequent)"))
    decades = sorted({d for d in frame["decade"] if d is not None})
    if primary and decades:
        fig = _figure(10, 2.6 * len(primary) + 0.4)
        axes = fig.subplots(len(primary), 1, squeeze=False)
        for ax, c in zip(axes.flat, primary):
            groups = [(d, _finite(v for v, dd in zip(frame[c], frame["decade"]) if dd == d)) for d in decades]
            groups = [(d, v) for d, v in groups if v]
            if groups:
                ax.boxplot([v for _, v in groups], tick_labels=[f"{d}s" for d, _ in groups])
            ax.set_title(f"{c} by decade", fontsize=9)
            ax.tick_params(axis="x", labelsize=7, rotation=90)
        s.add(Image(None, "primary scores by decade", "scores_by_decade", fig=fig))
    elif primary:
        s.add(Paragraph("No book has a year, so there is no breakdown by decade.", note=True))
    return s


def _lengths_section(con) -> Section:
    import numpy as np

    s = Section("lengths", "Lengths")
    rows = con.execute(_sampled(
        "SELECT 'kept', n_pages, n_chars FROM books UNION ALL SELECT 'excluded', n_pages, "
        "n_chars FROM excluded WHERE exclusion_stage <> '00_read'")).fetchall()
    _sample_note(con, s)
    table = []
    for status in ("kept", "excluded"):
        pages = _finite(r[1] for r in rows if r[0] == status)
        chars = _finite(r[2] for r in rows if r[0] == status)
        for what, vals in (("pages", pages), ("characters", chars)):
            n, mean, p10, med, p90, lo, hi = _quantiles(vals)
            table.append([status, what, n, mean, p10, med, p90, lo, hi])
    s.add(Table(["books", "length in", "n", "mean", "p10", "median", "p90", "min", "max"], table))
    fig = _figure(10, 3.2)
    ax1, ax2 = fig.subplots(1, 2)
    for ax, idx, what in ((ax1, 1, "pages"), (ax2, 2, "characters")):
        kept = [v for v in _finite(r[idx] for r in rows if r[0] == "kept") if v > 0]
        exc = [v for v in _finite(r[idx] for r in rows if r[0] == "excluded") if v > 0]
        allv = kept + exc
        if allv:
            lo, hi = max(min(allv), 1), max(max(allv), 2)
            bins = np.logspace(np.log10(lo), np.log10(hi * 1.01), 30)
            ax.hist([kept, exc], bins=bins, stacked=True, color=[KEPT_COLOR, EXCLUDED_COLOR],
                    label=["kept", "excluded"])
            ax.set_xscale("log")
            ax.legend(fontsize=7)
        ax.set_title(f"{what} per book (log scale)", fontsize=9)
        ax.set_ylabel("books")
    s.add(Image(None, "pages and characters per book", "lengths", fig=fig))
    if any(r[0] == "excluded" and r[2] is None for r in rows):
        s.add(Paragraph("Character counts of excluded books are shown only where known (text kept or length recorded).", note=True))
    return s


def _languages_section(con) -> Section:
    s = Section("languages", "Languages and dates")
    lang = con.execute(
        "SELECT coalesce(language, 'unknown') AS l, count(*) FILTER (WHERE st = 'kept'), "
        "count(*) FILTER (WHERE st = 'excluded') FROM (SELECT 'kept' AS st, language FROM books UNION ALL "
        "SELECT 'excluded', language FROM excluded) GROUP BY l ORDER BY count(*) DESC, l").fetchall()
    dec = con.execute(
        "SELECT decade, count(*) FILTER (WHERE st = 'kept'), count(*) FILTER (WHERE st = 'excluded') FROM "
        "(SELECT 'kept' AS st, decade FROM books UNION ALL SELECT 'excluded', decade FROM excluded) "
        "WHERE decade IS NOT NULL GROUP BY decade ORDER BY decade").fetchall()
    undated = con.execute("SELECT (SELECT count(*) FROM books WHERE year IS NULL) + "
                          "(SELECT count(*) FROM excluded WHERE year IS NULL)").fetchall()[0][0]
    s.add(Table(["language", "kept", "excluded"], [list(r) for r in lang],
                caption="Books by language (detected by score_language where the recipe has it, else declared)"))
    fig = _figure(10, 3.4 if dec else 3)
    axes = fig.subplots(1, 2 if dec else 1, squeeze=False).flat
    shown = lang[:15]
    x = list(range(len(shown)))
    axes[0].bar(x, [r[1] for r in shown], color=KEPT_COLOR, label="kept")
    axes[0].bar(x, [r[2] for r in shown], bottom=[r[1] for r in shown], color=EXCLUDED_COLOR, label="excluded")
    axes[0].set_xticks(x, [r[0] for r in shown], rotation=45, fontsize=7)
    axes[0].set_title("books by language", fontsize=9)
    axes[0].legend(fontsize=7)
    if dec:
        x = [r[0] for r in dec]
        axes[1].bar(x, [r[1] for r in dec], width=8, color=KEPT_COLOR, label="kept")
        axes[1].bar(x, [r[2] for r in dec], width=8, bottom=[r[1] for r in dec], color=EXCLUDED_COLOR,
                    label="excluded")
        axes[1].set_title("books by decade of publication", fontsize=9)
        axes[1].tick_params(labelsize=7)
    s.add(Image(None, "books by language and by decade", "languages", fig=fig))
    s.add(Paragraph(f"{undated} book(s) have no year.", note=True))
    return s


def _clusters_section(info: RunInfo, con, stages: list[tuple[str, str, dict]], n_examples: int) -> Section:
    s = Section("duplicates", "Duplicate clusters")
    n_rows = con.execute("SELECT count(*) FROM clusters").fetchall()[0][0]
    dedup = [label for label, name, _ in stages if "dedup" in name]
    removed = con.execute("SELECT exclusion_stage, reason_code, count(*) FROM excluded WHERE reason_code ILIKE "
                          "'%duplicate%' OR exclusion_stage IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1, 2 ORDER BY 1",
                          [dedup]).fetchall()
    if removed:
        s.add(Table(["stage", "reason", "books removed"], [list(r) for r in removed],
                    caption="Books removed as duplicates"))
    if not n_rows:
        if dedup:
            s.add(Paragraph("This run has no cluster tables (RUN/clusters/), so which copy each duplicate "
                            "matched is not recorded; the removed copies are listed under the examples below.",
                            note=True))
        else:
            s.add(Paragraph("The recipe has no deduplication stage."))
        return s
    sizes = con.execute("SELECT size, count(*) FROM (SELECT stage, cluster_id, count(*) AS size FROM clusters "
                        "GROUP BY 1, 2) GROUP BY size ORDER BY size").fetchall()
    s.add(Table(["cluster size (books)", "clusters"], [list(r) for r in sizes], caption="Cluster sizes"))
    top = con.execute(
        "SELECT c.stage, c.cluster_id, count(*) AS size, any_value(c.kept_id) AS kept_id, "
        "string_agg(c.book_id, ', ' ORDER BY c.book_id) FILTER (WHERE NOT coalesce(c.is_kept, false)), "
        "min(c.similarity), max(b.title) FROM clusters c LEFT JOIN books b ON b.id = c.kept_id "
        f"GROUP BY 1, 2 ORDER BY size DESC, 1, 2 LIMIT {max(n_examples, 1) * 4}").fetchall()
    s.add(Table(["stage", "cluster", "books", "kept copy", "removed copies", "min similarity", "title"],
                [[*r[:6], _short(r[6]) if r[6] else None] for r in top], caption="Largest clusters"))
    return s


def _excerpt(text: str, meta: dict, reason_code: str) -> tuple[str, str]:
    """A short excerpt and where it comes from: the worst-scored page when page scores exist."""
    pages = text.split("\f")
    idx = None
    for key in ("page_ocr_quality", "page_quality_score"):
        scores = meta.get(key)
        if isinstance(scores, list) and len(scores) == len(pages) and (key.split("_", 1)[1] in reason_code
                                                                        or reason_code.startswith("ocr")):
            valid = [(v, i) for i, v in enumerate(scores) if isinstance(v, (int, float)) and pages[i].strip()]
            if valid:
                score, idx = min(valid)
                where = f"page {idx + 1} of {len(pages)} (lowest {key} = {score:.3g})"
                break
    if idx is None:  # a page from the middle: the book's ordinary text, not its title page
        order = sorted(range(len(pages)), key=lambda i: abs(i - len(pages) // 2))
        idx = next((i for i in order if len(pages[i].strip()) > 40), order[0] if order else 0)
        where = f"page {idx + 1} of {len(pages)}"
    snippet = re.sub(r"\s+", " ", pages[idx]).strip()
    if len(snippet) > EXCERPT_CHARS:
        snippet = snippet[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    return snippet, where


def _short(value, limit: int = 90) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def stage_description(name: str, params: dict) -> str:
    """One line saying what a stage does with its parameters (a threshold's bounds)."""
    if name == "read":
        return "read inputs (unreadable ones are excluded)"
    if name == "metadata_filter" and params.get("key"):
        parts = []
        if params.get("min") is not None:
            parts.append(f"{params['key']} ≥ {params['min']}")
        if params.get("max") is not None:
            parts.append(f"{params['key']} ≤ {params['max']}")
        if params.get("values") is not None:
            parts.append(f"{params['key']} in {params['values']}")
        return "keep " + " and ".join(parts or [params["key"]])
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{name}({shown})" if shown else name


def _examples_section(info: RunInfo, con, stages: list[tuple[str, str, dict]], n_examples: int,
                      scores: list[str]) -> Section:
    s = Section("examples", "Examples of excluded books and pages")
    params = {label: (name, p) for label, name, p in stages}
    groups = con.execute("SELECT exclusion_stage, reason_code, count(*) FROM excluded GROUP BY 1, 2 "
                         "ORDER BY 1, 3 DESC, 2").fetchall()
    if not groups:
        s.add(Paragraph("No book was excluded."))
    primary = _primary(scores)
    for stage, code, n in groups:
        rows = con.execute(
            "SELECT id, title, author, year, language, exclusion_reason, text_kept, metadata_json, "
            "CASE WHEN text_kept THEN text END FROM excluded WHERE exclusion_stage = ? AND reason_code = ? "
            "ORDER BY id LIMIT ?", [stage, code, n_examples]).fetchall()
        name, p = params.get(stage, ("?", {}))
        table = []
        for book_id, title, author, year, language, reason, text_kept, meta_json, text in rows:
            meta = json.loads(meta_json or "{}")
            if name == "metadata_filter" and p.get("key"):
                shown = [p["key"]]
            else:
                shown = [c for c in primary if meta.get(c) is not None]
            score = "; ".join(f"{k}={meta.get(k)!r}" if not isinstance(meta.get(k), float) else f"{k}={meta[k]:.3g}"
                              for k in shown) or "—"
            biblio = " · ".join(_short(x) for x in (title, author, year, language) if x not in (None, ""))
            if stage == "00_read":
                excerpt = "(unreadable input: no text)"
            elif text_kept and text:
                snippet, where = _excerpt(text, meta, code)
                excerpt = f"{where}: {snippet}"
            else:
                excerpt = "(text not kept: run with output.keep_excluded_text: true to see excerpts)"
            table.append([book_id, biblio or "—", reason, score, excerpt])
        s.add(Table(["book", "title · author · year · language", "reason", "score", "excerpt"], table,
                    caption=f"{stage} — {code} ({n} book{'s' if n != 1 else ''}, {len(rows)} shown)"))
    # pages dropped inside kept books (drop_pages records them)
    pages = con.execute(
        "SELECT id, title, metadata_json FROM books WHERE json_exists(metadata_json, '$.dropped_pages') "
        "AND json_array_length(metadata_json, '$.dropped_pages') > 0 ORDER BY id LIMIT ?",
        [n_examples * 2]).fetchall()
    total = con.execute("SELECT count(*), coalesce(sum(json_array_length(metadata_json, '$.dropped_pages')), 0) "
                        "FROM books WHERE json_exists(metadata_json, '$.dropped_pages')").fetchall()[0]
    if pages:
        table = []
        for book_id, title, meta_json in pages:
            meta = json.loads(meta_json)
            dropped = meta.get("dropped_pages") or []
            page_scores = []
            for key in ("page_ocr_quality", "bh_page_garbage"):
                vals = meta.get(key)
                if isinstance(vals, list):
                    page_scores.append(f"{key}: " + ", ".join(
                        (f"{vals[i - 1]:.3g}" if isinstance(vals[i - 1], float) else str(vals[i - 1]))
                        for i in dropped[:8] if 0 < i <= len(vals)))
            table.append([book_id, title or "—", ", ".join(map(str, dropped[:12])) + (" …" if len(dropped) > 12 else ""),
                          meta.get("dropped_page_chars"), "; ".join(page_scores) or "—"])
        s.add(Table(["book", "title", "pages dropped", "characters dropped", "page scores"], table,
                    caption=f"Pages dropped from kept books ({total[1]} pages in {total[0]} books)"))
        s.add(Paragraph("The text of a dropped page is not kept in the run, so no excerpt is shown.", note=True))
    return s


def _versions() -> list[list[str]]:
    from importlib.metadata import PackageNotFoundError, version

    rows = [["finebooks", __version__], ["python", platform.python_version()]]
    for pkg in ("datatrove", "duckdb", "pyarrow", "matplotlib"):
        try:
            rows.append([pkg, version(pkg)])
        except PackageNotFoundError:
            rows.append([pkg, "not installed"])
    return rows


def _recipe_section(info: RunInfo) -> Section:
    s = Section("recipe", "Recipe and versions")
    prov = info.recipe.get("provenance") or {}
    if prov:
        s.add(Table(["provenance of the run", ""], [[k, str(v)] for k, v in prov.items()]))
    else:
        s.add(Paragraph("recipe.yaml has no provenance block.", note=True))
    s.add(Table(["software writing this report", "version"], _versions()))
    if info.recipe:
        recipe = {k: v for k, v in info.recipe.items() if k != "provenance"}
        s.add(Pre(yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True)))
    else:
        s.add(Paragraph("The run directory has no recipe.yaml.", note=True))
    return s


# ---------------------------------------------------------------- entry points
def build_report(run_dir: str | Path, examples: int = 3, plots: bool = True) -> Document:
    """The report of a run as a :class:`~finebooks.report.document.Document`.

    ``plots=False`` leaves the plots out (tables only: quicker on a huge run).
    """
    info = inspect_run(run_dir)
    con = connect(run_dir, info)
    stages = stage_table(info.recipe)
    name = info.recipe.get("name") or info.summary.get("recipe") or Path(run_dir).name
    created = (info.recipe.get("provenance") or {}).get("created", "")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    doc = Document(title=f"FineBooks run report: {name}",
                   subtitle=f"run {Path(run_dir).resolve()} · started {created or 'unknown'} · report {now}")
    figures: list[str] = []
    scores = score_columns(info, con)
    doc.sections = [
        _overview(info, con),
        _funnel_section(info, con, figures),
        _scores_section(info, con, scores),
        _lengths_section(con),
        _languages_section(con),
        _clusters_section(info, con, stages, examples),
        _examples_section(info, con, stages, examples, scores),
        _recipe_section(info),
    ]
    if not plots:
        for section in doc.sections:
            section.blocks = [b for b in section.blocks if not isinstance(b, Image)]
    return doc


def write_report(run_dir: str | Path, out: str | Path | None = None, examples: int = 3,
                 markdown: bool = True, plots: bool = True) -> tuple[Path, Path | None]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``report_files/``).

    ``out`` defaults to ``RUN_DIR/report.html``; the Markdown goes next to it with the ``.md``
    suffix. Returns the two paths (``None`` for the Markdown when ``markdown`` is false).
    """
    doc = build_report(run_dir, examples=examples, plots=plots)
    html_path = Path(out) if out else Path(run_dir) / "report.html"
    if html_path.suffix.lower() not in (".html", ".htm"):
        html_path = html_path.with_suffix(html_path.suffix + ".html") if html_path.suffix else html_path.with_suffix(".html")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(doc), encoding="utf-8")
    md_path = None
    if markdown:
        md_path = html_path.with_suffix(".md")
        files = html_path.with_name(html_path.stem + "_files")
        md_path.write_text(render_markdown(doc, files, files.name), encoding="utf-8")
    return html_path, md_path


__all__ = ["build_report", "reader_text_chars", "score_columns", "write_report"]
