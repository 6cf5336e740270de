import sys, pickle, numpy as np, itertools
from prompt_recovery.metric import scs
cells = sys.argv[1:]
def run(d, rule):
    out = []
    for i in range(len(d["texts"])):
        V = d["vectors"][i]; y = scs(V @ d["truth"][i]); pr = d["pred"][i]
        out.append(y[rule(V, pr, d, i)])
    return float(np.mean(out))
def top(V, pr, d, i): return int(np.argmax(pr))
def joined(V, pr, d, i): return 0
def mbr(T, m):
    def f(V, pr, d, i):
        idx = np.argsort(-pr, kind="stable")[:m]
        w = np.exp((pr[idx] - pr[idx].max()) / T); w /= w.sum()
        u = scs(V @ V[idx].T) @ w  # expected score of each candidate if truth ~ candidates
        return int(np.argmax(np.round(u, 6)))
    return f
rules = {"joined": joined, "top": top}
for T in (0.01, 0.03, 0.1, 1.0):
    for m in (5, 10, 20):
        rules[f"mbr T={T} m={m}"] = mbr(T, m)
res = {}
for c in cells:
    d = pickle.load(open(c, "rb"))
    res[c] = {k: run(d, r) for k, r in rules.items()}
    res[c]["oracle"] = float(np.mean([scs(V @ d["truth"][i]).max() for i, V in enumerate(d["vectors"])]))
print("rule".ljust(22), *[c.split("/")[-1][:-4].ljust(18) for c in cells])
for k in [*rules, "oracle"]:
    print(k.ljust(22), *[f"{res[c][k]:.4f}".ljust(18) for c in cells])
