"""Tokenizers behind one small interface, in the two modes the metric cares about.

- ``hf``: the model folder's own ``tokenizer.json`` through Hugging Face ``tokenizers``, exactly what
  sentence-transformers feeds the model. For T5 it matches the added token ``</s>`` inside text and
  emits id 1 (eos) there.
- ``tf``: the competition scorer's tokenization. Kaggle scored with TensorFlow, whose SentencePiece op
  runs Google's ``sentencepiece`` library: a literal ``</s>`` in the text is ordinary characters
  (``<unk> / s >``), no ``<extra_id_N>`` exists, exactly one eos is appended, and the input is cut to
  ``max_length`` ids *including* that eos. We run the same ``sentencepiece`` library, on the folder's
  ``spiece.model`` when it has one, else on a model rebuilt from ``tokenizer.json`` (see spm_proto.py).

Example (T5 vocabulary)::

    hf: "Hi </s> there" -> [2018, 3, 1, 132, 1]
    tf: "Hi </s> there" -> [2018, 3, 2, 87, 7, 3155, 132, 1]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer


class TextTokenizer(ABC):
    """Text <-> ids for one encoder. ``encode`` returns full model inputs (special tokens included)."""

    mode: str
    max_length: int
    pad_id: int
    #: number of special ids ``wrap`` puts before the content (BERT: 1 for [CLS]; T5: 0)
    prefix_len: int = 0

    @abstractmethod
    def encode_plain(self, text: str) -> list[int]:
        """Content ids of ``text``: no special tokens, no truncation."""

    @abstractmethod
    def wrap(self, ids: Sequence[int]) -> list[int]:
        """Add the special tokens around content ids and cut to ``max_length`` (specials kept)."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Content ids back to text (special ids skipped)."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids the tokenizer can emit."""

    @abstractmethod
    def piece(self, token_id: int) -> str:
        """The vocabulary piece of one id (e.g. ``"▁the"``, ``"lucrarea"``)."""

    @property
    @abstractmethod
    def special_ids(self) -> frozenset[int]:
        """Ids that ordinary text must never be searched into (pad, eos, unk, cls, sep, extra ids...)."""

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Model input ids for each text, special tokens included, at most ``max_length`` long."""
        return [self.wrap(self.encode_plain(t)) for t in texts]


class HFTokenizer(TextTokenizer):
    """A ``tokenizers`` JSON tokenizer, as sentence-transformers uses it (``hf`` mode)."""

    mode = "hf"

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        self._tok = tokenizer
        self._tok.no_truncation()
        self._tok.no_padding()
        self.max_length = max_length
        # Learn the template (e.g. BERT: [CLS] x [SEP]; T5: x </s>) from one probe encoding.
        plain = self._tok.encode("a", add_special_tokens=False).ids
        full = self._tok.encode("a", add_special_tokens=True).ids
        start = _find(full, plain)
        self._prefix = full[:start]
        self._suffix = full[start + len(plain) :]
        self.prefix_len = len(self._prefix)
        pad = self._tok.token_to_id("<pad>")
        if pad is None:
            pad = self._tok.token_to_id("[PAD]")
        self.pad_id = 0 if pad is None else pad
        self._special = frozenset(i for i, tok in self._tok.get_added_tokens_decoder().items() if tok.special)

    @classmethod
    def from_file(cls, path: str | Path, max_length: int) -> HFTokenizer:
        return cls(Tokenizer.from_file(str(path)), max_length)

    def encode_plain(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def wrap(self, ids: Sequence[int]) -> list[int]:
        room = self.max_length - len(self._prefix) - len(self._suffix)
        return [*self._prefix, *list(ids)[:room], *self._suffix]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tok.decode(list(ids), skip_special_tokens=True))

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def piece(self, token_id: int) -> str:
        return str(self._tok.id_to_token(token_id))

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special


class SentencePieceTF(TextTokenizer):
    """Google ``sentencepiece`` with T5's conventions: the competition scorer's tokenization (``tf`` mode)."""

    mode = "tf"

    def __init__(self, model_proto: bytes, max_length: int, eos_id: int = 1, pad_id: int = 0) -> None:
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.max_length = max_length
        self.eos_id = eos_id
        self.pad_id = pad_id
        sp = self._sp
        self._special = frozenset(
            i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)
        )

    def encode_plain(self, text: str) -> list[int]:
        return list(self._sp.encode(text))

    def wrap(self, ids: Sequence[int]) -> list[int]:
        return [*list(ids)[: self.max_length - 1], self.eos_id]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._sp.decode([i for i in ids if i not in self._special]))

    @property
    def vocab_size(self) -> int:
        return int(self._sp.get_piece_size())

    def piece(self, token_id: int) -> str:
        return str(self._sp.id_to_piece(token_id))

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special


def _find(haystack: list[int], needle: list[int]) -> int:
    for i in range(len(haystack) - len(needle) + 1):
        if haystack[i : i + len(needle)] == needle:
            return i
    raise ValueError(f"cannot locate content ids {needle} inside special-token template {haystack}")
