"""prompt-recovery: recover the instruction an LLM was given to rewrite a text.

The public API is ``__all__`` below; every name is importable from the package itself and loads its
module on first use (PEP 562), so ``import prompt_recovery`` and the CLI's start stay fast::

    import prompt_recovery as pr

    pipeline = pr.train(rows, pr.PipelineConfig())             # rows: original_text, rewritten_text, rewrite_prompt
    pipeline.save("model")
    result = pr.predict_file("rows.csv", "submission.csv", model="model", time_budget=600)
    report = pr.evaluate_file("test.csv", "model", report="report.html")
    pr.score_prompts(pr.load_embedder("minilm"), ["Make it formal"], ["Rewrite it formally"])

Layers (imports point down; nothing imports a layer above it)::

    cli -> commands
    commands -> prediction, evaluation, generate, calibrate, corpus, finetune, scoring, report, rowlog, guard
                (and search, llm, embed directly: mean-prompt, serve, score)
    prediction, evaluation -> pipeline -> chooser, predictors -> search, llm, finetune
    search -> embed;   generate -> llm, rowlog;   finetune -> llm
    scoring, calibrate -> embed -> metric
    leaves, used anywhere: metric, data, checks, config, errors, decency, progress, presets
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Pipeline": "pipeline",
    "PipelineConfig": "pipeline",
    "PipelineSettings": "pipeline",
    "train": "pipeline",
    "training_free": "pipeline",
    "predict_file": "prediction",
    "PredictResult": "prediction",
    "evaluate": "evaluation",
    "evaluate_file": "evaluation",
    "Evaluation": "evaluation",
    "Embedder": "embed",
    "load_embedder": "embed",
    "score_prompts": "scoring",
    "score_submission": "scoring",
    "PromptBank": "predictors",
    "read_bank": "banks",
    "ChooserConfig": "chooser",
    "PromptRecoveryError": "errors",
    "DataError": "errors",
    "ConfigError": "errors",
    "ModelError": "errors",
}
__all__ = [
    "ChooserConfig",
    "ConfigError",
    "DataError",
    "Embedder",
    "Evaluation",
    "ModelError",
    "Pipeline",
    "PipelineConfig",
    "PipelineSettings",
    "PredictResult",
    "PromptBank",
    "PromptRecoveryError",
    "evaluate",
    "evaluate_file",
    "load_embedder",
    "predict_file",
    "read_bank",
    "score_prompts",
    "score_submission",
    "train",
    "training_free",
]

if TYPE_CHECKING:
    from prompt_recovery.banks import read_bank
    from prompt_recovery.chooser import ChooserConfig
    from prompt_recovery.embed import Embedder, load_embedder
    from prompt_recovery.errors import ConfigError, DataError, ModelError, PromptRecoveryError
    from prompt_recovery.evaluation import Evaluation, evaluate, evaluate_file
    from prompt_recovery.pipeline import Pipeline, PipelineConfig, PipelineSettings, train, training_free
    from prompt_recovery.prediction import PredictResult, predict_file
    from prompt_recovery.predictors import PromptBank
    from prompt_recovery.scoring import score_prompts, score_submission


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'prompt_recovery' has no attribute {name!r}")
    return getattr(importlib.import_module(f"prompt_recovery.{module}"), name)


def __dir__() -> list[str]:
    return [*globals(), *__all__]
