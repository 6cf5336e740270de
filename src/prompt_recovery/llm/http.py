"""An OpenAI-compatible HTTP client: vLLM, llama.cpp's server, Ollama, hosted APIs.

Posts to ``{base_url}/chat/completions`` (chat models) or ``{base_url}/completions`` (base models),
``concurrency`` requests at a time, each with a ``timeout``; connection failures, timeouts, HTTP 429
and 5xx are retried ``retries`` times with exponential backoff and jitter (tenacity). The API key is
sent as a bearer token and never appears in logs, errors or ``describe()``; credentials written into
the URL (``http://user:pass@host``) are taken out of it and sent as HTTP basic auth, and an error body
that echoes a secret back (some proxies repeat the request headers) has it replaced by ``***``.

Settings come from arguments or the environment:

- ``base_url``: ``$PROMPT_RECOVERY_BASE_URL`` or ``$OPENAI_BASE_URL``; a bare ``http://host:port`` gets ``/v1``;
- ``model``: ``$PROMPT_RECOVERY_MODEL``, else the first model the server lists at ``/models``;
- key: ``$PROMPT_RECOVERY_API_KEY`` or ``$OPENAI_API_KEY`` (optional for local servers).

Example::

    llm = OpenAICompatibleLLM(base_url="http://127.0.0.1:8080", concurrency=4)
    llm.generate([[{"role": "user", "content": "Make it formal: hi"}]])[0].text
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx2 as httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from prompt_recovery.llm.base import (
    LLM,
    Completion,
    GenerationConfig,
    LLMBadResponse,
    LLMError,
    LLMTimeout,
    LLMUnreachable,
    Request,
)
from prompt_recovery.llm.embedded import parse_choice, request_body

log = logging.getLogger(__name__)


class _Retryable(Exception):
    """A failure worth another try (connection refused, timeout, 429, 5xx); wraps the typed error."""

    def __init__(self, error: LLMError) -> None:
        super().__init__(str(error))
        self.error = error


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://u:p@h:8080/v1`` -> (``http://h:8080/v1``, (``u``, ``p``)); a URL without them is unchanged."""
    parts = urlsplit(url.strip())
    if parts.username is None and parts.password is None:
        return url.strip(), None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        raise LLMError(f"base URL for host {host!r} has a bad port. Fix: e.g. --base-url http://HOST:8080/v1") from None
    if port is not None:
        netloc += f":{port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret, and any ``Bearer``/``Basic`` credential, replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", r"\1 ***", text)


def normalise_base_url(url: str) -> str:
    """``http://h:8080`` -> ``http://h:8080/v1``; a URL with a path is kept as given (minus a trailing /).
    Credentials in the URL are dropped (see ``split_credentials``)."""
    url, _ = split_credentials(url)
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown = re.sub(r"^([A-Za-z][\w+.-]*://)?[^/@]*@", r"\1***@", url)  # credentials a parser missed
        raise LLMError(f"base URL {shown!r} is not an http(s) URL. Fix: e.g. --base-url http://127.0.0.1:8080/v1")
    return url if parts.path not in ("", "/") else url + "/v1"


class OpenAICompatibleLLM(LLM):
    """See the module docstring. ``chat`` False sends text prompts to ``/completions`` (base models)."""

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        *,
        api_key: str | None = None,
        chat: bool = True,
        concurrency: int = 4,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        url = base_url or os.environ.get("PROMPT_RECOVERY_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise LLMError("no server given. Fix: pass --base-url http://HOST:PORT/v1 or set $PROMPT_RECOVERY_BASE_URL")
        url, userinfo = split_credentials(url)
        self.base_url = normalise_base_url(url)
        self.chat = chat
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.timeout = timeout
        key = api_key or os.environ.get("PROMPT_RECOVERY_API_KEY") or os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        user, password = userinfo or ("", "")
        self._secrets = [s for s in (key, password or user) if s]  # a user name alone may be a token
        if user or password:
            import base64

            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._secrets.append(basic)
            if not key:
                headers = {"Authorization": f"Basic {basic}"}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=self.concurrency),
        )
        self._pool: ThreadPoolExecutor | None = None
        self.model = model or os.environ.get("PROMPT_RECOVERY_MODEL") or None
        self.name = f"openai:{self.base_url}"

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One HTTP exchange, with retries; returns the decoded JSON or raises a typed ``LLMError``."""
        url = f"{self.base_url}{path}"

        def attempt() -> Any:
            try:
                response = self._client.request(method, url, json=body)
            except httpx.TimeoutException:
                raise _Retryable(LLMTimeout(f"{url}: no answer within {self.timeout:g}s")) from None
            except httpx.TransportError as exc:
                raise _Retryable(
                    LLMUnreachable(f"{url}: cannot connect ({type(exc).__name__}). Fix: is the server running?")
                ) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(LLMBadResponse(f"{url}: HTTP {response.status_code}: {self._body(response, 300)}"))
            if response.status_code >= 400:
                raise LLMBadResponse(f"{url}: HTTP {response.status_code}: {self._body(response, 300)}")
            try:
                return response.json()
            except ValueError:
                raise LLMBadResponse(f"{url}: the answer is not JSON: {self._body(response, 200)!r}") from None

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential_jitter(initial=self.backoff, max=30.0),
            reraise=True,
            before_sleep=lambda state: log.info(
                "%s: retrying after %s", url, state.outcome and state.outcome.exception()
            ),
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            raise exc.error from None

    def _body(self, response: Any, limit: int) -> str:
        """The start of a response body with secrets cut out first (a cut secret would escape ``redact``)."""
        return redact(response.text, self._secrets)[:limit]

    def _model_name(self) -> str:
        if self.model is None:
            data = self._call("GET", "/models")
            try:
                self.model = str(data["data"][0]["id"])
            except (KeyError, IndexError, TypeError):
                raise LLMBadResponse(
                    f"{self.base_url}/models lists no model. Fix: pass --model NAME or set $PROMPT_RECOVERY_MODEL"
                ) from None
        return self.model

    def _one(self, request: Request, config: GenerationConfig) -> Completion:
        if isinstance(request, str) == self.chat:
            kind = "chat messages" if self.chat else "a text prompt"
            raise LLMError(f"{self.name}: this backend was set up for {kind}; build requests for it")
        body = request_body(request, config)
        body["model"] = self._model_name()
        path = "/chat/completions" if self.chat else "/completions"
        return parse_choice(self.base_url + path, self._call("POST", path, body), config)

    def _generate(self, requests: list[Request], config: GenerationConfig) -> list[Completion]:
        with self._redacted():
            if self.concurrency == 1 or len(requests) == 1:
                return [self._one(r, config) for r in requests]
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency)
            return list(self._pool.map(lambda r: self._one(r, config), requests))

    @contextmanager
    def _redacted(self) -> Iterator[None]:
        """Re-raise any ``LLMError`` with the key and URL credentials cut out of its message."""
        try:
            yield
        except LLMError as exc:
            raise type(exc)(redact(str(exc), self._secrets)) from None

    def identity(self) -> str:
        """``describe()`` with the model name resolved (asks the server's ``/models`` if not given)."""
        with self._redacted():
            self._model_name()
        return self.describe()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._client.close()

    def describe(self) -> str:
        return f"openai-compatible {self.base_url} model={self.model or '?'} ({'chat' if self.chat else 'completion'})"
