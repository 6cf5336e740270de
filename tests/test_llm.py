"""LLM plumbing: the contract, templates, resumable row logs, generation logic (scripted LLM), and the real
backends: the packaged GGUF in-process and behind llama.cpp's HTTP server started on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from prompt_recovery.errors import DataError
from prompt_recovery.generate import PROMPT_COLUMNS, REWRITE_COLUMNS, generate_prompts, generate_rewrites, plan_pairs
from prompt_recovery.llm import (
    GenerationConfig,
    LLMBadResponse,
    LLMError,
    LLMTimeout,
    LLMUnreachable,
    ScriptedLLM,
    cut_at_stop,
    load_llm,
)
from prompt_recovery.llm.http import OpenAICompatibleLLM, normalise_base_url
from prompt_recovery.llm.templates import clean_line, guess_request, rewrite_problem, rewrite_request
from prompt_recovery.rowlog import RowLog

ORIGINALS = [f"Original text number {i}, about topic {i}." for i in range(6)]
PROMPTS = [f"Rewrite it in style {j}." for j in range(5)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- contract and templates -----------------------------------------------------------------------


def test_cut_at_stop_and_config_validation():
    assert cut_at_stop("a\nb. c", ["\n", "."]) == ("a", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)
    with pytest.raises(ValueError, match="max_tokens"):
        GenerationConfig(max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        GenerationConfig(temperature=-1)


def test_scripted_llm_applies_stop_and_length_and_fails_typed():
    llm = ScriptedLLM(lambda request, config: "one two three four. five")
    out = llm.generate(["x"], GenerationConfig(max_tokens=2))
    assert (out[0].text, out[0].finish_reason) == ("one two", "length")
    assert llm.generate(["x"], GenerationConfig(stop=(".",)))[0].text == "one two three four"
    with pytest.raises(LLMUnreachable):
        ScriptedLLM(fail=LLMUnreachable("down")).generate(["x"])


def test_templates_for_chat_and_base_models():
    chat = rewrite_request("Make it formal", "hey there", chat=True)
    assert chat == [{"role": "user", "content": "Make it formal\n\nhey there"}]
    base = rewrite_request("Make it formal", "hey there", chat=False)
    assert isinstance(base, str) and base.endswith("Instruction: Make it formal\nText: hey there\nRewritten text:")
    guess = guess_request([("o", "r", "Make it rhyme")], "orig", "rew", chat=False)
    assert isinstance(guess, str) and guess.endswith("Rewritten text: rew\nInstruction: Improve this text by")
    messages = guess_request([], "orig", "rew", chat=True)
    assert messages[-1] == {"role": "assistant", "content": "Improve this text by"}


@pytest.mark.parametrize(
    ("raw", "prefix", "expected"),
    [
        (" making it formal.\nsecond line", "Improve this text by", "Improve this text by making it formal."),
        ('"Make it a haiku"', "", "Make it a haiku"),
        ("Instruction: Turn it into a poem", "", "Turn it into a poem"),
        ("", "Improve this text by", "Improve this text by"),
        ("Improve this text by adding jokes", "Improve this text by", "Improve this text by adding jokes"),
    ],
)
def test_clean_line(raw, prefix, expected):
    assert clean_line(raw, prefix=prefix) == expected


def test_registry_errors_name_the_fix(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PROMPT_RECOVERY_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(LLMError, match="unknown LLM backend 'nope'"):
        load_llm("nope")
    with pytest.raises(LLMError, match="needs a GGUF file"):
        load_llm("llamacpp")
    with pytest.raises(LLMUnreachable, match="no such GGUF"):
        load_llm("llamacpp", model="/nonexistent/model.gguf")
    with pytest.raises(LLMError, match="--base-url"):
        OpenAICompatibleLLM(base_url=None)
    assert normalise_base_url("http://h:8080/") == "http://h:8080/v1"
    assert normalise_base_url("https://api.example.com/v1/") == "https://api.example.com/v1"


# -- RowLog ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_rowlog_round_trip_and_torn_tail_repair(tmp_path: Path, suffix: str):
    path = tmp_path / f"log{suffix}"
    log = RowLog(path, ["id", "text"])
    rows = [{"id": "a", "text": "plain"}, {"id": "b", "text": 'quoted "x", comma\nand a newline \u2028 here'}]
    log.append(rows)
    assert RowLog(path, ["id", "text"]).rows == rows
    whole = path.read_bytes()
    log.append([{"id": "c", "text": "third row,\nwith a newline"}])
    full = path.read_bytes()
    for cut in range(len(whole) + 1, len(full)):  # every torn prefix of the third record
        path.write_bytes(full[:cut])
        again = RowLog(path, ["id", "text"])
        assert again.rows == rows, cut
        assert path.read_bytes() == whole  # the torn tail was cut off
    again.append([{"id": "c", "text": "redone"}])
    assert [r["id"] for r in RowLog(path, ["id", "text"]).rows] == ["a", "b", "c"]


def test_rowlog_refuses_duplicates_foreign_files_and_formats(tmp_path: Path):
    log = RowLog(tmp_path / "x.jsonl", ["id"])
    log.append([{"id": "a"}])
    with pytest.raises(DataError, match="already written"):
        log.append([{"id": "a"}])
    (tmp_path / "y.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(DataError, match="header"):
        RowLog(tmp_path / "y.csv", ["id", "text"])
    with pytest.raises(DataError, match=r"\.jsonl or \.csv"):
        RowLog(tmp_path / "z.parquet", ["id"])


# -- generation logic with a scripted LLM ----------------------------------------------------------


def test_plan_pairs_is_seeded_distinct_and_prefix_stable():
    plan = plan_pairs(ORIGINALS, PROMPTS, 20, seed=3)
    assert len({(j.original_text, j.rewrite_prompt) for j in plan}) == 20
    assert plan_pairs(ORIGINALS, PROMPTS, 12, seed=3) == plan[:12]
    assert plan_pairs(ORIGINALS, PROMPTS, 20, seed=4) != plan
    with pytest.raises(DataError, match="only 30 distinct"):
        plan_pairs(ORIGINALS, PROMPTS, 31)


class Crash(Exception):
    pass


def test_generate_resumes_after_a_crash_without_duplicates(tmp_path: Path):
    jobs = plan_pairs(ORIGINALS, PROMPTS, 10, seed=0)
    calls = {"n": 0}

    def reply(request, config):
        calls["n"] += 1
        if calls["n"] == 5:
            raise Crash  # dies mid-run, as a kill would
        return f"REWRITE of {request[0]['content'][:30]}"

    llm = ScriptedLLM(reply, chat=True)
    out = tmp_path / "triples.csv"
    with pytest.raises(Crash):
        generate_rewrites(llm, jobs, RowLog(out, REWRITE_COLUMNS), GenerationConfig())
    assert len(RowLog(out, REWRITE_COLUMNS).rows) == 4
    assert generate_rewrites(llm, jobs, RowLog(out, REWRITE_COLUMNS), GenerationConfig()).written == 6
    rows = RowLog(out, REWRITE_COLUMNS).rows
    assert [r["id"] for r in rows] == [j.id for j in jobs]
    assert all(r["rewritten_text"].startswith("REWRITE of Rewrite it in style") for r in rows)
    with pytest.raises(DataError, match="not part of this run's plan"):  # another seed, same file
        generate_rewrites(
            llm, plan_pairs(ORIGINALS, PROMPTS, 10, seed=1), RowLog(out, REWRITE_COLUMNS), GenerationConfig()
        )


def test_generate_retries_blank_answers_with_new_seeds(tmp_path: Path):
    seeds: list[int] = []

    def reply(request, config):
        seeds.append(config.seed)
        return "" if len(seeds) < 3 else "finally"

    rowlog = RowLog(tmp_path / "t.jsonl", REWRITE_COLUMNS)
    generate_rewrites(ScriptedLLM(reply), plan_pairs(ORIGINALS, PROMPTS, 1), rowlog, GenerationConfig(seed=7))
    assert len(set(seeds)) == 3 and seeds[0] == 7
    assert (rowlog.rows[0]["rewritten_text"], rowlog.rows[0]["finish_reason"]) == ("finally", "stop")


def test_generate_prompts_skips_bank_and_repeats(tmp_path: Path):
    answers = iter(["Rewrite it in style 1.", "Make it a limerick", "Make it a limerick", "x", "Add a dragon to it"])
    llm = ScriptedLLM(lambda request, config: next(answers))
    rowlog = RowLog(tmp_path / "p.jsonl", PROMPT_COLUMNS)
    assert generate_prompts(llm, PROMPTS, 2, rowlog, GenerationConfig()) == 2
    assert [r["rewrite_prompt"] for r in rowlog.rows] == ["Make it a limerick", "Add a dragon to it"]


# -- a real OpenAI-compatible server (llama.cpp with the packaged GGUF) ----------------------------


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's server on 127.0.0.1 with the packaged Gemma 3 270M, in a child process."""
    import subprocess
    import sys

    port = free_port()
    code = (
        "from prompt_recovery.llm.serve import serve_forever; "
        f"serve_forever(port={port}, parallel=2, threads=2, context=1024)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/v1", url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_http_backend_completes_in_order_with_concurrency(llama_server: str):
    with OpenAICompatibleLLM(llama_server, chat=False, concurrency=2) as llm:
        prompts = ["One, two, three, four,", "Monday, Tuesday, Wednesday,", "A, B, C, D,"]
        outs = llm.generate(prompts, GenerationConfig(max_tokens=6, seed=1))
        assert len(outs) == 3 and all(o.text.strip() for o in outs)
        assert all(o.completion_tokens <= 6 for o in outs)
        again = llm.generate(prompts[:1], GenerationConfig(max_tokens=6, seed=1))
        assert again[0].text == outs[0].text  # greedy and seeded: reproducible
        assert "openai-compatible" in llm.describe()


@pytest.mark.slow
def test_http_backend_timeout_is_typed(llama_server: str):
    llm = OpenAICompatibleLLM(llama_server, chat=False, timeout=0.05, retries=0)
    with llm, pytest.raises(LLMTimeout, match="no answer within"):
        llm.generate(["Tell me a long story:"], GenerationConfig(max_tokens=400))


def test_http_backend_server_down_is_unreachable():
    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}", model="m", retries=1, backoff=0.01)
    with llm, pytest.raises(LLMUnreachable, match="cannot connect"):
        llm.generate([[{"role": "user", "content": "hi"}]])


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` requests, then a valid chat completion; 401 for a bad key."""

    failures = 2
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") == "Bearer wrong-key":
            self._send(401, {"error": "invalid key"})
        elif len(self.seen) <= self.failures:
            self._send(503, {"error": "busy"})
        else:
            self._send(200, {"choices": [{"message": {"content": "Hello."}, "finish_reason": "stop"}]})

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky_server() -> Iterator[str]:
    _Flaky.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_backend_retries_5xx_and_never_leaks_the_key(flaky_server: str):
    with OpenAICompatibleLLM(flaky_server, model="m", api_key="secret-key", retries=3, backoff=0.01) as llm:
        out = llm.generate([[{"role": "user", "content": "hi"}]])
        assert out[0].text == "Hello." and len(_Flaky.seen) == 3
        assert "secret" not in llm.describe()
    with OpenAICompatibleLLM(flaky_server, model="m", api_key="wrong-key", retries=3, backoff=0.01) as llm:
        with pytest.raises(LLMBadResponse, match="HTTP 401") as info:
            llm.generate([[{"role": "user", "content": "hi"}]])
        assert "wrong-key" not in str(info.value)
        assert len(_Flaky.seen) == 4  # a 4xx is not retried


# -- the embedded backend and the command, killed and resumed --------------------------------------


@pytest.mark.slow
def test_embedded_backend_is_a_seeded_base_model():
    with load_llm("embedded", threads=2) as llm:
        assert llm.chat is False  # the packaged 270M is a base model: few-shot completion prompts
        config = GenerationConfig(max_tokens=8, stop=(",",), seed=3)
        first = llm.generate(["Monday, Tuesday, Wednesday"], config)[0]
        assert first.finish_reason == "stop" and "," not in first.text
        assert llm.generate(["Monday, Tuesday, Wednesday"], config)[0].text == first.text


@pytest.mark.slow
def test_generate_command_killed_and_rerun_gives_exactly_n_rows(tmp_path: Path):
    """The issue's acceptance check: 20 rows with the embedded model, kill -9 mid-run, rerun."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "originals.txt").write_text("\n".join(ORIGINALS) + "\n")
    (tmp_path / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "triples.csv"
    cmd = [
        sys.executable,
        "-m",
        "prompt_recovery",
        "generate",
        "--originals",
        str(tmp_path / "originals.txt"),
        "--prompts",
        str(tmp_path / "prompts.txt"),
        "-n",
        "20",
        "--out",
        str(out),
        "--max-tokens",
        "12",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text(encoding="utf-8").count("\ng0-") >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(RowLog(out, REWRITE_COLUMNS).rows)
    assert 3 <= written < 20
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    rows = RowLog(out, REWRITE_COLUMNS).rows
    plan = {j.id: j for j in plan_pairs(ORIGINALS, PROMPTS, 20, seed=0)}
    ids = [r["id"] for r in rows]
    assert ids == [i for i in plan if i in set(ids)]  # plan order, no duplicate, nothing foreign
    assert all(
        (r["original_text"], r["rewrite_prompt"]) == (plan[r["id"]].original_text, plan[r["id"]].rewrite_prompt)
        for r in rows
    )
    # the 270M base model often copies its prompt's examples: such answers are refused, not written as data
    assert all(rewrite_problem(r["rewritten_text"], r["rewrite_prompt"], r["original_text"]) is None for r in rows)
    refused = 20 - len(rows)
    if refused:
        assert done.returncode == 1 and f"{refused} row(s) not written" in done.stderr, done.stderr
        assert f"({len(rows)} of 20 in all)" in done.stdout
    else:
        assert done.returncode == 0, done.stderr
        assert f"wrote {20 - written} rows (20 in all)" in done.stdout


def test_transformers_backend_on_a_tiny_random_model(tmp_path: Path):
    """A random 2-layer Llama with the T5 vocabulary, saved and loaded offline through the registry."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from .conftest import T5_TOKENIZER

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        eos_token_id=1,
        pad_token_id=0,
        bos_token_id=0,
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")
    PreTrainedTokenizerFast(tokenizer_file=str(T5_TOKENIZER), eos_token="</s>", pad_token="<pad>").save_pretrained(
        tmp_path / "lm"
    )
    with load_llm("transformers", model=str(tmp_path / "lm")) as llm:
        assert llm.chat is False
        config_ = GenerationConfig(max_tokens=5, seed=1)
        out = llm.generate(["Make it formal:", "Rewrite as a poem:"], config_)
        assert len(out) == 2 and all(o.completion_tokens <= 5 for o in out)
        assert llm.generate(["Make it formal:"], config_)[0].text == out[0].text
    with pytest.raises(LLMUnreachable, match="no such model folder"):
        load_llm("transformers", model=str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("", "blank"),
        ("Hey, running late!", "a copy of the original text"),
        ("make it FORMAL", "a copy of the instruction"),
        ("Dear colleagues, please note that the printer is out of order", "a copy of a few-shot example"),
        ("Greetings.<end_of_turn>", "chat-template token <end_of_turn> in the answer"),
        ("Good day.\nText: more", "the template's label 'Text' in the answer"),
        ("I regret to inform you that I shall be delayed.", None),
    ],
)
def test_rewrite_problem(answer: str, problem: str | None):
    assert rewrite_problem(answer, "Make it formal", "hey, running late") == problem


def test_url_credentials_are_split_off_and_secrets_redacted():
    from prompt_recovery.llm.http import redact, split_credentials

    assert split_credentials("http://al%40ice:p%3Ass@h:8080/v1") == ("http://h:8080/v1", ("al@ice", "p:ss"))
    assert split_credentials("http://h/v1") == ("http://h/v1", None)
    assert redact("key sk-abc in Bearer xyz.1 and Basic YWI6Y2Q=", ["sk-abc"]) == "key *** in Bearer *** and Basic ***"
