"""prompt-recovery: recover the instruction an LLM was given to rewrite a text.

Layers (imports point down): cli -> pipeline/evaluate -> predictors -> search -> llm -> embed -> metric, data.
"""

__version__ = "0.1.0"
