"""The requests the toolkit sends to LLMs, for chat (instruction-tuned) and base (completion) models.

Three jobs:

- ``rewrite_request``: make the model rewrite a text by an instruction (synthetic data, as the
  competition's host did with Gemma 7B-it: the instruction, then the text);
- ``prompt_request``: make it invent a new rewrite instruction in the style of a few bank examples;
- ``guess_request``: make it guess the instruction behind an (original, rewritten) pair from a few
  solved examples, its answer seeded by a response prefix ("Improve this text by") so that it starts
  the way the metric likes and stays short.

Base models get a few-shot completion prompt ending where their answer should start, with stop strings
that end it; chat models get one user message (and, for guesses, an assistant turn holding the prefix,
which llama.cpp's server and vLLM continue). The few-shot examples below were written for this project.

Example::

    rewrite_request("Make it formal", "hey, running late", chat=True)
    # [{'role': 'user', 'content': 'Make it formal\\n\\nhey, running late'}]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from prompt_recovery.llm.base import Message, Request

# Two tiny solved rewrites that show a base model the shape of the task.
_REWRITE_SHOTS = (
    (
        "Make it sound more formal.",
        "hey team, the printer is broken again so dont bother printing stuff today",
        "Dear colleagues, please note that the printer is out of order again; kindly refrain from printing today.",
    ),
    (
        "Rewrite it as if a pirate were saying it.",
        "The shop closes at six, so we should leave now if we want to buy bread.",
        "Arr, the shop be battenin' its hatches at six bells, so we'd best weigh anchor now if we want our bread!",
    ),
)
# A base model that keeps writing starts the next few-shot block: cut it at any of the block's labels.
REWRITE_STOP = ("\n\nInstruction:", "\nInstruction:", "\nText:", "\nRewritten text:", "\n\n\n")
REWRITE_LABELS = ("Instruction:", "Text:", "Rewritten text:")
# Chat-template control tokens (ChatML, Gemma, Llama 2/3, Phi, ...): seen in an answer, they mean the
# server applied no template to a model that needs one, or a chat template to a base model.
TEMPLATE_TOKENS = re.compile(
    r"<\|(?:im_start|im_end|eot_id|start_header_id|end_header_id|endoftext|assistant|user|system|end)\|>"
    r"|<(?:start|end)_of_turn>|\[/?INST\]|<</?SYS>>"
)
GUESS_STOP = ("\n",)
PROMPT_STOP = ("\n",)
DEFAULT_PREFIX = "Improve this text by"


def _block(instruction: str, text: str) -> str:
    return f"Instruction: {instruction}\nText: {text}\nRewritten text:"


def rewrite_request(instruction: str, text: str, *, chat: bool) -> Request:
    """The request that makes a model rewrite ``text`` by ``instruction``."""
    if chat:
        return [{"role": "user", "content": f"{instruction}\n\n{text}"}]
    shots = "\n\n".join(f"{_block(i, t)} {r}" for i, t, r in _REWRITE_SHOTS)
    return f"{shots}\n\n{_block(instruction, text)}"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def rewrite_problem(answer: str, instruction: str, text: str) -> str | None:
    """Why ``answer`` is not a rewrite of ``text`` by ``instruction`` (None when it may be one).

    Caught: a blank answer; chat-template tokens; the template's own labels (``Text:``); a copy of the
    text or of the instruction (ignoring case, spacing and punctuation); a piece of a few-shot example.

    >>> rewrite_problem("hey, running late", "Make it formal", "Hey, running late!")
    'a copy of the original text'
    """
    if not answer.strip():
        return "blank"
    token = TEMPLATE_TOKENS.search(answer)
    if token:
        return f"chat-template token {token.group(0)} in the answer"
    for line in answer.splitlines():
        if line.strip().startswith(REWRITE_LABELS):
            return f"the template's label {line.strip().split(':')[0]!r} in the answer"
    norm = _norm(answer)
    if not norm:
        return "no words"
    if norm == _norm(text):
        return "a copy of the original text"
    if norm == _norm(instruction):
        return "a copy of the instruction"
    for shot in _REWRITE_SHOTS:
        for part in shot:
            if (len(norm) >= 20 and norm in _norm(part)) or _norm(part) in norm:
                return "a copy of a few-shot example"
    return None


def prompt_request(examples: Sequence[str], *, chat: bool) -> Request:
    """The request for one new rewrite instruction in the style of ``examples`` (a few bank prompts)."""
    listing = "\n".join(f"- {e.strip()}" for e in examples)
    if chat:
        content = (
            "Here are instructions that people gave an AI to rewrite a text:\n"
            f"{listing}\n\nWrite one new, different instruction of the same kind. "
            "Answer with the instruction only, on one line."
        )
        return [{"role": "user", "content": content}]
    return f"Instructions for rewriting a text:\n{listing}\n-"


def guess_request(
    examples: Sequence[tuple[str, str, str]],
    original: str,
    rewritten: str,
    *,
    chat: bool,
    prefix: str = DEFAULT_PREFIX,
    max_chars: int = 1200,
) -> Request:
    """The request for the instruction behind (``original`` -> ``rewritten``), after solved ``examples``.

    ``examples`` are ``(original, rewritten, prompt)`` triples; texts are cut to ``max_chars`` so that
    a few shots fit a small context. The answer is seeded with ``prefix`` (empty for none).
    """

    def cut(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " ..."

    def block(o: str, r: str) -> str:
        return f"Original text: {cut(o)}\nRewritten text: {cut(r)}\nInstruction:"

    if chat:
        shots = "\n\n".join(f"{block(o, r)} {p}" for o, r, p in examples)
        content = (
            "An AI rewrote a text following a short instruction. Find the instruction. "
            "Answer with the instruction only, in one short sentence.\n\n"
            + (f"{shots}\n\n" if shots else "")
            + block(original, rewritten)
        )
        messages: list[Message] = [{"role": "user", "content": content}]
        if prefix:
            messages.append({"role": "assistant", "content": prefix})
        return messages
    shots = "".join(f"{block(o, r)} {p}\n\n" for o, r, p in examples)
    return f"{shots}{block(original, rewritten)}" + (f" {prefix}" if prefix else "")


def clean_line(text: str, *, prefix: str = "", max_words: int = 40) -> str:
    """A model's answer as one clean line: the prefix joined back, quotes and markup stripped, capped.

    >>> clean_line(' making it formal.\\nmore', prefix="Improve this text by")
    'Improve this text by making it formal.'
    """
    line = next((part for part in text.strip().splitlines() if part.strip()), "")
    line = re.sub(r"^[\s\-*#>\"'`]+|[\s\"'`*]+$", "", line)
    line = re.sub(r"^(instruction|prompt)\s*:\s*", "", line, flags=re.IGNORECASE)
    if prefix and not line.lower().startswith(prefix.lower()):
        line = f"{prefix} {line}".strip() if line else prefix
    words = line.split()
    return " ".join(words[:max_words])
