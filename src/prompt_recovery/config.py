"""Typed settings from TOML tables: build a frozen dataclass, refuse unknown keys and wrong types.

Every predictor and the inversion take a frozen config dataclass; TOML member tables and saved models
go through ``from_table`` so that a misspelled key is an error listing the known ones, and a value of
the wrong type is an error naming the field, instead of a default silently winning.

Example::

    @dataclass(frozen=True)
    class Demo:
        k: int = 20
        weight: float = 1.0

    from_table(Demo, {"k": 5}, "member retrieval")        # Demo(k=5, weight=1.0)
    from_table(Demo, {"kk": 5}, "member retrieval")       # ConfigError: ... unknown setting 'kk'; known: k, weight
    to_table(Demo(k=5))                                   # {"k": 5, "weight": 1.0}
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from prompt_recovery.errors import ConfigError, PromptRecoveryError

T = TypeVar("T")


def from_table(cls: type[T], table: Mapping[str, Any], where: str) -> T:
    """``cls(**table)`` with every key known and every value of the declared type (ints widen to
    floats, lists become tuples, nested tables become nested configs). ``where`` prefixes messages."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(table).__name__} {table!r}")
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(known)}"
        )
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in table:
            continue
        value = table[f.name]
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            # a partial nested table overrides this field's own default, not the nested class's
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if dataclasses.is_dataclass(default):
                value = {**to_table(default), **value}
        values[f.name] = _coerce(hint, value, f"{where}, {f.name}")
    try:
        return cls(**values)
    except (TypeError, ValueError, PromptRecoveryError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def to_table(config: Any) -> dict[str, Any]:
    """A config as plain JSON/TOML-able values (tuples become lists, nested configs tables)."""
    out = {}
    for f in dataclasses.fields(config):
        out[f.name] = _plain(getattr(config, f.name))
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_table(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else from_table(hint, value, where)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value
