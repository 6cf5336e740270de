"""The fitted pipeline: members, one prompt bank, the ensemble order and an optional chooser.

Prediction never returns a blank: an ensemble of whatever members produced text, else the other
members by validation score, else the mean prompt, else ``FALLBACK``. With a trained chooser the
members' join is one candidate of each row's pool and the chooser's string is the prediction. Every
prediction and readable prompt is cleaned of profane words (``decency.clean``).

Example::

    pipeline = Pipeline.load("model")                  # store.load: checks the manifest and the encoder
    texts, outputs = pipeline.predict(rows)            # rows: DataFrame of original_text, rewritten_text
    outputs["readable"][0]                             # the plain instruction beside texts[0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prompt_recovery.chooser import Choice, Chooser
from prompt_recovery.chooser import stage as chooser_stage
from prompt_recovery.chooser.pool import Pool
from prompt_recovery.decency import clean
from prompt_recovery.embed import Embedder
from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.pipeline.config import FALLBACK, PipelineSettings
from prompt_recovery.pipeline.join import join, mean_prompt_of, member_outputs
from prompt_recovery.predictors import Context, Features, Predictor, PromptBank
from prompt_recovery.predictors.base import nearest_rows


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
        return mean_prompt_of(self.members)

    # -- prediction ---------------------------------------------------------------------------------
    def member_outputs(self, rows: Features, names: list[str] | None = None) -> dict[str, list[str]]:
        """Each member's (or each of ``names``') strings for ``rows`` (``join.member_outputs``)."""
        return member_outputs(self.members, rows, self.context, self.mean_prompt, names)

    def combine(self, outputs: dict[str, list[str]], order: list[str] | None = None, suffix: bool = True) -> list[str]:
        """Join the members' strings in ``order``; never blank (mean prompt, then ``FALLBACK``). The
        settings' suffix is appended unless ``suffix`` is False (``finish`` appends it itself)."""
        order = self.order if order is None else order
        return join(outputs, order, self.mean_prompt, self.settings.suffix if suffix else "")

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

    # -- persistence (store.py) ----------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """``store.save``: every file, then a manifest of their checksums."""
        from prompt_recovery.pipeline.store import save

        save(self, folder)

    @classmethod
    def load(cls, folder: str | Path, cache_dir: str | Path | None = None) -> Pipeline:
        """``store.load``: ``ModelError`` naming the file and the fix for anything it cannot trust."""
        from prompt_recovery.pipeline.store import load

        return load(folder, cache_dir)
