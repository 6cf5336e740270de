"""Rebuild a SentencePiece model (the bytes ``spiece.model`` holds) from a Unigram ``tokenizer.json``.

sentence-t5 folders usually ship ``spiece.model``; when one does not (or for the T5 vocabulary in the
test fixtures) this gives the ``sentencepiece`` library the same pieces, scores and normaliser, so the
``tf`` tokenization runs in the real library rather than in an imitation of it.

Piece types follow T5's own ``spiece.model``: ``<pad>`` and ``</s>`` are CONTROL (never produced from
text), ``<unk>`` is UNKNOWN, everything else NORMAL. The ``<extra_id_N>`` entries are Hugging Face
additions that TensorFlow's vocabulary does not have, so they are left out.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from prompt_recovery.errors import EmbedderError

_CONTROL = ("<pad>", "</s>", "<s>")


def sentencepiece_proto_from_tokenizer_json(path: str | Path) -> bytes:
    """Serialized ``ModelProto`` for the Unigram model in ``path`` (a ``tokenizers`` JSON file)."""
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2  # generated protobuf module: no type stubs

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    model = spec.get("model", {})
    if model.get("type") != "Unigram":
        raise EmbedderError(
            f"{path}: tf tokenization needs a SentencePiece Unigram vocabulary, found {model.get('type')!r}. "
            "Use --tokenization hf for this encoder, or give the folder its spiece.model."
        )
    proto = pb.ModelProto()
    kinds = pb.ModelProto.SentencePiece
    for piece, score in model["vocab"]:
        if piece.startswith("<extra_id_"):
            continue
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        entry.type = kinds.CONTROL if piece in _CONTROL else kinds.UNKNOWN if piece == "<unk>" else kinds.NORMAL
    ids = {p.piece: i for i, p in enumerate(proto.pieces)}
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(proto.pieces)
    trainer.unk_id = ids.get("<unk>", 2)
    trainer.eos_id = ids.get("</s>", -1)
    trainer.pad_id = ids.get("<pad>", -1)
    trainer.bos_id = ids.get("<s>", -1)
    norm = proto.normalizer_spec
    norm.name = "nmt_nfkc"
    charsmap = _precompiled_charsmap(spec.get("normalizer"))
    if charsmap is not None:
        norm.precompiled_charsmap = charsmap
    norm.add_dummy_prefix = True
    norm.remove_extra_whitespaces = True
    norm.escape_whitespaces = True
    return bytes(proto.SerializeToString())


def _precompiled_charsmap(normalizer: dict | None) -> bytes | None:
    if not normalizer:
        return None
    if normalizer.get("type") == "Precompiled":
        return base64.b64decode(normalizer["precompiled_charsmap"])
    for child in normalizer.get("normalizers", []):
        found = _precompiled_charsmap(child)
        if found is not None:
            return found
    return None
