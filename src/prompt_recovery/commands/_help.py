"""Help pages in the style of well-kept Typer/Rich CLIs, applied to every command in one place.

Typer 0.29 shows each option's Python type (``<bool>``, ``<list[Path]>``), writes required arguments
as ``{truth}`` in the usage line and keeps the line breaks of a docstring. Here:

- an option shows a plain metavar (``PATH``, ``N``, ``NUMBER``, ``TEXT``, or its own ``metavar=``) and a
  flag shows none;
- an argument is ``TRUTH`` in the usage line and ``truth  PATH`` in its panel;
- help text is reflowed: lines of a paragraph are joined, paragraphs stay apart, and a paragraph
  whose lines are all indented (an example block) keeps its lines. Square brackets are shown as
  written, never read as Rich markup.

Example: ``Annotated[Path, typer.Option()]`` shows ``--out PATH``; ``Annotated[float,
typer.Option(metavar="SECONDS")]`` shows ``--time-budget SECONDS``; ``list[Path]`` as an argument shows
``LABELLED...`` in the usage line.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer import _click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

_TYPE_NAMES = {"path": "PATH", "int": "N", "float": "NUMBER", "str": "TEXT", "bool": "BOOL"}


def type_metavar(param: TyperOption | TyperArgument, ctx: _click.Context) -> str:
    """``PATH``, ``N``, ``NUMBER``, ``TEXT`` (or the choices, ``a|b``) from Typer's ``<type>`` label.

    Example: ``<list[Path]>`` -> ``PATH``, ``<int range>`` -> ``N``, ``<float>`` -> ``NUMBER``."""
    label = param.display_type(ctx).strip("<>").removesuffix(" range")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    return _TYPE_NAMES.get(label.lower(), label)


class PlainOption(TyperOption):
    def display_type_rich(self, ctx: _click.Context) -> str | None:
        if self.is_flag or self.count:
            return None
        return self.metavar or type_metavar(self, ctx)


class PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: _click.Context) -> str | None:
        kind = self.metavar or type_metavar(self, ctx)
        return kind + "..." if self.nargs != 1 else kind

    def _rich_display_name(self) -> str:
        return self.name or ""

    def _usage_display_name(self) -> str:
        name = (self.name or "").upper()
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"

    def get_error_hint(self, ctx: _click.Context | None = None) -> str:
        return f"'{(self.name or '').upper()}'"


def reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph; keep indented (example) paragraphs line by line; escape markup.

    Example: ``"Score a file\\nagainst the truth.\\n\\n    prompt-recovery score a b"`` ->
    ``"Score a file against the truth.\\n\\n    prompt-recovery score a b"``.
    """
    if not text:
        return text
    from rich.markup import escape

    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = paragraph.split("\n")
        if all(line.startswith((" ", "\t")) for line in lines):
            paragraphs.append("\n".join(escape(line) for line in lines))
        else:
            paragraphs.append(escape(" ".join(line.strip() for line in lines)))
    return "\n\n".join(paragraphs)


def _plain(params: list[_click.Parameter]) -> None:
    for param in params:
        # same fields, another class: only how the parameter is displayed changes
        if type(param) is TyperOption:
            param.__class__ = PlainOption
        elif type(param) is TyperArgument:
            param.__class__ = PlainArgument
        if isinstance(param, TyperOption | TyperArgument) and param.help:
            param.help = reflow(param.help)


class _PlainHelp:
    """Plain metavars and reflowed help for a command or a group (mixed in before the Typer class)."""

    params: list[Any]
    help: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain(self.params)
        self.help = reflow(self.help)

    def get_help_option(self, ctx: _click.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _plain([option])
        return option


class PlainCommand(_PlainHelp, TyperCommand):
    pass


class PlainGroup(_PlainHelp, TyperGroup):
    pass


class App(typer.Typer):
    """``typer.Typer`` whose commands and groups use the plain help above, and ``-h`` beside ``--help``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", PlainGroup)
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or PlainCommand, **kwargs)
