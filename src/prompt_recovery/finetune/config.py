"""The settings of one LoRA fine-tuning run, checked when built so that a bad value fails before any model loads.

Example::

    FinetuneConfig(base="embedded", rank=8, epochs=1, max_rows=240, max_text_tokens=96)
    FinetuneConfig(base="/models/mistral-7b-instruct", device="cuda", batch_size=8, gradient_checkpointing=True)
    FinetuneConfig(base="embedded", rank=0)   # ValueError: rank must be at least 1, but it was: 0. Fix: ...
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ANSWER_STYLES = ("prompt", "change")
TEMPLATES = ("auto", "chat", "completion")
DEVICES = ("auto", "cpu", "cuda")
# Fields that change what is learned: a checkpoint made with other values cannot be resumed.
_TRAINING_FIELDS = (
    "base",
    "rank",
    "alpha",
    "dropout",
    "epochs",
    "learning_rate",
    "batch_size",
    "warmup_ratio",
    "max_rows",
    "max_text_tokens",
    "max_answer_tokens",
    "prefix",
    "answer",
    "template",
    "target_modules",
    "seed",
)


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning run of a causal LM with a LoRA adapter.

    - ``base``: a local Hugging Face model folder, a ``.gguf`` file (dequantised to float32 through
      ``gguf``), or ``"embedded"`` (the packaged Gemma 3 270M GGUF);
    - ``rank``, ``alpha``, ``dropout``, ``target_modules`` (``"all-linear"`` or comma-separated module
      names such as ``"q_proj,v_proj"``): the LoRA adapter;
    - ``epochs``, ``learning_rate`` (AdamW, linear warmup over ``warmup_ratio`` of the steps, then linear
      decay), ``batch_size`` (rows per optimiser step), ``seed`` (row order, row sample, adapter init);
    - ``max_rows``: train on a seeded sample of at most this many rows (None: all);
    - ``max_text_tokens``: each of the original and the rewritten text is cut to this many tokens, the
      head kept; ``max_answer_tokens``: the answer is cut the same way;
    - ``prefix``: a response prefix that starts every answer (not learned, given); ``answer``:
      ``"prompt"`` (the model writes the whole rewrite prompt) or ``"change"`` (it writes only what follows
      the prefix, e.g. prefix ``"Rewrite the text"`` + ``"as a sea shanty"``; needs a prefix);
    - ``template``: ``"auto"`` (the chat template when the tokenizer has one, else a plain completion),
      ``"chat"`` or ``"completion"``;
    - ``device``: ``"auto"`` (cuda when available), ``"cpu"`` or ``"cuda"``; ``gradient_checkpointing``
      trades compute for memory (long texts, big models); ``save_every``: optimiser steps between
      checkpoints (a killed run resumes from the last one).
    """

    base: str = "embedded"
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: str = "all-linear"
    epochs: int = 1
    learning_rate: float = 2e-4
    batch_size: int = 4
    warmup_ratio: float = 0.05
    seed: int = 0
    max_rows: int | None = None
    max_text_tokens: int = 256
    max_answer_tokens: int = 64
    prefix: str = ""
    answer: Literal["prompt", "change"] = "prompt"
    template: Literal["auto", "chat", "completion"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    gradient_checkpointing: bool = False
    save_every: int = 20

    def __post_init__(self) -> None:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        check(bool(str(self.base).strip()), "base must name a model. Fix: pass --base embedded, a folder or a .gguf")
        for name in ("rank", "epochs", "batch_size", "max_text_tokens", "max_answer_tokens", "save_every"):
            value = getattr(self, name)
            check(
                isinstance(value, int) and value >= 1,
                f"{name} must be at least 1, but it was: {value!r}. Fix: pass a positive whole number",
            )
        check(self.alpha > 0, f"alpha must be > 0, but it was: {self.alpha}. Fix: use e.g. twice the rank")
        check(0 <= self.dropout < 1, f"dropout must be in [0, 1), but it was: {self.dropout}")
        check(
            0 < self.learning_rate <= 1,
            f"learning_rate must be in (0, 1], but it was: {self.learning_rate}. Fix: LoRA usually wants 1e-4 to 1e-3",
        )
        check(0 <= self.warmup_ratio < 1, f"warmup_ratio must be in [0, 1), but it was: {self.warmup_ratio}")
        check(
            self.max_rows is None or self.max_rows >= 1,
            f"max_rows must be at least 1 (or None for all rows), but it was: {self.max_rows}",
        )
        check(bool(self.target_modules.strip()), "target_modules is empty. Fix: 'all-linear' or e.g. 'q_proj,v_proj'")
        check(self.answer in ANSWER_STYLES, f"answer must be one of {ANSWER_STYLES}, but it was: {self.answer!r}")
        check(self.template in TEMPLATES, f"template must be one of {TEMPLATES}, but it was: {self.template!r}")
        check(self.device in DEVICES, f"device must be one of {DEVICES}, but it was: {self.device!r}")
        check(
            self.answer != "change" or bool(self.prefix.strip()),
            "answer='change' needs a response prefix that the change completes. "
            "Fix: pass a prefix such as 'Rewrite the text', or use answer='prompt'",
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def training_dict(self) -> dict[str, Any]:
        """The fields that change what is learned (a checkpoint resumes only under equal values)."""
        return {k: getattr(self, k) for k in _TRAINING_FIELDS}

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
