"""Predictors, chosen by name. A new predictor is a new file plus one line in ``PREDICTORS``."""

from __future__ import annotations

from prompt_recovery.banks import PromptBank
from prompt_recovery.predictors.base import Context, Features, Predictor, VectorPredictor
from prompt_recovery.predictors.blend import Blend
from prompt_recovery.predictors.constant import Constant
from prompt_recovery.predictors.fewshot import FewShot
from prompt_recovery.predictors.finetuned import Finetuned
from prompt_recovery.predictors.invert import InvertConfig
from prompt_recovery.predictors.regression import Regression
from prompt_recovery.predictors.retrieval import Retrieval

PREDICTORS: dict[str, type[Predictor]] = {
    p.kind: p for p in (Constant, Retrieval, Regression, Blend, FewShot, Finetuned)
}

__all__ = [
    "PREDICTORS",
    "Blend",
    "Constant",
    "Context",
    "Features",
    "FewShot",
    "Finetuned",
    "InvertConfig",
    "Predictor",
    "PromptBank",
    "Regression",
    "Retrieval",
    "VectorPredictor",
]
