"""Dump, per (trained model, held-out set), each row's pool, reranker predictions and truth scores."""
import sys, pickle, numpy as np
sys.path.insert(0, "/work/main/bench")
from harness import CACHE
from data import held_out, sources
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.predictors import Features
from prompt_recovery.chooser import stage as chooser_stage
from prompt_recovery.chooser.features import pair_features
from prompt_recovery.chooser.model import _round
from prompt_recovery.metric import scs

src = sys.argv[1]
p = Pipeline.load(f"/tmp/chooser/model-{src}", cache_dir=CACHE)
data = sources(None, 3000)
for name, (_, rows) in data.items():
    rows = held_out(rows, 200)
    f = Features.of(rows, p.embedder)
    outputs = p.member_outputs(f, list(p.order))
    joined = p.combine(outputs, suffix=False)
    ctx, extras = chooser_stage.inputs(p.context, f, p.members, outputs, p.order, joined, p.mean_prompt)
    pool = p.chooser.pool(ctx, p.bank, extras, chooser_stage.decent_mask(p.bank))
    x = _round(pair_features(pool, ctx))
    pred = _round(p.chooser.booster.predict(x, num_threads=1))
    truth = p.embedder.encode(list(rows["rewrite_prompt"]))
    off = np.concatenate([[0], np.cumsum(pool.sizes())])
    out = dict(texts=pool.texts, vectors=pool.vectors, origin=pool.origin, x=[x[off[i]:off[i+1]] for i in range(len(pool))],
               pred=[pred[off[i]:off[i+1]] for i in range(len(pool))], truth=truth, truth_text=list(rows["rewrite_prompt"]),
               original=list(rows.original_text), rewritten=list(rows.rewritten_text), mean=p.mean_prompt,
               mean_vec=p.embedder.encode([p.mean_prompt])[0], joined=joined, names=p.chooser.feature_names)
    pickle.dump(out, open(f"/tmp/exp/{src}--{name}.pkl", "wb"))
    print(src, name, "done", flush=True)
