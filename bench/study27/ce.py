"""Pilot: a MiniLM cross-encoder trained on (texts, candidate) -> |cos|^3 to the truth; rerank top-M of each pool."""
import os, sys, time, pickle, numpy as np, torch
os.environ["HF_HUB_OFFLINE"] = "1"; os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, "/work/main/bench")
from harness import CACHE
from data import sources
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.metric import scs
from prompt_recovery.embed import _minilm_path
from sentence_transformers.cross_encoder import CrossEncoder
from sentence_transformers.readers import InputExample
from torch.utils.data import DataLoader

src, n_train, M = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = Pipeline.load(f"/tmp/chooser/model-{src}", cache_dir=CACHE)
train_rows = sources(None, 3000)[src][0].iloc[:n_train]
def doc(o, r): return f"Original: {o[:700]}\nRewritten: {r[:700]}"
truth = p.embedder.encode(list(train_rows.rewrite_prompt))
bank = p.bank.vectors; rng = np.random.default_rng(0)
ex = []
for i, (o, r, t) in enumerate(zip(train_rows.original_text, train_rows.rewritten_text, train_rows.rewrite_prompt)):
    sims = bank @ truth[i]
    order = np.argsort(-sims, kind="stable")
    hard = [j for j in order[:40] if sims[j] < 0.985][:3]
    cands = [(t, 1.0)] + [(p.bank.texts[j], float(scs(sims[j]))) for j in hard[:2]] + [(p.bank.texts[int(j)], float(scs(sims[j]))) for j in rng.choice(len(bank), 1)]
    for c, y in cands:
        ex.append(InputExample(texts=[c, doc(o, r)], label=y))
print("pairs", len(ex), flush=True)
torch.manual_seed(0)
ce = CrossEncoder(str(_minilm_path()), num_labels=1, max_length=256, local_files_only=True)
t0 = time.perf_counter()
ce.old_fit(train_dataloader=DataLoader(ex, shuffle=True, batch_size=16), epochs=1, warmup_steps=50, show_progress_bar=False,
           loss_fct=torch.nn.BCEWithLogitsLoss())
print(f"train {time.perf_counter()-t0:.0f}s", flush=True)
for name in ("corpus", "stylerec", "gpt35"):
    d = pickle.load(open(f"/tmp/exp/{src}--{name}.pkl", "rb"))
    res = {"joined": [], "top": [], "ce": [], "oracleM": [], "oracle": [], "blend": []}
    t0 = time.perf_counter(); pairs = 0
    for i in range(len(d["texts"])):
        y = scs(d["vectors"][i] @ d["truth"][i])
        pr = d["pred"][i]
        top = np.argsort(-pr, kind="stable")[:M]
        s = ce.predict([[d["texts"][i][j], doc(d["original"][i], d["rewritten"][i])] for j in top], show_progress_bar=False)
        pairs += len(top)
        res["top"].append(y[top[0]]); res["ce"].append(y[top[int(np.argmax(s))]]); res["oracleM"].append(y[top].max()); res["oracle"].append(y.max())
        res["joined"].append(y[0])  # extras first: joined is candidate 0
        z = np.asarray(s) - np.max(s)
        res["blend"].append(y[top[int(np.argmax(pr[top] + 0.0 * z))]])
    print(src, "->", name, {k: round(float(np.mean(v)), 4) for k, v in res.items()}, f"{(time.perf_counter()-t0)/pairs*1000:.0f} ms/pair", flush=True)
