"""The eval suite: held-out clean book text, bits per byte, and multiple-choice tasks built from it.

Sources (``eval.source``):

* ``gold`` — clean transcriptions in ``../shared/data/gold/<gold_subdir>`` (default the English
  novels): ``n_books`` books picked with ``eval.seed``; the eval text is a slice of
  ``max_bytes_per_book`` starting a quarter into the book (past the front matter);
* ``sample`` — the ground-truth clean pages (``books.jsonl``) of a ``finebooks sample``
  collection: ``n_books`` books that have no duplicate scan;
* ``folder`` — a user's folder of ``.txt`` files, one book each (up to ``max_bytes_per_book``
  from the start);
* ``auto`` — ``gold`` when that folder exists, else ``sample``.

The whole of each eval book (not only its slice) is fingerprinted for the leakage check.

Tasks, scored by length-normalised log-likelihood (sum of the continuation's token
log-probabilities divided by its UTF-8 bytes; the candidate with the highest score wins), chance
is 1 in 4:

* ``next_sentence`` — two sentences of context; the true next sentence against three other
  sentences of the same book (within 20% of its length, picked among the six closest in length,
  not near the true one);
* ``final_word`` — a sentence without its last word (plus the sentence before); the true word
  against three other words of the same book.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_SENT = re.compile(r"(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bMM\.)(?<=[.!?])[\"'”’»)]*\s+(?=[\"“‘«(]?[A-ZÀ-ÖØ-Þ])")
_LAST_WORD = re.compile(r"^(.*\S)\s+([^\W\d_]{3,})([.!?;:,\"'”’»)]*)$", re.DOTALL | re.UNICODE)
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


@dataclass
class EvalBook:
    id: str
    full_text: str
    eval_text: str
    language: str | None = None


@dataclass
class MCItem:
    task: str
    book: str
    context: str
    candidates: list[str]
    answer: int


@dataclass
class EvalSuite:
    source: str
    location: str
    books: list[EvalBook]
    items: list[MCItem] = field(default_factory=list)

    @property
    def eval_bytes(self) -> int:
        return sum(len(b.eval_text.encode("utf-8")) for b in self.books)

    def tasks(self) -> list[str]:
        return sorted({i.task for i in self.items})

    def describe(self) -> str:
        counts = {t: sum(1 for i in self.items if i.task == t) for t in self.tasks()}
        return (f"{self.source} ({self.location}): {len(self.books)} held-out books, {self.eval_bytes / 1e3:.0f} kB "
                f"of eval text; tasks: " + ", ".join(f"{t} {n} items" for t, n in counts.items()))


def _paragraphs(text: str) -> list[str]:
    paras = re.split(r"\n\s*\n|\f", text)
    return [" ".join(p.split()) for p in paras if p.strip()]


def sentences(text: str) -> list[str]:
    out = []
    for p in _paragraphs(text):
        out.extend(s.strip() for s in _SENT.split(p) if s.strip())
    return out


def _slice(text: str, max_bytes: int, start_frac: float) -> str:
    """About ``max_bytes`` of ``text`` from ``start_frac`` of the way in, cut at paragraph breaks."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    start = int(len(text) * start_frac)
    nxt = text.find("\n\n", start)
    start = nxt + 2 if 0 <= nxt < start + 5000 else start
    piece = text[start: start + max_bytes]
    while len(piece.encode("utf-8")) > max_bytes:
        piece = piece[: int(len(piece) * 0.95)]
    cut = piece.rfind("\n\n")
    return piece[:cut] if cut > len(piece) // 2 else piece


def _gold_books(root: Path, cfg) -> list[EvalBook]:
    folder = root / cfg.gold_subdir if cfg.gold_subdir else root
    files = sorted(folder.rglob("*.txt"))
    if not files:
        raise FileNotFoundError(f"eval source gold: no .txt books in {folder}")
    rng = np.random.default_rng(cfg.seed)
    pick = sorted(rng.choice(len(files), size=min(cfg.n_books, len(files)), replace=False))
    out = []
    for i in pick:
        f = files[i]
        text = f.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        out.append(EvalBook(f"gold/{f.stem}", text, _slice(text, cfg.max_bytes_per_book, 0.25)))
    return out


def _sample_books(root: Path, cfg) -> list[EvalBook]:
    path = root / "books.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"eval source sample: {path} not found (write one with `finebooks sample DIR`)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    dup_targets = {r["duplicate_of"] for r in rows if r.get("duplicate_of")}
    eligible = [r for r in rows if not r.get("duplicate_of") and r["book_id"] not in dup_targets
                and not str(r.get("path", "")).startswith("bad/")]
    if not eligible:
        raise ValueError(f"eval source sample: no eligible books in {path}")
    rng = np.random.default_rng(cfg.seed)
    pick = sorted(rng.choice(len(eligible), size=min(cfg.n_books, len(eligible)), replace=False))
    out = []
    for i in pick:
        r = eligible[i]
        text = "\n\n".join(p for p in r["clean_pages"] if p.strip())
        out.append(EvalBook(r["book_id"], text, _slice(text, cfg.max_bytes_per_book, 0.0), r.get("language")))
    return out


def _folder_books(root: Path, cfg) -> list[EvalBook]:
    files = sorted(p for p in root.rglob("*.txt") if p.is_file())
    if not files:
        raise FileNotFoundError(f"eval source folder: no .txt files in {root}")
    out = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        out.append(EvalBook(f"eval/{f.relative_to(root).with_suffix('')}", text, _slice(text, cfg.max_bytes_per_book, 0.0)))
    return out


def resolve_source(cfg, shared_data: Path, sample_hint: str | None) -> tuple[str, Path]:
    """(source kind, folder) for ``eval.source`` / ``eval.path``."""
    source = cfg.source
    if source == "auto":
        gold = Path(cfg.path) if cfg.path else shared_data / "gold"
        source = "gold" if gold.is_dir() and not (gold / "books.jsonl").exists() else "sample"
    if cfg.path:
        return source, Path(cfg.path)
    if source == "gold":
        return source, shared_data / "gold"
    if source == "sample":
        hint = Path(sample_hint) if sample_hint else None
        return source, hint if hint and (hint / "books.jsonl").is_file() else Path("sample")
    raise ValueError("eval.path is required for eval.source folder")


def _next_sentence_items(book: EvalBook, rng, n_items: int) -> list[MCItem]:
    sents = sentences(book.eval_text)
    usable = [j for j, x in enumerate(sents) if 20 <= len(x) <= 400]  # answers and distractors
    items = []
    if len(usable) < 12:
        return items
    order = rng.permutation([j for j in usable if j >= 2])
    for i in order:
        if len(items) >= n_items:
            break
        ans = sents[i]
        # distractors of about the same length: per-byte scores favour longer sentences (their
        # costly first tokens are spread over more bytes), so a length gap would decide the item
        pool = [j for j in usable if abs(j - i) > 2 and sents[j] != ans]
        pool.sort(key=lambda j: (abs(math.log(len(sents[j]) / len(ans))), j))
        pool = [j for j in pool[:6] if 0.8 <= len(sents[j]) / len(ans) <= 1.25]
        if len(pool) < 3:
            continue
        others = [sents[j] for j in rng.choice(pool, size=3, replace=False)]
        cands = [ans] + others
        perm = rng.permutation(4)
        items.append(MCItem("next_sentence", book.id, " ".join(sents[i - 2: i]), [cands[k] for k in perm],
                            int(np.where(perm == 0)[0][0])))
    return items


def _final_word_items(book: EvalBook, rng, n_items: int) -> list[MCItem]:
    sents = sentences(book.eval_text)
    vocab = sorted({w for w in _WORD.findall(book.eval_text)})
    lower = [w for w in vocab if w.islower()]
    items = []
    if len(lower) < 20:
        return items
    order = rng.permutation(len(sents))
    for i in order:
        if len(items) >= n_items:
            break
        m = _LAST_WORD.match(sents[i])
        if not m or len(sents[i].split()) < 6:
            continue
        head, word = m.group(1), m.group(2)
        if not word.islower():
            continue
        pool = [w for w in lower if w != word]
        others = list(rng.choice(pool, size=3, replace=False))
        cands = [word] + [str(o) for o in others]
        perm = rng.permutation(4)
        context = ((sents[i - 1] + " ") if i > 0 else "") + head
        items.append(MCItem("final_word", book.id, context, [cands[k] for k in perm], int(np.where(perm == 0)[0][0])))
    return items


def build_eval_suite(cfg, shared_data: Path, sample_hint: str | None = None) -> EvalSuite:
    """Load the eval books of ``cfg`` (an :class:`~finebooks.ablation.config.EvalConfig`) and make the tasks."""
    source, root = resolve_source(cfg, shared_data, sample_hint)
    if not root.exists():
        raise FileNotFoundError(f"eval source {source}: {root} does not exist")
    books = {"gold": _gold_books, "sample": _sample_books, "folder": _folder_books}[source](root, cfg)
    suite = EvalSuite(source, str(root), books)
    rng = np.random.default_rng(cfg.seed + 1)
    for book in books:
        if "next_sentence" in cfg.tasks:
            suite.items += _next_sentence_items(book, rng, cfg.items_per_book)
        if "final_word" in cfg.tasks:
            suite.items += _final_word_items(book, rng, cfg.items_per_book)
    return suite


def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)
