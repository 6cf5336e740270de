"""Embedding regression: a small torch MLP from (original, rewritten) embeddings to the prompt embedding,
trained with the metric itself as the loss, then inverted back to a string.

Input x = [E(o), E(r), E(r) - E(o)] standardised with training statistics ([N, 3D]); output a vector
[N, D] compared by cosine. Loss = mean(1 - |cos|^3) + mean(1 - cos): the first is the competition
metric, the second keeps early gradients useful when cosines are small. Trains in seconds on a CPU
for a few thousand rows.

Options: ``hidden`` (512), ``epochs`` (60), ``lr`` (1e-3), ``weight_decay`` (1e-4), ``dropout`` (0.1),
``seed`` (0), ``join`` (3: up to three training prompts joined, see ``invert.py``), ``invert_steps``
(0; >0 adds token-search steps against the predicted vector).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from prompt_recovery.embed import Embedder
from prompt_recovery.predictors.base import Features, Predictor
from prompt_recovery.predictors.invert import invert


def _inputs(rows: Features) -> np.ndarray:
    return np.hstack([rows.original, rows.rewritten, rows.rewritten - rows.original]).astype(np.float32)


class Regression(Predictor):
    kind = "regression"

    def _model(self, d_in: int, d_out: int) -> nn.Module:
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
        self.model = self._model(x.shape[1], yt.shape[1])
        opt = torch.optim.AdamW(
            self.model.parameters(),
            lr=float(self.options.get("lr", 1e-3)),
            weight_decay=float(self.options.get("weight_decay", 1e-4)),
        )
        gen = torch.Generator().manual_seed(int(self.options.get("seed", 0)))
        self.model.train()
        for _ in range(int(self.options.get("epochs", 60))):
            for batch in torch.randperm(len(xt), generator=gen).split(128):
                cos = nn.functional.cosine_similarity(self.model(xt[batch]), yt[batch])
                loss = (1 - cos.abs().pow(3)).mean() + (1 - cos).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.model.eval()
        self.bank = list(dict.fromkeys(train.rows["rewrite_prompt"]))
        self.bank_vecs = embedder.encode(self.bank)

    @torch.inference_mode()
    def predict_vectors(self, rows: Features, embedder: Embedder) -> np.ndarray:
        out = self.model(torch.from_numpy((_inputs(rows) - self.mu) / self.sd)).numpy()
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)

    def predict(self, rows: Features, embedder: Embedder, extra: list[list[str]] | None = None) -> list[str]:
        steps = int(self.options.get("invert_steps", 0))
        vectors = self.predict_vectors(rows, embedder)
        join = int(self.options.get("join", 3))
        return invert(
            embedder, vectors, self.bank, self.bank_vecs, extra, steps, join, cache_dir=self.options.get("cache_dir")
        )

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "bank": self.bank,
            "d_in": int(self.mu.shape[0]),
            "d_out": int(self.bank_vecs.shape[1]),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        weights = {f"model.{k}": v.detach().numpy() for k, v in self.model.state_dict().items()}
        return {"mu": self.mu, "sd": self.sd, "bank_vecs": self.bank_vecs, **weights}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.bank, self.mu, self.sd, self.bank_vecs = state["bank"], arrays["mu"], arrays["sd"], arrays["bank_vecs"]
        self.model = self._model(state["d_in"], state["d_out"])
        self.model.load_state_dict({k[6:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model.")})
        self.model.eval()
