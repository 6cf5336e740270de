import sys, pickle, time, numpy as np
sys.path.insert(0, "/work/main/bench")
from harness import CACHE
from data import held_out, sources
from prompt_recovery.pipeline import Pipeline
from prompt_recovery.predictors import Features
from prompt_recovery.predictors.base import unit
from prompt_recovery.predictors.invert import invert
from prompt_recovery.metric import scs
src = sys.argv[1]; m = int(sys.argv[2]); cells = sys.argv[3:]
p = Pipeline.load(f"/tmp/chooser/model-{src}", cache_dir=CACHE)
data = sources(None, 3000)
blend = p.members["blend"]
for name in cells:
    rows = held_out(data[name][1], 200)
    d = pickle.load(open(f"/tmp/exp/{src}--{name}.pkl", "rb"))
    f = Features.of(rows, p.embedder)
    bv = blend.predict_vectors(f, p.context)
    T = d["truth"]
    cen = []
    extra = []
    for i in range(len(T)):
        idx = np.argsort(-d["pred"][i], kind="stable")[:m]
        cen.append(d["vectors"][i][idx].mean(0))
        extra.append([d["texts"][i][j] for j in idx[:5]] + [d["mean"]])
    cen = unit(np.stack(cen))
    mix = unit(unit(bv) + cen)
    t0 = time.perf_counter()
    s_cen = invert(p.embedder, cen, p.bank, blend.invert_config, extra)
    t1 = time.perf_counter() - t0
    s_mix = invert(p.embedder, mix, p.bank, blend.invert_config, extra)
    def sc(strs): return float(np.mean(scs(np.einsum("nd,nd->n", p.embedder.encode(strs), T))))
    def sv(V): return float(np.mean(scs(np.einsum("nd,nd->n", V, T))))
    print(src, name, f"m={m} blend vec {sv(bv):.4f} joined str {sc(d['joined']):.4f} | centroid vec {sv(cen):.4f} str {sc(s_cen):.4f} ({t1:.0f}s) | mix vec {sv(mix):.4f} str {sc(s_mix):.4f}", flush=True)
    pickle.dump(dict(cen=s_cen, mix=s_mix), open(f"/tmp/exp/cinv-{src}--{name}-{m}.pkl", "wb"))
