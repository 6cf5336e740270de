"""The LLM contract: a batch of requests in, one ``Completion`` per request out, in order.

A request is either a plain prompt string (text completion, for base models) or a list of chat
messages (``[{"role": "user", "content": "..."}]``, rendered with the model's own chat template by the
backend). Every backend honours ``GenerationConfig``: ``max_tokens``, ``stop`` strings (cut from the
output, not included), ``temperature`` (0 = greedy) and ``seed``.

Failures are typed, so callers can decide what to retry or report:

- ``LLMUnreachable``: nothing answers (server down, wrong URL, missing model file);
- ``LLMTimeout``: it answered too slowly;
- ``LLMBadResponse``: it answered, but not with a completion (HTTP error status, malformed JSON).

Example::

    llm = load_llm("embedded")                                   # packaged Gemma 3 270M, offline
    out = llm.generate(["Instruction: Make it formal\\nText: hi\\nRewritten text:"],
                       GenerationConfig(max_tokens=32, stop=["\\n"], seed=1))
    out[0].text, out[0].finish_reason                            # (' Hello.', 'stop')
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict

from prompt_recovery.errors import PromptRecoveryError


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


Request = str | list[Message]


class LLMError(PromptRecoveryError):
    """An LLM backend failed; the message says which backend, where, and what to try."""


class LLMUnreachable(LLMError):
    """Nothing answered: a server that is down or a wrong URL, a model file that is missing."""


class LLMTimeout(LLMError):
    """The backend did not answer within the timeout."""


class LLMBadResponse(LLMError):
    """The backend answered with something that is not a completion (error status, malformed body)."""


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings shared by every backend. ``seed`` makes a request reproducible on one backend."""

    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, but it was: {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, but it was: {self.temperature}")
        object.__setattr__(self, "stop", tuple(self.stop))

    def with_seed(self, seed: int) -> GenerationConfig:
        return replace(self, seed=seed)


@dataclass
class Completion:
    """One answer. ``finish_reason`` is ``"stop"`` (eos or a stop string) or ``"length"`` (max_tokens)."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: dict[str, object] = field(default_factory=dict, repr=False)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the earliest stop string: ``cut_at_stop("a\\nb", ["\\n"]) -> ("a", True)``."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class LLM(ABC):
    """A text generator. Subclasses implement ``_generate``; register them in ``llm.BACKENDS``.

    ``chat`` says whether the model is instruction-tuned with a chat template (send it messages) or a
    base model (send it a few-shot completion prompt). ``concurrency`` is how many requests the
    backend runs at once, so callers can size their batches.
    """

    name: str = "llm"
    chat: bool = False
    concurrency: int = 1

    def generate(self, requests: Sequence[Request], config: GenerationConfig | None = None) -> list[Completion]:
        """Complete every request (a prompt string or a message list); results keep the input order."""
        config = config or GenerationConfig()
        if not requests:
            return []
        out = self._generate(list(requests), config)
        if len(out) != len(requests):
            raise LLMBadResponse(f"{self.name}: {len(out)} completions for {len(requests)} requests")
        return out

    @abstractmethod
    def _generate(self, requests: list[Request], config: GenerationConfig) -> list[Completion]: ...

    def close(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing to free
        """Free the model or the connection pool. Idempotent."""

    def __enter__(self) -> LLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """One line for logs and reports; never contains a secret."""
        return self.name

    def identity(self) -> str:
        """What a resumable job records about the model that wrote its rows (``describe()``, with anything
        resolved lazily, such as a server's default model name, resolved now)."""
        return self.describe()
