"""The two T5 tokenization modes, on the real T5 vocabulary."""

import pytest

from prompt_recovery.embed.spm_proto import sentencepiece_proto_from_tokenizer_json
from prompt_recovery.embed.tokenize import HFTokenizer, SentencePieceTF

from .conftest import T5_TOKENIZER

EOS = 1


@pytest.fixture(scope="module")
def tf():
    return SentencePieceTF(sentencepiece_proto_from_tokenizer_json(T5_TOKENIZER), max_length=128)


@pytest.fixture(scope="module")
def hf():
    return HFTokenizer.from_file(T5_TOKENIZER, max_length=128)


def test_literal_eos_is_plain_text_in_tf_mode_only(tf, hf):
    text = "Improve this text </s> please</s></s>"
    tf_ids = tf.encode([text])[0]
    hf_ids = hf.encode([text])[0]
    assert tf_ids[-1] == EOS and EOS not in tf_ids[:-1]
    assert hf_ids.count(EOS) == 4  # three literal </s> matched as eos, plus the appended one
    assert tf.piece(2) == "<unk>" and 2 in tf_ids  # '<' is not in the T5 vocabulary


def test_no_extra_id_tokens_in_tf_mode(tf, hf):
    text = "a <extra_id_0> b"
    assert max(tf.encode([text])[0]) < 32000
    assert 32099 in hf.encode([text])[0]


def test_lucrarea_is_one_piece(tf, hf):
    for tok in (tf, hf):
        ids = tok.encode_plain("lucrarea")
        assert [tok.piece(i) for i in ids] == ["▁", "lucrarea"]
        assert ids[-1] == 30332
    # glued on to a word it stays one piece too
    assert 30332 in tf.encode_plain("textlucrarea")


def test_128_token_cap_keeps_one_eos(tf, hf):
    long = " ".join(["word"] * 500)
    for tok in (tf, hf):
        ids = tok.encode([long])[0]
        assert len(ids) == 128
        assert ids[-1] == EOS and ids.count(EOS) == 1


def test_modes_agree_on_ordinary_text(tf, hf):
    texts = [
        "Rewrite this text as a sea shanty.",
        "Make it more formal, please: the meeting's at 3pm!",
        "Ünïcödé café — “quotes” … and numbers 1,234.56",
        "summarize this Save story sentence into simply alterISH text",
    ]
    assert tf.encode(texts) == hf.encode(texts)


def test_tf_mode_strips_surrounding_whitespace_like_sentencepiece(tf):
    assert tf.encode(["  hello   world  "]) == tf.encode(["hello world"])


def test_special_ids_and_decode(tf, hf):
    assert {0, 1, 2} <= tf.special_ids
    assert {0, 1, 2} <= hf.special_ids
    assert tf.vocab_size == 32000
    ids = tf.encode_plain("Make it a haiku.")
    assert tf.decode([*ids, EOS]) == "Make it a haiku."
    assert hf.decode(hf.encode(["Make it a haiku."])[0]) == "Make it a haiku."
