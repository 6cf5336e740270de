"""Progress that a person can read anywhere: bars on a terminal, plain lines in logs and pipes.

``tqdm`` here is tqdm's own class, except that when its stream is not a terminal (a log file, ``nohup``,
a notebook's captured stderr) it writes one whole line every ``LINE_SECONDS`` (none for a job shorter
than that) and one when it finishes, instead of redrawing a bar with carriage returns: ``Encoding: 40%| 400/1000 [00:12<00:18, 33.1
text/s]``. Library code passes ``disable=not show_progress`` as before; the CLI decides
(``--progress/--no-progress``; on by default).

``stage(message)`` says that a stage of a long job started or ended, through the
``prompt_recovery.progress`` logger at INFO: the CLI shows those records when progress is on, and
library users see them only if they configure logging.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tqdm.auto import tqdm as _tqdm

LINE_SECONDS = 30.0
logger = logging.getLogger("prompt_recovery.progress")


def stage(message: str, *args: object) -> None:
    logger.info(message, *args)


class tqdm(_tqdm):  # noqa: N801 - a drop-in for tqdm.auto.tqdm
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fp = getattr(self, "fp", None)
        isatty = getattr(fp, "isatty", None)
        self._lines = not self.disable and not (callable(isatty) and isatty())
        self._last_line = 0.0
        if self._lines:
            self.mininterval = min(self.mininterval, LINE_SECONDS)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool | None:
        if not getattr(self, "_lines", False):
            return super().display(msg, pos)
        # a short job prints nothing; a long one a line every LINE_SECONDS and a last one when it ends
        now = time.monotonic()
        finished = self.total is not None and self.n >= self.total
        due = now - (self._last_line or self.start_t) >= LINE_SECONDS
        if not (due or (finished and self._last_line)):
            return None
        self._last_line = now
        self.fp.write(self.format_meter(**self.format_dict) + "\n")
        self.fp.flush()
        return None
