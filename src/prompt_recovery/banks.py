"""Prompt banks: known rewrite prompts read from a file or a packaged bank, embedded, extended, searched.

``PromptBank`` (texts and their float32 unit vectors) is the one bank type: the candidates every
inversion starts from, what ``retrieval`` with ``match = "bank"`` searches, and the chooser's pool.
One bank per pipeline: the training prompts first (deduplicated, in first-seen order), then an extra
bank's prompts, saved once in the model folder.

A bank spec is a registry name (``BANKS``: ``osyuksel``, the MIT-licensed 9,205 procedurally generated
prompts of the competition's 11th-place solution, shipped in ``resources/banks/``) or a path:

- ``.txt``: one prompt per line;
- ``.json``: a list of strings;
- ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.parquet``: the column ``rewrite_prompt``, else ``prompt``.

Every format goes through one check (``_prompts``): each item must be a string (a number, null, list
or object is a ``DataError`` naming the file, the line, item or row, and the value) of at most
``DEFAULT_MAX_CHARS`` characters, the cap on input texts. Prompts are stripped; blanks (invisible
characters included) are dropped and repeats keep their first place. A bank serves retrieval
(``Retrieval`` with ``match = "bank"``) and every inversion as candidates; ``with_encoded`` appends
one to a pipeline's bank (the training prompts stay first, so their positions do not move).

Example::

    texts = read_bank("osyuksel")                 # 9,205 strings
    bank = PromptBank.of(["Make it formal"], embedder).with_encoded(texts, embedder)
    bank.texts[:2]                                # ['Make it formal', 'Convert every noun in this ...']
    bank.nearest(vectors, pool=1)                 # per row of vectors [N, D]: the closest prompt
    bank.medoid()                                 # the prompt closest to all others: a mean prompt
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from prompt_recovery.checks import check_path
from prompt_recovery.data import DEFAULT_MAX_CHARS, check_text, is_blank
from prompt_recovery.embed import Embedder
from prompt_recovery.errors import DataError
from prompt_recovery.fileio import decode_text, read_bytes, read_table
from prompt_recovery.metric import EXPONENT, best_index, scs

BANKS = {"osyuksel": "resources/banks/osyuksel.json"}  # name -> packaged JSON list of prompts
NONE = ("", "none")  # bank specs meaning "no extra bank": the training prompts alone
COLUMNS = ("rewrite_prompt", "prompt")  # the first a table has is the bank
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
FORMATS = "a packaged bank name (" + ", ".join(BANKS) + "), none, or a .txt (one prompt a line), .json (a list of "
FORMATS += "strings), .csv, .tsv, .jsonl or .parquet file (column rewrite_prompt or prompt)"


def read_bank(spec: str | Path) -> list[str]:
    """The distinct, stripped, non-blank prompts of a bank name or file, in first-seen order.
    ``DataError`` naming the file (and line or record) and the fix for anything else."""
    if isinstance(spec, str) and spec.strip().lower() in NONE:
        return []
    if isinstance(spec, str) and spec in BANKS:
        text = resources.files("prompt_recovery").joinpath(BANKS[spec]).read_text(encoding="utf-8")
        return _prompts(_json_items(text, Path(spec)), Path(spec))
    path = check_path(spec, "bank").expanduser()
    suffix = path.suffix.lower()
    if suffix == ".txt":
        lines = decode_text(read_bytes(path, "bank file"), path, "text").split("\n")
        return _prompts(((f"line {n}", line) for n, line in enumerate(lines, 1)), path)
    if suffix == ".json":
        return _prompts(_json_items(decode_text(read_bytes(path, "bank file"), path, "JSON text"), path), path)
    if suffix in TABLE_SUFFIXES:
        df = read_table(path)
        column = next((c for c in COLUMNS if c in df.columns), None)
        if column is None:
            raise DataError(
                f"{path}: no column {' or '.join(map(repr, COLUMNS))}; found {list(df.columns)}. "
                "Fix: name the prompt column rewrite_prompt."
            )
        return _prompts(((f"row {n}, column {column!r}", x) for n, x in enumerate(df[column], 1)), path)
    if not path.exists() and not suffix:
        raise DataError(f"bank {str(spec)!r}: no packaged bank of that name and no such file. Fix: give {FORMATS}.")
    read_bytes(path, "bank file")  # a missing file or a folder says so first
    raise DataError(f"{path}: unknown bank file type {suffix!r}. Fix: give {FORMATS}.")


def _json_items(text: str, path: Path) -> list[tuple[str, object]]:
    """The items of a JSON list, each with where it is (``item N``); ``_prompts`` checks them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}). "
            "Fix: a bank is a JSON list of prompt strings (or a .txt file, one prompt a line)."
        ) from None
    if not isinstance(data, list):
        raise DataError(
            f"{path}: a JSON {type(data).__name__}, not a list. Fix: a bank is a JSON list of prompt strings, "
            'like ["Make it formal", "Write it as a poem"].'
        )
    return [(f"item {number}", item) for number, item in enumerate(data, 1)]


def _prompts(items: Iterable[tuple[str, object]], path: Path) -> list[str]:
    """The one check of a bank, whatever its format: ``items`` are (where, value) pairs; every value must
    be text (``check_text``: a string, at most ``DEFAULT_MAX_CHARS`` long); blank ones are dropped, the
    rest stripped and deduplicated in first-seen order. ``DataError`` for an empty result."""
    out: dict[str, None] = {}
    for where, value in items:
        if isinstance(value, str) and is_blank(value):
            continue
        text = check_text(
            value,
            f"{path}, {where}",
            DEFAULT_MAX_CHARS,
            f"a bank prompt is capped like an input text at {DEFAULT_MAX_CHARS:,} characters: shorten it or drop it",
        )
        out.setdefault(text.strip(), None)
    if not out:
        raise DataError(f"{path}: no prompts in this bank (empty or blank). Fix: give at least one prompt.")
    return list(out)


def fingerprint(texts: Sequence[str]) -> str:
    """sha256 (hex) of a bank's texts in order: what a resumable prediction records about its bank."""
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()


@dataclass
class PromptBank:
    texts: list[str]  # distinct prompts
    vectors: np.ndarray  # float32 [B, D], row i embeds texts[i]

    @classmethod
    def of(cls, texts: Iterable[str], embedder: Embedder, show_progress: bool = False) -> PromptBank:
        distinct = list(dict.fromkeys(t for t in texts if t))
        if not distinct:
            return cls([], np.zeros((0, 0), dtype=np.float32))
        return cls(distinct, embedder.encode(distinct, show_progress=show_progress))

    @classmethod
    def empty(cls) -> PromptBank:
        return cls([], np.zeros((0, 0), dtype=np.float32))

    @classmethod
    def of_vectors(cls, texts: Sequence[str], vectors: np.ndarray) -> PromptBank:
        """The distinct non-blank ``texts`` (first place kept) with their rows of ``vectors`` [N, D]."""
        return cls.empty().with_prompts(texts, vectors)

    def with_prompts(self, texts: Sequence[str], vectors: np.ndarray) -> PromptBank:
        """This bank followed by the distinct non-blank ``texts`` it lacks, each with its row of
        ``vectors`` [len(texts), D] (already computed: nothing is encoded). This bank's prompts keep
        their positions (trained retrieval members index into the bank)."""
        seen = set(self.texts)
        rows: list[int] = []
        for i, text in enumerate(texts):
            if text and text not in seen:
                seen.add(text)
                rows.append(i)
        if not rows:
            return self
        new = np.asarray(vectors, dtype=np.float32)[rows]
        stacked = np.concatenate([self.vectors, new]) if len(self) else new
        return PromptBank([*self.texts, *(texts[i] for i in rows)], stacked.astype(np.float32, copy=False))

    def with_encoded(self, texts: Sequence[str], embedder: Embedder, show_progress: bool = False) -> PromptBank:
        """``with_prompts`` for ``texts`` without vectors: only those the bank lacks are encoded."""
        have = set(self.texts)
        new = list(dict.fromkeys(t for t in texts if t and t not in have))
        if not new:
            return self
        return self.with_prompts(new, embedder.encode(new, show_progress=show_progress))

    @classmethod
    def read(cls, spec: str | Path, embedder: Embedder, show_progress: bool = False) -> PromptBank:
        """The prompts of a bank name or file (``read_bank``), encoded."""
        return cls.of(read_bank(spec), embedder, show_progress)

    def __len__(self) -> int:
        return len(self.texts)

    def index(self, texts: Iterable[str]) -> np.ndarray:
        """Positions of ``texts`` in the bank, int64 [N] (KeyError for a text not in it)."""
        where = {t: i for i, t in enumerate(self.texts)}
        return np.array([where[t] for t in texts], dtype=np.int64)

    def known(self) -> dict[str, np.ndarray]:
        """text -> vector, for scoring bank strings without encoding them again."""
        return dict(zip(self.texts, self.vectors, strict=True))

    def nearest(self, vectors: np.ndarray, pool: int) -> list[list[str]]:
        """Per row of ``vectors`` [N, D] (unit): the ``pool`` bank prompts with the highest |cos|^3,
        best first (ties keep bank order: a stable sort)."""
        if not self.texts or pool <= 0:
            return [[] for _ in range(len(vectors))]
        scores = np.abs(vectors @ self.vectors.T) ** EXPONENT  # [N, B]
        # round away float noise before ranking so the order is the same in any batch (tie rule)
        top = np.argsort(-np.round(scores, 6), axis=1, kind="stable")[:, :pool]
        return [[self.texts[j] for j in row] for row in top]

    def medoid(self, targets: int = 4096) -> str:
        """The prompt with the highest mean SCS (|cos|^3) against the bank itself: a real prompt to use
        as a training-free mean prompt. Scored against at most ``targets`` evenly spaced bank rows (every
        row for smaller banks), in blocks, so a large bank costs [B, targets] and not [B, B].

        Example: bank ["Make it formal", "Make it formal, please", "Add a pirate"]: one of the two formal
        prompts (each is close to the other), not the pirate."""
        if not len(self):
            raise ValueError("medoid of an empty bank")
        step = max(1, -(-len(self) // targets))
        against = self.vectors[::step]  # [T, D]
        means = np.concatenate(
            [scs(self.vectors[i : i + 1024] @ against.T).mean(axis=1) for i in range(0, len(self), 1024)]
        )
        return self.texts[best_index(means)]
