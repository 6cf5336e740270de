"""A learned inverter: a small GRU that writes a prompt for an embedding, as a join candidate (issue 18).

``string_gap.py`` found that joins and token edits cannot remove the rest that bank prompts carry off
the plane of the blend's vector and the mean prompt. A decoder trained to write text *for* a vector
(vec2text's first step, tiny and on the CPU) might land nearer it. Trained here on the pipeline's bank
(every prompt's text from its own embedding, teacher forcing), then:

1. in-distribution check: on ``--check`` bank prompts held out of training, the mean cosine between a
   prompt's embedding and its inverted text's (1.0 would be a perfect inverter), next to the nearest
   *other* bank prompt's cosine (what retrieval gets);
2. on the held-out rows of each source: the inverter's string for the blend's vector alone, and offered
   to the blend's join next to the mean prompt (``join + inverter``, then ``default + inverter`` after
   the 10 rounds), against ``default`` on the same rows. MiniLM proxy, mean SCS.

    .venv/bin/python bench/inverter.py --model /tmp/blend-warm/corpus --train corpus
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from cross_source import CACHE, held_out_sets
from invert_targets import blend_vector, part_vectors

from prompt_recovery.embed import Embedder
from prompt_recovery.metric import cosine_rows
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.predictors import Features
from prompt_recovery.predictors.blend import BlendConfig
from prompt_recovery.predictors.invert import invert, refine_joined
from prompt_recovery.scoring import score_prompts

MAX_TOKENS = 32


class Inverter(torch.nn.Module):
    """GRU decoder conditioned on a unit embedding [B, D] at its start state and at every step."""

    def __init__(self, dim: int, vocab: int, hidden: int = 384, emb: int = 192) -> None:
        super().__init__()
        self.start = torch.nn.Linear(dim, 2 * hidden)
        self.cond = torch.nn.Linear(dim, emb)
        self.tokens = torch.nn.Embedding(vocab + 1, emb)  # + 1: the begin token, index ``vocab``
        self.gru = torch.nn.GRU(2 * emb, hidden, num_layers=2, batch_first=True)
        self.out = torch.nn.Linear(hidden, vocab + 1)  # index ``vocab`` also ends a string
        self.vocab, self.hidden = vocab, hidden

    def forward(self, vec: torch.Tensor, inputs: torch.Tensor, state: torch.Tensor | None = None):
        if state is None:
            state = torch.tanh(self.start(vec)).view(-1, 2, self.hidden).transpose(0, 1).contiguous()
        cond = self.cond(vec).unsqueeze(1).expand(-1, inputs.shape[1], -1)
        y, state = self.gru(torch.cat([self.tokens(inputs), cond], dim=-1), state)
        return self.out(y), state

    @torch.inference_mode()
    def greedy(self, vec: torch.Tensor) -> list[list[int]]:
        token = torch.full((len(vec), 1), self.vocab, dtype=torch.long)
        state: torch.Tensor | None = None
        out: list[list[int]] = [[] for _ in range(len(vec))]
        done = np.zeros(len(vec), dtype=bool)
        for _ in range(MAX_TOKENS):
            logits, state = self(vec, token, state)
            last = logits[:, -1].clone()
            for i, row in enumerate(out):  # no bigram twice: greedy decoding otherwise loops
                if row:
                    seen = [b for a, b in pairwise(row) if a == row[-1]]
                    last[i, seen] = -torch.inf
            token = last.argmax(-1, keepdim=True)
            for i, t in enumerate(token[:, 0].tolist()):
                if t == self.vocab:
                    done[i] = True
                elif not done[i]:
                    out[i].append(t)
            if done.all():
                break
        return out


def train_inverter(
    embedder: Embedder, texts: list[str], vectors: np.ndarray, epochs: int, seed: int = 0
) -> tuple[Inverter, np.ndarray]:
    """The inverter fitted on (vectors[i] -> texts[i]), and the token ids its indices stand for."""
    tok = embedder.tokenizer
    seqs = [tok.encode_plain(t)[: MAX_TOKENS - 1] for t in texts]
    ids = np.array(sorted({i for s in seqs for i in s}), dtype=np.int64)
    index = {int(t): j for j, t in enumerate(ids)}
    end = len(ids)
    torch.manual_seed(seed)
    model = Inverter(vectors.shape[1], end)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(seed)
    vec = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
    for epoch in range(epochs):
        began, total, count = time.perf_counter(), 0.0, 0
        for batch in np.array_split(rng.permutation(len(seqs)), max(1, len(seqs) // 128)):
            length = max(len(seqs[i]) for i in batch) + 1
            target = torch.full((len(batch), length), -100, dtype=torch.long)
            inputs = torch.full((len(batch), length), end, dtype=torch.long)
            for r, i in enumerate(batch):
                row = [index[t] for t in seqs[i]] + [end]
                target[r, : len(row)] = torch.tensor(row)
                inputs[r, 1 : len(row)] = torch.tensor(row[:-1])
            logits, _ = model(vec[batch], inputs)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, end + 1), target.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(batch), count + len(batch)
        print(f"epoch {epoch + 1}: loss {total / count:.3f} ({time.perf_counter() - began:.0f} s)", flush=True)
    return model.eval(), ids


def write(model: Inverter, ids: np.ndarray, embedder: Embedder, vectors: np.ndarray) -> list[str]:
    """The inverter's string for each unit vector [N, D]."""
    out = model.greedy(torch.from_numpy(np.asarray(vectors, dtype=np.float32)))
    return [embedder.tokenizer.decode([int(ids[j]) for j in row]).strip() for row in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="folder written by blend_warm.py --model")
    ap.add_argument("--train", choices=["corpus", "stylerec", "gpt35"], default="corpus", help="its training source")
    ap.add_argument("--limit", type=int, default=200, help="held-out rows per source, drawn seeded (0: all)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--check", type=int, default=500, help="bank prompts held out of training for the check")
    ap.add_argument("--sources", nargs="*", help="held-out sources to score (default: all)")
    args = ap.parse_args()
    pipeline = Pipeline.load(args.model, cache_dir=CACHE)
    embedder, ctx, mean = pipeline.embedder, pipeline.context, pipeline.mean_prompt
    bank = ctx.bank
    order = np.random.default_rng(0).permutation(len(bank))
    check, fit = order[: args.check], order[args.check :]
    began = time.perf_counter()
    model, ids = train_inverter(embedder, [bank.texts[i] for i in fit], bank.vectors[fit], args.epochs)
    print(f"trained on {len(fit)} bank prompts in {time.perf_counter() - began:.0f} s", flush=True)

    written = write(model, ids, embedder, bank.vectors[check])
    own = cosine_rows(embedder.encode(written, use_cache=False), bank.vectors[check])
    sims = bank.vectors[check] @ bank.vectors[fit].T
    print(
        f"check, {len(check)} held-out bank prompts: cos(prompt, its inverted text) {own.mean():.3f}, "
        f"cos(prompt, nearest other bank prompt) {sims.max(1).mean():.3f}"
    )
    for t, w in list(zip([bank.texts[i] for i in check], written, strict=True))[:5]:
        print(f"  {t!r} -> {w!r}")

    cfg = BlendConfig().invert
    print("\n| scored on | inverter alone | join only | join + inverter | default | default + inverter |")
    print("|---|---|---|---|---|---|")
    for tag, rows in held_out_sets(args.train, args.limit, args.sources):
        truths = list(rows["rewrite_prompt"])
        v = blend_vector(*part_vectors(pipeline, Features.of(rows, embedder)))
        inverted = write(model, ids, embedder, v)
        got = {"inverter alone": [s or mean for s in inverted]}
        got["join only"] = invert(embedder, v, bank, replace(cfg, steps=0), [[mean]] * len(v))
        got["join + inverter"] = invert(embedder, v, bank, replace(cfg, steps=0), [[mean, s] for s in inverted])
        got["default"] = refine_joined(embedder, v, got["join only"], cfg)
        got["default + inverter"] = refine_joined(embedder, v, got["join + inverter"], cfg)
        score = {k: float(score_prompts(embedder, t, truths).mean()) for k, t in got.items()}
        ref = score["default"]
        print(f"| {tag} | " + " | ".join(f"{x:.4f} ({x / ref:.2f}x)" for x in score.values()) + " |", flush=True)


if __name__ == "__main__":
    main()
