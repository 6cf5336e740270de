"""A pipeline: several predictors, one prompt bank, and how their outputs are joined into one prediction.

Configured by a small TOML file (or the defaults, ``DEFAULT_MEMBERS``)::

    encoder = "minilm"
    bank = "osyuksel"                 # extra prompt bank: a packaged name, a file (see banks.py), or "none"
    validation_fraction = 0.2
    validation_rows = 600             # cap on the rows that choose the ensemble
    suffix = ""                       # appended to every ensemble prediction (e.g. an attractor run)

    [[member]]
    kind = "constant"                 # the mean prompt: also the last fallback
    [[member]]
    kind = "retrieval"
    k = 20
    [[member]]
    kind = "regression"
    [[member]]
    kind = "blend"                    # retrieval + two regressions: vectors averaged, inverted once
    invert = {steps = 10}

Each member table is built through its predictor's typed config: an unknown key is an error that
lists the known ones.

Training: fit every member on the train part (a vector model whose settings equal another's, such as
a blend part and a standalone member, is fitted once and shared), choose the ensemble on the
validation part (start from the best member, append a member while the mean score rises by more than
the tie tolerance), refit on all rows, save everything with a format version. The prompt bank (the
inversion candidates, and what ``retrieval`` with ``match = "bank"`` searches) is the training prompts
followed by the extra ``bank``'s prompts not among them; during validation the train part's prompts
and the extra bank, never the validation rows' prompts.

``training_free(bank)`` builds a pipeline that needs no labelled rows at all: bank retrieval joined with
the bank's own medoid prompt, which is also its mean prompt.

Prediction never returns a blank: an ensemble of whatever members produced text, else the other
members by validation score, else the mean prompt, else ``FALLBACK``.
"""

from __future__ import annotations

import json
import logging
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from prompt_recovery import banks, progress
from prompt_recovery.chooser import Choice, Chooser, ChooserConfig
from prompt_recovery.chooser import stage as chooser_stage
from prompt_recovery.chooser.pool import Pool
from prompt_recovery.config import from_table, to_table
from prompt_recovery.data import atomic_path, write_text_atomic
from prompt_recovery.decency import clean
from prompt_recovery.embed import Embedder, load_embedder
from prompt_recovery.errors import ConfigError, ModelError, PromptRecoveryError
from prompt_recovery.metric import beats, best_index
from prompt_recovery.predictors import (
    PREDICTORS,
    Context,
    Features,
    Predictor,
    PromptBank,
    Retrieval,
    VectorPredictor,
)
from prompt_recovery.predictors.base import nearest_rows
from prompt_recovery.predictors.blend import Blend
from prompt_recovery.predictors.constant import Constant
from prompt_recovery.predictors.invert import InvertConfig
from prompt_recovery.scoring import score_prompts
from prompt_recovery.split import validation_split

logger = logging.getLogger(__name__)
FORMAT_VERSION = 2
FALLBACK = "Rewrite the following text in a different style."
# not member names: prediction outputs and model files use them
RESERVED = ("joined", "readable", "ensemble", "bank", "chooser", "pipeline")
REFIT_SHARE = 0.1  # refit = "auto": refit when the validation part holds more than this share of the rows
# The defaults train in minutes on 2 cores (bench/chooser.py prints the times): a mean prompt of at most
# 16 searched tokens, and the blend without its attention regression and without token-search
# refinement (its string is a join of bank prompts, so people can read it). The chooser is off by
# default: across sources it lost to these members' join (bench/RESULTS.md, chooser).
DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = (
    {"kind": "constant", "max_tokens": 16},
    {
        "kind": "blend",
        "parts": [
            {"kind": "retrieval", "k": 20, "weight": 2},
            {"kind": "regression", "arch": "mlp"},
            {"kind": "retrieval", "match": "bank", "k": 20},
        ],
        "invert": {"steps": 0, "warm_start": True},
    },
)


@dataclass(frozen=True)
class PipelineSettings:
    """The pipeline's own settings (the top level of the TOML file, members aside)."""

    encoder: str = "minilm"
    tokenization: str = "auto"
    # extra prompts for retrieval and inversion: a packaged bank name, a file (banks.py), or "none". The
    # packaged osyuksel bank by default: it lifts cross-source scores at no in-source cost
    # (bench/RESULTS.md, cross_source)
    bank: str = "osyuksel"
    validation_fraction: float = 0.2
    validation_rows: int = 600  # at most this many rows choose the ensemble; the rest train
    # the share of the validation rows held out by whole prompt group (split.py): prompts of a kind the
    # members never saw, as on rewrites from another source; the rest are drawn at random
    validation_groups: float = 0.5
    # refit every member on all rows after validation: "auto" does when the validation rows are more
    # than REFIT_SHARE of the rows (small data, where they matter), "always", or "never"
    refit: Literal["auto", "always", "never"] = "auto"
    suffix: str = ""
    seed: int = 0
    # the learned reranker and gate over each row's candidate pool (chooser/); trained on the
    # validation rows, so off when validation is skipped
    chooser: ChooserConfig = field(default_factory=ChooserConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if not 0 <= self.validation_groups <= 1:
            raise ValueError(f"validation_groups must be in [0, 1], got {self.validation_groups}")
        if self.validation_rows < 0:
            raise ValueError(f"validation_rows must be >= 0, got {self.validation_rows}")


@dataclass
class PipelineConfig:
    settings: PipelineSettings = field(default_factory=PipelineSettings)
    members: list[dict[str, Any]] = field(default_factory=lambda: [dict(m) for m in DEFAULT_MEMBERS])

    def __post_init__(self) -> None:
        build_members(self.members)  # every member table is checked now, not after minutes of work

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        """Read a pipeline TOML file; ``ConfigError`` naming the file (and line, for syntax errors)."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: no such config file. Fix: check the path (see data/demo/pipeline.toml)."
            ) from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not a TOML file.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text. Fix: save the config as UTF-8 TOML.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}. Fix: see data/demo/pipeline.toml.") from None
        return cls.from_doc(doc, str(path))

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], where: str = "pipeline config") -> PipelineConfig:
        doc = dict(doc)
        members = doc.pop("member", None)
        settings = from_table(PipelineSettings, doc, where)
        if members is None:
            return cls(settings)
        if not isinstance(members, list) or not members:
            raise ConfigError(f"{where}: [[member]] must be a list of tables with at least one member")
        return cls(
            settings,
            [dict(m) for m in members],
        )

    def with_encoder(self, encoder: str) -> PipelineConfig:
        return PipelineConfig(replace(self.settings, encoder=encoder), self.members)


def build_members(tables: list[dict[str, Any]], where: str = "") -> dict[str, Predictor]:
    """Predictors from member tables (``kind``, optional ``name``, then the predictor's settings), named
    uniquely (``regression``, ``regression2``, ...). ``ConfigError`` for an unknown kind or setting."""
    members: dict[str, Predictor] = {}
    seen: dict[str, int] = {}
    for i, table in enumerate(tables, start=1):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}member {i}: expected a table, got {table!r}")
        spec = dict(table)
        kind = spec.pop("kind", None)
        if kind not in PREDICTORS:
            raise ConfigError(f"{where}member {i}: kind {kind!r} unknown; choose from {', '.join(sorted(PREDICTORS))}")
        base = spec.pop("name", None) or kind
        if not isinstance(base, str):
            raise ConfigError(f"{where}member {i}: name must be text, got {base!r}")
        if base in RESERVED:
            raise ConfigError(
                f"{where}member {i}: the name {base!r} is reserved; choose another (not {', '.join(RESERVED)})"
            )
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}{seen[base]}"
        members[name] = PREDICTORS[kind].from_table(spec, f"{where}member {i} ({kind})")
    return members


@dataclass
class Pipeline:
    settings: PipelineSettings
    embedder: Embedder
    bank: PromptBank
    members: dict[str, Predictor]
    order: list[str]  # members joined, in order, for the ensemble
    validation: dict[str, float] = field(default_factory=dict)  # mean score per member and the ensemble
    chooser: Chooser | None = None  # the trained reranker and gate (None: the join is the prediction)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per training stage (not saved)

    @property
    def context(self) -> Context:
        return Context(self.embedder, self.bank)

    @property
    def mean_prompt(self) -> str:
        """The first constant member's string (the last fallback), else ``FALLBACK``."""
        for member in self.members.values():
            if isinstance(member, Constant) and member.text:
                return member.text
        return FALLBACK

    # -- prediction ---------------------------------------------------------------------------------
    def member_outputs(self, rows: Features, names: list[str] | None = None) -> dict[str, list[str]]:
        """Each member's (or each of ``names``') strings for ``rows``; a member that raises yields blanks
        (logged), not a crash. Members that warm-start get the mean prompt as an extra inversion
        candidate: only it, so that a member sees the same candidates at validation (where every
        member runs) and at prediction (where only the ensemble's members run)."""
        outputs: dict[str, list[str]] = {}
        ctx = self.context
        for name, member in self.members.items():
            if names is not None and name not in names:
                continue
            try:
                texts = member.predict(rows, ctx, [[self.mean_prompt]] * len(rows.rows))
                outputs[name] = [s.strip() if isinstance(s, str) else "" for s in texts]
            except Exception as exc:
                logger.warning("member %s failed (%s); falling back for its rows", name, exc)
                outputs[name] = [""] * len(rows.rows)
        return outputs

    def combine(self, outputs: dict[str, list[str]], order: list[str] | None = None, suffix: bool = True) -> list[str]:
        """Join the members' strings in ``order``; never blank (mean prompt, then ``FALLBACK``). The
        settings' suffix is appended unless ``suffix`` is False (``finish`` appends it itself)."""
        order = self.order if order is None else order
        n = len(next(iter(outputs.values())))
        joined = []
        for i in range(n):
            parts = [outputs[name][i] for name in order if outputs[name][i]]
            text = " ".join(dict.fromkeys(parts)) or self.mean_prompt
            if suffix and self.settings.suffix:
                text = f"{text} {self.settings.suffix}"
            joined.append(text)
        return joined

    def predict(self, rows: pd.DataFrame, every_member: bool = False) -> tuple[list[str], dict[str, list[str]]]:
        """Predictions for ``rows`` and the member outputs computed on the way.

        Only the ensemble's members run, unless ``every_member``. Rows for which every ensemble member
        came back blank fall back to the other members in order of their validation score, each run
        only on the rows still blank, then the mean prompt, then ``FALLBACK``. With a trained chooser
        the members' join is one candidate of each row's pool and the chooser's string is the
        prediction; the outputs then also hold ``joined`` (the join) and ``readable`` (the chosen
        prompt a person wrote). No prediction holds a profane word (``decency.clean``).
        """
        features = Features.of(rows, self.embedder)
        if every_member:
            outputs = self.member_outputs(features)
            return self.finish(features, outputs, self.order, self.combine(outputs, suffix=False))
        outputs = self.member_outputs(features, list(self.order))
        n = len(rows)
        blank = [i for i in range(n) if not any(outputs[name][i] for name in self.order)]
        spare = sorted(
            (name for name in self.members if name not in outputs),
            key=lambda name: -self.validation.get(name, 0.0),
        )
        for name in spare:
            if not blank:
                break
            fill = self.member_outputs(features.subset(np.array(blank)), [name])[name]
            outputs[name] = [""] * n
            for i, text in zip(blank, fill, strict=True):
                outputs[name][i] = text
            blank = [i for i in blank if not outputs[name][i]]
        order = [*self.order, *(name for name in spare if name in outputs)]
        return self.finish(features, outputs, order, self.combine(outputs, order, suffix=False))

    def choose(
        self, features: Features, outputs: dict[str, list[str]], order: list[str], joined: list[str]
    ) -> tuple[Choice, Pool]:
        """The trained chooser's choice for ``features``' rows given the members' ``outputs``, the
        ensemble ``order`` and the members' join, and the candidate pools it chose from."""
        if self.chooser is None:
            raise PromptRecoveryError("this pipeline has no trained chooser")
        row_ctx, extras = chooser_stage.inputs(
            self.context, features, self.members, outputs, order, joined, self.mean_prompt
        )
        pool = self.chooser.pool(row_ctx, self.bank, extras, chooser_stage.decent_mask(self.bank))
        return self.chooser.choose(row_ctx, pool, self.mean_prompt), pool

    def finish(
        self, features: Features, outputs: dict[str, list[str]], order: list[str], joined: list[str]
    ) -> tuple[list[str], dict[str, list[str]]]:
        """The chooser's strings (when trained) or the join (``joined``, without the settings' suffix),
        then the suffix, cleaned of profanity, never blank. The outputs gain ``readable``: the chooser's
        readable prompt, or without a chooser the decent bank prompt nearest each prediction (a plain
        instruction, never a token-search string)."""
        fallback = clean(self.mean_prompt) or FALLBACK
        if self.chooser is not None:
            choice, _ = self.choose(features, outputs, order, joined)
            texts = choice.text
            readable = choice.readable
            outputs = {**outputs, "joined": joined}
        else:
            texts = joined
            readable = self.nearest_readable(texts)
        if self.settings.suffix:
            texts = [f"{t} {self.settings.suffix}" for t in texts]
        texts = [clean(t) or fallback for t in texts]
        return texts, {**outputs, "readable": [clean(t) or fallback for t in readable]}

    def nearest_readable(self, texts: list[str]) -> list[str]:
        """Per string: the decent bank prompt with the highest cosine to it (ties: the earlier bank
        prompt); the string itself when the bank has none."""
        allowed = chooser_stage.decent_mask(self.bank) if len(self.bank) else np.zeros(0, bool)
        if not allowed.any():
            return list(texts)
        keys = self.bank.vectors[allowed]
        index = np.flatnonzero(allowed)
        top = nearest_rows(self.embedder.encode(texts), keys, 1)[:, 0]
        return [self.bank.texts[index[j]] for j in top]

    # -- persistence --------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write ``pipeline.json``, ``bank.npz`` and one ``NAME.npz`` per member (each atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _save_arrays(folder / "bank.npz", {"vectors": self.bank.vectors})
        if self.chooser is not None:
            write_text_atomic(folder / "chooser.json", json.dumps(self.chooser.to_doc()))
        for name, member in self.members.items():
            _save_arrays(folder / f"{name}.npz", member.arrays())
        doc = {
            "format_version": FORMAT_VERSION,
            "settings": to_table(self.settings),
            "chooser": self.chooser is not None,
            "embedder": self.embedder.identity,
            "bank": self.bank.texts,
            "members": {
                name: {"kind": m.kind, "config": m.to_table(), "state": m.state()} for name, m in self.members.items()
            },
            "order": self.order,
            "validation": self.validation,
        }
        write_text_atomic(folder / "pipeline.json", json.dumps(doc, indent=1))

    @classmethod
    def load(cls, folder: str | Path, cache_dir: str | Path | None = None) -> Pipeline:
        """Read a model folder written by ``save``; ``ModelError`` naming the file and the fix when it
        is missing, damaged or from another format version or encoder."""
        folder = Path(folder)
        meta = folder / "pipeline.json"
        retrain = "Fix: train it again with `prompt-recovery train ... --out FOLDER`."
        if not folder.is_dir():
            raise ModelError(
                f"{folder}: no trained model here (no such folder). Fix: run `prompt-recovery train` first."
            )
        doc = _read_json(meta, retrain, f"{folder}: no trained model here (missing pipeline.json). {retrain}")
        if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
            version = doc.get("format_version") if isinstance(doc, dict) else None
            raise ModelError(f"{folder}: model format {version} is not {FORMAT_VERSION}. {retrain}")
        try:
            settings = from_table(PipelineSettings, doc["settings"], f"{meta}, settings")
            tables = [{"kind": spec["kind"], **spec["config"]} for spec in doc["members"].values()]
            names = list(doc["members"])
            states = [spec.get("state", {}) for spec in doc["members"].values()]
            bank_texts, order, validation = list(doc["bank"]), list(doc["order"]), dict(doc.get("validation", {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{meta}: damaged (missing or malformed {exc}). {retrain}") from None
        built = build_members(tables, f"{meta}: ")
        embedder = load_embedder(settings.encoder, tokenization=settings.tokenization, cache_dir=cache_dir)
        if embedder.identity != doc.get("embedder"):
            raise ModelError(
                f"{folder}: trained with encoder {doc.get('embedder')}, but {settings.encoder!r} is now "
                f"{embedder.identity}. {retrain}"
            )
        bank_vectors = _load_arrays(folder / "bank.npz", retrain)["vectors"]
        if bank_vectors.shape[0] != len(bank_texts):
            raise ModelError(
                f"{folder / 'bank.npz'}: {bank_vectors.shape[0]} vectors for {len(bank_texts)} prompts. {retrain}"
            )
        members = {}
        for name, member, state in zip(names, built.values(), states, strict=True):
            arrays = _load_arrays(folder / f"{name}.npz", retrain)
            try:
                member.load_state(state, arrays)
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                raise ModelError(f"{folder / (name + '.npz')}: does not fit member {name} ({exc}). {retrain}") from None
            members[name] = member
        if not set(order) <= set(members):
            raise ModelError(f"{meta}: the ensemble order names unknown members {order}. {retrain}")
        chooser = None
        if doc.get("chooser"):
            path = folder / "chooser.json"
            chooser_doc = _read_json(path, retrain, f"{path}: missing from the model folder. {retrain}")
            if not isinstance(chooser_doc, dict):
                raise ModelError(f"{path}: damaged (not a JSON object). {retrain}")
            chooser = Chooser.from_doc(chooser_doc, str(path))
        bank = PromptBank(bank_texts, bank_vectors)
        return cls(settings, embedder, bank, members, order, validation, chooser)


def _read_json(path: Path, fix: str, missing: str) -> Any:
    """The JSON document at ``path``; ``ModelError`` with ``missing`` when there is none, naming the file
    when it is damaged."""
    if not path.is_file():
        raise ModelError(missing)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: damaged ({exc}). {fix}") from None


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)


def _load_arrays(path: Path, fix: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ModelError(f"{path}: missing from the model folder. {fix}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile, pickle and value errors all mean one thing: a damaged file
        raise ModelError(f"{path}: damaged ({type(exc).__name__}: {exc}). {fix}") from None


# -- training -----------------------------------------------------------------------------------------
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


def train(
    rows: pd.DataFrame, config: PipelineConfig | None = None, cache_dir: str | None = None, show_progress: bool = False
) -> Pipeline:
    """Fit members, choose the ensemble on a validation split, refit on all rows. The bank is the
    training prompts (the train part's, during validation) followed by ``settings.bank``'s others."""
    config = config or PipelineConfig()
    s = config.settings
    if len(rows) < 10:
        raise PromptRecoveryError(f"training needs at least 10 labelled rows, got {len(rows)}")
    extra = banks.read_bank(s.bank) if s.bank else []  # a bad bank file fails before any encoding
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        progress.stage("train: %s took %.0fs", stage, now - clock)
        clock = now

    embedder = load_embedder(s.encoder, tokenization=s.tokenization, cache_dir=cache_dir)
    progress.stage("train: encoding %d rows and %d bank prompts", len(rows), len(extra))
    features = Features.of(rows, embedder, show_progress)
    extra_bank = PromptBank(extra, embedder.encode(extra, show_progress=show_progress)) if extra else None
    assert features.prompt is not None
    lap("encode")
    n_val = min(round(len(rows) * s.validation_fraction), s.validation_rows)
    prompts = list(rows["rewrite_prompt"])
    val_idx, train_idx = validation_split(prompts, features.prompt, n_val, s.validation_groups, s.seed)
    n_val = len(val_idx)

    chosen: list[str] = []
    scores: dict[str, float] = {}
    chooser: Chooser | None = None
    refit = n_val < 5 or s.refit == "always" or (s.refit == "auto" and n_val > REFIT_SHARE * len(rows))
    if n_val >= 5:
        members = build_members(config.members)
        train_f, val_f = features.subset(train_idx), features.subset(val_idx)
        assert train_f.prompt is not None
        ctx = Context(embedder, _bank_of(train_f, extra_bank), show_progress)
        progress.stage("train: fitting %d members on %d rows", len(members), len(train_idx))
        fit_members(members, train_f, ctx)
        lap("fit")
        progress.stage("train: every member predicts the %d validation rows", n_val)
        probe = Pipeline(s, embedder, ctx.bank, members, [])
        outputs = probe.member_outputs(val_f)
        truths = list(val_f.rows["rewrite_prompt"])

        def mean_score(order_: list[str]) -> float:
            return float(score_prompts(embedder, probe.combine(outputs, order_), truths).mean())

        names = list(members)
        scores = {name: mean_score([name]) for name in names}
        chosen, scores["ensemble"] = choose_ensemble(scores, mean_score, names)
        logger.info("validation scores %s; ensemble order %s", scores, chosen)
        lap("validation")
        if s.chooser.enabled and n_val >= s.chooser.min_rows:
            progress.stage("train: training the chooser on the %d validation rows", n_val)
            chooser = Chooser(s.chooser)
            joined = probe.combine(outputs, chosen, suffix=False)
            row_ctx, extras = chooser_stage.inputs(ctx, val_f, members, outputs, chosen, joined, probe.mean_prompt)
            assert val_f.prompt is not None
            report = chooser.fit(
                embedder,
                row_ctx,
                ctx.bank,
                extras,
                truths,
                val_f.prompt,
                probe.mean_prompt,
                chooser_stage.decent_mask(ctx.bank),
            )
            scores.update({"chooser:oracle": report.oracle, "chooser:top": report.top, "chooser": report.gated})
            lap("chooser")
        elif s.chooser.enabled:
            logger.warning("chooser skipped: %d validation rows (< %d)", n_val, s.chooser.min_rows)
    else:
        logger.warning(
            "validation skipped: %d validation rows (< 5); every member joins the ensemble. "
            "Fix: give more rows or raise validation_fraction.",
            n_val,
        )
    if refit:
        fitted = members if n_val >= 5 else {}
        members = build_members(config.members)
        kept = set()
        for name, member in members.items():
            # a searched mean prompt is kept, not searched again: the search is the costliest fit
            # (minutes) and a fifth more rows barely move a mean over thousands of prompts
            old = fitted.get(name)
            if isinstance(member, Constant) and isinstance(old, Constant) and old.text:
                member.text = old.text
                kept.add(name)
        ctx = Context(embedder, _bank_of(features, extra_bank), show_progress)
        progress.stage("train: refitting %d members on all %d rows", len(members) - len(kept), len(rows))
        fit_members(members, features, ctx, skip=kept)
        lap("refit")
    else:
        # the members fitted on the train part stay; the validation rows' prompts join the bank
        # after it (positions kept: trained retrieval members index into the bank)
        ctx = Context(embedder, _bank_of(val_f, None, start=ctx.bank), show_progress)
    pipeline = Pipeline(s, embedder, ctx.bank, members, chosen or list(members), scores, chooser)
    pipeline.timings = timings
    return pipeline


def _bank_of(features: Features, extra: PromptBank | None = None, start: PromptBank | None = None) -> PromptBank:
    """``start``'s prompts (if given), then the distinct prompts of labelled rows not among them (with
    the vectors already computed for them), then the prompts of ``extra`` not among those. Earlier
    prompts keep their positions."""
    assert features.prompt is not None
    texts = list(start.texts) if start is not None else []
    parts = [start.vectors] if start is not None and len(start) else []
    seen = set(texts)
    rows: list[int] = []
    for i, text in enumerate(features.rows["rewrite_prompt"]):
        if text not in seen:
            seen.add(text)
            texts.append(text)
            rows.append(i)
    parts.append(features.prompt[rows])
    if extra is not None:
        keep = [j for j, text in enumerate(extra.texts) if text not in seen]
        texts += [extra.texts[j] for j in keep]
        parts.append(extra.vectors[keep])
    return PromptBank(texts, np.concatenate(parts).astype(np.float32, copy=False))


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
    validation and 100 StyleRec test rows (osyuksel bank, MiniLM proxy, ``bench/bank_retrieval.py``) the
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
        "constant": Constant(Constant.Config(text=banks.medoid(prompts))),
        "retrieval": Retrieval(Retrieval.Config(k=k, match="bank")),
    }
    return Pipeline(s, embedder, prompts, members, ["retrieval", "constant"])
