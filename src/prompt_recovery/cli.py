"""Command line entry point: ``prompt-recovery COMMAND`` (commands live in ``prompt_recovery.commands``)."""

from prompt_recovery.commands import app, load_commands

load_commands()

__all__ = ["app"]
