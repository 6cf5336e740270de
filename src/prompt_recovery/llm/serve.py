"""Serve a GGUF (by default the packaged Gemma 3 270M) as an OpenAI-compatible HTTP server on loopback.

llama.cpp's own server, through ``xllamacpp``: ``/v1/completions``, ``/v1/chat/completions``,
``/v1/models`` and ``/health``. Used by the tests and ``bench/llm.py`` to exercise the ``openai`` backend
against a real server, and by users who want one local server for several jobs.

    prompt-recovery serve --port 8080 --parallel 4      # prints the URL, runs until Ctrl-C / SIGTERM

The model id the server reports (``/v1/models``) is the GGUF file's name without ``.gguf``, not its path.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from prompt_recovery.llm.base import LLMUnreachable
from prompt_recovery.llm.embedded import packaged_gguf
from prompt_recovery.llm.gguf import read_gguf_metadata


def start_server(
    model: str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    parallel: int = 1,
    threads: int | None = None,
    context: int = 4096,
    api_key: str | None = None,
) -> tuple[Any, str]:
    """Start the server in this process; returns (server object, base URL ending in /v1). Keep the
    object alive: the server stops when it is garbage-collected."""
    import xllamacpp

    path = packaged_gguf() if model is None else Path(model)
    if not path.is_file():
        raise LLMUnreachable(f"{path}: no such GGUF file")
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.hostnames = [host]
    params.port = port
    params.n_parallel = max(1, parallel)
    params.n_ctx = context * params.n_parallel
    n_threads = threads or min(8, os.cpu_count() or 1)
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.model_alias = {model_id(path)}
    params.verbosity = -1
    params.warmup = False
    if api_key:
        params.api_keys = [api_key]
    server = xllamacpp.Server(params)
    return server, f"http://{host}:{port}/v1"


def model_id(path: Path) -> str:
    """The id clients see in ``/v1/models`` and send as ``model``: the file name without ``.gguf``."""
    return path.name.removesuffix(".gguf")


def describe(path: Path, parallel: int = 1, context: int = 4096, api_key: str | None = None) -> str:
    """One line for a person: the model id and file, the template clients should use, slots and context.

    Example: ``model gemma-3-270m (/.../gemma-3-270m.gguf); template completion (no chat template in the
    GGUF: use --template completion); 1 slot of 4096 context tokens; no API key``."""
    try:
        chat = bool(read_gguf_metadata(path).get("tokenizer.chat_template"))
    except Exception:  # the server loaded it; a description must not fail
        chat = False
    template = (
        "chat (the GGUF has a chat template)"
        if chat
        else "completion (no chat template in the GGUF: use --template completion)"
    )
    slots = f"{max(1, parallel)} slot{'s' if parallel > 1 else ''} of {context} context tokens"
    key = "API key required ($PROMPT_RECOVERY_API_KEY)" if api_key else "no API key"
    return f"model {model_id(path)} ({path}); template {template}; {slots}; {key}"


def serve_forever(**options: Any) -> None:
    """``start_server`` and block until SIGINT/SIGTERM, printing the base URL first (one line on stdout,
    flushed), then what is served (one line on stderr)."""
    import sys

    server, url = start_server(**options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(url, flush=True)
    model = options.get("model")
    path = packaged_gguf() if model is None else Path(model)
    info = describe(path, options.get("parallel", 1), options.get("context", 4096), options.get("api_key"))
    print(f"serving {info}. Use: --llm openai --base-url {url}. Ctrl-C stops.", file=sys.stderr, flush=True)
    stop.wait()
    del server
