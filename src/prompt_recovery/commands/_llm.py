"""LLM options shared by the commands that call a model (``generate``; predictors take them from TOML)."""

from __future__ import annotations

from typing import Annotated

import typer

LLMOpt = Annotated[
    str,
    typer.Option(
        "--llm", help="Backend: embedded (packaged Gemma 3 270M), llamacpp (a GGUF), openai (a server), transformers."
    ),
]
ModelNameOpt = Annotated[
    str | None, typer.Option("--model", help="GGUF path (llamacpp), folder (transformers) or server model name.")
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 ($PROMPT_RECOVERY_BASE_URL)."
    ),
]
TemplateOpt = Annotated[
    str, typer.Option(help="auto (from the model), chat (instruction-tuned) or completion (base model, few-shot).")
]
ConcurrencyOpt = Annotated[int | None, typer.Option(help="Requests at once (server) or decoding slots (llama.cpp).")]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds to wait for one server answer.")]


def build_llm(
    llm: str, model: str | None, base_url: str | None, template: str, concurrency: int | None, timeout: float
):
    """The backend the flags describe (raises ``LLMError`` with a fix for bad combinations)."""
    from prompt_recovery.llm import LLMError, load_llm

    if template not in ("auto", "chat", "completion"):
        raise LLMError(f"--template must be auto, chat or completion, not {template!r}")
    chat = None if template == "auto" else template == "chat"
    if llm == "openai":
        return load_llm(
            llm,
            base_url=base_url,
            model=model,
            chat=True if chat is None else chat,
            concurrency=concurrency or 4,
            timeout=timeout,
        )
    if base_url:
        raise LLMError("--base-url only applies to --llm openai")
    if llm in ("embedded", "llamacpp"):
        return load_llm(llm, model=model, chat=chat, parallel=concurrency or 1)
    return load_llm(llm, model=model, chat=chat)
