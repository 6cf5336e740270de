"""A pipeline: several predictors and how their outputs are joined into one prediction per row.

Configured by a small TOML file (or the defaults below)::

    encoder = "minilm"
    validation_fraction = 0.2
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
    invert_steps = 10                 # rounds of batched token search refining the inverted string
    warm_start = false                # true: earlier members' strings and the mean prompt join the
                                      # inversion's candidates (retrieval, regression, blend)

Training fits every member on the train part, chooses the ensemble on the validation part (greedy:
start from the best member, append a member's output while the mean score rises; the mean prompt
joins the same way), refits members on all rows, and saves everything with a format version.

``warm_start`` is off by default because it did not help under MiniLM: on the corpus validation split,
offering the mean prompt to the blend's inversion gave 0.0964 against 0.0971 without (the joined string
fits the predicted vector better, the true prompts slightly worse; a 11,051-prompt inversion bank with
the osyuksel prompts added did the same, 0.0948).

Prediction never returns a blank: an ensemble of whatever members produced text, else the mean
prompt, else ``FALLBACK``.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prompt_recovery.data import atomic_path, write_text_atomic
from prompt_recovery.embed import Embedder, load_embedder
from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.predictors import PREDICTORS, Features, Predictor
from prompt_recovery.scoring import score_prompts

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
FALLBACK = "Rewrite the following text in a different style."
WARM_STARTABLE = ("retrieval", "regression", "blend")  # members whose predict() takes extra candidates
DEFAULT_MEMBERS = [{"kind": "constant"}, {"kind": "retrieval"}, {"kind": "regression"}, {"kind": "blend"}]


@dataclass
class PipelineConfig:
    encoder: str = "minilm"
    tokenization: str = "auto"
    validation_fraction: float = 0.2
    suffix: str = ""
    seed: int = 0
    members: list[dict[str, Any]] = field(default_factory=lambda: [dict(m) for m in DEFAULT_MEMBERS])

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        members = doc.pop("member", None)
        unknown = sorted(set(doc) - set(cls.__dataclass_fields__))
        if unknown:
            raise PromptRecoveryError(
                f"{path}: unknown setting(s) {unknown}; known: {sorted(cls.__dataclass_fields__)}"
            )
        config = cls(**doc)
        if members is not None:
            config.members = members
        for m in config.members:
            if m.get("kind") not in PREDICTORS:
                raise PromptRecoveryError(
                    f"{path}: member kind {m.get('kind')!r} unknown; choose from {sorted(PREDICTORS)}"
                )
        return config


def _member_names(members: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for m in members:
        base = m.get("name") or m["kind"]
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}{seen[base]}")
    return names


@dataclass
class Pipeline:
    config: PipelineConfig
    embedder: Embedder
    members: dict[str, Predictor]
    order: list[str]  # members joined, in order, for the ensemble
    validation: dict[str, float] = field(default_factory=dict)  # mean score per member and the ensemble

    # -- prediction ---------------------------------------------------------------------------------
    def member_outputs(self, rows: Features, names: list[str] | None = None) -> dict[str, list[str]]:
        """Each member's (or each of ``names``') strings for ``rows``; a member that raises yields blanks
        (logged), not a crash."""
        outputs: dict[str, list[str]] = {}
        for name, member in self.members.items():
            if names is not None and name not in names:
                continue
            try:
                if member.options.get("warm_start"):  # only WARM_STARTABLE kinds, checked when built
                    inverting: Any = member
                    texts = inverting.predict(rows, self.embedder, extra=self._warm_starts(outputs, len(rows.rows)))
                else:
                    texts = member.predict(rows, self.embedder)
                outputs[name] = [s.strip() if isinstance(s, str) else "" for s in texts]
            except Exception as exc:
                logger.warning("member %s failed (%s); falling back for its rows", name, exc)
                outputs[name] = [""] * len(rows.rows)
        return outputs

    def _warm_starts(self, outputs: dict[str, list[str]], n: int) -> list[list[str]]:
        """Per row: the strings of the members computed so far, then the mean prompt (extra inversion
        candidates for a member with ``warm_start = true``)."""
        mean_prompt = getattr(self.members.get("constant"), "text", "")
        rows = [[*(texts[i] for texts in outputs.values()), mean_prompt] for i in range(n)]
        return [list(dict.fromkeys(s for s in row if s)) for row in rows]

    def combine(self, outputs: dict[str, list[str]], order: list[str] | None = None) -> list[str]:
        """Join the members' strings in ``order``; never blank (mean prompt, then ``FALLBACK``)."""
        order = self.order if order is None else order
        n = len(next(iter(outputs.values())))
        constant = outputs.get("constant", [""] * n)
        joined = []
        for i in range(n):
            parts = [outputs[name][i] for name in order if outputs[name][i]]
            text = " ".join(dict.fromkeys(parts))
            if not text:
                text = constant[i] or FALLBACK
            if self.config.suffix:
                text = f"{text} {self.config.suffix}"
            joined.append(text)
        return joined

    def predict(self, rows: pd.DataFrame, every_member: bool = False) -> tuple[list[str], dict[str, list[str]]]:
        """Ensemble predictions for ``rows`` and the member outputs computed on the way.

        Only the ensemble's members (and the mean prompt) run, unless ``every_member``. Rows for which
        every ensemble member came back blank fall back to the other members in order of their
        validation score, each run only on the rows still blank, then the mean prompt, then ``FALLBACK``.
        """
        features = Features.of(rows, self.embedder)
        if every_member:
            outputs = self.member_outputs(features)
            return self.combine(outputs), outputs
        outputs = self.member_outputs(features, [*self.order, "constant"])
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
        return self.combine(outputs, order), outputs

    # -- persistence --------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, member in self.members.items():
            with atomic_path(folder / f"{name}.npz") as tmp, tmp.open("wb") as fh:
                np.savez(fh, allow_pickle=False, **member.arrays())
        doc = {
            "format_version": FORMAT_VERSION,
            "config": self.config.__dict__,
            "embedder": self.embedder.identity,
            "members": {name: {"kind": m.kind, "state": m.state()} for name, m in self.members.items()},
            "order": self.order,
            "validation": self.validation,
        }
        write_text_atomic(folder / "pipeline.json", json.dumps(doc, indent=2))

    @classmethod
    def load(cls, folder: str | Path, cache_dir: str | Path | None = None) -> Pipeline:
        folder = Path(folder)
        meta = folder / "pipeline.json"
        if not meta.exists():
            raise PromptRecoveryError(
                f"{folder}: no trained model here (missing pipeline.json). Fix: run `prompt-recovery train` first."
            )
        doc = json.loads(meta.read_text())
        if doc.get("format_version") != FORMAT_VERSION:
            raise PromptRecoveryError(
                f"{folder}: model format {doc.get('format_version')} != {FORMAT_VERSION}; retrain it."
            )
        config = PipelineConfig(**doc["config"])
        embedder = load_embedder(config.encoder, tokenization=config.tokenization, cache_dir=cache_dir)
        if embedder.identity != doc["embedder"]:
            raise PromptRecoveryError(
                f"{folder}: trained with encoder {doc['embedder']}, "
                f"but {config.encoder!r} is now {embedder.identity}. Fix: retrain."
            )
        members = {}
        for name, spec in doc["members"].items():
            with np.load(folder / f"{name}.npz") as data:
                arrays = {k: data[k] for k in data.files}
            members[name] = PREDICTORS[spec["kind"]].restore(spec["state"], arrays)
            # the cache folder is this machine's, not the one the model was trained on
            members[name].options.pop("cache_dir", None)
            if cache_dir is not None:
                members[name].options["cache_dir"] = str(cache_dir)
        return cls(config, embedder, members, doc["order"], doc.get("validation", {}))


def _make_members(config: PipelineConfig, cache_dir: str | None) -> dict[str, Predictor]:
    members = {}
    for name, spec in zip(_member_names(config.members), config.members, strict=True):
        options = {k: v for k, v in spec.items() if k not in ("kind", "name")}
        if cache_dir is not None:
            options.setdefault("cache_dir", cache_dir)
        if options.get("warm_start") and spec["kind"] not in WARM_STARTABLE:
            raise PromptRecoveryError(
                f"member {name}: warm_start needs an inverting member "
                f"({', '.join(WARM_STARTABLE)}), not {spec['kind']!r}"
            )
        members[name] = PREDICTORS[spec["kind"]](**options)
    return members


def train(
    rows: pd.DataFrame, config: PipelineConfig | None = None, cache_dir: str | None = None, show_progress: bool = False
) -> Pipeline:
    """Fit members, choose the ensemble on a validation split, refit on all rows."""
    config = config or PipelineConfig()
    if len(rows) < 10:
        raise PromptRecoveryError(f"training needs at least 10 labelled rows, got {len(rows)}")
    embedder = load_embedder(config.encoder, tokenization=config.tokenization, cache_dir=cache_dir)
    features = Features.of(rows, embedder, show_progress)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(rows))
    n_val = round(len(rows) * config.validation_fraction)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

    chosen: list[str] = []
    scores: dict[str, float] = {}
    if n_val >= 5:
        members = _make_members(config, cache_dir)
        train_f, val_f = features.subset(train_idx), features.subset(val_idx)
        for member in members.values():
            member.fit(train_f, embedder)
        probe = Pipeline(config, embedder, members, [])
        outputs = probe.member_outputs(val_f)
        truths = list(val_f.rows["rewrite_prompt"])

        def mean_score(order_: list[str]) -> float:
            return float(score_prompts(embedder, probe.combine(outputs, order_), truths).mean())

        scores = {name: mean_score([name]) for name in members}
        chosen = [max(scores, key=lambda k: scores[k])]
        best = scores[chosen[0]]
        for _ in range(len(members) - 1):
            trials = {name: mean_score([*chosen, name]) for name in members if name not in chosen}
            if not trials:
                break
            name = max(trials, key=lambda k: trials[k])
            if trials[name] <= best:
                break
            chosen.append(name)
            best = trials[name]
        scores["ensemble"] = best
        logger.info("validation scores %s; ensemble order %s", scores, chosen)
    members = _make_members(config, cache_dir)
    for member in members.values():
        member.fit(features, embedder)
    return Pipeline(config, embedder, members, chosen or list(members), scores)
