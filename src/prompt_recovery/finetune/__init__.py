"""LoRA fine-tuning of a causal LM to answer with the rewrite prompt, given the original and the rewritten text.

- ``config``: ``FinetuneConfig``, the settings of one run, checked when built;
- ``data``: rows to (request, answer) token ids, the request shared with generation;
- ``model``: base models (a folder, a GGUF, the packaged Gemma 3 270M), the fine-tuned model, merging;
- ``train``: the training loop (``finetune``), checkpoints, the loss curve.

Example::

    from prompt_recovery.finetune import FinetuneConfig, finetune
    result = finetune(rows, FinetuneConfig(base="embedded", max_rows=240), "runs/lora", show_progress=True)
"""

from prompt_recovery.finetune.config import FinetuneConfig
from prompt_recovery.finetune.model import FinetuneError, load_base, load_finetuned, merge_adapter, resolve_base
from prompt_recovery.finetune.train import FinetuneResult, finetune

__all__ = [
    "FinetuneConfig",
    "FinetuneError",
    "FinetuneResult",
    "finetune",
    "load_base",
    "load_finetuned",
    "merge_adapter",
    "resolve_base",
]
