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

``loss = "contrastive"`` adds an InfoNCE term to the metric loss: the unit output against every vector
of the pipeline's bank (``ctx.bank.vectors`` [M, D], fixed), logits = unit(out) @ bank.T /
``temperature``, target = the bank row of the row's own prompt. The metric term alone only pulls the
output towards the prompt; the contrastive term also pushes it away from the other bank prompts (all of
them, the hard ones included), so the output works as a query that ranks the true prompt first.
``vote = k`` (> 0) uses it as one: the prediction is unit(mean of the k bank vectors nearest unit(out))
by cosine, ties to the earlier bank row (as ``retrieval``), searched in the bank given at prediction
time; ``vote = 0`` returns unit(out) itself.

TOML::

    [[member]]
    kind = "regression"
    arch = "attention"      # or "mlp" (default)
    epochs = 30

    [[member]]
    kind = "regression"
    loss = "contrastive"    # or "metric" (default)
    temperature = 0.05
    vote = 20               # 0 (default): the raw output
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Context, Features, VectorPredictor, nearest_rows, unit
from prompt_recovery.predictors.invert import InvertConfig
from prompt_recovery.progress import tqdm


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


@dataclass(frozen=True)
class RegressionConfig:
    arch: Literal["mlp", "attention"] = "mlp"
    hidden: int | None = None  # None: 512 for mlp, 256 for attention
    heads: int = 4  # attention heads (arch = "attention")
    epochs: int = 60
    # ...but at most this many optimiser steps (batches of 128): training cost stops growing with the
    # rows past ~2,000 (60 epochs of the MLP on the 1,847-row corpus train split is 900 steps)
    max_steps: int | None = 1000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    seed: int = 0
    max_rewritten: int = 96  # tokens of the rewrite the attention reads
    max_original: int = 32  # tokens of the original the attention reads
    loss: Literal["metric", "contrastive"] = "metric"  # contrastive: + InfoNCE over the whole bank
    temperature: float = 0.05  # InfoNCE softmax temperature (loss = "contrastive")
    vote: int = 0  # > 0: predict unit(mean of the `vote` bank vectors nearest the output)
    invert: InvertConfig = field(default_factory=InvertConfig)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.heads < 1 or (self.hidden is not None and self.hidden < 1):
            raise ValueError("epochs, heads and hidden must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or unset, got {self.max_steps}")
        if self.hidden is not None and self.arch == "attention" and self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        if not 0 <= self.dropout < 1 or self.lr <= 0:
            raise ValueError("dropout must be in [0, 1) and lr > 0")
        if self.loss not in ("metric", "contrastive"):
            raise ValueError(f"loss must be 'metric' or 'contrastive', got {self.loss!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.vote < 0:
            raise ValueError(f"vote must be >= 0 (0: the raw output, k: the mean of k bank vectors), got {self.vote}")


class Regression(VectorPredictor):
    kind = "regression"
    Config = RegressionConfig
    config: RegressionConfig

    @property
    def attention(self) -> bool:
        return self.config.arch == "attention"

    def _model(self, d_in: int, d_out: int, d_tok: int = 0) -> nn.Module:
        c = self.config
        if self.attention:
            return AttentionRegressor(d_in, d_tok, d_out, c.hidden or 256, c.heads, c.dropout)
        hidden = c.hidden or 512
        return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(c.dropout), nn.Linear(hidden, d_out))

    def fit(self, train: Features, ctx: Context) -> None:
        assert train.prompt is not None
        c, embedder = self.config, ctx.embedder
        torch.manual_seed(c.seed)
        x = _inputs(train)
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-6
        xt = torch.from_numpy((x - self.mu) / self.sd)
        yt = torch.from_numpy(train.prompt.astype(np.float32))
        table = embedder.input_embeddings.detach().float() if self.attention else None
        ids, types = self._tokens(embedder, train) if self.attention else (None, None)
        self.d_tok = 0 if table is None else int(table.shape[1])
        self.d_out = int(yt.shape[1])
        self.model = self._model(x.shape[1], self.d_out, self.d_tok)
        bank, target = self._contrastive_targets(train, ctx, self.d_out) if c.loss == "contrastive" else (None, None)
        opt = torch.optim.AdamW(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        gen = torch.Generator().manual_seed(c.seed)
        self.model.train()
        steps = 0
        total = c.epochs * -(-len(xt) // 128)
        bar = tqdm(total=min(total, c.max_steps or total), desc=f"Regression ({c.arch})", disable=not ctx.show_progress)
        for _ in range(c.epochs):
            if c.max_steps is not None and steps >= c.max_steps:
                break
            for batch in torch.randperm(len(xt), generator=gen).split(128):
                if c.max_steps is not None and steps >= c.max_steps:
                    break
                steps += 1
                out = self._forward(xt[batch], table, ids, types, batch)
                cos = nn.functional.cosine_similarity(out, yt[batch])
                loss = (1 - cos.abs().pow(3)).mean() + (1 - cos).mean()
                if bank is not None and target is not None:
                    logits = nn.functional.normalize(out, dim=-1) @ bank.T / c.temperature  # [B, M]
                    loss = loss + nn.functional.cross_entropy(logits, target[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
                bar.update(1)
        bar.close()
        self.model.eval()

    @staticmethod
    def _contrastive_targets(train: Features, ctx: Context, d: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The bank's vectors [M, D] and each training row's bank row [N] (its own prompt)."""
        if not len(ctx.bank):
            raise ValueError("loss = 'contrastive' needs a prompt bank to contrast with, and the bank is empty")
        prompts = list(train.rows["rewrite_prompt"])
        missing = sorted({str(p) for p in prompts} - set(ctx.bank.texts))
        if missing:
            raise ValueError(
                f"loss = 'contrastive': {len(missing)} training prompt(s) are not in the bank, e.g. {missing[0]!r}"
            )
        bank = torch.from_numpy(np.asarray(ctx.bank.vectors, dtype=np.float32))
        if bank.shape[1] != d:
            raise ValueError(f"the bank's vectors have {bank.shape[1]} dims, the prompts' {d}: not one embedder")
        return bank, torch.from_numpy(ctx.bank.index(prompts))

    def _tokens(self, embedder: Embedder, rows: Features) -> tuple[torch.Tensor, torch.Tensor]:
        return token_inputs(embedder, rows, self.config.max_rewritten, self.config.max_original)

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
    def predict_vectors(self, rows: Features, ctx: Context) -> np.ndarray:
        x = torch.from_numpy((_inputs(rows) - self.mu) / self.sd)
        if self.attention:
            table = ctx.embedder.input_embeddings.detach().float()
            ids, types = self._tokens(ctx.embedder, rows)
            out = torch.cat(
                [self._forward(x[b], table, ids, types, b) for b in torch.arange(len(x)).split(256)]
            ).numpy()
        else:
            out = self.model(x).numpy()
        return self._vote(unit(out), ctx) if self.config.vote else unit(out)

    def _vote(self, query: np.ndarray, ctx: Context) -> np.ndarray:
        """unit(mean of the ``vote`` bank vectors nearest each unit row of ``query`` [N, D]) by cosine."""
        if not len(ctx.bank):
            raise ValueError("vote > 0 has nothing to search: an empty prompt bank")
        nbrs = nearest_rows(query, ctx.bank.vectors, min(self.config.vote, len(ctx.bank)))
        return unit(ctx.bank.vectors[nbrs].mean(axis=1))

    def state(self) -> dict[str, Any]:
        return {"d_in": int(self.mu.shape[0]), "d_out": self.d_out, "d_tok": self.d_tok}

    def arrays(self) -> dict[str, np.ndarray]:
        weights = {f"model.{k}": v.detach().numpy() for k, v in self.model.state_dict().items()}
        return {"mu": self.mu, "sd": self.sd, **weights}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.mu, self.sd = arrays["mu"], arrays["sd"]
        self.d_tok, self.d_out = int(state["d_tok"]), int(state["d_out"])
        self.model = self._model(state["d_in"], self.d_out, self.d_tok)
        self.model.load_state_dict({k[6:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model.")})
        self.model.eval()
