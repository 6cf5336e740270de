"""The chooser: per row, a pool of candidate prompts, a learned reranker and a calibrated gate.

Modules: ``pool`` (candidates), ``words`` and ``features`` (what the reranker reads), ``model`` (the
reranker, the gate, persistence), ``stage`` (inputs from a pipeline), ``config`` (``ChooserConfig``).
"""

from prompt_recovery.chooser.config import ChooserConfig
from prompt_recovery.chooser.model import Choice, Chooser, FitReport

__all__ = ["Choice", "Chooser", "ChooserConfig", "FitReport"]
