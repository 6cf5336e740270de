"""A local Hugging Face causal LM through ``transformers`` (already installed with sentence-transformers).

For users with a model folder and no server: ``--llm transformers --model /models/gemma-7b-it``. Loaded
with ``local_files_only`` (never a hub download). Chat models (a tokenizer with a chat template) get
their template applied; others get the text as is. One request at a time, on the CPU unless
``device`` says otherwise: slow for big models, so a server is the better way at scale.

Example::

    llm = TransformersLLM("/models/gemma-2b-it")
    llm.generate([[{"role": "user", "content": "Say hi"}]], GenerationConfig(max_tokens=8))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prompt_recovery.llm.base import LLM, Completion, GenerationConfig, LLMUnreachable, Request, cut_at_stop


class TransformersLLM(LLM):
    """``model``: a local folder with a causal LM and its tokenizer. ``chat`` None: from the tokenizer."""

    def __init__(self, model: str | Path, *, device: str = "cpu", chat: bool | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model)
        if not path.is_dir():
            raise LLMUnreachable(f"{path}: no such model folder. Fix: pass a local transformers model folder")
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(path, local_files_only=True)
            loaded: Any = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
            self.model: Any = loaded.to(device).eval()
        except (OSError, ValueError) as exc:
            raise LLMUnreachable(f"{path}: transformers could not load the model ({exc})") from None
        self.device = device
        self.path = path
        self.name = f"transformers:{path.name}"
        self.chat = bool(getattr(self.tokenizer, "chat_template", None)) if chat is None else chat

    def _one(self, request: Request, config: GenerationConfig) -> Completion:
        import torch

        if isinstance(request, str):
            ids = self.tokenizer(request, return_tensors="pt").input_ids
        else:
            messages = list(request)
            # A request ending with an assistant turn holds a response prefix: continue that turn (as
            # fine-tuning rendered it) instead of closing it and opening a new one.
            prefixed = bool(messages) and messages[-1].get("role") == "assistant"
            ids = self.tokenizer.apply_chat_template(
                messages,
                add_generation_prompt=not prefixed,
                continue_final_message=prefixed,
                return_tensors="pt",
                return_dict=True,
            )["input_ids"]
        ids = ids.to(self.device)
        torch.manual_seed(config.seed)
        sample = config.temperature > 0
        with torch.no_grad():
            out = self.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=config.max_tokens,
                do_sample=sample,
                temperature=config.temperature if sample else None,
                top_p=None,
                top_k=None,
                pad_token_id=pad if (pad := self.tokenizer.pad_token_id) is not None else self.tokenizer.eos_token_id,
            )
        new = out[0, ids.shape[1] :]
        text, stopped = cut_at_stop(self.tokenizer.decode(new, skip_special_tokens=True), config.stop)
        eos = self.tokenizer.eos_token_id
        finish = "stop" if stopped or (len(new) and int(new[-1]) == eos) or len(new) < config.max_tokens else "length"
        return Completion(text, finish, int(ids.shape[1]), len(new))

    def _generate(self, requests: list[Request], config: GenerationConfig) -> list[Completion]:
        return [self._one(r, config) for r in requests]

    def identity(self) -> str:
        return f"transformers:{self.path.resolve()} ({'chat' if self.chat else 'base'})"
