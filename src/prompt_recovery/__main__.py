"""``python -m prompt_recovery COMMAND``: the same as the ``prompt-recovery`` console script."""

from prompt_recovery.cli import app

app(prog_name="prompt-recovery")
