"""The recovery pipeline: members, one prompt bank, an ensemble order and an optional chooser.

Split by concern:

- ``config``: settings and member tables, parsed once into typed specs (``PipelineConfig``);
- ``join``: running members and joining their strings (used by training and prediction alike);
- ``model``: the fitted ``Pipeline`` and its prediction;
- ``store``: the model folder on disk (format 3, with a manifest of checksums);
- ``training``: fitting, validation, the ensemble choice, refit, and ``training_free``.

Example::

    from prompt_recovery.pipeline import Pipeline, PipelineConfig, train

    pipeline = train(rows, PipelineConfig())       # rows: original_text, rewritten_text, rewrite_prompt
    pipeline.save("model")
    texts, outputs = Pipeline.load("model").predict(test_rows)
"""

from prompt_recovery.pipeline.config import (
    DEFAULT_MEMBERS,
    FALLBACK,
    RESERVED,
    MemberSpec,
    PipelineConfig,
    PipelineSettings,
    build_members,
    parse_members,
)
from prompt_recovery.pipeline.model import Pipeline
from prompt_recovery.pipeline.store import FORMAT_VERSION
from prompt_recovery.pipeline.training import bank_of, choose_ensemble, fit_members, train, training_free

__all__ = [
    "DEFAULT_MEMBERS",
    "FALLBACK",
    "FORMAT_VERSION",
    "RESERVED",
    "MemberSpec",
    "Pipeline",
    "PipelineConfig",
    "PipelineSettings",
    "bank_of",
    "build_members",
    "choose_ensemble",
    "fit_members",
    "parse_members",
    "train",
    "training_free",
]
