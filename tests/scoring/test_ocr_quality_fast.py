"""The fast paths of the OCR quality scorer give exactly what the plain numpy they replace gives.

OcrQualityScorer used to lower-case each book with ``str.lower``, look its characters up in the
character model, build the trigram index with ``np.where`` resets and sum one boolean array per
statistic and per token rule. It now looks the lower-cased class up from the code units
(``charlm.lower_map``), folds the index reset into the log-probability table, counts rare events
from their positions, and computes the token rules from one table over (previous, this, next)
class triples (``ocr_quality._rule_tables``). The plain versions are written out below, as they
were, and every number must be equal: counts exactly, sums of log-probabilities bit for bit.
"""

from __future__ import annotations

import copy
import functools
import random
import sys

import numpy as np
import pytest

from finebooks.scoring import charlm
from finebooks.scoring import ocr_quality as oq
from finebooks.scoring.ocr_quality import OcrQualityScorer, rule_counts


# ------------------------------------------------------------------ the plain versions
def ref_page_starts(codes):
    return np.concatenate(([0], np.flatnonzero(codes == 12) + 1)).astype(np.intp)


def ref_page_sums(values, starts):
    out = np.zeros(len(starts))
    ok = starts < len(values)
    if ok.any():
        v = values.view(np.uint8) if values.dtype == bool else values
        out[ok] = np.add.reduceat(v, starts[ok], dtype=np.float64 if v.dtype.kind == "f" else np.int64)
    return out


def ref_ngram_index(model, c):
    K, n = model.K, model.order
    c = np.concatenate((np.full(n - 1, charlm.BOUNDARY, dtype=c.dtype), c))
    L = len(c) - (n - 1)
    ctx = [c[j : j + L] for j in range(n)]
    for j in range(n - 3, -1, -1):
        ctx[j] = np.where(ctx[j + 1] == charlm.BOUNDARY, charlm.BOUNDARY, ctx[j])
    idx = ctx[0].astype(np.int32 if K**n < 2**31 else np.int64)
    for j in range(1, n):
        idx = idx * K + ctx[j]
    return idx


def ref_page_stats(model, low):
    """CharTrigramModel.page_stats of an already lower-cased text, as it was."""
    raw = np.frombuffer(low.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    starts = ref_page_starts(raw)
    c = model.table[raw].astype(np.int32)
    if len(c) == 0:
        z = np.zeros(len(starts))
        return {"n": z, "logp": z.copy(), "bad": z.copy(), "other": z.copy()}
    lp = model.logp[ref_ngram_index(model, c)]
    isb = c == charlm.BOUNDARY
    scored = ~isb
    scored[1:] |= ~isb[:-1]
    lp = np.where(scored, lp, np.float32(0.0))
    return {
        "n": ref_page_sums(scored, starts),
        "logp": ref_page_sums(lp, starts),
        "bad": ref_page_sums(lp < model.bad_logp, starts),
        "other": ref_page_sums(c == charlm.OTHER, starts),
    }


@functools.cache
def class_table():
    return oq._class_table()


def ref_rule_counts(text):
    """ocr_quality.rule_counts as it was: one boolean array per rule."""
    table, lone_ok = class_table()
    raw = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    starts = ref_page_starts(raw)
    n = len(raw)
    counts = np.zeros((len(starts), 5))
    if n < 3:
        return np.zeros(len(starts)) + (1 if text.strip() else 0), counts
    cls = table[raw]
    space = cls == oq._SPACE
    letter = (cls == oq._LOWER) | (cls == oq._UPPER)
    digit = cls == oq._DIGIT
    tok_start = ~space
    tok_start[1:] &= space[:-1]
    tokens = ref_page_sums(tok_start, starts)
    space_before = np.concatenate(([True], space[:-1]))
    space_after = np.concatenate((space[1:], [True]))
    lone = space_before & letter & ~lone_ok[raw] & space_after
    dw = np.zeros(n, dtype=bool)
    dw[1:] = (letter[:-1] & digit[1:]) | (digit[:-1] & letter[1:])
    pw = np.zeros(n, dtype=bool)
    pw[1:-1] = letter[:-2] & (cls[1:-1] == oq._SYMBOL) & letter[2:]
    mc = np.zeros(n, dtype=bool)
    mc[1:] = (cls[:-1] == oq._LOWER) & (cls[1:] == oq._UPPER)
    symbol = cls == oq._SYMBOL
    pr = np.zeros(n, dtype=bool)
    pr[1:] = symbol[:-1] & symbol[1:] & ~((raw[:-1] == 46) & (raw[1:] == 46))
    for j, mask in enumerate((lone, dw, pw, mc, pr)):
        counts[:, j] = ref_page_sums(mask, starts)
    return tokens, counts


def ref_page_features(model, text):
    n_pages = text.count("\f") + 1
    feats = np.full((n_pages, len(oq.FEATURES)), np.nan)
    low = text.lower()
    if "ſ" in low:
        low = low.replace("ſ", "s")
    st = ref_page_stats(model, low)
    n = st["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        feats[:, 0] = st["logp"] / n - model.self_logp
        feats[:, 1] = np.log(st["bad"] / n + oq._FEATURE_EPS["bad"])
        feats[:, 2] = np.log(st["other"] / n + oq._FEATURE_EPS["other"])
    tokens, rules = ref_rule_counts(text)
    with np.errstate(divide="ignore", invalid="ignore"):
        feats[:, 3:] = np.log(rules / np.maximum(tokens, 1)[:, None] + oq._RULE_EPS)
    feats[n == 0] = np.nan
    return tokens, n, feats


def ref_score_text(scorer, model, text, page_confidence=None):
    """OcrQualityScorer.score_text as it was (a loop over pages)."""
    tokens, n, feats = ref_page_features(model, text)
    q = scorer.quality_from_features(np.nan_to_num(feats), scorer.weights)
    conf_w = scorer.weight_confidence if scorer.use_confidence else 0.0
    page_scores, num, den = [], 0.0, 0.0
    for i in range(len(tokens)):
        if tokens[i] < scorer.min_tokens or n[i] == 0:
            page_scores.append(None)
            continue
        s = float(q[i])
        conf = page_confidence[i] if page_confidence is not None and i < len(page_confidence) else None
        if conf is not None and conf_w > 0:
            s = (1.0 - conf_w) * s + conf_w * min(1.0, max(0.0, float(conf)))
        page_scores.append(round(s, 4))
        num += s * n[i]
        den += n[i]
    if den == 0:
        _, n1, f1 = ref_page_features(model, text.replace("\f", "\n"))
        x = None if (not text.strip() or n1[0] == 0) else f1[0]
        book = None if x is None else float(scorer.quality_from_features(x, scorer.weights))
    else:
        book = num / den
    return (None if book is None else round(book, 4)), page_scores


# ------------------------------------------------------------------ texts
EDGE = [
    "",
    " ",
    "a",
    "ab",
    "abc",
    "\f",
    "\f\f",
    "a\f",
    "\fa",
    "ab\f\fcd\f",
    " \f \f ",
    "M E D tir a\x0ct0wn w;a$ tHe cat's well-known",
    "so,; he said... »;/; a.b a..b ..",
    "İstanbul İ i̇ I",
    "ΣΟΦΙΑ ΚΑΙ ΛΟΓΟΣ Σ σ ς. Ἀρχὴ",
    "ſo ſaid the ſhip ſ Sſ",
    "ﬁne ﬂow ĳs Ĳ",
    "\U0001f600 emoji \U00010400\U00010428 deseret \U0001d400 math",
    "lone \ud800 surrogate \udc00",
    "日本語のテキスト\fΕλληνικά",
    "tab\there\u00a0nbsp\u2003em\u3000ideo\r\nline",
    "e\u0301te\u0301 co\u0308o",
    "1234 5678 .... ---- 21st 0f t0wn",
    "\f\f\f\fword word\f\f",
    "A",
    "A B C D E F G",
    "«»‹›„“”‘’",
]
ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ        0123456789")
    + list(".,;:!?'\"()-–—‘’“”«»$#@^|■©*/\\&%_~<>[]{}=+\t\n\r\u00a0\u2003\f")
    + list("éèêëàâçîïôùûüÿæœßäöñãõáíóúÉÈÀÇÄÖÜÑ\u0301\u0308ſﬁĳαβγδεζηθικλμνξοπρσςτυφχψωΣΩΔἀὴ日本")
    + ["\U0001f600", "\U00010400", "\U00010428", "\ud800", "İ"]
)


def random_texts(n=120, seed=0, with_specials=True):
    rnd = random.Random(seed)
    alphabet = ALPHABET if with_specials else [c for c in ALPHABET if c not in ("İ", "Σ", "ſ")]
    out = []
    for _ in range(n):
        k = rnd.choice([1, 2, 3, 5, 40, 400, 3000])
        words = []
        while sum(map(len, words)) < k:
            if rnd.random() < 0.7:  # word-like runs, so the model and the rules see real shapes
                words.append("".join(rnd.choice("etaoinshrdlucmfwyp") for _ in range(rnd.randrange(1, 9))))
            else:
                words.append("".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 4))))
        out.append(rnd.choice([" ", " ", "", "\n"]).join(words))
    return out


def assert_stats_equal(got, want, label):
    for key in ("n", "logp", "bad", "other"):
        assert np.array_equal(got[key], want[key]), (label, key, got[key], want[key])


def assert_features_equal(got, want, label):
    for g, w, name in zip(got, want, ("tokens", "n", "feats")):
        assert np.array_equal(g, w, equal_nan=True), (label, name, g, w)


# ------------------------------------------------------------------ tests
def test_lower_map_matches_str_lower_over_all_of_unicode():
    m = charlm.lower_map()
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        lo = ch.lower()
        if len(lo) != 1:
            assert ch in charlm.LENGTH_CHANGING_LOWER, hex(cp)
        elif cp < 0x10000:
            assert m[cp] == ord(lo) or ch == "Σ", hex(cp)  # capital sigma: by context, see lower_map
        else:  # outside the BMP: the same high surrogate (code units keep their classes)
            assert ord(lo) >= 0x10000 and (ord(lo) - 0x10000) >> 10 == (cp - 0x10000) >> 10, hex(cp)


def test_rule_counts_equal_the_plain_version():
    for text in EDGE + random_texts(200, seed=1):
        tokens, counts = rule_counts(text)
        want_tokens, want_counts = ref_rule_counts(text)
        assert np.array_equal(tokens, want_tokens), repr(text[:80])
        assert np.array_equal(counts, want_counts), repr(text[:80])


@pytest.mark.parametrize("lang", ["en", "fr", "el", "la"])  # uint16 and uint32 trigram indices
def test_page_stats_equal_the_plain_version(lang):
    model = charlm.get_model(lang)
    for text in EDGE + random_texts(80, seed=2):
        n_pages = text.count("\f") + 1
        assert_stats_equal(model.page_stats(text, n_pages), ref_page_stats(model, text.lower()), text[:60])
        low = text.lower()
        assert_stats_equal(model.page_stats(low, lowered=True), ref_page_stats(model, low), text[:60])


@pytest.mark.parametrize("lang", ["en", "fr", "de", "el"])
def test_scores_equal_the_plain_version(lang):
    scorer = OcrQualityScorer(min_tokens=3)
    model = scorer.model(lang)
    rnd = random.Random(3)
    for text in EDGE + random_texts(60, seed=4) + random_texts(30, seed=5, with_specials=False):
        label = repr(text[:60])
        assert_features_equal(scorer.page_features(text, lang), ref_page_features(model, text), label)
        assert scorer.score_text(text, lang) == ref_score_text(scorer, model, text), label
        conf = [
            rnd.choice([None, rnd.random(), 1.5, -0.2])
            for _ in range(text.count("\f") + rnd.choice([0, 1, -1]))
        ]
        assert scorer.score_text(text, lang, conf) == ref_score_text(scorer, model, text, conf), label


def _variant(model, **table_changes):
    m = copy.copy(model)
    m._fast = None
    m.table = model.table.copy()
    for ch, cls in table_changes.items():
        m.table[int(ch[1:], 16)] = cls
    return m


def test_unusual_models_take_the_plain_paths(tmp_path):
    """Models the fast tables do not fit: a bigram model, a user model whose OTHER characters
    are not improbable, models that tell long s / final sigma / surrogates apart."""
    base = charlm.get_model("el")
    texts = EDGE + random_texts(40, seed=6)
    user = charlm.train_user_model(
        "xx", texts[:20] + ["the cat sat on the mat " * 50], wordfreq_share=0.0, bad_p=1e-6
    )
    assert not user.fast_tables()["other_is_bad"]
    bigram = charlm.CharTrigramModel("xx", [({"the": 5.0, "cat": 2.0, "sat": 1.0}, 1.0)], order=2)
    assert bigram.fast_tables() is None
    models = {
        "user": user,
        "bigram": bigram,
        "long_s": _variant(base, u017f=charlm.OTHER),
        "final_sigma": _variant(base, u03c2=charlm.OTHER),
        "surrogate": _variant(base, udc28=charlm.DIGIT),
    }
    assert not models["final_sigma"].fast_tables()["sigma_ok"]
    assert not models["surrogate"].fast_tables()["surrogates_ok"]
    for name, model in models.items():
        scorer = OcrQualityScorer(min_tokens=3)
        scorer.model = lambda lang, m=model: m  # type: ignore[method-assign]
        for text in texts:
            label = (name, repr(text[:60]))
            assert_features_equal(scorer.page_features(text, "xx"), ref_page_features(model, text), label)


def test_real_books_equal_the_plain_version(shared_data):
    folder = shared_data / "raw_ocr" / "trove_nla_books"
    files = sorted(folder.glob("*.txt"), key=lambda f: f.stat().st_size)[:4]  # nl, fr, it, ...
    if not files:
        pytest.skip(f"no trove books under {folder}")
    scorer = OcrQualityScorer()
    for f in files:
        text = f.read_text(encoding="utf-8")
        for lang in ("en", "fr"):
            model = scorer.model(lang)
            assert_features_equal(scorer.page_features(text, lang), ref_page_features(model, text), f.name)
            assert scorer.score_text(text, lang) == ref_score_text(scorer, model, text), f.name
