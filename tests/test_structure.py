"""The house stays in order: small modules, short functions, private names private, layers by folder.

Limits (issue 29): a module of at most ``MODULE_LINES`` lines, a function body (docstring and signature
aside: typer options are declarations) of at most ``BODY_LINES`` lines, and no ``from prompt_recovery.X
import _name`` of a private name from another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "prompt_recovery"
MODULE_LINES = 400
BODY_LINES = 80


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    return 0 if not body else (node.end_lineno or node.lineno) - body[0].lineno + 1


def test_modules_are_small():
    big = {str(p.relative_to(SRC)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MODULE_LINES}
    assert not big, f"modules over {MODULE_LINES} lines (split them by concern): {big}"


def test_functions_are_short():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _body_lines(node) > BODY_LINES:
                long[f"{path.relative_to(SRC)}:{node.name}"] = _body_lines(node)
    assert not long, f"function bodies over {BODY_LINES} lines: {long}"


def test_no_private_name_is_imported_across_modules():
    private = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prompt_recovery"):
                private += [
                    f"{path.relative_to(SRC)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert not private, f"private names imported from another module (make them public or move them): {private}"


def test_the_layers_show_in_folder_names():
    for folder in ("commands", "pipeline", "chooser", "predictors", "search", "embed", "llm", "finetune"):
        assert (SRC / folder / "__init__.py").is_file(), folder
