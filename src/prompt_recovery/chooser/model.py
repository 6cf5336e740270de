"""The chooser: a learned reranker over each row's candidate pool, and a calibrated gate.

**Reranker.** A LightGBM regressor maps a (row, candidate) feature vector (``features.py``) to the
candidate's expected |cos|^3 against the row's true prompt. Trained on labelled rows the pipeline's
members did not see (the validation part of ``train``), with the 3rd place's sampling: the true
prompt joins the pool of ``positive_share`` of the rows, the rest of each pool is what retrieval found
(random and hard negatives alike: the bank prompts nearest the truth's neighbours). The row's pick is
the candidate with the highest prediction (rounded to 6 decimals; ties go to the earlier candidate).

**Gate.** Under |cos|^3 a confident wrong prompt costs a lot and the mean prompt is the safest floor,
so each row takes one of four options: ``joined`` (the members' join: the pipeline without a chooser),
``top`` (the pick), ``composed`` (the pick followed by the mean prompt: a hedge between the two) or
``mean`` (the mean prompt alone), whichever has the highest expected score given the reranker's
prediction for the candidate the option rests on (the join, the pick, the pick, the mean prompt). The
expectation is an isotonic fit of each option's realised score on that prediction over out-of-fold
predictions (two folds of the
training rows, the true prompt left out of the pools as at prediction time): calibrated on held-out
training rows, never on the rows being scored.

**Readable prompt.** The best-predicted candidate a person wrote (a bank prompt or an LLM member's
answer), never a token-search string.

Saved as one JSON document (``to_doc``): the LightGBM model as text (no pickle: loading runs no code),
the feature names (checked against the pipeline on load) and the gate's isotonic knots.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prompt_recovery.banks import PromptBank
from prompt_recovery.chooser.config import ChooserConfig
from prompt_recovery.chooser.features import RowContext, names, pair_features
from prompt_recovery.chooser.pool import ORIGINS, Extra, Pool, build_pool
from prompt_recovery.config import from_table, to_table
from prompt_recovery.embed import Embedder
from prompt_recovery.errors import ModelError
from prompt_recovery.metric import scs

logger = logging.getLogger(__name__)
OPTIONS = ("joined", "top", "composed", "mean")  # the gate's options; a tie goes to the earlier
JOINED, MEAN = ORIGINS.index("joined"), ORIGINS.index("mean")
READABLE = (ORIGINS.index("bank"), ORIGINS.index("llm"))


@dataclass
class Choice:
    """Per row: the prediction, the readable prompt, the reranker's pick and the gate's option."""

    text: list[str]
    readable: list[str]
    top: list[str]
    option: list[str]


@dataclass
class FitReport:
    """What training measured on the out-of-fold rows (means over rows)."""

    rows: int
    candidates: int
    oracle: float  # the best candidate of each pool (without the true prompt)
    top: float  # the reranker's pick
    gated: float  # the gate's option
    seconds: float = 0.0
    options: dict[str, int] = field(default_factory=dict)


def _booster(params: dict[str, Any], x: np.ndarray, y: np.ndarray, rounds: int, feature_names: list[str]) -> Any:
    import lightgbm as lgb

    # LightGBM's own names are f0, f1, ... (it refuses ":" and other JSON characters); ours are saved beside
    data = lgb.Dataset(x, y, feature_name=[f"f{i}" for i in range(len(feature_names))], params={"verbose": -1})
    return lgb.train(params, data, num_boost_round=rounds)


def _round(x: np.ndarray) -> np.ndarray:
    # the tie rule: float noise from batching moves features by ~1e-7; rounding keeps a row's
    # features, predictions and pick the same in any batch
    return np.round(np.asarray(x, dtype=np.float64), 6)


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(int)


class Chooser:
    def __init__(self, config: ChooserConfig | None = None) -> None:
        self.config = config or ChooserConfig()
        self.booster: Any = None
        self.feature_names: list[str] = []
        self.gate: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.report: FitReport | None = None

    # -- inputs ---------------------------------------------------------------------------------------
    def pool(self, ctx: RowContext, bank: PromptBank, extras: list[Extra], allowed: np.ndarray | None) -> Pool:
        return build_pool(ctx.queries(), bank, extras, self.config.k, self.config.dedupe, allowed)

    @property
    def params(self) -> dict[str, Any]:
        c = self.config
        return {
            "objective": "regression",
            "learning_rate": c.learning_rate,
            "num_leaves": c.leaves,
            "min_data_in_leaf": c.min_rows_in_leaf,
            "feature_fraction": 1.0,
            "bagging_fraction": 1.0,
            # one thread and the deterministic mode: the same model whatever the machine's thread count
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "seed": c.seed,
            "verbose": -1,
        }

    # -- training -------------------------------------------------------------------------------------
    def fit(
        self,
        embedder: Embedder,
        ctx: RowContext,
        bank: PromptBank,
        extras: list[Extra],
        truth: list[str],
        truth_vectors: np.ndarray,
        mean_text: str,
        allowed: np.ndarray | None = None,
    ) -> FitReport:
        """Train the reranker and calibrate the gate on labelled rows. ``truth_vectors`` [N, D]."""
        import time

        start = time.perf_counter()
        c = self.config
        n = len(truth)
        rng = np.random.default_rng(c.seed)
        positive = rng.random(n) < c.positive_share
        plain = self.pool(ctx, bank, extras, allowed)
        with_truth = self.pool(
            ctx,
            bank,
            [Extra("bank", [t if p else "" for t, p in zip(truth, positive, strict=True)], truth_vectors), *extras],
            allowed,
        )
        self.feature_names = names(ctx)
        x_all = _round(pair_features(with_truth, ctx))
        y_all = np.concatenate([scs(v @ truth_vectors[i]) for i, v in enumerate(with_truth.vectors)]).astype(np.float64)
        off = _offsets(with_truth.sizes())
        x_plain = _round(pair_features(plain, ctx))
        y_plain = [scs(v @ truth_vectors[i]).astype(np.float64) for i, v in enumerate(plain.vectors)]
        off_plain = _offsets(plain.sizes())

        # out-of-fold predictions on the plain pools (two folds), for the gate and the report
        fold = rng.permutation(n) % 2
        oof = np.zeros(len(x_plain))
        for f in (0, 1):
            fit_rows = np.flatnonzero(fold != f)
            take = np.concatenate([np.arange(off[i], off[i + 1]) for i in fit_rows])
            model = _booster(self.params, x_all[take], y_all[take], c.trees, self.feature_names)
            for row in np.flatnonzero(fold == f):
                oof[off_plain[row] : off_plain[row + 1]] = model.predict(
                    x_plain[off_plain[row] : off_plain[row + 1]], num_threads=1
                )
        conf = {o: np.full(n, np.nan) for o in OPTIONS}  # the reranker's prediction each option rests on
        s: dict[str, np.ndarray] = {o: np.full(n, np.nan) for o in OPTIONS}
        tops, oracle = [], np.zeros(n)
        for i in range(n):
            p = _round(oof[off_plain[i] : off_plain[i + 1]])
            j = int(np.argmax(p))  # the first of the highest
            s["top"][i], oracle[i] = y_plain[i][j], y_plain[i].max()
            tops.append(plain.texts[i][j])
            for o, k in self._bases(p, plain.origin[i]).items():
                conf[o][i] = p[k]
                if o == "joined":
                    s[o][i] = y_plain[i][k]
        composed = [self._compose(t, mean_text) for t in tops]
        composed_vec = embedder.encode(composed)
        mean_vec = embedder.encode([mean_text])[0]
        s["composed"] = scs(np.einsum("nd,nd->n", composed_vec, truth_vectors)).astype(np.float64)
        s["mean"] = scs(truth_vectors @ mean_vec).astype(np.float64)
        fits = {o: np.isfinite(conf[o]) & np.isfinite(s[o]) for o in OPTIONS}
        self.gate = (
            {o: self._isotonic(conf[o][fits[o]], s[o][fits[o]]) for o in OPTIONS if fits[o].any()} if c.gate else {}
        )
        picked = [self._option({o: conf[o][i] for o in OPTIONS}) for i in range(n)]
        gated = np.array([s[o][i] for i, o in enumerate(picked)])
        self.booster = _booster(self.params, x_all, y_all, c.trees, self.feature_names)
        self.report = FitReport(
            rows=n,
            candidates=int(off_plain[-1]),
            oracle=float(oracle.mean()),
            top=float(s["top"].mean()),
            gated=float(gated.mean()),
            seconds=time.perf_counter() - start,
            options={o: picked.count(o) for o in OPTIONS},
        )
        logger.info("chooser: %s", self.report)
        return self.report

    @staticmethod
    def _isotonic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.isotonic import IsotonicRegression

        with warnings.catch_warnings():  # "auto" warns when the direction is unsure; either fit is calibrated
            warnings.simplefilter("ignore", UserWarning)
            iso = IsotonicRegression(increasing="auto", out_of_bounds="clip").fit(x, y)
        return np.asarray(iso.X_thresholds_, np.float64), np.asarray(iso.y_thresholds_, np.float64)

    @staticmethod
    def _bases(p: np.ndarray, origin: np.ndarray) -> dict[str, int]:
        """For one row's predictions ``p`` [C] and origins [C, O]: option -> the candidate it rests on.
        ``joined`` and ``mean`` rest on their own candidates (absent when the pool lacks them), ``top``
        and ``composed`` on the pick."""
        j = int(np.argmax(p))
        out = {"top": j, "composed": j}
        for option, column in (("joined", JOINED), ("mean", MEAN)):
            where = np.flatnonzero(origin[:, column] > 0)
            if len(where):
                out[option] = int(where[0])
        return out

    def _option(self, confidence: dict[str, float]) -> str:
        """The option with the highest calibrated expected score, given the reranker's prediction for
        the candidate each option rests on (NaN: the option is not available for this row)."""
        if not self.gate:
            return "top"
        expected = [
            float(np.interp(confidence[o], *self.gate[o]))
            if o in self.gate and np.isfinite(confidence.get(o, np.nan))
            else -np.inf
            for o in OPTIONS
        ]
        return OPTIONS[int(np.argmax(np.round(expected, 6)))]  # ties: the earlier option

    @staticmethod
    def _compose(top: str, mean_text: str) -> str:
        return top if mean_text in top else f"{top} {mean_text}"

    # -- prediction -----------------------------------------------------------------------------------
    def choose(self, ctx: RowContext, pool: Pool, mean_text: str) -> Choice:
        """The gate's string, the readable prompt, the pick and the option for every row of ``pool``."""
        if self.booster is None:
            raise ModelError("the chooser is not trained")
        got = names(ctx)
        if got != self.feature_names:
            raise ModelError(f"the chooser was trained on features {self.feature_names}, this pipeline gives {got}")
        x = _round(pair_features(pool, ctx))
        p_all = _round(self.booster.predict(x, num_threads=1)) if len(x) else np.zeros(0)
        off = _offsets(pool.sizes())
        out = Choice([], [], [], [])
        for i in range(len(pool)):
            p = p_all[off[i] : off[i + 1]]
            if not len(p):
                out.text.append(mean_text)
                out.readable.append(mean_text)
                out.top.append(mean_text)
                out.option.append("mean")
                continue
            j = int(np.argmax(p))
            top = pool.texts[i][j]
            bases = self._bases(p, pool.origin[i])
            option = self._option({o: float(p[k]) for o, k in bases.items()})
            text = {
                "top": top,
                "composed": self._compose(top, mean_text),
                "mean": mean_text,
                "joined": pool.texts[i][bases["joined"]] if "joined" in bases else top,
            }[option]
            readable = pool.origin[i][:, list(READABLE)].max(axis=1) > 0
            r = int(np.argmax(np.where(readable, p, -np.inf))) if readable.any() else j
            out.text.append(text)
            out.readable.append(pool.texts[i][r])
            out.top.append(top)
            out.option.append(option)
        return out

    # -- persistence ----------------------------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        return {
            "config": to_table(self.config),
            "features": self.feature_names,
            "model": self.booster.model_to_string() if self.booster is not None else None,
            "gate": {o: [xs.tolist(), ys.tolist()] for o, (xs, ys) in self.gate.items()},
            "report": None if self.report is None else self.report.__dict__,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any], where: str) -> Chooser:
        import lightgbm as lgb

        try:
            chooser = cls(from_table(ChooserConfig, doc["config"], f"{where}, config"))
            chooser.feature_names = [str(f) for f in doc["features"]]
            chooser.booster = lgb.Booster(model_str=doc["model"])
            chooser.gate = {
                o: (np.asarray(v[0], np.float64), np.asarray(v[1], np.float64)) for o, v in doc["gate"].items()
            }
            if set(chooser.gate) - set(OPTIONS) or len(chooser.booster.feature_name()) != len(chooser.feature_names):
                raise ValueError("gate options or feature names do not match")
        except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as exc:
            raise ModelError(f"{where}: damaged chooser ({type(exc).__name__}: {exc})") from None
        return chooser
