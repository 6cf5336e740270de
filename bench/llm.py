"""LLM throughput on this machine (issue 4): the embedded backend's generation speed, and requests/s
against a local OpenAI-compatible server at concurrency 1 and 4, measured side by side in one run.

1. embedded: the packaged Gemma 3 270M in-process (2 threads on a 2-core machine), ``--requests``
   rewrite requests from the project's corpus through the few-shot completion template, each up to
   ``--max-tokens`` tokens; prints generated tokens/s (wall clock, prompt processing included) and
   llama.cpp's own decode-only and prompt tokens/s.
2. server: ``prompt-recovery serve`` in a child process with 4 slots; the ``openai`` backend sends the
   same requests at concurrency 1, then 4; prints requests/s and the ratio.

Needs no ../shared: the requests come from data/corpus.

    .venv/bin/python bench/llm.py [--requests 8] [--max-tokens 48] [--smoke]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from harness import start

from prompt_recovery.llm import GenerationConfig, load_llm
from prompt_recovery.llm.http import OpenAICompatibleLLM
from prompt_recovery.llm.templates import REWRITE_STOP, rewrite_request

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "corpus.csv"


def requests(n: int) -> list[str]:
    rows = pd.read_csv(CORPUS, dtype=str, keep_default_na=False).sample(n, random_state=0)
    return [
        str(rewrite_request(p, o, chat=False))
        for p, o in zip(rows["rewrite_prompt"], rows["original_text"], strict=True)
    ]


def timed(llm, batch: list[str], config: GenerationConfig) -> tuple[float, list]:
    start = time.perf_counter()
    outs = llm.generate(batch, config)
    return time.perf_counter() - start, outs


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)


def main() -> None:
    run = start("llm", __doc__, options, smoke={"requests": 2, "max_tokens": 4})
    args = run.args
    batch = requests(args.requests)
    config = GenerationConfig(max_tokens=args.max_tokens, stop=REWRITE_STOP)

    with load_llm("embedded", threads=2) as llm:
        llm.generate(batch[:1], GenerationConfig(max_tokens=1))  # load and warm up outside the timing
        seconds, outs = timed(llm, batch, config)
    generated = sum(o.completion_tokens for o in outs)
    prompt = sum(o.prompt_tokens for o in outs)
    decode = [o.raw["timings"]["predicted_per_second"] for o in outs if "timings" in o.raw]
    prefill = [o.raw["timings"]["prompt_per_second"] for o in outs if "timings" in o.raw]
    rows = [["embedded, generated tokens/s (wall clock, prompt processing included)", round(generated / seconds, 1)]]
    if decode:
        rows.append(["embedded, llama.cpp decode tokens/s (median)", round(sorted(decode)[len(decode) // 2], 1)])
        rows.append(["embedded, llama.cpp prompt tokens/s (median)", round(sorted(prefill)[len(prefill) // 2], 1)])
    run.numbers = {"requests": len(batch), "prompt_tokens": prompt, "generated_tokens": generated}
    run.seconds["embedded"] = round(seconds, 2)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "prompt_recovery", "serve", "--port", str(port), "--parallel", "4", "--threads", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        rates = {}
        for concurrency in (1, 4):
            with OpenAICompatibleLLM(url, chat=False, concurrency=concurrency) as client:
                client.generate(batch[:1], GenerationConfig(max_tokens=1))
                seconds, outs = timed(client, batch, config)
            rates[concurrency] = len(batch) / seconds
            tokens = sum(o.completion_tokens for o in outs)
            rows.append([f"server, concurrency {concurrency}: requests/s", round(rates[concurrency], 3)])
            rows.append([f"server, concurrency {concurrency}: generated tokens/s", round(tokens / seconds, 1)])
        rows.append(["server, concurrency 4 / concurrency 1", round(rates[4] / rates[1], 2)])
    finally:
        server.terminate()
        server.wait(timeout=30)
    title = f"Gemma 3 270M Q4_K_M, 2 threads; {len(batch)} requests of up to {args.max_tokens} tokens"
    run.table(title, ["measure", "value"], rows)
    run.numbers.update({r[0]: r[1] for r in rows})
    run.save()


if __name__ == "__main__":
    main()
