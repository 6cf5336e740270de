"""Progress that a person can read anywhere: bars on a terminal, plain lines in logs and pipes.

``tqdm`` here is tqdm's own class, except that when its stream is not a terminal (a log file, ``nohup``,
a notebook's captured stderr) it writes one whole line every ``LINE_SECONDS`` (none for a job shorter
than that) and one when it finishes, instead of redrawing a bar with carriage returns:
``Encoding: 40%| 400/1000 [00:12<00:18, 33.1 text/s]``. Library code passes ``disable=not
show_progress`` as before; the CLI decides (``--progress/--no-progress``; on by default).

``stage(message)`` says that a stage of a long job started or ended, through the
``prompt_recovery.progress`` logger at INFO: the CLI shows those records when progress is on, and
library users see them only if they configure logging.
"""

from __future__ import annotations

import logging

from tqdm.auto import tqdm as _tqdm

LINE_SECONDS = 30.0
logger = logging.getLogger("prompt_recovery.progress")


def stage(message: str, *args: object) -> None:
    logger.info(message, *args)


class tqdm(_tqdm):
    def _line_mode(self) -> bool:
        # decided on first use: tqdm draws once inside its own __init__, before a subclass could set a flag
        mode = self.__dict__.get("_lines")
        if mode is None:
            isatty = getattr(getattr(self, "fp", None), "isatty", None)
            mode = not (callable(isatty) and isatty())
            self.__dict__["_lines"] = mode
            self.__dict__["_last_line"] = 0.0
        return bool(mode)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool | None:
        if not self._line_mode():
            return super().display(msg, pos)
        # a short job prints nothing; a long one a line every LINE_SECONDS and a last one when it ends
        start = getattr(self, "start_t", None)
        if start is None:  # the draw inside tqdm's own __init__
            return None
        now = self._time()  # tqdm's clock, the one start_t is on
        last = self.__dict__["_last_line"]
        if now - (last or start) >= LINE_SECONDS:
            self._line(now)
        return None

    def _line(self, now: float) -> None:
        self.__dict__["_last_line"] = now
        self.fp.write(self.format_meter(**self.format_dict) + "\n")
        self.fp.flush()

    def close(self) -> None:
        if getattr(self, "disable", False) or not self._line_mode():
            return super().close()
        if self.__dict__["_last_line"]:
            self._line(self._time())  # the last line: where the job ended
        # what tqdm's close does, without the newline and carriage return it writes for a bar
        self._decr_instances(self)
        self.disable = True
        return None
