import itertools
import pickle
import random

import numpy as np
import pytest
from datatrove.data import Document

from finebooks.scoring import charlm
from finebooks.scoring.calibrate import (
    evaluate,
    fit_weights,
    levenshtein,
    load_all,
    normalise,
    read_icdar,
    robust_cer,
)
from finebooks.scoring.ocr_quality import DEFAULT_WEIGHTS, FEATURES, OcrQualityScorer, rule_counts

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
FRENCH = (
    "La nuit était venue, et les rues de la ville se vidaient peu à peu. Les marchands fermaient leurs "
    "boutiques, les enfants rentraient chez eux, et le silence descendait sur les maisons."
)


def noisy(text, rate, seed=0):
    """Substitute letters by plausible OCR confusions (letters, digits, symbols) at ``rate``."""
    rng = random.Random(seed)
    pool = "ilrnmceoa1I!|;:,.'0358#$%"
    return "".join(rng.choice(pool) if c.isalpha() and rng.random() < rate else c for c in text)


def doc(text, **meta):
    return Document(text=text, id="t", metadata=meta)


@pytest.fixture(scope="module")
def scorer():
    return OcrQualityScorer()


# ----------------------------------------------------------------------------- scorer
def test_clean_and_garbage(scorer):
    d = doc(CLEAN, language="en")
    list(scorer.run([d]))
    assert d.metadata["ocr_quality"] > 0.9
    g = doc(GARBAGE, language="en")
    list(scorer.run([g]))
    assert g.metadata["ocr_quality"] < 0.5
    assert 0.0 <= g.metadata["ocr_quality"] <= 1.0


def test_monotonic_noise(scorer):
    scores = [scorer.score_text(noisy(CLEAN * 3, r), "en")[0] for r in (0.0, 0.03, 0.08, 0.15, 0.3)]
    assert all(a > b for a, b in itertools.pairwise(scores)), scores


def test_score_tracks_cer_on_synthetic_noise(scorer):
    # the score is "1 - estimated CER": for substitution noise it should land near the truth
    for rate in (0.05, 0.15):
        text = noisy(FRENCH * 4, rate, seed=3)
        true_cer = levenshtein(text, FRENCH * 4) / len(FRENCH * 4)
        est = 1 - scorer.score_text(text, "fr")[0]
        assert abs(est - true_cer) < 0.1, (rate, true_cer, est)


def test_language_matters(scorer):
    # French text is worse-looking under the German model than under its own
    own = scorer.score_text(FRENCH * 3, "fr")[0]
    other = scorer.score_text(FRENCH * 3, "de")[0]
    assert own > other


def test_pages_and_confidence():
    s = OcrQualityScorer(min_tokens=10)
    d = doc(f"{CLEAN}\x0cshort page\x0c{GARBAGE}", language="en", page_ocr_confidence=[0.9, None, 0.2])
    list(s.run([d]))
    pages = d.metadata["page_ocr_quality"]
    assert len(pages) == 3 and pages[1] is None and pages[0] > pages[2]
    # book = character-weighted mean of the scored pages
    assert min(pages[0], pages[2]) < d.metadata["ocr_quality"] < max(pages[0], pages[2])
    no_conf = OcrQualityScorer(min_tokens=10, use_confidence=False).score_text(f"{CLEAN}\x0c{GARBAGE}", "en")[
        1
    ]
    assert pages[2] != no_conf[1]  # the 0.2 confidence moved the garbage page


def test_book_level_confidence_and_short_book(scorer):
    d = doc("Short but clean words here.", language="en", ocr_confidence=0.95)
    list(scorer.run([d]))
    assert d.metadata["page_ocr_quality"] == [None]  # under min_tokens
    assert d.metadata["ocr_quality"] is not None  # the book is scored as one page


def test_unknown_language_fallbacks_and_empty(scorer):
    assert (
        scorer.score_text("Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae " * 4, "la")[0]
        > 0.85
    )
    assert scorer.score_text(CLEAN, "xx")[0] > 0.85  # no model for xx: the default language's
    assert scorer.score_text(CLEAN, "en-GB")[0] == scorer.score_text(CLEAN, "en")[0]
    assert scorer.score_text("", "en") == (None, [None])
    d = doc("   \x0c  ")
    list(scorer.run([d]))
    assert d.metadata["ocr_quality"] is None and d.metadata["page_ocr_quality"] == [None, None]


def test_weights_validated():
    with pytest.raises(ValueError, match="lack"):
        OcrQualityScorer(weights={"intercept": 0.0, "lm": 1.0})
    assert set(DEFAULT_WEIGHTS) == {"intercept", *FEATURES}


def test_picklable(scorer):
    scorer.score_text(CLEAN, "en")
    s2 = pickle.loads(pickle.dumps(scorer))
    assert s2.score_text(CLEAN, "en") == scorer.score_text(CLEAN, "en")


def test_rule_counts():
    tokens, counts = rule_counts("M E D tir a\x0ct0wn w;a$ tHe cat's well-known")
    # M and D are lone letters (E and a are words: Italian/Portuguese "e", English "a")
    assert tokens.tolist() == [5, 5]
    single, digit, punct, mixed, run = counts.T
    assert single.tolist() == [2, 0]
    assert digit.tolist() == [0, 2]  # t0, 0w
    assert punct.tolist() == [0, 1]  # w;a ('s and - are not counted)
    assert mixed.tolist() == [0, 1]  # tH
    assert run.tolist() == [0, 0]
    assert rule_counts("so,; he said... »;/;")[1][0, 4] == 4  # ",;" and "»;", ";/", "/;"


# ----------------------------------------------------------------------------- char model
def test_charlm_page_stats_and_cache(tmp_path, monkeypatch):
    model = charlm.get_model("en")
    st = model.page_stats("the cat sat\x0cxq#zv", 2)
    assert st["n"].tolist()[0] == 12 and st["other"].tolist() == [0, 1]
    assert st["logp"][0] / st["n"][0] > st["logp"][1] / st["n"][1]
    empty = model.page_stats("", 1)
    assert empty["n"].tolist() == [0.0]
    with pytest.raises(ValueError):
        model.page_stats("a\x0cb", 3)
    monkeypatch.setenv("FINEBOOKS_CACHE", str(tmp_path))
    built = charlm.load_or_build("nl")
    files = list((tmp_path / "charlm").glob("nl-*.npz"))
    assert len(files) == 1
    loaded = charlm.load_or_build("nl")
    assert loaded.letters == built.letters and np.array_equal(loaded.logp, built.logp)
    files[0].write_bytes(b"not a model")  # a corrupt cache file is rebuilt, not fatal
    assert np.array_equal(charlm.load_or_build("nl").logp, built.logp)
    assert charlm.build_model("zz") is None


# ----------------------------------------------------------------------------- calibration
def test_levenshtein_and_robust_cer():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("abc", "abc") == 0
    rng = random.Random(5)
    gold = " ".join(
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(200)
    )
    half = len(gold) // 2
    cut = gold.find(" ", half)
    swapped = gold[cut + 1 :] + " " + gold[:cut]  # same text, other reading order
    assert levenshtein(swapped, gold) / len(gold) > 0.5
    assert robust_cer(swapped, gold) < 0.05
    assert robust_cer(noisy(gold, 0.2, 1), gold) > 0.1
    assert normalise("Meſſe\u00a0 e\u0301t\n") == "Messe ét"


def test_read_icdar_cuts_missing_gold(tmp_path):
    f = tmp_path / "1.txt"
    f.write_text("[OCR_toInput] tbe cat\n[OCR_aligned] tbe@ cat\n[ GS_aligned] the ##at\n", encoding="utf-8")
    ocr, gold = read_icdar(f)
    assert ocr == "tbe cat" and gold == "the at"


def test_fit_weights_recovers_a_known_model():
    rng = np.random.default_rng(0)
    true = np.array([0.5, -0.3] + [0.0] * (len(FEATURES) - 2))
    docs = []
    for i in range(300):
        x = rng.normal(size=len(FEATURES))
        cer = np.exp(-2.0 + x @ true) - 0.005
        docs.append({"x": x, "cer": cer, "subset": f"s{i % 3}"})
    w = fit_weights(docs, within=0.0, ridge=0.0)
    assert abs(w["intercept"] + 2.0) < 1e-6
    assert np.allclose([w[f] for f in FEATURES], true, atol=1e-6)


def test_realdata_calibration(shared_data):
    # Full run: `python -m finebooks.scoring.calibrate` (docs/ocr_quality.md): overall rho 0.893
    # with the shipped weights (0.891 with held-out weights) on 1,475 documents. This fast subset
    # (at most 25 documents per subset, 480 documents) measured 0.868; the target is 0.85.
    result = evaluate(docs=load_all(shared_data, 25))
    assert result["overall"]["n"] > 400
    assert result["overall"]["rho"] >= 0.85, result["overall"]
    for lang in ("de", "en", "fr"):
        assert result["language"][lang]["rho"] >= 0.75, (lang, result["language"][lang])


def test_long_books_are_scored_in_blocks(monkeypatch, scorer):
    import finebooks.scoring.ocr_quality as oq

    book = "\x0c".join(noisy(CLEAN, r / 40, seed=r) for r in range(12))
    whole = scorer.score_text(book, "en")
    monkeypatch.setattr(oq, "BLOCK_CHARS", 1200)  # about two pages per block
    assert len(oq._page_blocks(book)) > 3
    blocked = scorer.score_text(book, "en")
    assert len(blocked[1]) == len(whole[1]) == 12
    # only the word end at a block's last page differs (no closing \f there)
    assert np.allclose(blocked[1], whole[1], atol=2e-3) and abs(blocked[0] - whole[0]) < 1e-3


# ----------------------------------------------------------------------------- user models
# Polytonic Greek (Gospel of John 1:1-5, Iliad 1.1-7, public domain) as the user's clean text.
POLYTONIC = (
    "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν, καὶ θεὸς ἦν ὁ λόγος. οὗτος ἦν ἐν ἀρχῇ πρὸς "
    "τὸν θεόν. πάντα δι’ αὐτοῦ ἐγένετο, καὶ χωρὶς αὐτοῦ ἐγένετο οὐδὲ ἕν ὃ γέγονεν. ἐν αὐτῷ ζωὴ ἦν, "
    "καὶ ἡ ζωὴ ἦν τὸ φῶς τῶν ἀνθρώπων· καὶ τὸ φῶς ἐν τῇ σκοτίᾳ φαίνει, καὶ ἡ σκοτία αὐτὸ οὐ "
    "κατέλαβεν. μῆνιν ἄειδε θεὰ Πηληϊάδεω Ἀχιλῆος οὐλομένην, ἣ μυρί’ Ἀχαιοῖς ἄλγε’ ἔθηκε, πολλὰς "
    "δ’ ἰφθίμους ψυχὰς Ἄϊδι προΐαψεν ἡρώων, αὐτοὺς δὲ ἑλώρια τεῦχε κύνεσσιν οἰωνοῖσί τε πᾶσι, Διὸς "
    "δ’ ἐτελείετο βουλή, ἐξ οὗ δὴ τὰ πρῶτα διαστήτην ἐρίσαντε Ἀτρεΐδης τε ἄναξ ἀνδρῶν καὶ δῖος "
    "Ἀχιλλεύς."
)
# the errors Tesseract makes on polytonic print: acute for grave, circumflex and breathing
_ACCENT_ERRORS = str.maketrans({"ὶ": "ί", "ὸ": "ό", "ὰ": "ά", "ὲ": "έ", "ῦ": "ύ", "ῶ": "ώ", "ἦ": "ή",
                                "ἐ": "έ", "ἀ": "ά", "ὁ": "ό", "ἡ": "ή", "ῆ": "ή", "ὐ": "ύ", "ἰ": "ί"})


def test_train_user_model_keeps_accents_and_sees_accent_errors(tmp_path):
    folder = tmp_path / "clean"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(POLYTONIC[:400], encoding="utf-8")
    (folder / "sub" / "b.txt").write_text(POLYTONIC[400:], encoding="utf-8")
    (folder / "ignored.xml").write_text("<x>ignored</x>", encoding="utf-8")
    out = tmp_path / "grc"  # .npz is appended
    assert charlm.main(["train", "--lang", "grc", "--text", str(folder), "--out", str(out)]) == 0
    mixed = charlm.load_user_model(tmp_path / "grc.npz")
    assert {"ῆ", "ὁ", "ὶ", "ῷ"} <= set(mixed.letters)  # accents and breathings kept
    assert mixed.source["wordfreq"] == ["el"] and mixed.source["types"] == 76
    assert mixed.source["bad_p"] == charlm.USER_BAD_P
    assert len(mixed.letters) > 60  # the wordfreq el letters are mixed in
    # a model of the user's text alone: it knows exactly which accents the clean text has
    only = tmp_path / "grc-only.npz"
    assert charlm.main(["train", "--lang", "grc", "--text", str(folder), "--out", str(only),
                        "--wordfreq-share", "0"]) == 0
    model = charlm.load_user_model(only)
    assert model.source["wordfreq"] == [] and set(model.letters) < set(mixed.letters)
    user = OcrQualityScorer(user_models={"el": str(only)})
    default = OcrQualityScorer()
    wrong = POLYTONIC.translate(_ACCENT_ERRORS)
    assert wrong != POLYTONIC
    u_clean, u_wrong = user.score_text(POLYTONIC, "el")[0], user.score_text(wrong, "el")[0]
    d_clean, d_wrong = default.score_text(POLYTONIC, "el")[0], default.score_text(wrong, "el")[0]
    # the default model reads polytonic letters without their accents and hardly notices the
    # errors (it knows the modern acute accents only); the model of the user's text does
    assert d_clean - d_wrong < 0.1
    assert u_clean > 0.95 and u_clean - u_wrong > 0.3, (u_clean, u_wrong, d_clean, d_wrong)
    # other languages keep the default model
    assert user.score_text(CLEAN, "en") == default.score_text(CLEAN, "en")
    assert user.model("el-GR") is model


def test_user_model_errors_and_plugin_command(tmp_path, capsys):
    from finebooks.cli import main as cli_main

    with pytest.raises(FileNotFoundError, match="charlm train"):
        OcrQualityScorer(user_models={"el": str(tmp_path / "missing.npz")})
    with pytest.raises(ValueError, match="no words"):
        charlm.train_user_model("el", ["123 456 !!"])
    with pytest.raises(ValueError, match="wordfreq"):
        charlm.train_user_model("zz", [FRENCH])
    with pytest.raises(ValueError, match="no .txt files"):
        charlm.read_text_folder(tmp_path)
    (tmp_path / "fr.txt").write_text(FRENCH * 3, encoding="utf-8")
    out = tmp_path / "m" / "fr.npz"
    rc = cli_main(["ocr-model", "train", "--lang", "fr", "--text", str(tmp_path / "fr.txt"),
                   "--out", str(out), "--wordfreq-share", "0"])
    assert rc == 0 and out.is_file() and "fr:" in capsys.readouterr().out
    model = charlm.load_user_model(out)
    assert model.source["wordfreq"] == [] and model.source["tokens"] == 3 * len(FRENCH.split())
    scorer = OcrQualityScorer(user_models={"fr": str(out)})
    assert pickle.loads(pickle.dumps(scorer)).score_text(FRENCH * 2, "fr") == scorer.score_text(FRENCH * 2, "fr")
    assert scorer.score_text(FRENCH * 2, "fr")[0] > scorer.score_text(noisy(FRENCH * 2, 0.2), "fr")[0] + 0.1


def test_realdata_user_models_held_out(shared_data):
    # Full run: `python -m finebooks.scoring.calibrate` (docs/ocr_quality.md, "Your own character
    # model"): trained on the gold of one half of the documents (split by page / file), scored on
    # the other half only: el 0.751 (shipped model 0.617), es 0.750 (0.582) with seed 0.
    from finebooks.scoring.calibrate import evaluate_user_models, load_cis, load_icdar

    root = shared_data / "ocr_gt_pairs"
    docs = [d for d in load_cis(root) if d["lang"] == "el"] + [d for d in load_icdar(root) if d["lang"] == "es"]
    shipped = OcrQualityScorer()
    for d in docs:
        d["cer"] = robust_cer(normalise(d["text"]), d["gold"])
        d["score"], _ = shipped.score_text(d["text"], d["lang"])
    res = evaluate_user_models(docs, progress=False)
    for lang, n in (("el", 170), ("es", 48)):
        r = res[lang]
        assert r["n"] == n and r["n_A"] + r["n_B"] == n
        assert r["pooled"] >= 0.73, (lang, r)
        assert r["pooled"] > r["shipped"] + 0.1, (lang, r)
