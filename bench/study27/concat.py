import sys, pickle, numpy as np
sys.path.insert(0, "/work/main/bench")
from harness import CACHE
from prompt_recovery.embed import load_embedder
from prompt_recovery.metric import scs
e = load_embedder("minilm", cache_dir=CACHE)
for c in sys.argv[1:]:
    d = pickle.load(open(c, "rb"))
    n = len(d["texts"]); res = {}
    for m in (1, 2, 3, 5, 10, 20):
        cen, cat, catm, catj = [], [], [], []
        for i in range(n):
            pr = d["pred"][i]; idx = np.argsort(-pr, kind="stable")[:m]
            v = d["vectors"][i][idx].mean(0); v /= np.linalg.norm(v)
            cen.append(scs(v @ d["truth"][i]))
            cat.append(" ".join(d["texts"][i][j] for j in idx))
            catm.append(" ".join(d["texts"][i][j] for j in idx) + " " + d["mean"])
            catj.append(d["joined"][i] + " " + " ".join(d["texts"][i][j] for j in idx))
        res[f"centroid top{m}"] = np.mean(cen)
        if m <= 10:
            for lab, s in (("concat", cat), ("concat+mean", catm), ("joined+concat", catj)):
                E = e.encode(s); res[f"{lab} top{m}"] = float(np.mean(scs(np.einsum("nd,nd->n", E, d["truth"]))))
    print(c.split("/")[-1], {k: round(float(v), 4) for k, v in res.items()}, flush=True)
