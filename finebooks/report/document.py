"""A tiny document model rendered to self-contained HTML and to Markdown.

The report is built once as a list of :class:`Section` objects holding blocks (paragraphs,
tables, images, preformatted text); :func:`render_html` embeds every image as a base64 PNG
``data:`` URI (one file to mail or archive), :func:`render_markdown` writes the images next to
the Markdown file.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Paragraph:
    text: str
    note: bool = False  # rendered as a muted note


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    caption: str = ""


@dataclass
class Image:
    """A plot: PNG bytes, or a matplotlib figure drawn to PNG when first rendered."""

    png: bytes | None
    alt: str
    name: str  # file stem for the Markdown images
    fig: Any = None

    def data(self) -> bytes:
        if self.png is None:
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png")
            self.png = buf.getvalue()
        return self.png


@dataclass
class Pre:
    text: str


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)

    def add(self, block) -> None:
        self.blocks.append(block)


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)


def fmt(value) -> str:
    """Human-readable cell text: thousands separators, 3 significant decimals, '—' for None."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1d1d1f;line-height:1.45}
h1{margin-bottom:.1em}h2{border-bottom:2px solid #e5e5e5;padding-bottom:.2em;margin-top:2em}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
img{max-width:100%;height:auto;display:block;margin:.8em 0}
pre{background:#f7f7f9;border:1px solid #e5e5e5;padding:.8em;overflow-x:auto;font-size:.85em}
.note{color:#666;font-style:italic}nav ul{columns:2}
"""


def _cell_html(value) -> str:
    cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return f"<td{cls}>{html.escape(fmt(value))}</td>"


def render_html(doc: Document) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(doc.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{html.escape(doc.title)}</h1>", f'<p class="sub">{html.escape(doc.subtitle)}</p>',
           "<nav><ul>"]
    out += [f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in doc.sections]
    out.append("</ul></nav>")
    for s in doc.sections:
        out.append(f'<section id="{s.id}">')
        out.append(f"<h2>{html.escape(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, Paragraph):
                cls = ' class="note"' if b.note else ""
                out.append(f"<p{cls}>{html.escape(b.text)}</p>")
            elif isinstance(b, Table):
                out.append("<table>")
                if b.caption:
                    out.append(f"<caption>{html.escape(b.caption)}</caption>")
                out.append("<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in b.columns)
                           + "</tr></thead><tbody>")
                for row in b.rows:
                    out.append("<tr>" + "".join(_cell_html(v) for v in row) + "</tr>")
                out.append("</tbody></table>")
            elif isinstance(b, Image):
                data = base64.b64encode(b.data()).decode("ascii")
                out.append(f'<img alt="{html.escape(b.alt, quote=True)}" src="data:image/png;base64,{data}">')
            elif isinstance(b, Pre):
                out.append(f"<pre>{html.escape(b.text)}</pre>")
        out.append("</section>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _md_cell(value) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: Document, image_dir: Path, image_prefix: str) -> str:
    """Markdown with images written to ``image_dir`` and linked as ``image_prefix/NAME.png``."""
    out = [f"# {doc.title}", "", f"*{doc.subtitle}*", ""]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Paragraph):
                out += [f"*{b.text}*" if b.note else b.text, ""]
            elif isinstance(b, Table):
                if b.caption:
                    out += [f"**{b.caption}**", ""]
                out.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
                out.append("|" + "|".join("---" for _ in b.columns) + "|")
                out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in b.rows]
                out.append("")
            elif isinstance(b, Image):
                image_dir.mkdir(parents=True, exist_ok=True)
                (image_dir / f"{b.name}.png").write_bytes(b.data())
                out += [f"![{b.alt}]({image_prefix}/{b.name}.png)", ""]
            elif isinstance(b, Pre):
                fence = "````" if "```" in b.text else "```"
                out += [fence, b.text.rstrip("\n"), fence, ""]
    return "\n".join(out)
