"""Property-based fuzzing of every FineBooks reader and every registered stage (hypothesis).

Each case takes a real file (``../shared/data``: ``alto/``, ``hocr/``, ``abbyy_xml/``,
``raw_ocr/``) or a file of the sample collection (``finebooks sample``), damages it with a few
generated mutations - byte flips, truncation, an encoding swap (whole file, or mixed), XML tag
damage, entity-bomb prologs, spliced repeats, inserted bytes; for row formats also row damage
(null or duplicate ids, missing columns, non-text values, broken ``metadata_json``) - reads it with
one reader and passes every book it emits through every registered stage, directly (each stage's
``run`` on the documents, filters with an exclusion collector). A small share of cases runs a
whole recipe with MinHash dedup through the engine on a damaged collection.

A case fails when

* anything raises out of a reader or a stage (a **crash**: the run would die), or
* the books are not all accounted for (**unaccounted**): a reader's emitted books and exclusion
  records do not match its ``books``/``excluded`` statistics (what the engine's summary counts),
  an input unit (file, page folder, row, page-row book id) has no outcome, a stage changes the
  number of books, or a filter's kept + excluded differs from what went in; for the engine
  cases, ``summarise(run).unaccounted != 0``.

Short mode runs in CI (``tests/reliability/test_fuzz.py``, a few hundred cases). Long mode::

    python benchmarks/fuzz.py --cases 10000 [--seed 0] [--report fuzz_report.json]

prints progress and the figures (cases, crashes, unaccounted, per target and per mutation)
that ``docs/reliability.md`` quotes. Failing cases are written with their input to
``--failures DIR`` for replay.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FINEBOOKS_SHARED_DATA", REPO.parent / "shared" / "data"))

#: largest seed file (bytes) by kind; bigger real files are cut to this. Text seeds are kept
#: small because the datatrove filters (spaCy tokenisation) dominate the time of a case.
MAX_SEED_BYTES = {"alto": 120_000, "hocr": 120_000, "abbyy": 120_000, "text": 24_000}
#: stages not fuzzed, and why
SKIPPED_STAGES = {"language_filter": "downloads a fastText model at run time (needs a network)"}
#: parameters for registered stages that need some
STAGE_PARAMS = {
    "metadata_filter": {"key": "bh_n_words", "min": 20},
    "regex_filter": {"regex_exp": r"(?i)lorem ipsum"},
    "sampler": {"rate": 0.5, "seed": 1},
}
TEXT_TARGETS = ("formfeed", "djvu", "trove", "page_folder")
XML_TARGETS = ("alto", "alto_folder", "hocr", "abbyy")
ROW_TARGETS = ("book_parquet", "book_jsonl", "page_rows_parquet", "page_rows_jsonl")
TARGETS = XML_TARGETS + TEXT_TARGETS + ROW_TARGETS + ("hf", "stages_direct", "engine")
ENCODINGS = ("utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis", "koi8-r", "mac_roman",
             "declare-latin1", "mixed", "bom-utf8")
TAG_DAMAGE = ("drop_lt", "drop_gt", "rename_close", "unclose", "dup_open", "swap_tags", "entity",
              "billion_laughs", "quadratic", "xxe", "cdata", "nul", "deep_nest", "bad_attr", "strip_root")
ROW_DAMAGE = ("null_id", "dup_id", "empty_text", "space_text", "int_text", "list_text", "list_of_ints",
              "dict_text", "bool_text", "bad_metadata_json", "metadata_not_dict", "drop_text_col",
              "drop_id_col", "null_page", "str_page", "dup_page", "huge_text", "ff_only")


# ---------------------------------------------------------------------------- seeds
@dataclass
class Seeds:
    """Seed files by kind: ``alto``, ``hocr``, ``abbyy`` (bytes of page XML) and ``text``."""

    by_kind: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    def pick(self, kind: str, index: int) -> tuple[str, bytes]:
        pool = self.by_kind[kind]
        return pool[index % len(pool)]

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.by_kind.items()}


def _add(pool: list, kind: str, name: str, data: bytes, skip_above: int | None = None) -> None:
    if not data.strip() or (skip_above is not None and len(data) > skip_above):
        return
    pool.append((name, data[:MAX_SEED_BYTES[kind]]))


def load_seeds(shared: Path | None = SHARED, sample: Path | None = None, per_kind: int = 60,
               skip_above: int | None = None) -> Seeds:
    """Real files (when ``shared`` exists) and the sample collection (written to ``sample`` or a temp dir).

    ``skip_above``: leave out files bigger than this many bytes (the quick CI mode)."""
    pools: dict[str, list] = {"alto": [], "hocr": [], "abbyy": [], "text": []}
    if shared is not None and shared.is_dir():
        rng = random.Random(0)
        for kind, sub, pattern in (("alto", "alto", r"<(\w+:)?alto[\s>]"), ("hocr", "hocr", r"ocr_page|ocrx_word"),
                                   ("abbyy", "abbyy_xml", r"<(\w+:)?document[\s>]"), ("text", "raw_ocr", None)):
            files = sorted(p for p in (shared / sub).rglob("*") if p.is_file() and p.suffix.lower() in
                           (".xml", ".alto", ".hocr", ".html", ".txt"))
            rng.shuffle(files)
            for p in files:
                if len(pools[kind]) >= per_kind:
                    break
                data = p.read_bytes()
                if pattern and not re.search(pattern.encode(), data[:200_000]):
                    continue
                _add(pools[kind], kind, str(p.relative_to(shared)), data, skip_above)
    if sample is None:
        sample = Path(tempfile.mkdtemp(prefix="fuzz_sample_")) / "sample"
    if not (sample / "labels.jsonl").exists():
        from finebooks.sample import make_sample

        make_sample(sample, seed=0)
    for kind, pattern in (("alto", "alto/**/*.xml"), ("hocr", "hocr/*.hocr"), ("text", "formfeed/*.txt"),
                          ("text", "trove/*.txt"), ("text", "pages/*/*.txt"), ("alto", "bad/alto/**/*.xml"),
                          ("hocr", "bad/hocr/*"), ("text", "bad/*/*.txt")):
        for p in sorted(sample.glob(pattern))[:25]:
            if p.is_file():
                _add(pools[kind], kind, f"sample/{p.relative_to(sample)}", p.read_bytes(), skip_above)
    if len(pools["abbyy"]) < 3:  # few real ABBYY files: add a minimal one (charParams, hyphen mark)
        _add(pools["abbyy"], "abbyy", "builtin/abbyy.xml", _MINI_ABBYY)
    return Seeds({k: v for k, v in pools.items() if v})


_MINI_ABBYY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<document xmlns="http://www.abbyy.com/FineReader_xml/'
               b'FineReader10-schema-v1.xml"><page><block blockType="Text"><text><par><line><formatting>'
               b'<charParams charConfidence="90">T</charParams>he old mill stood by the riv\xc2\xac</formatting>'
               b'</line><line><formatting>er in the valley.</formatting></line></par></text></block></page>'
               b'</document>')


# ---------------------------------------------------------------------------- mutations
def _pos(data: bytes, f: float) -> int:
    return min(len(data), max(0, int(f * len(data))))


def _tag_positions(data: bytes, pattern: bytes) -> list[int]:
    return [m.start() for m in re.finditer(pattern, data[:500_000])]


def mutate_bytes(data: bytes, mutation: tuple) -> bytes:
    """Apply one byte-level mutation (see :data:`ENCODINGS`, :data:`TAG_DAMAGE`)."""
    kind = mutation[0]
    if kind == "flip":
        out = bytearray(data)
        for f, value in mutation[1]:
            if out:
                out[min(len(out) - 1, int(f * len(out)))] ^= value or 1
        return bytes(out)
    if kind == "truncate":
        return data[: _pos(data, mutation[1])]
    if kind == "empty":
        return b""
    if kind == "insert":
        p = _pos(data, mutation[1])
        return data[:p] + mutation[2] + data[p:]
    if kind == "splice":  # repeat a chunk many times (big files, repeated tags)
        a, b = sorted((_pos(data, mutation[1]), _pos(data, mutation[2])))
        chunk = data[a:min(b, a + 2000)]
        return data[:b] + chunk * mutation[3] + data[b:]
    if kind == "encoding":
        return swap_encoding(data, mutation[1])
    if kind == "tag":
        return damage_tags(data, mutation[1], mutation[2])
    raise ValueError(kind)


def swap_encoding(data: bytes, enc: str) -> bytes:
    text = data.decode("utf-8", errors="replace")
    if enc == "declare-latin1":  # a declaration that lies about the bytes
        return re.sub(rb'encoding="[^"]*"', b'encoding="ISO-8859-1"', data, count=1) if b"encoding=" in data[:200] \
            else b'<?xml version="1.0" encoding="ISO-8859-1"?>' + data
    if enc == "mixed":  # first half UTF-8, second half cp1252: a file glued from two exports
        half = len(text) // 2
        return text[:half].encode("utf-8") + text[half:].encode("cp1252", errors="replace")
    if enc == "bom-utf8":
        return codecs.BOM_UTF8 + data
    return text.encode(enc, errors="replace")


def damage_tags(data: bytes, how: str, f: float) -> bytes:
    if how == "billion_laughs":
        lols = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
        return f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lols}]>'.encode() + \
            re.sub(rb"^<\?xml[^>]*\?>", b"", data).replace(b">", b">&l9;", 1)
    if how == "quadratic":  # one big entity referenced many times: no nesting, still a blow-up
        return (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{"x" * 50_000}">]>'.encode()
                + re.sub(rb"^<\?xml[^>]*\?>", b"", data).replace(b">", b">" + b"&a;" * 5000, 1))
    if how == "xxe":
        return (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + re.sub(rb"^<\?xml[^>]*\?>", b"", data).replace(b">", b">&x;", 1))
    if how == "entity":  # an undeclared entity reference
        p = _pos(data, f)
        return data[:p] + b"&undeclared;" + data[p:]
    if how == "nul":
        p = _pos(data, f)
        return data[:p] + b"\x00" + data[p:]
    if how == "cdata":
        p = _pos(data, f)
        return data[:p] + b"<![CDATA[ unclosed " + data[p:]
    if how == "deep_nest":
        p = _pos(data, f)
        return data[:p] + b"<d>" * 3000 + b"deep" + b"</d>" * 3000 + data[p:]
    if how == "strip_root":
        return re.sub(rb"<(\w+:)?(alto|document|html)\b", b"<other", data, count=1)
    if how == "bad_attr":
        return data.replace(b'="', b'=', 1)
    starts = _tag_positions(data, rb"<[A-Za-z/]")
    if not starts:
        return data
    p = starts[min(len(starts) - 1, int(f * len(starts)))]
    if how == "drop_lt":
        return data[:p] + data[p + 1:]
    if how == "drop_gt":
        q = data.find(b">", p)
        return data if q < 0 else data[:q] + data[q + 1:]
    if how == "rename_close":
        closes = _tag_positions(data, rb"</[A-Za-z]")
        if not closes:
            return data
        q = closes[min(len(closes) - 1, int(f * len(closes)))]
        return data[:q + 2] + b"zz" + data[q + 2:]
    if how == "unclose":
        closes = _tag_positions(data, rb"</[A-Za-z][^>]*>")
        if not closes:
            return data
        q = closes[min(len(closes) - 1, int(f * len(closes)))]
        end = data.find(b">", q)
        return data[:q] + data[end + 1:]
    if how == "dup_open":
        end = data.find(b">", p)
        return data if end < 0 else data[:end + 1] + data[p:end + 1] + data[end + 1:]
    if how == "swap_tags":
        q = starts[-1 - min(len(starts) - 1, int(f * len(starts)))]
        a, b = sorted((p, q))
        ea, eb = data.find(b">", a), data.find(b">", b)
        if ea < 0 or eb < 0 or ea >= b:
            return data
        return data[:a] + data[b:eb + 1] + data[ea + 1:b] + data[a:ea + 1] + data[eb + 1:]
    raise ValueError(how)


# ---------------------------------------------------------------------------- collectors
class Collector:
    """An exclusion writer that keeps the records in memory (a stand-in for ``ExclusionWriter``)."""

    def __init__(self):
        self.records: list = []

    def write(self, document, rank: int = 0, **kwargs):
        self.records.append(document)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def close(self):
        return None


class Unaccounted(AssertionError):
    """A book went missing (or appeared from nowhere)."""


def _stat(step, key: str) -> int:
    v = step.stats.stats.get(key) if hasattr(step.stats, "stats") else None
    if v is None:
        return 0
    return int(getattr(v, "total", v) or 0)


# ---------------------------------------------------------------------------- stages
class StageChain:
    """Every registered stage (kinds ``stage`` and ``filter``), instantiated once, run directly."""

    def __init__(self):
        from finebooks.registry import REGISTRY

        self.stages = []
        self.skipped = dict(SKIPPED_STAGES)
        for name, spec in REGISTRY.items():
            if spec.kind not in ("stage", "filter") or name in SKIPPED_STAGES:
                continue
            params = dict(STAGE_PARAMS.get(name, {}))
            try:
                cls = spec.load()
                from finebooks.registry import stage_params

                missing = [p.name for p in stage_params(cls).values() if p.required and p.name not in params]
                if missing:
                    self.skipped[name] = f"needs parameters {missing} (add them to STAGE_PARAMS)"
                    continue
                collector = Collector() if spec.kind == "filter" else None
                if collector is not None:
                    params["exclusion_writer"] = collector
                self.stages.append((name, spec.kind, cls(**params), collector))
            except Exception as e:  # noqa: BLE001 - a stage that cannot be built is reported, not fuzzed
                self.skipped[name] = f"could not be built: {e.__class__.__name__}: {e}"

    @property
    def names(self) -> list[str]:
        return [s[0] for s in self.stages]

    def run(self, docs: list) -> None:
        """Pass ``docs`` through every stage in turn; raise :class:`Unaccounted` on a count mismatch."""
        for name, kind, step, collector in self.stages:
            before = len(collector.records) if collector else 0
            ids_in = [d.id for d in docs]
            out = list(step.run(iter(docs), rank=0, world_size=1))
            dropped = (len(collector.records) - before) if collector else 0
            if len(out) + dropped != len(ids_in):
                raise Unaccounted(f"stage {name}: {len(ids_in)} books in, {len(out)} out, {dropped} excluded")
            for d in out:
                if not isinstance(d.text, str):
                    raise Unaccounted(f"stage {name}: text of {d.id} became {type(d.text).__name__}")
            if collector is not None and len(collector.records) > 10_000:
                del collector.records[:]
            docs = out


# ---------------------------------------------------------------------------- cases
@dataclass
class Outcome:
    target: str
    books: int = 0
    excluded: int = 0
    reasons: Counter = field(default_factory=Counter)


def _reader(fmt: str, folder: Path, collector: Collector, **options):
    from finebooks.readers import get_reader_class

    return get_reader_class(fmt)(str(folder), exclusion_writer=collector, **options)


def _run_reader(reader, collector: Collector) -> list:
    docs = list(reader.run(None, rank=0, world_size=1))
    books, excluded = _stat(reader, "books"), _stat(reader, "excluded")
    if books != len(docs) or excluded != len(collector.records):
        raise Unaccounted(f"{reader.name}: emitted {len(docs)} books / {len(collector.records)} exclusions, "
                          f"stats say {books} / {excluded}")
    return docs


def _check_units(reader, docs: list, collector: Collector) -> None:
    """Every book unit the reader listed has an outcome (a book or an exclusion with its id)."""
    ids = {d.id for d in docs} | {r.id for r in collector.records}
    for unit in reader.list_units():
        if reader.make_id(unit.key) not in ids:
            raise Unaccounted(f"{reader.name}: unit {unit.key} has neither a book nor an exclusion")


def _write_text_case(fmt: str, folder: Path, data: bytes, extra: list[bytes]) -> None:
    if fmt == "page_folder":
        book = folder / "book1"
        book.mkdir(parents=True)
        for i, page in enumerate([data, *extra], 1):
            (book / f"page{i:04d}.txt").write_bytes(page)
    elif fmt == "djvu":
        (folder / "item1_djvu.txt").write_bytes(data)
        for i, e in enumerate(extra):
            (folder / f"item{i + 2}_djvu.txt").write_bytes(e)
    else:
        (folder / "book1.txt").write_bytes(data)
        for i, e in enumerate(extra):
            (folder / f"book{i + 2}.txt").write_bytes(e)


def _row_values(seeds: Seeds, rng: random.Random, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        name, data = seeds.pick("text", rng.randrange(10**6))
        text = data.decode("utf-8", errors="replace")
        pages = [p for p in re.split(r"\n\s*\n|\f", text) if p.strip()][:20] or [text]
        rows.append({"id": f"b{i}", "text": "\f".join(pages), "title": name, "year": str(1800 + i), "pages": pages})
    return rows


def _damage_row(rows: list[dict], damage: str, i: int) -> None:
    row = rows[i % len(rows)]
    if damage == "null_id":
        row["id"] = None
    elif damage == "dup_id":
        row["id"] = rows[0].get("id", "b0")
    elif damage == "empty_text":
        row["text"] = ""
    elif damage == "space_text":
        row["text"] = " \n\f\t "
    elif damage == "ff_only":
        row["text"] = "\f\f\f"
    elif damage == "int_text":
        row["text"] = 12345
    elif damage == "bool_text":
        row["text"] = True
    elif damage == "list_text":
        row["text"] = row["pages"]
    elif damage == "list_of_ints":
        row["text"] = [1, 2, None]
    elif damage == "dict_text":
        row["text"] = {"page": "x"}
    elif damage == "bad_metadata_json":
        row["metadata_json"] = "{not json"
    elif damage == "metadata_not_dict":
        row["metadata_json"] = "[1, 2, 3]"
    elif damage == "huge_text":
        row["text"] = ("word " * 200_000)
    elif damage == "drop_text_col":
        row.pop("text", None)
    elif damage == "drop_id_col":
        row.pop("id", None)


def _write_parquet_rows(path: Path, rows: list[dict]) -> int:
    """Write rows; rows whose values cannot share one schema go to files of their own. Returns files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        sig = tuple(sorted((k, type(v).__name__) for k, v in r.items()))
        groups[sig].append(r)
    n = 0
    for k, group in enumerate(groups.values()):
        try:
            table = pa.Table.from_pylist(group)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            table = pa.Table.from_pylist([{k2: json.dumps(v) for k2, v in r.items()} for r in group])
        pq.write_table(table, path.with_name(f"{path.stem}_{k}.parquet"))
        n += 1
    return n


def _page_rows(rows: list[dict], damage: list[str]) -> list[dict]:
    out = []
    for r in rows:
        for p, text in enumerate(r.get("pages") or [""], 1):
            out.append({"book_id": r.get("id"), "page": p, "text": text, "title": r.get("title")})
    for k, d in enumerate(damage):
        row = out[(k * 7) % len(out)]
        if d == "null_id":
            row["book_id"] = None
        elif d == "null_page":
            row["page"] = None
        elif d == "str_page":
            row["page"] = "iv"
        elif d == "dup_page":
            row["page"] = 1
        elif d in ("empty_text", "space_text"):
            row["text"] = "" if d == "empty_text" else "  \n "
        elif d == "int_text":
            row["text"] = 7
        elif d == "drop_text_col":
            row.pop("text", None)
        elif d == "drop_id_col":
            row.pop("book_id", None)
    return out


def _file_rows(path: Path) -> int | None:
    """Rows in a Parquet file by pyarrow (None: unreadable)."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).num_rows
    except Exception:  # noqa: BLE001
        return None


def run_case(case: dict, seeds: Seeds, chain: StageChain | None, workdir: Path) -> Outcome:
    """Build one damaged input, read it, run its books through every stage; raise on a failure."""
    target = case["target"]
    rng = random.Random(case["seed"])
    muts = case["mutations"]
    folder = workdir / "in"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    collector = Collector()
    out = Outcome(target)

    def damaged(kind: str) -> bytes:
        _name, data = seeds.pick(kind, rng.randrange(10**6))
        for m in muts:
            data = mutate_bytes(data, m)
        return data

    if target in XML_TARGETS:
        kind = "alto" if target.startswith("alto") else target
        ext = ".hocr" if kind == "hocr" else ".xml"
        if target == "alto_folder":
            book = folder / "book1"
            book.mkdir()
            (book / "p0001.xml").write_bytes(seeds.pick("alto", rng.randrange(10**6))[1])
            (book / "p0002.xml").write_bytes(damaged("alto"))
            reader = _reader("alto", folder, collector, group_by="folder")
        else:
            (folder / f"book1{ext}").write_bytes(damaged(kind))
            reader = _reader(kind, folder, collector)
        docs = _run_reader(reader, collector)
        _check_units(reader, docs, collector)
    elif target in TEXT_TARGETS:
        extra = [seeds.pick("text", rng.randrange(10**6))[1][:5000] for _ in range(rng.randrange(3))]
        _write_text_case(target, folder, damaged("text"), extra)
        reader = _reader(target, folder, collector)
        docs = _run_reader(reader, collector)
        _check_units(reader, docs, collector)
    elif target in ("book_parquet", "book_jsonl", "hf"):
        rows = _row_values(seeds, rng, rng.randint(1, 6))
        for k, d in enumerate(case.get("rows", [])):
            _damage_row(rows, d, k)
        for r in rows:
            r.pop("pages", None)
        if target == "book_jsonl":
            lines = []
            for r in rows:
                try:
                    lines.append(json.dumps(r).encode())
                except (TypeError, ValueError):
                    lines.append(b"{}")
            data = b"\n".join(lines) + b"\n"
            for m in muts:
                data = mutate_bytes(data, m)
            (folder / "rows.jsonl").write_bytes(data)
            reader = _reader("book_jsonl", folder, collector)
            docs = _run_reader(reader, collector)
            text = data.decode("utf-8", errors="strict") if _utf8(data) else None
            # one outcome per non-blank line; a file without any is one ``empty_file`` exclusion
            expected = max(1, sum(1 for line in re.split(r"\r\n|\r|\n", text) if line.strip())) if text is not None else None
        else:
            _write_parquet_rows(folder / "rows.parquet", rows)
            files = sorted(folder.glob("*.parquet"))
            if muts:  # byte damage on one of the files
                f = files[rng.randrange(len(files))]
                data = f.read_bytes()
                for m in muts:
                    data = mutate_bytes(data, m)
                f.write_bytes(data)
            if target == "hf":
                from finebooks.readers.book_rows import BookHFReader

                reader = BookHFReader("parquet", dataset_options={
                    "data_files": [str(f) for f in files], "split": "train",
                    "cache_dir": str(workdir / "hf_cache")}, exclusion_writer=collector)
                docs = _run_reader(reader, collector)  # a dataset `datasets` cannot load is one exclusion
                expected = None
            else:
                reader = _reader("book_parquet", folder, collector)
                docs = _run_reader(reader, collector)
                counts = [_file_rows(f) for f in files]
                expected = sum(max(c, 1) for c in counts) if all(c is not None for c in counts) else None
        n = len(docs) + len(collector.records)
        if expected is not None and n != expected:
            raise Unaccounted(f"{target}: {expected} rows, {len(docs)} books + {len(collector.records)} exclusions")
        if n == 0:
            raise Unaccounted(f"{target}: nothing came out of a non-empty input")
    elif target in ("page_rows_parquet", "page_rows_jsonl"):
        rows = _page_rows(_row_values(seeds, rng, rng.randint(1, 4)), case.get("rows", []))
        if target == "page_rows_parquet":
            _write_parquet_rows(folder / "pages.parquet", rows)
        else:
            (folder / "pages_0.jsonl").write_bytes(b"\n".join(json.dumps(r).encode() for r in rows) + b"\n")
        files = sorted(folder.iterdir())
        if muts:
            f = files[rng.randrange(len(files))]
            data = f.read_bytes()
            for m in muts:
                data = mutate_bytes(data, m)
            f.write_bytes(data)
        reader = _reader("page_rows", folder, collector)
        docs = _run_reader(reader, collector)
        if len(docs) + len(collector.records) == 0:
            raise Unaccounted(f"{target}: nothing came out of a non-empty input")
        if not muts:  # undamaged bytes: every book id (and every row without one) has an outcome
            ids = {r.get("book_id") for r in rows if "book_id" in r}
            if all("book_id" in r and "text" in r for r in rows):
                expected = len({i for i in ids if i is not None}) + (1 if None in ids else 0)
                if len(docs) + len(collector.records) < expected:
                    raise Unaccounted(f"{target}: {expected} book ids, {len(docs)} books + "
                                      f"{len(collector.records)} exclusions")
    elif target == "stages_direct":
        from datatrove.data import Document

        docs = []
        for k in range(rng.randint(1, 3)):
            text = damaged("text").decode("utf-8", errors="replace")
            docs.append(Document(text=text, id=f"direct/{k}", metadata={"n_pages": text.count("\f") + 1}))
    elif target == "engine":
        return run_engine_case(case, seeds, workdir, rng)
    else:
        raise ValueError(target)
    if chain is not None and docs:
        chain.run(docs)
    return _summarise(out, docs, collector)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _summarise(out: Outcome, docs: list, collector: Collector, note: str | None = None) -> Outcome:
    out.books = len(docs)
    out.excluded = len(collector.records)
    for r in collector.records:
        out.reasons[str(r.metadata.get("exclusion_reason", "?")).split(":")[0]] += 1
    if note:
        out.reasons[note] += 1
    return out


#: small parameters for multi-stage steps in engine cases (registered ones not listed run with defaults)
MULTI_PARAMS = {"minhash_dedup": {"num_buckets": 2, "hashes_per_bucket": 2}}


def multi_stages() -> list[str]:
    """Registered multi-stage steps (dedup): the engine cases rotate through them."""
    from finebooks.registry import REGISTRY

    return sorted(n for n, s in REGISTRY.items() if s.kind == "multi")


def run_engine_case(case: dict, seeds: Seeds, workdir: Path, rng: random.Random) -> Outcome:
    """A whole recipe (several readers, repair, scoring, a filter and one registered multi-stage
    step - MinHash or another dedup, in rotation) on a damaged collection."""
    from finebooks.engine import run_recipe
    from finebooks.recipe import validate

    multis = multi_stages()
    multi = multis[case["seed"] % len(multis)]

    src = workdir / "in"
    for sub, kind, ext in (("alto", "alto", ".xml"), ("hocr", "hocr", ".hocr"), ("text", "text", ".txt")):
        (src / sub).mkdir()
        for k in range(3):
            data = seeds.pick(kind, rng.randrange(10**6))[1]
            if k == 0:
                for m in case["mutations"]:
                    data = mutate_bytes(data, m)
            (src / sub / f"b{k}{ext}").write_bytes(data)
    run_dir = workdir / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    recipe = validate({
        "name": "fuzz",
        "input": [{"reader": "alto", "path": str(src / "alto")}, {"reader": "hocr", "path": str(src / "hocr")},
                  {"reader": "formfeed", "path": str(src / "text")}],
        "stages": ["normalise_characters", "remove_running_heads", "score_book_heuristics",
                   {"metadata_filter": {"key": "bh_n_words", "min": 5}},
                   {multi: MULTI_PARAMS.get(multi, {})}],
        "output": {"path": str(run_dir)},
        "executor": {"type": "local", "tasks": 2, "workers": 1},
    }, source="<fuzz engine case>")
    with contextlib.redirect_stderr(io.StringIO()):
        summary = run_recipe(recipe, run_dir)
    if summary.unaccounted != 0 or summary.books_in != 9:
        raise Unaccounted(f"engine ({multi}): books in {summary.books_in} (9 files), kept {summary.kept}, "
                          f"excluded {summary.excluded}")
    out = Outcome("engine", summary.kept, summary.excluded)
    out.reasons[f"engine_case_{multi}"] += 1
    for reason, n in summary.excluded_by_reason.items():
        out.reasons[reason.split(": ", 1)[-1]] += n
    return out


# ---------------------------------------------------------------------------- hypothesis strategies
def strategies(engine_weight: int = 1):
    from hypothesis import strategies as st

    unit = st.floats(0, 1, allow_nan=False)
    mutation = st.one_of(
        st.tuples(st.just("flip"), st.lists(st.tuples(unit, st.integers(1, 255)), min_size=1, max_size=16)),
        st.tuples(st.just("truncate"), unit),
        st.tuples(st.just("encoding"), st.sampled_from(ENCODINGS)),
        st.tuples(st.just("tag"), st.sampled_from(TAG_DAMAGE), unit),
        st.tuples(st.just("splice"), unit, unit, st.integers(1, 40)),
        st.tuples(st.just("insert"), unit, st.binary(min_size=1, max_size=48)),
        st.tuples(st.just("empty")),
    )
    targets = [t for t in TARGETS if t != "engine"]
    target = st.one_of(st.sampled_from(targets), st.just("engine")) if engine_weight else st.sampled_from(targets)
    return st.fixed_dictionaries({
        "target": target,
        "seed": st.integers(0, 2**31),
        "mutations": st.lists(mutation, max_size=3),
        "rows": st.lists(st.sampled_from(ROW_DAMAGE), max_size=4),
    })


def mutation_name(m: tuple) -> str:
    return m[0] + (f":{m[1]}" if m[0] in ("encoding", "tag") else "")


# ---------------------------------------------------------------------------- long mode
@dataclass
class Tally:
    cases: int = 0
    crashes: int = 0
    unaccounted: int = 0
    books: int = 0
    excluded: int = 0
    by_target: Counter = field(default_factory=Counter)
    by_mutation: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"cases": self.cases, "crashes": self.crashes, "unaccounted": self.unaccounted,
                "books_out": self.books, "exclusions": self.excluded, "seconds": round(self.seconds, 1),
                "by_target": dict(self.by_target), "by_mutation": dict(self.by_mutation.most_common()),
                "exclusion_reasons": dict(self.reasons.most_common()), "failures": self.failures[:50]}


def long_mode(n_cases: int, seed: int, report: Path | None, failures_dir: Path | None, engine_every: int,
              max_text_bytes: int | None = None) -> Tally:
    import logging

    from datatrove.utils.logging import logger
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    logger.remove()  # readers log a warning for every exclusion: thousands of lines
    logging.getLogger().setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    if max_text_bytes:
        MAX_SEED_BYTES["text"] = max_text_bytes
    seeds = load_seeds()
    print(f"seeds: {seeds.counts()}", flush=True)
    chain = StageChain()
    print(f"stages fuzzed ({len(chain.names)}): {', '.join(chain.names)}", flush=True)
    for name, why in chain.skipped.items():
        print(f"  not fuzzed: {name}: {why}", flush=True)
    tally = Tally()
    work = Path(tempfile.mkdtemp(prefix="finebooks_fuzz_"))
    start = time.perf_counter()

    @hypothesis_seed(seed)
    @settings(max_examples=n_cases, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=("generate",))
    @given(strategies(engine_weight=0))
    def prop(case):
        if tally.cases % engine_every == engine_every - 1:
            case = dict(case, target="engine")
        tally.cases += 1
        tally.by_target[case["target"]] += 1
        for m in case["mutations"]:
            tally.by_mutation[mutation_name(m)] += 1
        try:
            out = run_case(case, seeds, chain, work)
            tally.books += out.books
            tally.excluded += out.excluded
            tally.reasons.update(out.reasons)
        except Unaccounted as e:
            tally.unaccounted += 1
            _record(tally, case, e, failures_dir, work)
        except Exception as e:  # noqa: BLE001 - a crash: count it, keep the input, go on
            tally.crashes += 1
            _record(tally, case, e, failures_dir, work)
        if tally.cases % 250 == 0:
            el = time.perf_counter() - start
            if report:  # figures so far, in case the run is stopped before the end
                tally.seconds = el
                report.write_text(json.dumps(tally.as_dict(), indent=2))
            print(f"{tally.cases}/{n_cases} cases  crashes {tally.crashes}  unaccounted {tally.unaccounted}  "
                  f"books {tally.books}  exclusions {tally.excluded}  {el:.0f} s", flush=True)

    prop()
    tally.seconds = time.perf_counter() - start
    shutil.rmtree(work, ignore_errors=True)
    if report:
        report.write_text(json.dumps(tally.as_dict(), indent=2))
    return tally


def _case_from_json(case: dict) -> dict:
    def conv(v):
        if isinstance(v, dict) and "bytes_hex" in v:
            return bytes.fromhex(v["bytes_hex"])
        if isinstance(v, list):
            return tuple(conv(x) for x in v)
        return v

    return {"target": case["target"], "seed": case["seed"], "rows": list(case.get("rows", [])),
            "mutations": [conv(m) for m in case["mutations"]]}


def replay(report: Path, max_text_bytes: int | None = None) -> int:
    """Re-run a report's failing cases with the current code (same seed files, same mutations)."""
    from datatrove.utils.logging import logger

    logger.remove()
    if max_text_bytes:
        MAX_SEED_BYTES["text"] = max_text_bytes
    seeds, chain = load_seeds(), StageChain()
    work = Path(tempfile.mkdtemp(prefix="finebooks_fuzz_replay_"))
    still = 0
    for f in json.loads(report.read_text())["failures"]:
        case = _case_from_json(f["case"])
        try:
            out = run_case(case, seeds, chain, work)
            print(f"fixed   {case['target']:<18} was {f['error'][:90]!r} -> {out.books} books, {dict(out.reasons)}")
        except Exception as e:  # noqa: BLE001 - report it
            still += 1
            print(f"FAILING {case['target']:<18} {e.__class__.__name__}: {str(e)[:200]}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if still else 0


#: functions of this file that build a case's input: an exception there is a bug of the fuzzer
HARNESS_FUNCTIONS = ("_damage_row", "_page_rows", "_row_values", "_write_parquet_rows", "mutate_bytes",
                     "swap_encoding", "damage_tags", "_write_text_case")


def is_harness_error(failure: dict) -> bool:
    """True when a failure's innermost frame is the fuzzer building its input, not FineBooks code."""
    frames = re.findall(r'File "([^"]+)", line \d+, in (\w+)', failure.get("traceback", ""))
    return bool(frames) and frames[-1][0].endswith("benchmarks/fuzz.py") and frames[-1][1] in HARNESS_FUNCTIONS


def merge_reports(paths: list[Path]) -> dict:
    """Sum the figures of several long-mode reports (shards run in parallel with different seeds).

    Failures raised while the fuzzer built a case's input (see :func:`is_harness_error`) are
    counted apart as ``harness_errors``: no FineBooks code ran in them."""
    out: dict = {"cases": 0, "crashes": 0, "unaccounted": 0, "books_out": 0, "exclusions": 0, "seconds": 0.0,
                 "by_target": Counter(), "by_mutation": Counter(), "exclusion_reasons": Counter(), "failures": [],
                 "shards": [str(p) for p in paths]}
    for p in paths:
        d = json.loads(Path(p).read_text())
        for k in ("cases", "crashes", "unaccounted", "books_out", "exclusions"):
            out[k] += d[k]
        out["seconds"] = max(out["seconds"], d["seconds"])  # shards run side by side
        for k in ("by_target", "by_mutation", "exclusion_reasons"):
            out[k].update(d[k])
        out["failures"] += d["failures"]
    for k in ("by_target", "by_mutation", "exclusion_reasons"):
        out[k] = dict(out[k].most_common())
    out["harness_errors"] = sum(1 for f in out["failures"] if is_harness_error(f))
    out["crashes"] -= out["harness_errors"]
    return out


def _record(tally: Tally, case: dict, err: Exception, failures_dir: Path | None, work: Path) -> None:
    info = {"case": _jsonable(case), "error": f"{err.__class__.__name__}: {err}"[:2000],
            "traceback": traceback.format_exc()[-3000:]}
    tally.failures.append(info)
    print(f"FAILURE {info['error'][:300]}\n  case {json.dumps(info['case'])[:500]}", flush=True)
    if failures_dir is not None:
        d = failures_dir / f"case{tally.cases:06d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "case.json").write_text(json.dumps(info, indent=2))
        if (work / "in").exists():
            shutil.copytree(work / "in", d / "in", dirs_exist_ok=True)


def _jsonable(case: dict) -> dict:
    def conv(v):
        if isinstance(v, bytes):
            return {"bytes_hex": v.hex()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in case.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine-every", type=int, default=250, help="every N-th case runs a whole recipe (MinHash)")
    p.add_argument("--report", type=Path, default=None, help="write the figures as JSON here")
    p.add_argument("--failures", type=Path, default=None, help="keep failing inputs here")
    p.add_argument("--max-text-bytes", type=int, default=None,
                   help=f"cut text seeds to this many bytes (default {MAX_SEED_BYTES['text']})")
    p.add_argument("--merge", type=Path, nargs="+", default=None,
                   help="add up the JSON reports of several runs (shards with different --seed) and print them")
    p.add_argument("--replay", type=Path, default=None,
                   help="run the failing cases of a report again (same seeds) and print how each ends now")
    args = p.parse_args(argv)
    if args.replay:
        return replay(args.replay, args.max_text_bytes)
    if args.merge:
        d = merge_reports(args.merge)
        if args.report:
            args.report.write_text(json.dumps(d, indent=2))
        print(json.dumps({k: d[k] for k in ("cases", "crashes", "harness_errors", "unaccounted", "books_out",
                                            "exclusions", "seconds", "by_target")}, indent=2))
        return 0 if d["crashes"] == 0 and d["unaccounted"] == 0 else 1
    tally = long_mode(args.cases, args.seed, args.report, args.failures, args.engine_every, args.max_text_bytes)
    d = tally.as_dict()
    print(json.dumps({k: d[k] for k in ("cases", "crashes", "unaccounted", "books_out", "exclusions", "seconds",
                                        "by_target")}, indent=2))
    return 0 if tally.crashes == 0 and tally.unaccounted == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
