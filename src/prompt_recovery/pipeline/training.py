"""Training a pipeline: fit the members, choose the ensemble (and the chooser) on a validation split, refit.

Fit every member on the train part (a vector model whose settings equal another's, such as a blend
part and a standalone member, is fitted once and shared), choose the ensemble on the validation part
(start from the best member, append a member while the mean score rises by more than the tie
tolerance), optionally train the chooser on the same validation rows, then refit on all rows. The
prompt bank (the inversion candidates, and what ``retrieval`` with ``match = "bank"`` searches) is the
training prompts followed by the extra ``bank``'s prompts not among them; during validation the train
part's prompts and the extra bank, never the validation rows' prompts.

``training_free(bank)`` builds a pipeline that needs no labelled rows at all: bank retrieval joined with
the bank's own medoid prompt, which is also its mean prompt.

Example::

    pipeline = train(rows, PipelineConfig.from_toml("data/demo/pipeline.toml"))
    pipeline.validation          # {"constant": 0.05, "blend": 0.11, "ensemble": 0.12}
    pipeline.save("model")
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from prompt_recovery import banks, progress
from prompt_recovery.checks import check_rows, describe
from prompt_recovery.chooser import Chooser
from prompt_recovery.chooser import stage as chooser_stage
from prompt_recovery.embed import Embedder, load_embedder
from prompt_recovery.errors import ConfigError, PromptRecoveryError
from prompt_recovery.metric import beats, best_index
from prompt_recovery.pipeline.config import REFIT_SHARE, PipelineConfig, PipelineSettings
from prompt_recovery.pipeline.join import join, mean_prompt_of, member_outputs
from prompt_recovery.pipeline.model import Pipeline
from prompt_recovery.predictors import Context, Features, Predictor, PromptBank, Retrieval, VectorPredictor
from prompt_recovery.predictors.blend import Blend
from prompt_recovery.predictors.constant import Constant
from prompt_recovery.predictors.invert import InvertConfig
from prompt_recovery.scoring import score_prompts
from prompt_recovery.split import validation_split

logger = logging.getLogger(__name__)


def fit_members(
    members: dict[str, Predictor], train: Features, ctx: Context, skip: frozenset[str] | set[str] = frozenset()
) -> None:
    """Fit every member but those named in ``skip``; a vector model with the same settings as one
    already fitted (a blend part and a standalone member, say) is fitted once and shared, whatever its
    inversion settings."""
    fitted: dict[tuple[str, Any], VectorPredictor] = {}

    def key(p: VectorPredictor) -> tuple[str, Any]:
        return p.kind, replace(p.config, invert=InvertConfig())

    for name, member in members.items():
        if isinstance(member, Blend) or name in skip:
            continue
        member.fit(train, ctx)
        if isinstance(member, VectorPredictor):
            fitted.setdefault(key(member), member)
    for member in members.values():
        if not isinstance(member, Blend):
            continue
        for i, part in enumerate(member.parts):
            if key(part) in fitted:
                member.parts[i] = fitted[key(part)]
            else:
                part.fit(train, ctx)
                fitted[key(part)] = part


def choose_ensemble(scores: dict[str, float], trial: Any, names: list[str]) -> tuple[list[str], float]:
    """Greedy forward selection under the tie rule: start from the best member (the earlier in
    ``names`` among ties), append the member whose join scores best while it beats the current mean.
    ``trial(order)`` gives the mean score of an order. Returns (order, its score)."""
    chosen = [names[best_index([scores[n] for n in names])]]
    best = scores[chosen[0]]
    while True:
        rest = [n for n in names if n not in chosen]
        if not rest:
            break
        trials = [trial([*chosen, n]) for n in rest]
        j = best_index(trials)
        if not beats(trials[j], best):
            break
        chosen.append(rest[j])
        best = trials[j]
    return chosen, best


class Laps:
    """Seconds per training stage, each also printed as a progress line ("train: fit took 41s")."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self.clock
        progress.stage("train: %s took %.0fs", stage, now - self.clock)
        self.clock = now


@dataclass
class Validated:
    """What the validation stage leaves: members fitted on the train part, their context (bank), the
    validation rows, the ensemble order and the scores (per member, the ensemble, the chooser's)."""

    members: dict[str, Predictor]
    ctx: Context
    rows: Features
    order: list[str]
    scores: dict[str, float]
    chooser: Chooser | None = None


def train(
    rows: pd.DataFrame, config: PipelineConfig | None = None, cache_dir: str | None = None, show_progress: bool = False
) -> Pipeline:
    """Fit members, choose the ensemble on a validation split, refit on all rows. The bank is the
    training prompts (the train part's, during validation) followed by ``settings.bank``'s others.
    ``DataError``/``ConfigError`` for wrong arguments; ``PromptRecoveryError`` for fewer than 10 rows."""
    rows = check_rows(rows, ("original_text", "rewritten_text", "rewrite_prompt"), "train rows")
    config = config or PipelineConfig()
    if not isinstance(config, PipelineConfig):
        raise ConfigError(
            f"config: got {describe(config)}, expected a PipelineConfig (PipelineConfig.from_toml(path))."
        )
    s = config.settings
    if len(rows) < 10:
        raise PromptRecoveryError(f"training needs at least 10 labelled rows, got {len(rows)}")
    extra = banks.read_bank(s.bank) if s.bank else []  # a bad bank file fails before any encoding
    laps = Laps()
    embedder = load_embedder(s.encoder, tokenization=s.tokenization, cache_dir=cache_dir)
    progress.stage("train: encoding %d rows and %d bank prompts", len(rows), len(extra))
    features = Features.of(rows, embedder, show_progress)
    extra_bank = PromptBank(extra, embedder.encode(extra, show_progress=show_progress)) if extra else None
    assert features.prompt is not None
    laps.lap("encode")
    n_val = min(round(len(rows) * s.validation_fraction), s.validation_rows)
    val_idx, train_idx = validation_split(
        list(rows["rewrite_prompt"]), features.prompt, n_val, s.validation_groups, s.seed
    )
    n_val = len(val_idx)
    refit = n_val < 5 or s.refit == "always" or (s.refit == "auto" and n_val > REFIT_SHARE * len(rows))
    if n_val < 5:
        logger.warning(
            "validation skipped: %d validation rows (< 5); every member joins the ensemble. "
            "Fix: give more rows or raise validation_fraction.",
            n_val,
        )
        members, ctx = _refit(config, {}, features, embedder, extra_bank, show_progress)
        laps.lap("refit")
        pipeline = Pipeline(s, embedder, ctx.bank, members, list(members))
        pipeline.timings = laps.seconds
        return pipeline
    train_f, val_f = features.subset(train_idx), features.subset(val_idx)
    done = _validate(config, train_f, val_f, Context(embedder, bank_of(train_f, extra_bank), show_progress), laps)
    if refit:
        members, ctx = _refit(config, done.members, features, embedder, extra_bank, show_progress)
        laps.lap("refit")
    else:
        # the members fitted on the train part stay; the validation rows' prompts join the bank
        # after it (positions kept: trained retrieval members index into the bank)
        members, ctx = done.members, Context(embedder, bank_of(val_f, None, start=done.ctx.bank), show_progress)
    pipeline = Pipeline(s, embedder, ctx.bank, members, done.order, done.scores, done.chooser)
    pipeline.timings = laps.seconds
    return pipeline


def _validate(config: PipelineConfig, train_f: Features, val_f: Features, ctx: Context, laps: Laps) -> Validated:
    """Fit fresh members on ``train_f``, score each and greedy joins of them on ``val_f`` (the ensemble
    order), then train the chooser on the same validation rows when it is enabled."""
    s, embedder = config.settings, ctx.embedder
    members = config.build()
    progress.stage("train: fitting %d members on %d rows", len(members), len(train_f.rows))
    fit_members(members, train_f, ctx)
    laps.lap("fit")
    progress.stage("train: every member predicts the %d validation rows", len(val_f.rows))
    mean = mean_prompt_of(members)
    outputs = member_outputs(members, val_f, ctx, mean)
    truths = list(val_f.rows["rewrite_prompt"])

    def mean_score(order_: list[str]) -> float:
        return float(score_prompts(embedder, join(outputs, order_, mean, s.suffix), truths).mean())

    names = list(members)
    scores = {name: mean_score([name]) for name in names}
    order, scores["ensemble"] = choose_ensemble(scores, mean_score, names)
    logger.info("validation scores %s; ensemble order %s", scores, order)
    laps.lap("validation")
    done = Validated(members, ctx, val_f, order, scores)
    if s.chooser.enabled and len(val_f.rows) >= s.chooser.min_rows:
        progress.stage("train: training the chooser on the %d validation rows", len(val_f.rows))
        done.chooser = Chooser(s.chooser)
        joined = join(outputs, order, mean)
        row_ctx, extras = chooser_stage.inputs(ctx, val_f, members, outputs, order, joined, mean)
        assert val_f.prompt is not None
        decent = chooser_stage.decent_mask(ctx.bank)
        report = done.chooser.fit(embedder, row_ctx, ctx.bank, extras, truths, val_f.prompt, mean, decent)
        scores.update({"chooser:oracle": report.oracle, "chooser:top": report.top, "chooser": report.gated})
        laps.lap("chooser")
    elif s.chooser.enabled:
        logger.warning("chooser skipped: %d validation rows (< %d)", len(val_f.rows), s.chooser.min_rows)
    return done


def _refit(
    config: PipelineConfig,
    fitted: dict[str, Predictor],
    features: Features,
    embedder: Embedder,
    extra_bank: PromptBank | None,
    show_progress: bool,
) -> tuple[dict[str, Predictor], Context]:
    """Fresh members fitted on all rows, over the bank of all rows' prompts and the extra bank. A mean
    prompt searched during validation (in ``fitted``) is kept, not searched again: the search is the
    costliest fit (minutes) and a fifth more rows barely move a mean over thousands of prompts."""
    members = config.build()
    kept = set()
    for name, member in members.items():
        old = fitted.get(name)
        if isinstance(member, Constant) and isinstance(old, Constant) and old.text:
            member.text = old.text
            kept.add(name)
    ctx = Context(embedder, bank_of(features, extra_bank), show_progress)
    progress.stage("train: refitting %d members on all %d rows", len(members) - len(kept), len(features.rows))
    fit_members(members, features, ctx, skip=kept)
    return members, ctx


def bank_of(features: Features, extra: PromptBank | None = None, start: PromptBank | None = None) -> PromptBank:
    """``start``'s prompts (if given), then the distinct prompts of labelled rows not among them (with
    the vectors already computed for them), then the prompts of ``extra`` not among those. Earlier
    prompts keep their positions."""
    if features.prompt is None:
        raise PromptRecoveryError("bank_of needs labelled rows (features with prompt vectors)")
    bank = (start or PromptBank.empty()).with_prompts(list(features.rows["rewrite_prompt"]), features.prompt)
    return bank if extra is None else bank.with_prompts(extra.texts, extra.vectors)


def training_free(
    bank: str | list[str],
    settings: PipelineSettings | None = None,
    k: int = 20,
    cache_dir: str | Path | None = None,
    show_progress: bool = False,
) -> Pipeline:
    """A pipeline that needs no labelled rows: retrieval over ``bank`` (a bank spec, see ``banks.py``,
    or the prompts themselves) by the rewrite's edit direction, the ``k`` nearest prompts averaged and
    inverted (default ``InvertConfig``), followed by the bank's medoid (its prompt with the best mean
    SCS against the bank), which is also the mean prompt and the fallback.

    Why the join: with no labelled rows there is nothing to choose an ensemble on, and on 100 corpus
    validation and 100 StyleRec test rows (osyuksel bank, MiniLM proxy, ``bank_retrieval`` in docs/decisions.md) the
    join scored at least the retrieval string alone on both (0.047 vs 0.046; 0.057 vs 0.044), while the
    medoid alone swung from best (StyleRec, 0.067) to worst (corpus, 0.031)."""
    s = replace(settings or PipelineSettings(), bank=bank if isinstance(bank, str) else "")
    texts = (
        banks.read_bank(bank) if isinstance(bank, str) else list(dict.fromkeys(t.strip() for t in bank if t.strip()))
    )
    if not texts:
        raise PromptRecoveryError("training_free needs at least one bank prompt")
    embedder = load_embedder(s.encoder, tokenization=s.tokenization, cache_dir=cache_dir)
    prompts = PromptBank(texts, embedder.encode(texts, show_progress=show_progress))
    members: dict[str, Predictor] = {
        "constant": Constant(Constant.Config(text=prompts.medoid())),
        "retrieval": Retrieval(Retrieval.Config(k=k, match="bank")),
    }
    return Pipeline(s, embedder, prompts, members, ["retrieval", "constant"])
