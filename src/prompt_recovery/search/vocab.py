"""Which tokens the search may use.

Never: special or control ids (pad, eos, unk, [CLS], [SEP], [MASK]...), ``<extra_id_N>``. By default
also never a token whose word is on better-profanity's word list (916 words: slurs, swear words, sexual
terms, and some harmless ones such as "organ" or "strip"): the search's strings are submitted and shown
to people, and without the list it writes words like "nazi" into mean prompts for their embedding
alone. ``allow_profanity=True`` lifts it. Optional: only tokens that survive decode-then-encode (the
token's id comes back when its decoded text is tokenized again, so a chosen token is still there after
the string is re-tokenized), only Latin-script letters, only ASCII letters, only the first N.

The list is matched against the whole piece, lower-cased, without its WordPiece "##" or SentencePiece
"▁" mark, plurals and other endings included (``decency``): "##ass" and "▁bastards" are blocked,
"class" is not. The pipeline's searches (the mean prompt, the blend's
refinement) use the default filter; only the ``mean-prompt`` and ``attractors`` commands can lift it.
Words the search spells from several pieces are not caught here: the pipeline cleans every prediction
(``decency.clean``).

Example (T5): "▁the" and "lucrarea" are allowed; "</s>", "<pad>", "<extra_id_3>" never are, nor "▁hell"
unless ``allow_profanity``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from prompt_recovery.decency import is_profane_word
from prompt_recovery.embed.tokenize import TextTokenizer


@dataclass(frozen=True)
class VocabFilter:
    roundtrip: bool = True
    latin_only: bool = True
    ascii_alpha_only: bool = False
    limit: int | None = None  # keep only the first N allowed ids (SentencePiece: the most frequent pieces)
    allow_profanity: bool = False  # True: also tokens whose word is on better-profanity's list


def is_profane(piece: str) -> bool:
    """True when the piece's word, without "##" / "▁", is on the list or an inflection of a listed word
    (``decency.is_profane_word``): "▁Nazi" -> True, "▁bastards" -> True, "▁classes" -> False."""
    word = piece.strip().removeprefix("##").removeprefix("▁").strip()
    return bool(word) and is_profane_word(word)


def _latin(text: str) -> bool:
    return all("LATIN" in unicodedata.name(ch, "") for ch in text if ch.isalpha())


def allowed_token_ids(tokenizer: TextTokenizer, vocab: VocabFilter = VocabFilter()) -> np.ndarray:
    """Sorted int64 array of the token ids the search may place in a string."""
    keep: list[int] = []
    special = tokenizer.special_ids
    for token_id in range(tokenizer.vocab_size):
        if token_id in special:
            continue
        piece = tokenizer.piece(token_id)
        if piece.startswith("<extra_id_") or (piece.startswith("[") and piece.endswith("]")):
            continue
        text = tokenizer.decode([token_id])
        if not text.strip():
            continue
        word = text.strip()
        if vocab.ascii_alpha_only and not (word.isascii() and word.isalpha()):
            continue
        if vocab.latin_only and not _latin(text):
            continue
        if not vocab.allow_profanity and is_profane(word):
            continue
        if vocab.roundtrip and token_id not in tokenizer.encode_plain(text):
            continue
        keep.append(token_id)
        if vocab.limit is not None and len(keep) >= vocab.limit:
            break
    return np.array(keep, dtype=np.int64)
