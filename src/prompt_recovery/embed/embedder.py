"""The one Embedder: a sentence-transformers folder run by our own code, used by scorer, models and search.

Pipeline (identical for every caller):
    text -> tokenizer (``hf`` or ``tf`` mode) -> transformer encoder -> mask-aware pooling
         -> optional Dense (sentence-t5: 768x768, no bias, identity) -> optional L2 normalisation

It reads the standard folder layout (``modules.json``; ``sentence_bert_config.json``; ``1_Pooling``;
``2_Dense``; ``Normalize``) and runs in float32. Besides ``encode`` it exposes differentiable forwards
from token ids or from input embeddings, for the gradient-guided token search.

Example::

    emb = load_embedder("minilm")
    vecs = emb.encode(["Make it formal", "Rewrite as a sea shanty"])   # float32, shape (2, 384), unit rows
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from prompt_recovery.checks import check_strings
from prompt_recovery.embed.cache import EmbeddingCache
from prompt_recovery.embed.modules import load_dense, pool, read_pooling_mode
from prompt_recovery.embed.tokenize import HFTokenizer, SentencePieceTF, TextTokenizer
from prompt_recovery.errors import EmbedderError
from prompt_recovery.progress import tqdm


# Token rows (rows x width) a forward pass of ``encode_ids`` aims at. Measured on 2 cores (MiniLM, the
# demo's train and predict, cold cache): 256 matched the old length-sorted batches of 64 end to end;
# 512 made predicting 32% slower (short calls fill more rows with copies), 64 made bulk prompts 1.4x.
PASS_TOKENS = 256


def padded_width(length: int, limit: int) -> int:
    """The width a sequence of ``length`` ids is padded to in ``encode_ids``: rounded up to a multiple of
    4 up to 32 ids, of 8 up to 64, of 16 up to 128, of 32 beyond (about 10% padding for prompts and for
    texts), and never past ``max(limit, length)``, the model's window.

    >>> padded_width(13, 256), padded_width(70, 256), padded_width(250, 256)
    (16, 80, 256)
    """
    step = 4 if length <= 32 else 8 if length <= 64 else 16 if length <= 128 else 32
    return min(-(-length // step) * step, max(limit, length))


def canonical_rows(width: int) -> int:
    """The rows of every forward pass of width ``width`` in ``encode_ids``: about ``PASS_TOKENS`` tokens,
    between 8 and 64 rows. A function of the width alone, so a text's pass shape is fixed by its length.

    >>> canonical_rows(8), canonical_rows(16), canonical_rows(80)
    (32, 16, 8)
    """
    return max(8, min(64, PASS_TOKENS // width))


class Embedder:
    """Sentence encoder with one fixed tokenization, pooling, dense layer and normalisation.

    Attributes:
        tokenizer: the ``TextTokenizer`` every caller must use for this encoder.
        identity: a string that changes whenever the output could change (cache key, saved artefacts).
        dim: size of the sentence embedding.
    """

    def __init__(
        self,
        transformer: nn.Module,
        tokenizer: TextTokenizer,
        pooling_mode: str,
        dense: nn.Module | None,
        normalize: bool,
        identity: str,
        cache: EmbeddingCache | None = None,
        batch_size: int = 64,
    ) -> None:
        self.transformer = transformer.float().eval()
        self.tokenizer = tokenizer
        self.pooling_mode = pooling_mode
        self.dense = dense.float().eval() if dense is not None else None
        self.normalize = normalize
        self.identity = identity
        self.cache = cache
        self.batch_size = batch_size
        self._dim = _output_dim(self.transformer, self.dense)  # cached vectors of another size are misses
        for p in self.parameters():
            p.requires_grad_(False)

    def parameters(self) -> list[nn.Parameter]:
        params = list(self.transformer.parameters())
        return params + (list(self.dense.parameters()) if self.dense is not None else [])

    @property
    def cache_dir(self) -> Path | None:
        """The folder of the on-disk embedding cache (derived artefacts such as single-token states are
        kept beside it), or None when caching is off."""
        return None if self.cache is None else self.cache.path.parent

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.encode(["a"], use_cache=False).shape[1])
        return self._dim

    @property
    def input_embeddings(self) -> torch.Tensor:
        """The transformer's token embedding matrix, shape (model_vocab, hidden). Rows past the
        tokenizer's vocabulary (T5 pads to 32128) are never produced by the tokenizer."""
        return self.transformer.get_input_embeddings().weight  # type: ignore[operator]

    # -- differentiable forwards -------------------------------------------------------------------
    def finish(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled vectors [B, H] -> sentence embeddings [B, D]: the Dense layer, then L2 normalisation."""
        out = self.dense(pooled) if self.dense is not None else pooled
        return nn.functional.normalize(out, p=2, dim=1) if self.normalize else out

    def token_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Ids [B, L] and mask [B, L] -> the transformer's last hidden states [B, L, H] (before pooling)."""
        return self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def _head(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.finish(pool(hidden, mask, self.pooling_mode))

    def forward_ids(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Ids [B, L] (special tokens included) and mask [B, L] -> sentence embeddings [B, D]."""
        return self._head(self.token_states(input_ids, attention_mask), attention_mask)

    def forward_embeds(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Input embeddings [B, L, H] and mask [B, L] -> sentence embeddings [B, D]; gradients flow
        to ``inputs_embeds`` (a one-hot [B, L, V] @ ``input_embeddings`` gives token gradients)."""
        hidden = self.transformer(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
        return self._head(hidden, attention_mask)

    # -- batch encoding ----------------------------------------------------------------------------
    def pad(self, batch: Sequence[Sequence[int]], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad id lists to ``width`` (default: the longest) -> (input_ids [B, L], attention_mask
        [B, L]) as int64 tensors."""
        width = max(len(ids) for ids in batch) if width is None else width
        ids = torch.full((len(batch), width), self.tokenizer.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        return ids, mask

    @torch.inference_mode()
    def encode_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Model-input id lists (as ``tokenizer.encode`` gives) -> float32 [N, D], in their order.

        Canonical shapes: a text's vector depends on its ids alone, never on the other texts of the
        call, the embedding cache, the caller's chunking or the thread count. Matrix kernels round
        differently for different shapes (a text encoded beside a longer one, or in a batch of another
        row count, moves by ~1e-7; ``docs/decisions.md``), which can flip a near tie downstream. So
        every forward pass of width ``padded_width(len(ids))`` has exactly ``canonical_rows(width)`` rows
        (a short group is filled with copies of its first row); at a fixed shape a row's output
        is bit-identical wherever it sits and whatever the other rows hold (checked at 1 and 2 threads,
        ``tests/test_embedder.py``). Texts of one width share passes, in the order given.
        """
        groups: dict[int, list[int]] = {}
        for i, ids in enumerate(batch):
            groups.setdefault(padded_width(len(ids), self.tokenizer.max_length), []).append(i)
        result: np.ndarray | None = None
        for width, members in sorted(groups.items()):
            size = canonical_rows(width)
            for start in range(0, len(members), size):
                rows = members[start : start + size]
                filled = [batch[i] for i in rows] + [batch[rows[0]]] * (size - len(rows))
                ids, mask = self.pad(filled, width)
                vecs = self.forward_ids(ids, mask).float().numpy()
                if result is None:
                    result = np.empty((len(batch), vecs.shape[1]), dtype=np.float32)
                result[rows] = vecs[: len(rows)]
        if result is None:
            raise EmbedderError("encode_ids() got no texts")
        return result

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        show_progress: bool = False,
        use_cache: bool = True,
    ) -> np.ndarray:
        """Texts -> float32 array [N, D] (unit rows when the model normalises). Uses the cache if set.
        ``batch_size`` texts are encoded (and cached) per step; the vectors do not depend on it, nor on
        what the cache holds (``encode_ids``' canonical shapes)."""
        texts = check_strings(texts, "encode: texts")  # a bare string would be encoded letter by letter
        if not texts:
            raise EmbedderError("encode() got no texts")
        cache = self.cache if use_cache else None
        found = cache.get(self.identity, texts, self._dim) if cache is not None else {}
        todo = [i for i in range(len(texts)) if i not in found]
        size = batch_size or self.batch_size
        vectors: dict[int, np.ndarray] = dict(found)
        if todo:
            todo.sort(key=lambda i: -len(texts[i]))  # similar lengths share a batch
            bar = tqdm(total=len(todo), desc="Encoding", unit="text", disable=not show_progress)
            for start in range(0, len(todo), size):
                chunk = todo[start : start + size]
                ids = self.tokenizer.encode([texts[i] for i in chunk])
                vecs = self.encode_ids(ids)
                self._dim = int(vecs.shape[1])
                if cache is not None:
                    cache.put(self.identity, [texts[i] for i in chunk], vecs)
                vectors.update(zip(chunk, vecs, strict=True))
                bar.update(len(chunk))
            bar.close()
        return np.stack([vectors[i] for i in range(len(texts))]).astype(np.float32, copy=False)


def _output_dim(transformer: nn.Module, dense: nn.Module | None) -> int | None:
    """The sentence embedding size read off the modules (no forward pass), or None if unclear."""
    if dense is not None:
        linear = [m for m in dense.modules() if isinstance(m, nn.Linear)]
        return int(linear[-1].out_features) if linear else None
    config = getattr(transformer, "config", None)
    size = getattr(config, "hidden_size", None) or getattr(config, "d_model", None)
    return int(size) if isinstance(size, int) else None


def load_st_folder(
    folder: str | Path,
    tokenization: str = "auto",
    max_length: int | None = None,
    cache: EmbeddingCache | None = None,
) -> Embedder:
    """Load a local sentence-transformers folder (Transformer + Pooling [+ Dense] [+ Normalize]).

    ``tokenization``: ``auto`` (``tf`` for T5 encoders, the competition's; ``hf`` otherwise), ``tf`` or
    ``hf``. ``max_length``: token cap including special tokens; default 128 in ``tf`` mode (the
    competition's) and the folder's ``max_seq_length`` in ``hf`` mode.
    """
    root = Path(folder).expanduser()
    if not (root / "modules.json").exists():
        raise EmbedderError(
            f"{root} is not a sentence-transformers folder (no modules.json). Give a folder such as a local "
            "copy of sentence-transformers/sentence-t5-base, or 'minilm' for the packaged default."
        )
    modules = json.loads((root / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if not kinds or kinds[0] != "Transformer" or "Pooling" not in kinds:
        raise EmbedderError(f"{root}: expected Transformer, Pooling[, Dense][, Normalize] modules, found {kinds}")
    unknown = sorted(set(kinds) - {"Transformer", "Pooling", "Dense", "Normalize"})
    if unknown:
        raise EmbedderError(f"{root}: unsupported modules {unknown}; supported: Transformer, Pooling, Dense, Normalize")
    paths = {k: root / m.get("path", "") for k, m in zip(kinds, modules, strict=True)}

    tdir = paths["Transformer"]
    model_config = json.loads((tdir / "config.json").read_text())
    is_t5 = model_config.get("model_type") == "t5"
    if tokenization == "auto":
        tokenization = "tf" if is_t5 else "hf"
    if tokenization not in ("tf", "hf"):
        raise EmbedderError(f"tokenization must be 'auto', 'tf' or 'hf', got {tokenization!r}")
    limit = max_length or (128 if tokenization == "tf" else _folder_max_length(tdir, model_config))
    tokenizer = _load_tokenizer(tdir, tokenization, limit, is_t5)
    transformer = _load_transformer(tdir, is_t5)
    dense = load_dense(paths["Dense"]) if "Dense" in paths else None
    normalize = "Normalize" in paths
    identity = "|".join([_fingerprint(root), tokenization, str(limit), "norm" if normalize else "raw", "float32"])
    return Embedder(transformer, tokenizer, read_pooling_mode(paths["Pooling"]), dense, normalize, identity, cache)


def _folder_max_length(tdir: Path, model_config: dict) -> int:
    """sentence-transformers' own cap: ``max_seq_length`` in sentence_bert_config.json (ST < 6), else
    the tokenizer's ``model_max_length`` (where ST 6 saves it), else the model's position limit."""
    for name, key in (
        ("sentence_bert_config.json", "max_seq_length"),
        ("tokenizer_config.json", "model_max_length"),
    ):
        path = tdir / name
        value = json.loads(path.read_text()).get(key) if path.exists() else None
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return int(model_config.get("max_position_embeddings") or 512)


def _load_tokenizer(tdir: Path, mode: str, limit: int, is_t5: bool) -> TextTokenizer:
    if mode == "hf":
        if not (tdir / "tokenizer.json").exists():
            raise EmbedderError(f"{tdir}: no tokenizer.json (needed for hf tokenization)")
        return HFTokenizer.from_file(tdir / "tokenizer.json", limit)
    if not is_t5:
        raise EmbedderError(f"{tdir}: tf tokenization is the sentence-t5 scorer's; this encoder is not T5. Use hf.")
    if (tdir / "spiece.model").exists():
        return SentencePieceTF((tdir / "spiece.model").read_bytes(), limit)
    from prompt_recovery.embed.spm_proto import sentencepiece_proto_from_tokenizer_json

    return SentencePieceTF(sentencepiece_proto_from_tokenizer_json(tdir / "tokenizer.json"), limit)


def _load_transformer(tdir: Path, is_t5: bool) -> nn.Module:
    import transformers

    transformers.utils.logging.disable_progress_bar()  # library code shows no bars of its own
    cls = transformers.T5EncoderModel if is_t5 else transformers.AutoModel
    try:
        model = cls.from_pretrained(str(tdir), local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise EmbedderError(f"{tdir}: could not load the transformer weights offline: {exc}") from exc
    return model


def _fingerprint(root: Path) -> str:
    """Cheap content identity of a model folder: every config file in full, and each weight file's
    name, size and first 4 MiB (hashing whole multi-GB files at every start would be slow)."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        h.update(rel.encode())
        h.update(str(path.stat().st_size).encode())
        with path.open("rb") as fh:
            h.update(fh.read(4 << 20))
    return f"{root.name}@{h.hexdigest()[:16]}"
