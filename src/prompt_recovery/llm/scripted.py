"""A scripted LLM for tests and dry runs: answers come from a function of the request, no model.

Example::

    llm = ScriptedLLM(lambda request, config: "Make it formal")
    llm.generate(["anything"])[0].text            # 'Make it formal'
    ScriptedLLM(fail=LLMUnreachable("down")).generate(["x"])   # raises LLMUnreachable
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_recovery.llm.base import LLM, Completion, GenerationConfig, LLMError, Request, cut_at_stop


class ScriptedLLM(LLM):
    """``reply(request, config) -> str``; stop strings and ``max_tokens`` (counted in words) are applied.

    ``fail`` makes every call raise that error; ``calls`` records every request seen, in order.
    """

    name = "scripted"

    def __init__(
        self,
        reply: Callable[[Request, GenerationConfig], str] | None = None,
        *,
        chat: bool = False,
        fail: LLMError | None = None,
    ) -> None:
        self.reply = reply or (lambda request, config: "")
        self.chat = chat
        self.fail = fail
        self.calls: list[Request] = []

    def _generate(self, requests: list[Request], config: GenerationConfig) -> list[Completion]:
        if self.fail is not None:
            raise self.fail
        out = []
        for request in requests:
            self.calls.append(request)
            text, stopped = cut_at_stop(self.reply(request, config), config.stop)
            words = text.split(" ")
            finish = "stop" if stopped or len(words) <= config.max_tokens else "length"
            out.append(Completion(" ".join(words[: config.max_tokens]), finish, 0, min(len(words), config.max_tokens)))
        return out
