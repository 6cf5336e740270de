"""The chooser (pool, features, reranker, gate) and the decency check, with exact fake embedders: a text's
vector is the normalised sum of fixed random word vectors, so prompts that share words are near, and
nothing depends on a real model's float noise unless a test adds it on purpose."""

import hashlib
import json

import numpy as np
import pytest

from prompt_recovery.banks import PromptBank
from prompt_recovery.chooser import Chooser, ChooserConfig
from prompt_recovery.chooser.features import RowContext, names, pair_features
from prompt_recovery.chooser.pool import ORIGINS, Extra, build_pool
from prompt_recovery.chooser.words import added_words, content_words
from prompt_recovery.decency import clean, is_decent, is_profane_word, profane_in
from prompt_recovery.errors import ModelError

DIM = 48
STYLES = [
    "pirate",
    "poem",
    "formal",
    "tweet",
    "shanty",
    "legal",
    "recipe",
    "haiku",
    "sarcastic",
    "child",
    "news",
    "limerick",
    "scientific",
    "cheerful",
    "gloomy",
    "rap",
]


class WordSumEmbedder:
    """encode(texts) -> unit(sum of the words' fixed random vectors) [N, DIM] float32; ``noise`` is added
    to the first coordinate with a sign that flips every call (a real encoder's batch noise)."""

    def __init__(self, noise: float = 0.0) -> None:
        self.noise, self.calls = noise, 0

    @staticmethod
    def word(w: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(w.encode()).digest()[:4], "little")
        return np.random.default_rng(seed).standard_normal(DIM)

    def encode(self, texts, **_):
        self.calls += 1
        out = []
        for t in texts:
            words = t.lower().replace(".", " ").replace(",", " ").split() or ["<empty>"]
            v = sum(self.word(w) for w in words)
            out.append(v / np.linalg.norm(v))
        out = np.asarray(out, dtype=np.float32)
        out[:, 0] += self.noise * (1 if self.calls % 2 else -1)
        return out


def prompt(style: str) -> str:
    return f"Rewrite it as a {style}"


def make_rows(n: int, seed: int):
    rng = np.random.default_rng(seed)
    filler = ["the", "river", "market", "stone", "lamp", "window", "garden", "train", "letter", "city"]
    original, rewritten, truth = [], [], []
    for _ in range(n):
        style = STYLES[rng.integers(len(STYLES))]
        text = " ".join(rng.choice(filler, 6))
        original.append(text)
        rewritten.append(f"{text} {style} {style}ish")
        truth.append(prompt(style))
    return original, rewritten, truth


def context(emb, original, rewritten, mean_text):
    o, r = emb.encode(original), emb.encode(rewritten)
    return RowContext.of(emb, original, rewritten, o, r, emb.encode([mean_text])[0], {})


MEAN = "Rewrite it"
BANK = [prompt(s) for s in STYLES] + ["Make it shorter", "Translate it", "Summarise the text"]


def extras(emb, n, mean_text=MEAN):
    return [Extra("mean", [mean_text] * n, emb.encode([mean_text] * n))]


@pytest.fixture(scope="module")
def trained():
    emb = WordSumEmbedder()
    bank = PromptBank(BANK, emb.encode(BANK))
    original, rewritten, truth = make_rows(160, seed=0)
    ctx = context(emb, original, rewritten, MEAN)
    chooser = Chooser(ChooserConfig(trees=60, min_rows_in_leaf=10, k=6))
    report = chooser.fit(emb, ctx, bank, extras(emb, len(truth)), truth, emb.encode(truth), MEAN)
    return emb, bank, chooser, report


def test_decency_judges_whole_decoded_words_with_inflections():
    assert is_profane_word("bastards") and is_profane_word("Bastard") and is_profane_word("hell")
    assert not any(is_profane_word(w) for w in ("class", "classes", "assess", "shell", "hello", "Scunthorpe"))
    assert profane_in("right old bastards caution, damn") == ["bastards", "damn"]
    assert clean("least quick rewrite it, right old bastards caution") == "least quick rewrite it, right old caution"
    assert clean("a damn good , text") == "a good, text"
    assert is_decent("Rewrite it as a sea shanty") and clean("Rewrite it.") == "Rewrite it."


def test_words_added_by_the_rewrite():
    assert content_words("Rewrite it as a sea shanty!") == ["rewrite", "sea", "shanty"]
    assert added_words("The cat sat.", "Ahoy! The cat sat, matey.") == ["ahoy", "matey"]
    assert added_words("Formal text here", "formally text here") == []  # same stem "forma"


def test_pool_merges_near_duplicates_and_keeps_origins_and_ranks():
    emb = WordSumEmbedder()
    bank = PromptBank(
        ["Make it formal", "Make it better", "Add a pirate"],
        emb.encode(["Make it formal", "Make it better", "Add a pirate"]),
    )
    query = emb.encode(["Make it formal"])  # nearest: "Make it formal", then "Make it better"
    extra = Extra("mean", ["Make it better"], emb.encode(["Make it better"]))
    pool = build_pool([query], bank, [extra], k=2, dedupe=0.985)
    assert pool.texts == [["Make it better", "Make it formal"]]
    mean, bank_i = ORIGINS.index("mean"), ORIGINS.index("bank")
    assert pool.origin[0][0, mean] == 1 and pool.origin[0][0, bank_i] == 1 and pool.origin[0][1, mean] == 0
    assert pool.ranks[0].tolist() == [[2.0], [1.0]]
    masked = build_pool([query], bank, [extra], k=2, dedupe=0.985, allowed=np.array([False, True, True]))
    assert "Make it formal" not in masked.texts[0]


def test_features_have_one_named_column_each(trained):
    emb, bank, _, _ = trained
    original, rewritten, _ = make_rows(3, seed=5)
    ctx = context(emb, original, rewritten, MEAN)
    pool = build_pool(ctx.queries(), bank, extras(emb, 3), k=4, dedupe=0.985)
    x = pair_features(pool, ctx)
    assert x.shape == (sum(pool.sizes()), len(names(ctx))) and x.dtype == np.float32
    assert np.isfinite(x).all()


def test_the_reranker_learns_to_read_the_added_words(trained):
    emb, bank, chooser, report = trained
    # out of fold, the pick is better than the mean prompt's floor and the gate is no worse than the pick
    assert report.top > 0.5 and report.gated >= report.top - 1e-9 and report.oracle >= report.top
    original, rewritten, truth = make_rows(60, seed=1)
    ctx = context(emb, original, rewritten, MEAN)
    pool = chooser.pool(ctx, bank, extras(emb, 60), None)
    choice = chooser.choose(ctx, pool, MEAN)
    right = np.mean([t == r for t, r in zip(choice.top, truth, strict=True)])
    assert right > 0.8, right  # chance is 1/16
    assert all(r in BANK for r in choice.readable)


def test_choices_do_not_depend_on_batch_or_float_noise(trained):
    _, bank, chooser, _ = trained
    original, rewritten, _ = make_rows(30, seed=2)
    runs = []
    for noise, order in ((0.0, slice(None)), (2e-7, slice(None, None, -1)), (-2e-7, slice(None))):
        emb = WordSumEmbedder(noise)
        o, r = original[order], rewritten[order]
        ctx = context(emb, o, r, MEAN)
        choice = chooser.choose(ctx, chooser.pool(ctx, bank, extras(emb, len(o)), None), MEAN)
        texts = choice.text if order == slice(None) else choice.text[::-1]
        runs.append(texts)
    assert runs[0] == runs[1] == runs[2]


def test_round_trip_through_json_and_damage_is_named(trained):
    emb, bank, chooser, _ = trained
    doc = json.loads(json.dumps(chooser.to_doc()))
    again = Chooser.from_doc(doc, "chooser.json")
    original, rewritten, _ = make_rows(20, seed=3)
    ctx = context(emb, original, rewritten, MEAN)
    pool = chooser.pool(ctx, bank, extras(emb, 20), None)
    assert again.choose(ctx, pool, MEAN) == chooser.choose(ctx, pool, MEAN)
    with pytest.raises(ModelError, match=r"chooser\.json: damaged"):
        Chooser.from_doc({**doc, "model": "not a model"}, "chooser.json")
    with pytest.raises(ModelError, match=r"chooser\.json: damaged"):
        Chooser.from_doc({k: v for k, v in doc.items() if k != "gate"}, "chooser.json")


def test_the_gate_takes_the_option_with_the_highest_expected_score():
    chooser = Chooser()
    knots = np.array([0.0, 1.0])
    chooser.gate = {
        "joined": (knots, np.array([0.1, 0.1])),
        "top": (knots, np.array([0.0, 1.0])),
        "composed": (knots, np.array([0.2, 0.6])),
        "mean": (knots, np.array([0.3, 0.3])),
    }

    def pick(p, joined=0.5, mean=0.5):
        return chooser._option({"top": p, "composed": p, "joined": joined, "mean": mean})

    assert pick(0.05) == "mean"  # top 0.05, composed 0.22, mean 0.3
    assert pick(0.3) == "composed"  # top 0.3, composed 0.32, mean 0.3
    assert pick(0.9) == "top"  # 0.9 vs 0.56 vs 0.3
    assert pick(0.05, mean=np.nan) == "composed"  # no mean prompt in the pool: not an option
    chooser.gate["joined"] = (knots, np.array([0.9, 0.9]))
    assert pick(0.9) == "joined"  # a tie goes to the earlier option
