"""LLM options shared by the commands that call a model (``generate``; predictors take them from TOML)."""

from __future__ import annotations

from typing import Annotated

import typer

LLMOpt = Annotated[
    str,
    typer.Option(
        "--llm",
        metavar="BACKEND",
        help="Backend: embedded (packaged Gemma 3 270M), llamacpp (a GGUF), openai (a server), transformers.",
    ),
]
ModelNameOpt = Annotated[
    str | None,
    typer.Option("--model", metavar="MODEL", help="GGUF path (llamacpp), folder (transformers) or server model name."),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 ($PROMPT_RECOVERY_BASE_URL).",
    ),
]
TemplateOpt = Annotated[
    str,
    typer.Option(
        metavar="auto|chat|completion",
        help="Prompt format: auto (from the model), chat (instruction-tuned) or completion (base model, few-shot).",
    ),
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option(min=1, help="Requests at once (server) or decoding slots (llama.cpp).")
]
TimeoutOpt = Annotated[float, typer.Option(metavar="SECONDS", help="Time to wait for one server answer.")]
