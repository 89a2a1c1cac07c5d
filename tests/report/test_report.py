"""``finebooks report``: valid, self-contained HTML whose images decode; Markdown twin; browser render."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess

import html5lib
import pytest
from PIL import Image

from finebooks.cli import main
from finebooks.report.report import write_report
from tests.report.conftest import write_run

SECTIONS = ("overview", "funnel", "scores", "lengths", "languages", "duplicates", "examples", "recipe")


@pytest.fixture(scope="module")
def sample_report(sample_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "sample.html"
    assert main(["report", str(sample_run), "--out", str(out)]) == 0
    return out


def images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_html_is_valid_and_every_image_decodes(sample_report):
    html = sample_report.read_text(encoding="utf-8")
    parser = html5lib.HTMLParser(strict=True)  # raises on any parse error
    tree = parser.parse(html)
    assert tree is not None
    ids = set(re.findall(r'<section id="([a-z]+)">', html))
    assert ids == set(SECTIONS)
    pngs = images(html)
    assert len(pngs) >= 6  # funnel, scores overall / by language / by decade, lengths, languages
    for png in pngs:
        img = Image.open(io.BytesIO(png))
        img.load()
        assert img.format == "PNG" and img.width > 200 and img.height > 100
        assert len(img.convert("L").getcolors(maxcolors=1 << 16) or [0] * 3) > 2  # something is drawn
    # self-contained: no external resources, no scripts
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert "<script" not in html


def test_report_content_explains_the_run(sample_run, sample_report):
    html = sample_report.read_text(encoding="utf-8")
    assert "05_metadata_filter" in html and "keep bh_garbage_page_share ≤ 0.15" in html
    assert "bh_garbage_page_share_above_max" in html and "malformed_xml" in html
    assert "language_score" in html and "bh_alpha_words_ratio" in html
    # excerpts of excluded books: the run kept their text; unreadable inputs say they have none
    assert "(unreadable input: no text)" in html
    assert re.search(r"page \d+ of \d+: \w+", html)
    # pages that drop_pages blanked in kept books
    assert "Pages dropped from kept books" in html
    # duplicate clusters recorded by near_dedup, with the kept copy
    assert "Largest clusters" in html and "07_near_dedup" in html and "near_duplicate" in html
    assert "finebooks_version" in html and "datatrove_version" in html and "score_book_heuristics" in html


def test_funnel_text_volumes_add_up(sample_run, sample_report):
    from finebooks.report.query import connect

    con = connect(sample_run)
    kept = con.execute("SELECT sum(n_bytes) FROM books").fetchall()[0][0]
    excluded = con.execute("SELECT coalesce(sum(n_bytes), 0) FROM excluded").fetchall()[0][0]
    dropped = con.execute("SELECT sum(n_bytes) FROM excluded WHERE exclusion_stage = '05_metadata_filter'"
                          ).fetchall()[0][0]
    md = sample_report.with_suffix(".md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| 00_read |"))
    assert f"| {kept + excluded:,} |" in row  # every byte that entered is kept or excluded (all text kept)
    row = next(line for line in md.splitlines() if line.startswith("| 05_metadata_filter |"))
    assert f"| {dropped:,} |" in row  # the bytes this threshold removed


def test_markdown_twin_links_written_images(sample_report):
    md_path = sample_report.with_suffix(".md")
    md = md_path.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and all((md_path.parent / link).is_file() for link in links)
    assert "| 05_metadata_filter |" in md and md.startswith("# FineBooks run report: report-test")


def test_report_says_when_excluded_text_was_not_kept(tmp_path):
    run = write_run(tmp_path / "run", kept=[{"id": "x/1", "text": "kept\fpages", "metadata": {"ocr_quality": 0.9}}],
                    excluded=[{"id": "x/2", "text": "gone", "stage": "01_metadata_filter",
                               "reason": "ocr_quality_below_min: ocr_quality=0.1 < 0.5",
                               "metadata": {"ocr_quality": 0.1}}], keep_text=False)
    assert main(["report", str(run), "--no-markdown", "--no-plots"]) == 0
    html = run / "report.html"
    text = html.read_text(encoding="utf-8")
    assert not (run / "report.md").exists() and "<img" not in text
    assert "text not kept" in text and "ocr_quality=0.1" in text
    assert re.findall(r'<section id="([a-z]+)">', text) == list(SECTIONS)
    html5lib.HTMLParser(strict=True).parse(text)


@pytest.mark.realdata
def test_report_and_export_of_a_real_trove_run(trove_run, tmp_path):
    import datasets

    html, _ = write_report(trove_run, tmp_path / "trove.html", markdown=False)
    text = html.read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(text)
    for png in images(text):
        Image.open(io.BytesIO(png)).load()
    assert "bh_stopwords_per_1000_below_min" in text and "keep bh_stopwords_per_1000 ≥ 450" in text
    assert re.search(r"page \d+ of \d+: \w+", text)  # excerpts of real excluded books
    assert "scores_by_decade" not in text  # (alt texts only)
    assert "primary scores by decade" in text  # real books have years
    from finebooks.report.export import export_run

    result = export_run(trove_run, tmp_path / "export")
    ds = datasets.load_dataset("parquet", data_dir=str(result.folder), cache_dir=str(tmp_path / "cache"))["train"]
    assert ds.num_rows == result.rows == json.loads((trove_run / "summary.json").read_text())["kept"]
    card = (result.folder / "README.md").read_text()
    assert "language:" in card and "18th (1700–1799)" in card


def test_report_command_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="no chromium on this machine (apt-get install chromium)")
def test_report_renders_in_headless_chromium(sample_report, tmp_path):
    """Load the report in a real browser; a probe script (added to a copy) checks every image."""
    probe = ("<script>window.addEventListener('load', function () {"
             "var imgs = Array.from(document.images);"
             "document.body.setAttribute('data-images', imgs.length);"
             "document.body.setAttribute('data-broken', imgs.filter(function (i) {"
             "return !(i.complete && i.naturalWidth > 0); }).length);"
             "document.body.setAttribute('data-tables', document.querySelectorAll('table').length);});</script>")
    page = tmp_path / "probe.html"
    page.write_text(sample_report.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    try:
        dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                              f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                             check=False, capture_output=True, text=True, timeout=60).stdout
    except subprocess.TimeoutExpired:
        pytest.fail("chromium did not finish rendering the report in 60 s")
    n_images = int(re.search(r'data-images="(\d+)"', dom).group(1))
    assert n_images == len(images(sample_report.read_text(encoding="utf-8")))
    assert re.search(r'data-broken="(\d+)"', dom).group(1) == "0"
    assert int(re.search(r'data-tables="(\d+)"', dom).group(1)) >= 8


def test_excerpt_shows_the_worst_page_for_ocr_reasons():
    from finebooks.report.report import EXCERPT_CHARS, _excerpt

    pages = ["Title page of the book, printed in London in 1790.", "q#@ ~~ xx1 garbage garbage " * 40,
             "A clean page of ordinary running text, long enough to be worth showing here.", ""]
    meta = {"page_ocr_quality": [0.9, 0.2, 0.8, None]}
    snippet, where = _excerpt("\f".join(pages), meta, "ocr_quality_below_min")
    assert where == "page 2 of 4 (lowest page_ocr_quality = 0.2)"
    assert snippet.startswith("q#@ ~~ xx1") and len(snippet) <= EXCERPT_CHARS + 2 and snippet.endswith("…")
    snippet, where = _excerpt("\f".join(pages), meta, "near_duplicate")
    assert where == "page 3 of 4" and snippet.startswith("A clean page")  # the middle of the book
