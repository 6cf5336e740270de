"""Strings published in the Kaggle write-ups, selectable by name as ``preset:NAME``.

They were found with **sentence-t5-base** and TensorFlow tokenization and only mean something there;
under MiniLM they are noise. The strings keep the SentencePiece word marker U+2581 where it was
published: SentencePiece reads a literal U+2581 as its own whitespace marker, so under ``tf``
tokenization they tokenize as the authors scored them.

- ``kaggle-4th-mean-prompt``: the 4th place's mean prompt, 0.69 on the public leaderboard alone.
- ``kaggle-1st-lucrarea-suffix``: the suffix the 1st place appended to every prediction.
- ``kaggle-2nd-example-prediction``: the 2nd place's final prediction for the one public test row.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from prompt_recovery.errors import PromptRecoveryError

PREFIX = "preset:"


@cache
def presets() -> dict[str, dict]:
    return dict(json.loads(resources.files("prompt_recovery").joinpath("resources/presets.json").read_text()))


def resolve(value: str) -> str:
    """``preset:NAME`` -> the preset's text; any other string is returned unchanged."""
    if not value.startswith(PREFIX):
        return value
    name = value[len(PREFIX) :]
    if name not in presets():
        raise PromptRecoveryError(f"unknown preset {name!r}; choose one of {sorted(presets())}")
    return str(presets()[name]["text"])
