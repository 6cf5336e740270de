"""Hostile inputs (issue #15): every case must end with a clear error that names the file (and the line,
row or column where there is one), a non-zero exit status and no traceback, and must leave the folder
exactly as it was: no new file, no earlier output touched.

The table runs the real CLI in-process on tiny files. Model loading and training are replaced by
functions that fail the test, so each case also proves that its refusal comes before any long work.
LLM cases talk to a small scripted OpenAI-compatible server on loopback.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app

HEADER = "id,original_text,rewritten_text\n"
GOOD = HEADER + "a,hello there,HELLO THERE\nb,second text,SECOND TEXT\n"
LABELLED = "id,original_text,rewritten_text,rewrite_prompt\na,hello,HELLO,Shout it\nb,hi,HI,Shout it too\n"
SUBMISSION = "id,rewrite_prompt\na,Make it formal\nb,Make it loud\n"
SECRET = "sk-TOPSECRET-123"


# -- a scripted OpenAI-compatible server -----------------------------------------------------------


class _Server(http.server.BaseHTTPRequestHandler):
    """``reply(body) -> str`` answers completions; ``status`` != 200 answers with an error body that
    echoes the request's Authorization header (as some proxies do)."""

    reply: ClassVar[Callable[[dict[str, Any]], str]] = staticmethod(lambda body: "A fine new rewrite.")
    status: ClassVar[int] = 200
    auth: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self._send(200, {"data": [{"id": "served-model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).auth.append(self.headers.get("Authorization", ""))
        if type(self).status != 200:
            self._send(type(self).status, {"error": f"denied for {self.headers.get('Authorization')}"})
            return
        text = type(self).reply(body)
        choice = {"message": {"content": text}} if "messages" in body else {"text": text}
        self._send(200, {"choices": [{**choice, "finish_reason": "stop"}]})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture
def server(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _Server.reply, _Server.status, _Server.auth = staticmethod(lambda body: "A fine new rewrite."), 200, []
    for name in ("PROMPT_RECOVERY_API_KEY", "OPENAI_API_KEY", "PROMPT_RECOVERY_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield server_url
    _Server.reply, _Server.status = staticmethod(lambda body: "A fine new rewrite."), 200


def _user_text(body: dict[str, Any]) -> str:
    """The text to rewrite, out of a chat request (instruction, blank line, text)."""
    return body["messages"][0]["content"].split("\n\n", 1)[1]


# -- the table ------------------------------------------------------------------------------------


@dataclass
class Env:
    tmp: Path
    url: str
    monkeypatch: pytest.MonkeyPatch | None = None

    def setenv(self, name: str, value: str) -> None:
        assert self.monkeypatch is not None
        self.monkeypatch.setenv(name, value)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    @property
    def model(self) -> str:
        """A folder that passes for a model up to loading (loading it fails the test)."""
        folder = self.tmp / "model"
        folder.mkdir(exist_ok=True)
        (folder / "pipeline.json").write_text('{"format_version": 2}')
        return str(folder)

    def predict(self, data: str, *extra: str, out: str = "sub.csv") -> list[str]:
        cache = str(self.tmp / "cache")
        return ["predict", data, "--model", self.model, "-o", str(self.tmp / out), "--cache-dir", cache, *extra]

    def generate(self, *extra: str, out: str = "triples.jsonl") -> list[str]:
        originals = self.file("originals.txt", "The cat sat on the mat all day.\nA dog ran across the park.\n")
        prompts = self.file("prompts.txt", "Make it formal.\nWrite it as a poem.\n")
        return [
            "generate", "--originals", originals, "--prompts", prompts, "-n", "2", "--out", str(self.tmp / out),
            "--llm", "openai", "--base-url", self.url, "--model", "m", *extra,
        ]  # fmt: skip


def _partial_from_another_run(env: Env, **meta: str) -> list[str]:
    data = env.file("in.csv", GOOD)
    env.file("sub.csv.partial.jsonl", json.dumps({"id": "a", "rewrite_prompt": "from elsewhere"}) + "\n")
    from prompt_recovery.rowlog import fingerprint

    real = {"job": "predict", "model": fingerprint(env.model), "input": fingerprint(data)}
    env.file("sub.csv.partial.jsonl.meta.json", json.dumps({**real, **meta}))
    return env.predict(data)


def _generated_by_another_run(env: Env, *extra: str) -> list[str]:
    result = CliRunner().invoke(app, env.generate(*extra))
    assert result.exit_code == 0, result.output
    lines = (env.tmp / "triples.jsonl").read_text().splitlines(keepends=True)
    (env.tmp / "triples.jsonl").write_text(lines[0])  # a run that stopped after one row
    return env.generate()


def _set_reply(reply: Callable[[dict[str, Any]], str], status: int = 200) -> None:
    _Server.reply, _Server.status = staticmethod(reply), status


def _corpus_row(**fields: object) -> str:
    row = {
        "id": "x-1",
        "genre": "g",
        "prompt_family": "form",
        "original_text": " ".join(["word"] * 50),
        "rewrite_prompt": "Make it formal.",
        "rewritten_text": "Words, formally.",
    }
    return json.dumps({**row, **fields}) + "\n"


def _parquet_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    pd.DataFrame({"id": ["a"], "original_text": ["t"], "rewritten_text": ["u"]}).to_parquet(buffer)
    return buffer.getvalue()


# name -> (build the command line in the env, fragments the message must hold, exit status)
Case = Callable[[Env], list[str]]
CASES: dict[str, tuple[Case, tuple[str, ...], int]] = {
    # strict table reading: the file, the line and the fix
    "csv row with an extra field": (
        lambda e: e.predict(e.file("in.csv", HEADER + "a,t,u\nb,t,u,EXTRA\n")),
        ("in.csv, line 3", "4 fields, more than the header's 3", "Fix:"),
        2,
    ),
    "csv row with a missing field": (
        lambda e: ["score", e.file("t.csv", "id,rewrite_prompt,note\na,p,x\nb,p\n"), e.file("s.csv", SUBMISSION)],
        ("t.csv, line 3", "2 fields, fewer than the header's 3"),
        2,
    ),
    "csv quote that never closes": (
        lambda e: e.predict(e.file("in.csv", HEADER + 'a,"t,u\nb,t,u\nc,t,u\n')),
        ("in.csv, line 2", "never closes"),
        2,
    ),
    "csv quote that closes rows later (rows merged)": (
        lambda e: e.predict(e.file("in.csv", HEADER + 'a,"t,u\nb,t,u"\nc,t,u\n')),
        ("in.csv, line 2", "2 fields, fewer than the header's 3"),
        2,
    ),
    "csv text after a closing quote": (
        lambda e: e.predict(e.file("in.csv", HEADER + 'a,"t"x,u\n')),
        ("in.csv, line 2", "bad CSV"),
        2,
    ),
    "csv duplicate column name": (
        lambda e: e.predict(e.file("in.csv", "id,original_text,rewritten_text,original_text\na,t,u,v\n")),
        ("in.csv, line 1", "'original_text'", "more than once"),
        2,
    ),
    "csv blank column name": (
        lambda e: e.predict(e.file("in.csv", "id,,rewritten_text\na,t,u\n")),
        ("in.csv, line 1, column 2", "blank column name"),
        2,
    ),
    "csv empty file": (lambda e: e.predict(e.file("in.csv", "")), ("in.csv", "empty file"), 2),
    "parquet bytes named .csv": (
        lambda e: e.predict(e.file("in.csv", _parquet_bytes())),
        ("in.csv", "Parquet file", "rename it to in.parquet"),
        2,
    ),
    "binary .csv with NUL bytes": (
        lambda e: e.predict(e.file("in.csv", (HEADER + "a,t\x00x,u\n").encode())),
        ("in.csv, line 2", "NUL byte", "binary"),
        2,
    ),
    "latin-1 .csv": (
        lambda e: e.predict(e.file("in.csv", (GOOD + "c,caf\xe9,u\n").encode("latin-1"))),
        ("in.csv, line 4", "not UTF-8", "iconv"),
        2,
    ),
    "csv text named .parquet": (
        lambda e: e.predict(e.file("in.parquet", GOOD)),
        ("in.parquet", "not a readable Parquet file", "rename it to .csv"),
        2,
    ),
    "input is a folder": (
        lambda e: e.predict(str(Path(e.file("dir.csv/x", "")).parent)),
        ("dir.csv", "is a folder"),
        2,
    ),
    "input does not exist": (lambda e: e.predict(str(e.tmp / "nope.csv")), ("nope.csv", "no such file"), 2),
    "jsonl line cut short": (
        lambda e: e.predict(
            e.file("in.jsonl", '{"id": "a", "original_text": "t", "rewritten_text": "u"}\n{"id": "b",\n')
        ),
        ("in.jsonl, line 2", "not valid JSON"),
        2,
    ),
    "jsonl line that is a list": (
        lambda e: e.predict(e.file("in.jsonl", '{"id": "a", "original_text": "t", "rewritten_text": "u"}\n[1, 2]\n')),
        ("in.jsonl, line 2", "not an object"),
        2,
    ),
    "json that is not a list of rows": (
        lambda e: e.predict(e.file("in.json", '{"id": "a"}')),
        ("in.json", "expected a JSON list"),
        2,
    ),
    "csv missing a column": (
        lambda e: e.predict(e.file("in.csv", "id,original_text\na,t\n")),
        ("in.csv", "missing column(s) ['rewritten_text']", "found ['id', 'original_text']"),
        2,
    ),
    "csv empty text": (
        lambda e: e.predict(e.file("in.csv", HEADER + "a,t,u\nb,t,  \n")),
        ("in.csv, row 2 (id 'b'), column 'rewritten_text'", "empty text"),
        2,
    ),
    # outputs: refused before any work when they would destroy an input or cannot be written
    "predict -o is the input": (
        lambda e: e.predict(e.file("in.csv", GOOD), out="in.csv"),
        ("-o", "in.csv", "is the input file"),
        2,
    ),
    "predict -o is the input through a symlink": (
        lambda e: (
            os.symlink(e.file("in.csv", GOOD), e.tmp / "link.csv"),
            e.predict(str(e.tmp / "in.csv"), out="link.csv"),
        )[1],
        ("link.csv", "is the input file"),
        2,
    ),
    "predict -o in a missing folder": (
        lambda e: e.predict(e.file("in.csv", GOOD), out="nodir/sub.csv"),
        ("nodir", "does not exist", "mkdir -p"),
        2,
    ),
    "predict -o is a folder": (
        lambda e: e.predict(e.file("in.csv", GOOD), out=str(Path(e.file("outdir/keep", "x")).parent)),
        ("outdir", "is a folder"),
        2,
    ),
    "predict -o under a file": (
        lambda e: e.predict(e.file("in.csv", GOOD), out="in.csv/sub.csv"),
        ("in.csv is a file, not a folder",),
        2,
    ),
    "score --per-row is the truth file": (
        lambda e: [
            "score",
            e.file("t.csv", SUBMISSION),
            e.file("s.csv", SUBMISSION),
            "--per-row",
            str(e.tmp / "t.csv"),
        ],
        ("--per-row", "t.csv", "is the input file"),
        2,
    ),
    "score --per-row is the submission": (
        lambda e: [
            "score",
            e.file("t.csv", SUBMISSION),
            e.file("s.csv", SUBMISSION),
            "--per-row",
            str(e.tmp / "s.csv"),
        ],
        ("--per-row", "s.csv", "is the input file"),
        2,
    ),
    "evaluate --per-row is the labelled file": (
        lambda e: ["evaluate", e.file("lab.csv", LABELLED), "--model", e.model, "--per-row", str(e.tmp / "lab.csv")],
        ("--per-row", "lab.csv", "is the input file"),
        2,
    ),
    "evaluate --report is the weights file": (
        lambda e: [
            "evaluate",
            e.file("lab.csv", LABELLED),
            "--model",
            e.model,
            "--weights",
            e.file("w.csv", "id,weight\na,1\nb,1\n"),
            "--report",
            str(e.tmp / "w.csv"),
        ],
        ("--report", "w.csv", "is the input file"),
        2,
    ),
    "evaluate --per-row and --report are one file": (
        lambda e: [
            "evaluate",
            e.file("lab.csv", LABELLED),
            "--model",
            e.model,
            "--per-row",
            str(e.tmp / "r.x"),
            "--report",
            str(e.tmp / "r.x"),
        ],
        ("--per-row and --report both name", "r.x"),
        2,
    ),
    "calibrate --out is the pool": (
        lambda e: [
            "calibrate",
            "--probes",
            e.file("probes.csv", "prompt,score\nMake it formal,0.5\n"),
            "--pool",
            e.file("pool.csv", SUBMISSION),
            "--out",
            str(e.tmp / "pool.csv"),
        ],
        ("--out", "pool.csv", "is the input file"),
        2,
    ),
    "generate --out is the originals file": (
        lambda e: e.generate(out="originals.txt"),
        ("--out", "originals.txt", "is the input file"),
        2,
    ),
    "generate with several servers on the local engine": (
        lambda e: [*e.generate(), "--base-url", f"{e.url},{e.url}"],
        ("--base-url names 2 servers", "--engine ray", "Fix:"),
        2,
    ),
    "generate prompts --out is the bank": (
        lambda e: ["generate", "prompts", "--bank", e.file("bank.csv", SUBMISSION), "--out", str(e.tmp / "bank.csv")],
        ("--out", "bank.csv", "is the input file"),
        2,
    ),
    "generate --out with an unknown format": (
        lambda e: e.generate(out="triples.xlsx"),
        ("triples.xlsx", "unsupported output format", ".jsonl or .csv"),
        2,
    ),
    "generate --originals in latin-1": (
        lambda e: [*e.generate(), "--originals", e.file("latin.txt", "Un caf\xe9 noir.\n".encode("latin-1"))],
        ("latin.txt, line 1", "not UTF-8"),
        2,
    ),
    "generate --originals is a folder": (
        lambda e: [*e.generate(), "--originals", str(Path(e.file("texts/a.txt", "x")).parent)],
        ("texts", "is a folder"),
        2,
    ),
    "generate --originals broken JSON": (
        lambda e: [*e.generate(), "--originals", e.file("texts.json", '["one", "two"')],
        ("texts.json, line 1", "not valid JSON"),
        2,
    ),
    "generate --out is someone else's CSV": (
        lambda e: e.generate(out=Path(e.file("other.csv", "name,score\nx,1\n")).name),
        ("other.csv", "header", "choose a new output path"),
        2,
    ),
    "generate --base-url with credentials and no scheme": (
        lambda e: [*e.generate(), "--base-url", "alice:hunter2@127.0.0.1:8080/v1"],
        ("is not an http(s) URL", "***@127.0.0.1"),
        2,
    ),
    # bad numbers
    "predict --chunk 0": (lambda e: e.predict(e.file("in.csv", GOOD), "--chunk", "0"), ("--chunk",), 2),
    "predict --chunk -3": (lambda e: e.predict(e.file("in.csv", GOOD), "--chunk", "-3"), ("--chunk",), 2),
    "predict --time-budget -1": (
        lambda e: e.predict(e.file("in.csv", GOOD), "--time-budget", "-1"),
        ("--time-budget",),
        2,
    ),
    "generate -n 0": (lambda e: e.generate("-n", "0"), ("-n",), 2),
    "score --weights all zero": (
        lambda e: [
            "score",
            e.file("t.csv", SUBMISSION),
            e.file("s.csv", SUBMISSION),
            "--weights",
            e.file("w.csv", "id,weight\na,0\nb,0\n"),
        ],
        ("w.csv, column 'weight'", "every weight", "is 0"),
        2,
    ),
    "evaluate --weights all zero": (
        lambda e: [
            "evaluate",
            e.file("lab.csv", LABELLED),
            "--model",
            e.model,
            "--weights",
            e.file("w.csv", "id,weight\na,0\nb,0.0\n"),
        ],
        ("w.csv, column 'weight'", "every weight"),
        2,
    ),
    "score --weights negative": (
        lambda e: [
            "score",
            e.file("t.csv", SUBMISSION),
            e.file("s.csv", SUBMISSION),
            "--weights",
            e.file("w.csv", "id,weight\na,1\nb,-1\n"),
        ],
        ("w.csv, row 2, column 'weight'", "non-negative"),
        2,
    ),
    # configs and model folders
    "train --config missing": (
        lambda e: ["train", e.file("lab.csv", LABELLED), "--out", str(e.tmp / "m"), "--config", str(e.tmp / "no.toml")],
        ("no.toml", "no such config file"),
        2,
    ),
    "train --config with a TOML syntax error": (
        lambda e: [
            "train",
            e.file("lab.csv", LABELLED),
            "--out",
            str(e.tmp / "m"),
            "--config",
            e.file("p.toml", "[[member]]\nkind = constant\n"),
        ],
        ("p.toml", "not valid TOML", "line 2"),
        2,
    ),
    "train --config that is binary": (
        lambda e: [
            "train",
            e.file("lab.csv", LABELLED),
            "--out",
            str(e.tmp / "m"),
            "--config",
            e.file("p.toml", b"\x00\x01\x02"),
        ],
        ("p.toml", "line 1"),
        2,
    ),
    "train --out is an existing file": (
        lambda e: ["train", e.file("lab.csv", LABELLED), "--out", e.file("notes.txt", "keep me")],
        ("--out", "notes.txt", "is a file"),
        2,
    ),
    "train --out is a folder of other files": (
        lambda e: ["train", e.file("lab.csv", LABELLED), "--out", str(Path(e.file("docs/readme.md", "mine")).parent)],
        ("--out", "docs", "no pipeline.json"),
        2,
    ),
    # embedding cache folders
    "--cache-dir is a file": (
        lambda e: [
            "score",
            e.file("t.csv", SUBMISSION),
            e.file("s.csv", SUBMISSION),
            "--cache-dir",
            e.file("cache", "x"),
        ],
        ("--cache-dir", "is a file, not a folder"),
        2,
    ),
    "--cache-dir holds a damaged cache file": (
        lambda e: [
            "score",
            e.file("t.csv", SUBMISSION),
            e.file("s.csv", SUBMISSION),
            "--cache-dir",
            str(Path(e.file("c/embeddings-v1.sqlite", "garbage" * 100)).parent),
        ],
        ("embeddings-v1.sqlite", "not an SQLite database", "delete it"),
        2,
    ),
    # resumable files from another run
    "predict partial from another model": (
        lambda e: _partial_from_another_run(e, model="0" * 64),
        ("sub.csv.partial.jsonl", "another run", "model:", "delete"),
        2,
    ),
    "predict partial from another input": (
        lambda e: _partial_from_another_run(e, input="1" * 64),
        ("sub.csv.partial.jsonl", "another run", "input:"),
        2,
    ),
    "predict partial with a damaged record": (
        lambda e: (_partial_from_another_run(e), e.file("sub.csv.partial.jsonl.meta.json", "{not json"))[0],
        ("sub.csv.partial.jsonl.meta.json", "unreadable record"),
        2,
    ),
    "generate resumed with another model": (
        lambda e: _generated_by_another_run(e, "--model", "other-model"),
        ("triples.jsonl", "another run", "llm:"),
        2,
    ),
    "generate resumed with another temperature": (
        lambda e: _generated_by_another_run(e, "--temperature", "0.5"),
        ("triples.jsonl", "another run", "temperature: 0.5 there, 0.0 now"),
        2,
    ),
    # check-corpus
    "check-corpus null field": (
        lambda e: ["check-corpus", e.file("c.jsonl", _corpus_row(rewrite_prompt=None))],
        ("row 1 (id 'x-1'), column 'rewrite_prompt': null",),
        1,
    ),
    "check-corpus number as text": (
        lambda e: ["check-corpus", e.file("c.jsonl", _corpus_row(rewritten_text=42))],
        ("column 'rewritten_text': not text (42)",),
        1,
    ),
    # generate: answers that are not rewrites are not data
    "generate blank answers": (
        lambda e: (_set_reply(lambda body: "   "), e.generate())[1],
        ("2 row(s) not written", "2 blank", "rerun"),
        1,
    ),
    "generate answers copying the text": (
        lambda e: (_set_reply(_user_text), e.generate())[1],
        ("2 row(s) not written", "a copy of the original text"),
        1,
    ),
    "generate answers copying the few-shot examples": (
        lambda e: (
            _set_reply(lambda body: "Dear colleagues, please note that the printer is out of order"),
            e.generate("--template", "completion"),
        )[1],
        ("2 row(s) not written", "a copy of a few-shot example"),
        1,
    ),
    "generate answers with chat-template tokens": (
        lambda e: (_set_reply(lambda body: "<|im_start|>assistant\nA rewrite<|im_end|>"), e.generate())[1],
        ("chat-template token", "--template completion"),
        1,
    ),
    "generate server echoing the key in an error": (
        lambda e: (_set_reply(lambda body: "", 401), e.setenv("PROMPT_RECOVERY_API_KEY", SECRET), e.generate())[2],
        ("HTTP 401", "Bearer ***"),
        2,
    ),
    "generate --base-url with a bad port": (
        lambda e: [*e.generate()[:-4], "--base-url", "http://user:hunter2@127.0.0.1:99999999/v1"],
        ("bad port",),
        2,
    ),
}


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def no_long_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model or training one fails the test: refusals must come first."""
    import prompt_recovery.pipeline as pipeline

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("long work started before the refusal")

    monkeypatch.setattr(pipeline.Pipeline, "load", forbidden)
    monkeypatch.setattr(pipeline, "train", forbidden)
    monkeypatch.setattr("prompt_recovery.embed.load_embedder", forbidden)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_refused_cleanly(name: str, tmp_path: Path, server: str, no_long_work: None, monkeypatch):
    build, fragments, status = CASES[name]
    monkeypatch.chdir(tmp_path)
    env = Env(tmp_path, server, monkeypatch)
    env.file("earlier-output.csv", SUBMISSION)  # an earlier result that must survive
    args = build(env)
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(app, args, env={"COLUMNS": "2000", "TERMINAL_WIDTH": "2000"})  # no wrapped paths
    output = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # unwrap typer's boxed usage errors
    assert result.exit_code == status, (result.exit_code, output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in output, (fragment, output)
    assert SECRET not in output and "hunter2" not in output
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched


def test_there_are_enough_cases():
    assert len(CASES) >= 40


# -- what must keep working -----------------------------------------------------------------------


class StubPipeline:
    """Stands in for a trained model: ``delay`` seconds per row, one guess per row."""

    members: ClassVar[dict[str, object]] = {}
    mean_prompt = "THE MEAN PROMPT"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: list[str] = []

    def predict(self, rows: pd.DataFrame, every_member: bool = False) -> tuple[list[str], dict[str, list[str]]]:
        time.sleep(self.delay * len(rows))
        self.seen += list(rows["id"])
        return [f"guess for {i}" for i in rows["id"]], {}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> StubPipeline:
    import prompt_recovery.pipeline as pipeline

    model = StubPipeline()
    monkeypatch.setattr(pipeline.Pipeline, "load", lambda *args, **kwargs: model)
    return model


def _rows(n: int) -> str:
    return HEADER + "".join(f"r{i},original {i},rewritten {i}\n" for i in range(n))


def test_time_budget_stops_in_time_says_so_and_a_rerun_resumes(tmp_path: Path, stub: StubPipeline):
    env = Env(tmp_path, "")
    data = env.file("in.csv", _rows(400))
    stub.delay = 0.01  # 4 s of work for a 1.5 s budget
    began = time.monotonic()
    result = CliRunner().invoke(app, env.predict(data, "--time-budget", "1.5"))
    took = time.monotonic() - began
    assert result.exit_code == 0, result.output
    assert took < 1.5 * 1.1 + 0.5, took
    sub = pd.read_csv(tmp_path / "sub.csv")
    fell_back = int((sub["rewrite_prompt"] == "THE MEAN PROMPT").sum())
    assert 0 < fell_back < 400 and f"{fell_back} of 400 rows fell back to the mean prompt" in result.output
    partial = tmp_path / "sub.csv.partial.jsonl"
    kept = [json.loads(line)["id"] for line in partial.read_text().splitlines()]
    assert len(kept) == 400 - fell_back  # only rows truly predicted are recorded
    stub.seen.clear()
    stub.delay = 0.0
    again = CliRunner().invoke(app, env.predict(data, "--time-budget", "30"))
    assert again.exit_code == 0, again.output
    assert sorted(stub.seen) == sorted(set(sub["id"]) - set(kept))  # only the rows that fell back
    final = pd.read_csv(tmp_path / "sub.csv")
    assert (final["rewrite_prompt"] == [f"guess for {i}" for i in final["id"]]).all()
    assert not partial.exists() and not (tmp_path / "sub.csv.partial.jsonl.meta.json").exists()


def test_budget_spent_by_setup_falls_back_for_every_row(tmp_path: Path, stub: StubPipeline):
    env = Env(tmp_path, "")
    result = CliRunner().invoke(app, env.predict(env.file("in.csv", _rows(5)), "--time-budget", "0.001"))
    assert result.exit_code == 0, result.output
    assert "5 of 5 rows fell back to the mean prompt" in result.output
    assert stub.seen == []


def test_matching_partial_resumes_and_the_submission_keeps_the_umask(tmp_path: Path, stub: StubPipeline):
    env = Env(tmp_path, "")
    data = env.file("in.csv", _rows(6))
    partial = tmp_path / "sub.csv.partial.jsonl"
    from prompt_recovery.rowlog import RowLog, fingerprint

    meta = {"job": "predict", "model": fingerprint(env.model), "input": fingerprint(data)}
    RowLog(partial, ["id", "rewrite_prompt"], meta=meta).append([{"id": "r2", "rewrite_prompt": "kept from before"}])
    old = os.umask(0o027)
    try:
        result = CliRunner().invoke(app, env.predict(data, "--chunk", "2"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    sub = pd.read_csv(tmp_path / "sub.csv").set_index("id")["rewrite_prompt"]
    assert sub["r2"] == "kept from before" and "r2" not in stub.seen and len(stub.seen) == 5
    assert stat.S_IMODE((tmp_path / "sub.csv").stat().st_mode) == 0o640


def test_atomic_writes_honour_the_umask(tmp_path: Path):
    from prompt_recovery.data import write_submission
    from prompt_recovery.fileio import write_text_atomic

    old = os.umask(0o022)
    try:
        write_submission(tmp_path / "a.csv", ["x"], ["p"])
        write_text_atomic(tmp_path / "b.json", "{}")
    finally:
        os.umask(old)
    for name in ("a.csv", "b.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_credentials_in_the_base_url_never_reach_rows_or_output(tmp_path: Path, server: str):
    env = Env(tmp_path, server.replace("http://", "http://alice:hunter2@"))
    result = CliRunner().invoke(app, env.generate())
    assert result.exit_code == 0, result.output
    written = "".join(p.read_text() for p in tmp_path.iterdir() if p.name.startswith("triples"))
    assert "hunter2" not in written and "alice" not in written and "hunter2" not in result.output
    assert _Server.auth and all(a.startswith("Basic ") for a in _Server.auth)  # sent as basic auth


def test_generate_rerun_asks_again_only_for_refused_rows(tmp_path: Path, server: str):
    env = Env(tmp_path, server)
    first_seen: dict[str, str] = {}

    def copy_one_row(body: dict[str, Any]) -> str:  # copies the text of one (instruction, text) pair, always
        content = body["messages"][0]["content"]
        return _user_text(body) if first_seen.setdefault("content", content) == content else "A new rewrite."

    _set_reply(copy_one_row)
    first = CliRunner().invoke(app, env.generate())
    assert first.exit_code == 1 and "1 row(s) not written" in first.output
    assert len((tmp_path / "triples.jsonl").read_text().splitlines()) == 1
    asked: list[str] = []
    _set_reply(lambda body: asked.append(_user_text(body)) or "The feline rested upon the mat.")
    second = CliRunner().invoke(app, env.generate())
    assert second.exit_code == 0, second.output
    assert len(asked) == 1 and asked[0] in first_seen["content"]
    assert len((tmp_path / "triples.jsonl").read_text().splitlines()) == 2


def test_partial_without_a_record_is_refused_and_kept(tmp_path: Path, stub: StubPipeline):
    # issue 28, class 1: a file no run record claims may be someone else's: refused, never rewritten
    env = Env(tmp_path, "")
    data = env.file("in.csv", _rows(3))
    before = json.dumps({"id": "r0", "rewrite_prompt": "old run"}) + "\n" + "torn"
    env.file("sub.csv.partial.jsonl", before)
    result = CliRunner().invoke(app, env.predict(data))
    assert result.exit_code == 2 and "no record" in result.output and "Fix:" in result.output
    assert (tmp_path / "sub.csv.partial.jsonl").read_text() == before and stub.seen == []
