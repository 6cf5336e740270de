"""Exceptions that carry a message a user can act on (what is wrong, where, and how to fix it)."""


class PromptRecoveryError(Exception):
    """Base class: the CLI prints these as one clean message, without a traceback."""


class DataError(PromptRecoveryError, ValueError):
    """Bad input data: the message names the file, row, column and the fix."""


class EmbedderError(PromptRecoveryError, ValueError):
    """An encoder that cannot be found or loaded, or an unsupported option for it."""


class ConfigError(PromptRecoveryError, ValueError):
    """A bad setting: an unknown key (the message lists the known ones), a wrong type or value."""


class ModelError(PromptRecoveryError):
    """A model folder that is missing, damaged or from another version: the message says how to fix it."""
