"""Outputs of an ablation run (all in the output folder):

``results.parquet``   one row per (arm, seed): bpb, task accuracies and counts, tokens, timings
``curves.parquet``    learning curves: bpb on the curve slice of the eval text per (arm, seed, tokens)
``results.json``      everything: config, arms and their corpora, eval suite, summary per arm
                      (mean, std, Wilson 95% intervals), noise, margin and decisions, timings
``report.md``         the decision table and plots (PNG files beside it)
``report.html``       the same, self-contained (plots embedded)
``pruned-recipe.yaml`` the recipe with only the stages the evidence supports
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import yaml


def _plots(results: dict, rows: list[dict], curves: list[dict]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    summary = results["summary"]
    arms = [s["arm"] for s in summary]
    # 1. bpb per arm with error bars (std over seeds) and the margin around the comparison arm
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(arms) + 2), 3.6))
    means = [s["bpb_mean"] for s in summary]
    stds = [s["bpb_std"] for s in summary]
    ax.errorbar(range(len(arms)), means, yerr=stds, fmt="o", capsize=4)
    for i, a in enumerate(arms):
        ys = [r["bpb"] for r in rows if r["arm"] == a]
        ax.scatter([i] * len(ys), ys, s=8, color="grey", alpha=0.6, zorder=3)
    comp = results["decisions"].get("comparison") or ("base" if "base" in arms else None)
    if comp in arms:
        m = results["decisions"]["margin"]
        y = summary[arms.index(comp)]["bpb_mean"]
        ax.axhspan(y - m, y + m, color="orange", alpha=0.15, label=f"{comp} ± margin")
        ax.legend(fontsize=7)
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels(arms, rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("bits per byte (lower is better)")
    ax.set_title("eval bits per byte per arm (mean ± std over seeds)", fontsize=9)
    fig.tight_layout()
    out["bpb_per_arm.png"] = _png(fig, plt)
    # 2. learning curves
    if curves:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        for a in arms:
            pts: dict[int, list[float]] = {}
            for c in curves:
                if c["arm"] == a:
                    pts.setdefault(c["tokens"], []).append(c["bpb"])
            if pts:
                xs = sorted(pts)
                ax.plot(xs, [sum(pts[x]) / len(pts[x]) for x in xs], marker="o", ms=3, label=a)
        ax.set_xscale("log")
        ax.set_xlabel("training tokens")
        ax.set_ylabel("bits per byte (curve slice)")
        ax.set_title("learning curves (mean over seeds)", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        out["learning_curves.png"] = _png(fig, plt)
    # 3. task accuracies with Wilson intervals
    tasks = [m for m in results["metrics"] if m != "bpb"]
    if tasks:
        fig, axes = plt.subplots(1, len(tasks), figsize=(max(5.0, 0.6 * len(arms) + 2) * len(tasks) / 1.3, 3.4),
                                 squeeze=False)
        for ax, t in zip(axes[0], tasks):
            mean = [s[f"{t}_mean"] for s in summary]
            lo = [s[f"{t}_mean"] - s[f"{t}_ci95"][0] for s in summary]
            hi = [s[f"{t}_ci95"][1] - s[f"{t}_mean"] for s in summary]
            ax.errorbar(range(len(arms)), mean, yerr=[lo, hi], fmt="s", capsize=3)
            ax.axhline(0.25, color="grey", ls=":", lw=1, label="chance")
            ax.set_xticks(range(len(arms)))
            ax.set_xticklabels(arms, rotation=35, ha="right", fontsize=7)
            ax.set_title(f"{t} accuracy (95% Wilson CI)", fontsize=9)
            ax.legend(fontsize=7)
        fig.tight_layout()
        out["task_accuracy.png"] = _png(fig, plt)
    return out


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _fmt(x, nd=4):
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def markdown(results: dict, images: list[str]) -> str:
    d = results["decisions"]
    tasks = [m for m in results["metrics"] if m != "bpb"]
    lines = [f"# Ablation `{results['name']}`", ""]
    if results.get("description"):
        lines += [results["description"], ""]
    lines += [
        f"- date: {results['date']}; machine: {results['machine']['platform']}, {results['machine']['cpus']} CPUs",
        f"- command: `{results['command']}`" if results.get("command") else f"- config: `{results['config_file']}`",
        f"- mode: {results['mode']}; proxy: {results['backend']['description']}",
        f"- tokenizer: byte-level BPE, {results['tokenizer']['vocab_size']} tokens (one for all arms)",
        (f"- budget: {results['budget']['tokens']:,} tokens per model ({results['budget']['sampling']} chunks of "
        f"{results['budget']['chunk_tokens']}), seeds {results['budget']['seeds']}; {results['models']} models"),
        f"- eval: {results['eval']['description']}",
        f"- leakage: {results['eval']['leakage_check']}",
        "- taken out of the training pools before any arm (eval books or near-duplicates): "
        + (", ".join(f"{o['id']} (~{o['eval_book']}{', same id' if o['by_id'] else ''})"
                     for o in sorted({o['id']: o for v in results['eval']['removed_from_training'].values()
                                      for o in v}.values(), key=lambda o: o['id'])) or "none"),
        f"- seed noise (pooled std of bpb): {d['sigma']:.5f}; decision margin: {d['margin']:.5f} bpb"
        + (f" (= {d['margin_sigma']} sigma)" if d.get("absolute_margin") is None else " (absolute)"),
        (f"- wall time: {results['timings'].get('total', 0):.1f} s (engine runs {results['timings'].get('engine_runs', 0):.1f} s, "
        f"models {results['timings'].get('models', 0):.1f} s)"),
        "",
        "## Arms", "",
        "| arm | books | MB | tokens | bpb mean | bpb std | " + " | ".join(f"{t} (95% CI)" for t in tasks) + " |",
        "|---|---:|---:|---:|---:|---:|" + "---|" * len(tasks),
    ]
    info = {a["arm"]: a for a in results["arms"]}
    for s in results["summary"]:
        a = info.get(s["arm"], {})
        accs = " | ".join(f"{s[f'{t}_mean']:.3f} ({s[f'{t}_ci95'][0]:.3f}-{s[f'{t}_ci95'][1]:.3f})" for t in tasks)
        lines.append(f"| {s['arm']} | {a.get('books', '')} | {a.get('text_bytes', 0) / 1e6:.2f} | {a.get('tokens', 0):,} | "
                     f"{s['bpb_mean']:.4f} | {s['bpb_std']:.4f} | {accs} |")
    lines += ["", "## Decisions", ""]
    if results["mode"] == "arms":
        lines += [f"Each arm against `{d['comparison']}` (delta > 0: the arm has lower bpb).", "",
                  "| arm | delta bpb | margin | secondary losses | verdict |", "|---|---:|---:|---|---|"]
        for c in d["comparisons"]:
            lines.append(f"| {c['arm']} | {c['delta']:+.4f} | {c['margin']:.4f} | {', '.join(c['secondary_losses']) or '-'} "
                         f"| {c['verdict']} |")
        refs = d.get("reference_arms") or []
        lines += ["", f"Chosen recipe: arm `{d['chosen_arm']}`"
                  + (f" (reference arms, never chosen: {', '.join(refs)})." if refs else ".")]
    elif results["mode"] == "leave_one_out":
        lines += ["| stage | keep | base - without (bpb gain) | verdict | reason |", "|---|---|---:|---|---|"]
        for s in d["stages"]:
            lines.append(f"| {s['stage']} | {'yes' if s['keep'] else 'no'} | {s.get('delta', float('nan')):+.4f} | "
                         f"{s.get('verdict', '')} | {s['reason']} |")
    else:
        for i, r in enumerate(d["rounds"], start=1):
            lines += [f"Round {i} over `{r['current']}` (margin {r['margin']:.4f}): added **{r['added'] or 'nothing'}**", "",
                      "| arm | delta bpb | verdict |", "|---|---:|---|"]
            lines += [f"| {c['arm']} | {c['delta']:+.4f} | {c['verdict']} |" for c in r["comparisons"]]
            lines.append("")
        lines.append(f"Chosen stages: {', '.join(d['chosen']) or 'none'}.")
    lines += ["", "The pruned recipe is `pruned-recipe.yaml`.", ""]
    if d.get("sanity"):
        sc = d["sanity"]
        lines += ["## Sanity check", "",
                  (f"Training on `{sc['clean']}` (clean text) against `{sc['noisy']}` (noisy OCR): bpb gap "
                  f"{sc['gap_bpb']:+.4f} = {sc['gap_in_sigma']:.1f} pooled seed sigmas (needed: > {sc['min_sigma']:g}): "
                  f"**{'PASSED' if sc['passed'] else 'FAILED'}**."), ""]
    if results.get("approximations"):
        lines += ["## Notes", ""] + [f"- {n}" for n in results["approximations"]] + [""]
    lines += ["## Corpora", "", "| arm | engine run | cached | dropped by thresholds | changes |", "|---|---|---|---|---|"]
    for a in results["arms"]:
        drops = ", ".join(f"{k} {v}" for k, v in a["dropped_by_threshold"].items()) or "-"
        lines.append(f"| {a['arm']} | `{Path(a['engine_run']).name}` | {'yes' if a['engine_run_cached'] else 'no'} | {drops} | "
                     f"{'; '.join(a['changes']) or '-'} |")
    lines += [""]
    for img in images:
        lines += [f"![{img}]({img})", ""]
    return "\n".join(lines)


def to_html(md: str, images: dict[str, bytes], title: str) -> str:
    """A small Markdown-to-HTML rendering (headings, lists, tables, images embedded)."""
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           ("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;font-size:14px}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:12px}"
           "code{background:#f4f4f4}</style></head><body>")]
    in_table = in_list = False

    def inline(s: str) -> str:
        import re

        s = html.escape(s)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)

    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{inline(c)}</th>" for c in cells) + "</tr>")
            else:
                out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{inline(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("!["):
            name = line[line.index("(") + 1: line.rindex(")")]
            data = base64.b64encode(images.get(name, b"")).decode()
            out.append(f"<p><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'></p>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    if in_table:
        out.append("</table>")
    if in_list:
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def write_outputs(out: Path, results: dict, rows: list[dict], curves: list[dict], pruned_recipe: dict, log=print) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out / "results.parquet")
    if curves:
        pq.write_table(pa.Table.from_pylist(curves), out / "curves.parquet")
    results = dict(results)
    results["rows"] = rows
    results["curves"] = curves
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    header = (f"# Pruned by ablation {results['name']} ({results['config_file']}), {results['date']}.\n"
              f"# Stages kept: those that beat the comparison by more than the margin "
              f"({results['decisions']['margin']:.5f} bpb); see report.md.\n")
    (out / "pruned-recipe.yaml").write_text(header + yaml.safe_dump(pruned_recipe, sort_keys=False, allow_unicode=True))
    try:
        images = _plots(results, rows, curves)
    except ImportError as e:  # matplotlib missing: the report says so instead of failing the run
        images = {}
        log(f"plots skipped: {e} (pip install matplotlib)")
    for name, data in images.items():
        (out / name).write_bytes(data)
    md = markdown(results, list(images))
    (out / "report.md").write_text(md)
    (out / "report.html").write_text(to_html(md, images, f"Ablation {results['name']}"))
    log(f"wrote {out}/results.parquet, results.json, report.md, report.html, pruned-recipe.yaml")
