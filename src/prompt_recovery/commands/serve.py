"""``prompt-recovery serve``: llama.cpp's OpenAI-compatible server on loopback, for a GGUF or the packaged model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prompt_recovery.commands import app, user_errors


@app.command()
def serve(
    model: Annotated[Path | None, typer.Option(help="A .gguf file (default: the packaged Gemma 3 270M).")] = None,
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.")] = 8080,
    parallel: Annotated[int, typer.Option(min=1, help="Requests decoded at once (slots).")] = 1,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads (default: all cores, at most 8).")] = None,
    context: Annotated[int, typer.Option(min=64, metavar="TOKENS", help="Context tokens per slot.")] = 4096,
) -> None:
    """Serve a GGUF model over an OpenAI-compatible HTTP API until Ctrl-C.

    Prints the base URL for --llm openai --base-url URL on stdout, then the model id, the template clients
    should use and the slots on stderr. An API key, if wanted, comes from $PROMPT_RECOVERY_API_KEY.

    Examples:

        prompt-recovery serve --parallel 4
        prompt-recovery generate --llm openai --base-url http://127.0.0.1:8080/v1 --originals texts.txt ...
    """
    import os

    from prompt_recovery.llm.serve import serve_forever

    with user_errors():
        serve_forever(
            model=model,
            host=host,
            port=port,
            parallel=parallel,
            threads=threads,
            context=context,
            api_key=os.environ.get("PROMPT_RECOVERY_API_KEY"),
        )
