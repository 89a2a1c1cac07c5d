import itertools
import pickle
import random

from datatrove.data import Document

from finebooks.scoring.calibrate import evaluate, levenshtein
from finebooks.scoring.ocr_quality import OcrQualityScorer

CLEAN = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
    "it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had "
    "everything before us, we had nothing before us."
)
GARBAGE = (
    "I# w;a$ tHe b3st 0f tim*s, i^ wa5 t!e wOrSt o% ti~es, iiii wa$ tbe aGe 0f w!sd0m, i| w@s t#e "
    "a&e o0f f^^lishn3ss, i7 w4s th3 3p0ch 0f b3l!ef, ,;:~ ^^ wwwwzxq qrtzpkl tHE sEas0n oF L!ght, "
    "i% wa$ t#e s3a$on 0f D@rkn3ss, tt1e spr1ng 0f h0p3, t@e w!nt3r 0f d3sp@ir."
)


def noisy(text, rate, seed=0):
    rng = random.Random(seed)
    return "".join(rng.choice("#$%3@!0^~") if c.isalpha() and rng.random() < rate else c for c in text)


def doc(text, **meta):
    return Document(text=text, id="t", metadata=meta)


def test_clean_and_garbage():
    s = OcrQualityScorer()
    d = doc(CLEAN, language="en")
    list(s.run([d]))
    assert d.metadata["ocr_quality"] > 0.9
    g = doc(GARBAGE, language="en")
    list(s.run([g]))
    assert g.metadata["ocr_quality"] < 0.5


def test_monotonic_noise():
    s = OcrQualityScorer()
    scores = [s.score_text(noisy(CLEAN * 3, r), "en")[0] for r in (0.0, 0.02, 0.05, 0.1, 0.2)]
    assert all(a > b for a, b in itertools.pairwise(scores)), scores


def test_pages_and_confidence():
    s = OcrQualityScorer(min_tokens=10)
    d = doc(f"{CLEAN}\x0cshort page\x0c{GARBAGE}", language="en", page_ocr_confidence=[0.9, None, 0.2])
    list(s.run([d]))
    pages = d.metadata["page_ocr_quality"]
    assert len(pages) == 3 and pages[1] is None and pages[0] > pages[2]
    assert 0 <= d.metadata["ocr_quality"] <= 1


def test_default_language_fallback_and_empty():
    s = OcrQualityScorer(lexicon_fallback="none")
    assert s.score_text("Gallia est omnis divisa in partes tres " * 5, "la")[0] > 0.9
    assert s.score_text("", "en")[0] is None
    assert OcrQualityScorer().lexicon("la") is not None  # union fallback


def test_picklable():
    s = OcrQualityScorer()
    s.score_text(CLEAN, "en")
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.score_text(CLEAN, "en") == s.score_text(CLEAN, "en")


def test_levenshtein():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("abc", "abc") == 0


def test_realdata_calibration(shared_data):
    # full run (benchmarks/eval_ocr_quality.py): overall rho 0.776; quick subset measured below
    result = evaluate(shared_data, limit=12)
    assert result["overall"]["n"] > 100
    assert result["overall"]["rho"] >= QUICK_RHO - 0.03, result["overall"]


QUICK_RHO = 0.759  # measured quick-subset value (12 docs per subset)
