"""The Kneser-Ney n-gram proxy model: a proper distribution, and it learns."""

from __future__ import annotations

import random

import numpy as np
import pytest

from finebooks.ablation.ngram import KneserNeyLM, NgramBackend

LN2 = np.log(2)


def _tokens(tokenizer, texts):
    return [np.concatenate([[tokenizer.bos_id], tokenizer.encode(t)]) for t in texts]


@pytest.fixture(scope="module")
def trained(sample_books, tokenizer):
    train = [t for _, t in sample_books[:-3]]
    model = KneserNeyLM(tokenizer.vocab_size, order=4).fit(_tokens(tokenizer, train))
    return model


def test_probabilities_sum_to_one_over_the_vocabulary(trained, tokenizer, sample_books):
    text_ids = tokenizer.encode(sample_books[0][1][:400])
    histories = [
        [],                                        # unigram level only
        [tokenizer.bos_id],                        # start of a book
        list(text_ids[10:13]),                     # a context seen in training (book 0 is in the training set)
        list(text_ids[50:53]),
        [tokenizer.vocab_size - 1, 7, tokenizer.vocab_size - 2],   # a context never seen
    ]
    for h in histories:
        p = trained.next_token_distribution(h)
        assert p.shape == (tokenizer.vocab_size,)
        assert abs(p.sum() - 1.0) < 1e-9, (h, p.sum())
        assert p.min() > 0  # every token keeps some mass (uniform base distribution)
    # a seen context really is used: the next token of the training text is far more likely than uniform
    h = list(text_ids[10:13])
    assert trained.next_token_distribution(h)[text_ids[13]] > 50 / tokenizer.vocab_size


def test_logprobs_match_the_distribution(trained, tokenizer):
    seq = np.array([tokenizer.bos_id, 5, 17, 42, 99], dtype=np.int64)
    lp = trained.logprobs([seq])[0]
    for i in range(1, len(seq)):
        p = trained.next_token_distribution(seq[max(0, i - 3): i] if i >= 3 else seq[:i])
        assert np.isclose(np.exp(lp[i]), p[seq[i]])


def test_bits_per_byte_lower_on_like_text_than_on_shuffled_text(sample_books, tokenizer):
    # train on the English books, test on a held-out English book and on the same words shuffled
    english = [t for bid, t in sample_books if t.count(" the ") > 50]
    train, held = english[:-1], english[-1]
    model = NgramBackend(tokenizer.vocab_size, order=4)
    model.train(_tokens(tokenizer, train), seed=0)
    words = held.split()
    random.Random(0).shuffle(words)
    shuffled = " ".join(words)

    def bpb(text):
        lp = model.logprobs(_tokens(tokenizer, [text]))[0]
        return -lp[1:].sum() / LN2 / len(text.encode("utf-8"))

    like, shuf = bpb(held), bpb(shuffled)
    assert like < shuf - 0.3, (like, shuf)
    assert like < 3.0


def test_deterministic_pattern_is_learned():
    seq = np.array([0] + [1, 2, 3, 4] * 200)
    m = KneserNeyLM(8, order=3).fit([seq])
    p = m.next_token_distribution([2, 3])
    assert p[4] > 0.95 and abs(p.sum() - 1) < 1e-12


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="63 bits"):
        KneserNeyLM(65536, order=4)
    with pytest.raises(ValueError, match="token ids"):
        KneserNeyLM(8, order=2).fit([np.array([1, 9])])
    with pytest.raises(RuntimeError, match="not trained"):
        KneserNeyLM(8, order=2).logprobs([np.array([1, 2])])
