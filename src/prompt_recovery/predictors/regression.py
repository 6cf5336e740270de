"""Embedding regression: a small torch MLP from (original, rewritten) embeddings to the prompt embedding,
trained with the metric itself as the loss, then inverted back to a string.

Input x = [E(o), E(r), E(r) - E(o)] standardised with training statistics ([N, 3D]); output a vector
[N, D] compared by cosine. Loss = mean(1 - |cos|^3) + mean(1 - cos): the first is the competition
metric, the second keeps early gradients useful when cosines are small. Trains in seconds on a CPU
for a few thousand rows.

``arch = "attention"`` adds attention over token embeddings: the rewritten text's tokens (typed "also in
the original" or "new in the rewrite", since new words such as "shanty" or "Arr" carry the
instruction) and the original's tokens, looked up in the encoder's own input-embedding table, projected
to ``hidden`` and read by a query built from the MLP features; output = linear([features, attended]).
``max_rewritten`` (96) and ``max_original`` (32) cap the tokens per text.

Options: ``arch`` (``mlp``), ``hidden`` (512; 256 for attention), ``heads`` (4), ``epochs`` (60),
``lr`` (1e-3), ``weight_decay`` (1e-4), ``dropout`` (0.1), ``seed`` (0), ``join`` (3: up to three
training prompts joined, see ``invert.py``), ``invert_steps`` (0; >0 adds that many rounds of batched
token search against the predicted vector, ``invert_top_k`` (8) edits per row per round, ``invert_anchor``
(0; see ``invert.py``)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Features, Predictor
from prompt_recovery.predictors.invert import invert_member


def _inputs(rows: Features) -> np.ndarray:
    return np.hstack([rows.original, rows.rewritten, rows.rewritten - rows.original]).astype(np.float32)


ORIGINAL, KEPT, NEW = 0, 1, 2  # token types: in the original; in the rewrite and the original; new in the rewrite


def token_inputs(
    embedder: Embedder, rows: Features, max_rewritten: int, max_original: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Content token ids [N, L] and types [N, L] (-1 = padding): the rewrite's first ``max_rewritten``
    tokens typed KEPT/NEW, then the original's first ``max_original`` typed ORIGINAL."""
    tok = embedder.tokenizer
    seqs = []
    for original, rewritten in zip(rows.rows["original_text"], rows.rows["rewritten_text"], strict=True):
        o = tok.encode_plain(str(original))
        r = tok.encode_plain(str(rewritten))[:max_rewritten]
        seen = set(o)
        seqs.append(
            ([*r, *o[:max_original]], [KEPT if t in seen else NEW for t in r] + [ORIGINAL] * min(len(o), max_original))
        )
    width = max(1, max(len(ids) for ids, _ in seqs))
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    types = torch.full((len(seqs), width), -1, dtype=torch.long)
    for i, (seq, kinds) in enumerate(seqs):
        ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        types[i, : len(kinds)] = torch.tensor(kinds, dtype=torch.long)
    return ids, types


class AttentionRegressor(nn.Module):
    """features [B, d_in] + token embeddings [B, L, d_tok] with types [B, L] -> prompt vector [B, d_out]."""

    def __init__(self, d_in: int, d_tok: int, d_out: int, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout))
        self.tokens = nn.Linear(d_tok, hidden)
        self.types = nn.Embedding(3, hidden)
        self.attend = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.out = nn.Linear(2 * hidden, d_out)

    def forward(self, x: torch.Tensor, tok: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        pad = types < 0
        t = self.tokens(tok) + self.types(types.clamp(min=0))
        pad = pad & ~pad.all(dim=1, keepdim=True)  # a row without tokens attends to its padding, harmlessly
        read, _ = self.attend(h[:, None], t, t, key_padding_mask=pad, need_weights=False)
        return self.out(torch.cat([h, read[:, 0]], dim=-1))


class Regression(Predictor):
    kind = "regression"

    @property
    def attention(self) -> bool:
        return self.options.get("arch", "mlp") == "attention"

    def _model(self, d_in: int, d_out: int, d_tok: int = 0) -> nn.Module:
        if self.attention:
            hidden = int(self.options.get("hidden", 256))
            heads = int(self.options.get("heads", 4))
            return AttentionRegressor(d_in, d_tok, d_out, hidden, heads, float(self.options.get("dropout", 0.1)))
        hidden = int(self.options.get("hidden", 512))
        return nn.Sequential(
            nn.Linear(d_in, hidden),
            nn.GELU(),
            nn.Dropout(float(self.options.get("dropout", 0.1))),
            nn.Linear(hidden, d_out),
        )

    def fit(self, train: Features, embedder: Embedder) -> None:
        assert train.prompt is not None
        torch.manual_seed(int(self.options.get("seed", 0)))
        x = _inputs(train)
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-6
        xt = torch.from_numpy((x - self.mu) / self.sd)
        yt = torch.from_numpy(train.prompt.astype(np.float32))
        table = embedder.input_embeddings.detach().float() if self.attention else None
        ids, types = self._tokens(embedder, train) if self.attention else (None, None)
        self.d_tok = 0 if table is None else int(table.shape[1])
        self.model = self._model(x.shape[1], yt.shape[1], self.d_tok)
        opt = torch.optim.AdamW(
            self.model.parameters(),
            lr=float(self.options.get("lr", 1e-3)),
            weight_decay=float(self.options.get("weight_decay", 1e-4)),
        )
        gen = torch.Generator().manual_seed(int(self.options.get("seed", 0)))
        self.model.train()
        for _ in range(int(self.options.get("epochs", 60))):
            for batch in torch.randperm(len(xt), generator=gen).split(128):
                cos = nn.functional.cosine_similarity(self._forward(xt[batch], table, ids, types, batch), yt[batch])
                loss = (1 - cos.abs().pow(3)).mean() + (1 - cos).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.model.eval()
        self.bank = list(dict.fromkeys(train.rows["rewrite_prompt"]))
        self.bank_vecs = embedder.encode(self.bank)

    def _tokens(self, embedder: Embedder, rows: Features) -> tuple[torch.Tensor, torch.Tensor]:
        o = self.options
        return token_inputs(embedder, rows, int(o.get("max_rewritten", 96)), int(o.get("max_original", 32)))

    def _forward(
        self,
        x: torch.Tensor,
        table: torch.Tensor | None,
        ids: torch.Tensor | None,
        types: torch.Tensor | None,
        batch: torch.Tensor,
    ) -> torch.Tensor:
        if table is None or ids is None or types is None:
            return self.model(x)
        width = int((types[batch] >= 0).sum(dim=1).max().clamp(min=1))  # trim the batch's padding
        return self.model(x, table[ids[batch, :width]], types[batch, :width])

    @torch.inference_mode()
    def predict_vectors(self, rows: Features, embedder: Embedder) -> np.ndarray:
        x = torch.from_numpy((_inputs(rows) - self.mu) / self.sd)
        if self.attention:
            table = embedder.input_embeddings.detach().float()
            ids, types = self._tokens(embedder, rows)
            out = torch.cat(
                [self._forward(x[b], table, ids, types, b) for b in torch.arange(len(x)).split(256)]
            ).numpy()
        else:
            out = self.model(x).numpy()
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)

    def predict(self, rows: Features, embedder: Embedder, extra: list[list[str]] | None = None) -> list[str]:
        vectors = self.predict_vectors(rows, embedder)
        return invert_member(self.options, embedder, vectors, self.bank, self.bank_vecs, extra)

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "bank": self.bank,
            "d_in": int(self.mu.shape[0]),
            "d_out": int(self.bank_vecs.shape[1]),
            "d_tok": self.d_tok,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        weights = {f"model.{k}": v.detach().numpy() for k, v in self.model.state_dict().items()}
        return {"mu": self.mu, "sd": self.sd, "bank_vecs": self.bank_vecs, **weights}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.bank, self.mu, self.sd, self.bank_vecs = state["bank"], arrays["mu"], arrays["sd"], arrays["bank_vecs"]
        self.d_tok = int(state.get("d_tok", 0))
        self.model = self._model(state["d_in"], state["d_out"], self.d_tok)
        self.model.load_state_dict({k[6:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model.")})
        self.model.eval()
