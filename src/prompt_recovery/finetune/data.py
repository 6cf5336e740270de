"""Rows to training examples: the request the model reads, the answer it learns, as token ids.

The request is the project's guess template (``llm.templates.guess_request``, no shots): the chat
template when the model has one, else a plain completion that ends where the answer starts::

    Original text: the cat sat
    Rewritten text: THE CAT SAT
    Instruction:

The answer (``" Shout it."`` + eos) follows; only its tokens carry loss. Each text is cut to a token
budget keeping its head, so every example fits. Generation renders the same request with
``render_prompt``, so training and prediction see identical token ids.

Example (answer style ``change``, prefix ``"Rewrite the text"``)::

    answer_target("Rewrite this essay as a sea shanty.", "change", "Rewrite the text")  # 'as a sea shanty.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from prompt_recovery.errors import DataError
from prompt_recovery.finetune.config import FinetuneConfig
from prompt_recovery.llm.templates import guess_request

_HEAD = re.compile(
    r"^\s*(please\s+)?(rewrite|rephrase|reword|recast|retell|redo|transform|convert|turn|make|write|change|edit)\b"
    r"(\s+(it|this|that|the|my|your))?"
    r"(\s+(text|essay|story|passage|piece|paragraph|email|letter|message|article|note|post))?[\s,:]*",
    flags=re.IGNORECASE,
)


def answer_target(prompt: str, style: str, prefix: str = "") -> str:
    """What the model learns to write for ``prompt``: all of it, or (``change``) what follows the prefix.

    >>> answer_target("Make it formal.", "change", "Rewrite the text")
    'formal.'
    >>> answer_target("Rewrite the text as a poem", "change", "Rewrite the text")
    'as a poem'
    """
    prompt = " ".join(prompt.split())
    if style == "prompt":
        return prompt
    if prefix and prompt.lower().startswith(prefix.lower()):
        rest = prompt[len(prefix) :].strip()
    else:
        rest = _HEAD.sub("", prompt, count=1).strip()
    return rest or prompt


def use_chat(tokenizer: Any, template: str) -> bool:
    """Chat template or plain completion: ``auto`` follows the tokenizer."""
    if template == "auto":
        return bool(getattr(tokenizer, "chat_template", None))
    if template == "chat" and not getattr(tokenizer, "chat_template", None):
        raise DataError("template 'chat' but the tokenizer has no chat template. Fix: use template 'completion'")
    return template == "chat"


def cut_tokens(tokenizer: Any, text: str, budget: int) -> str:
    """``text`` cut to its first ``budget`` tokens (``" ..."`` marks a cut); shorter texts unchanged."""
    ids = tokenizer(text, add_special_tokens=False).input_ids
    if len(ids) <= budget:
        return text
    return str(tokenizer.decode(ids[:budget], skip_special_tokens=True)).rstrip() + " ..."


def _adds_bos(tokenizer: Any) -> bool:
    bos = tokenizer.bos_token_id
    return bos is not None and tokenizer("a").input_ids[:1] == [bos]


def _strip_bos(tokenizer: Any, text: str) -> str:
    bos = tokenizer.bos_token
    if bos and _adds_bos(tokenizer) and text.startswith(bos):
        return text[len(bos) :]
    return text


def render_prompt(tokenizer: Any, original: str, rewritten: str, *, chat: bool, prefix: str, budget: int) -> str:
    """The request as text that ``tokenizer(text)`` (special tokens on) turns into the model's input."""
    original, rewritten = cut_tokens(tokenizer, original, budget), cut_tokens(tokenizer, rewritten, budget)
    request = guess_request([], original, rewritten, chat=chat, prefix=prefix, max_chars=10**9)
    if isinstance(request, str):
        return request
    text = tokenizer.apply_chat_template(
        request, tokenize=False, add_generation_prompt=not prefix, continue_final_message=bool(prefix)
    )
    return _strip_bos(tokenizer, str(text))


def _answer_text(tokenizer: Any, prompt_text: str, request_args: dict[str, Any], target: str, chat: bool) -> str:
    """The text after the prompt: ``" " + target`` (completion), or the template's rendering of the answer."""
    if not chat:
        return f" {target}"
    messages = guess_request([], chat=True, **request_args)
    assert isinstance(messages, list)
    prefix = request_args["prefix"]
    answer = f"{prefix} {target}" if prefix else target
    if prefix:
        messages = messages[:-1]
    full = _strip_bos(
        tokenizer,
        str(tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": answer}], tokenize=False)),
    )
    return full[len(prompt_text) :] if full.startswith(prompt_text) else f" {target}"


@dataclass(frozen=True)
class Example:
    """One training row as ids: ``prompt`` [P] (no loss) then ``answer`` [A] (loss), eos included."""

    prompt: tuple[int, ...]
    answer: tuple[int, ...]


def encode_rows(rows: pd.DataFrame, tokenizer: Any, config: FinetuneConfig) -> tuple[list[Example], bool]:
    """Every row as an ``Example``, and whether the chat template was used."""
    if len(rows) == 0:
        raise DataError("no training rows. Fix: pass labelled files with rows (check --split and --max-rows)")
    chat = use_chat(tokenizer, config.template)
    eos = tokenizer.eos_token_id
    examples = []
    for original, rewritten, prompt in zip(
        rows["original_text"], rows["rewritten_text"], rows["rewrite_prompt"], strict=True
    ):
        budget = config.max_text_tokens
        text = render_prompt(tokenizer, original, rewritten, chat=chat, prefix=config.prefix, budget=budget)
        target = answer_target(str(prompt), config.answer, config.prefix)
        args = {
            "original": cut_tokens(tokenizer, original, budget),
            "rewritten": cut_tokens(tokenizer, rewritten, budget),
            "prefix": config.prefix,
            "max_chars": 10**9,
        }
        answer_ids = tokenizer(_answer_text(tokenizer, text, args, target, chat), add_special_tokens=False).input_ids
        answer_ids = answer_ids[: config.max_answer_tokens]
        if eos is not None and len(answer_ids) < config.max_answer_tokens:
            answer_ids.append(eos)
        examples.append(Example(tuple(tokenizer(text).input_ids), tuple(answer_ids)))
    return examples, chat


def collate(examples: list[Example], pad_id: int) -> dict[str, Any]:
    """Left-padded batch: every answer ends at the last position, so only the last ``answer_span`` + 1
    positions need logits.

    Returns ``input_ids``, ``attention_mask``, ``position_ids`` [B, L], ``labels`` [B, K] (the last K
    tokens, -100 where not an answer) and ``answer_span`` K = the longest answer.
    """
    import torch

    length = max(len(e.prompt) + len(e.answer) for e in examples)
    span = max(len(e.answer) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    labels = torch.full((len(examples), span), -100, dtype=torch.long)
    for i, e in enumerate(examples):
        seq = e.prompt + e.answer
        ids[i, length - len(seq) :] = torch.tensor(seq)
        mask[i, length - len(seq) :] = 1
        labels[i, span - len(e.answer) :] = torch.tensor(e.answer)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "labels": labels, "answer_span": span}
