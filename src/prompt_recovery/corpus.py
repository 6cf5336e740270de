"""The project's training corpus: build it from its TOML sources, check it, split it.

Sources (``data/corpus/src/<genre>.toml``, written by hand) hold originals, each with several
rewrites::

    [[original]]
    key = "recipe-001"
    genre = "recipe"
    text = '''...'''
    [[original.rewrite]]
    family = "form"
    prompt = '''Rewrite this recipe as a haiku.'''
    text = '''...'''

``build_corpus`` flattens them into rows ``id, genre, prompt_family, original_text, rewrite_prompt,
rewritten_text`` (id = ``<key>-<n>``). ``check_corpus`` finds what would spoil training: empty fields,
duplicate (original, prompt) pairs, rewrites equal to their original, near-duplicate originals, unknown
families. ``assign_splits`` groups rows that share an original or a prompt, so validation measures
generalisation to unseen prompts *and* unseen texts.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("id", "genre", "prompt_family", "original_text", "rewrite_prompt", "rewritten_text")
REQUIRED = ("id", "original_text", "rewrite_prompt", "rewritten_text")  # what `generate` writes; the rest optional
FAMILIES = (
    "style_tone",
    "persona_voice",
    "form",
    "audience",
    "task",
    "emotion",
    "addition",
    "multi_constraint",
)


def build_corpus(src_dir: str | Path) -> pd.DataFrame:
    """All ``*.toml`` sources in ``src_dir`` -> one DataFrame with ``COLUMNS``, sorted by id."""
    rows = []
    for path in sorted(Path(src_dir).glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        for original in doc.get("original", []):
            for n, rewrite in enumerate(original.get("rewrite", []), start=1):
                rows.append(
                    {
                        "id": f"{original['key']}-{n}",
                        "genre": original["genre"],
                        "prompt_family": rewrite["family"],
                        "original_text": original["text"].strip(),
                        "rewrite_prompt": " ".join(rewrite["prompt"].split()),
                        "rewritten_text": rewrite["text"].strip(),
                    }
                )
    return pd.DataFrame(rows, columns=list(COLUMNS)).sort_values("id", kind="stable").reset_index(drop=True)


@dataclass
class CorpusReport:
    errors: list[str] = field(default_factory=list)
    stats: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _shingles(text: str, n: int = 5) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def near_duplicates(texts: list[str], threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of distinct texts whose word 5-gram sets overlap by >= ``threshold``."""
    sets = [_shingles(t) for t in texts]
    index: dict[str, list[int]] = {}
    for i, s in enumerate(sets):
        for g in s:
            index.setdefault(g, []).append(i)
    pairs: dict[tuple[int, int], int] = {}
    for members in index.values():
        if 1 < len(members) < 50:
            for a in range(len(members)):
                for b in range(a + 1, len(members)):
                    key = (members[a], members[b])
                    pairs[key] = pairs.get(key, 0) + 1
    found = []
    for (i, j), shared in pairs.items():
        jac = shared / len(sets[i] | sets[j])
        if jac >= threshold:
            found.append((i, j, jac))
    return found


def check_corpus(df: pd.DataFrame, min_words: int = 40, max_words: int = 300) -> CorpusReport:
    """Every problem found (with row ids), once per problem, plus counts and length statistics.

    ``REQUIRED`` columns must be there; ``genre`` and ``prompt_family`` are checked when present (the
    output of ``generate`` has neither). Originals must have ``min_words`` to ``max_words`` words (the
    shipped corpus: 40-300)."""
    report = CorpusReport()
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        report.errors.append(f"missing columns {missing}; found {list(df.columns)}")
        return report
    columns = [c for c in COLUMNS if c in df.columns]
    bad = [(row, col) for col in columns for row, v in enumerate(df[col], 1) if _not_a_field(v, col)]
    for row, col in bad:
        value = df[col].iloc[row - 1]
        what = "empty" if isinstance(value, str) else ("null" if _is_null(value) else f"not text ({value!r})")
        report.errors.append(f"row {row} (id {df['id'].iloc[row - 1]!r}), column {col!r}: {what}")
    if bad:  # the checks below compare texts; they need every field to be one
        return report
    for rid in df.loc[df["id"].duplicated(), "id"]:
        report.errors.append(f"{rid}: duplicate id")
    first = df.groupby(["original_text", "rewrite_prompt"], sort=False)["id"].transform("first")
    for rid, of in zip(df["id"], first, strict=True):
        if rid != of:
            report.errors.append(f"{rid}: duplicate (original, prompt) pair of {of}")
    same = df["original_text"].str.strip() == df["rewritten_text"].str.strip()
    for rid in df.loc[same, "id"]:
        report.errors.append(f"{rid}: rewrite identical to its original")
    families = df["prompt_family"] if "prompt_family" in df.columns else pd.Series(dtype=str)
    for rid, fam in zip(df["id"], families, strict=False):
        if fam not in FAMILIES:
            report.errors.append(f"{rid}: unknown prompt_family {fam!r} (known: {', '.join(FAMILIES)})")
    originals = df.drop_duplicates("original_text")
    words = originals["original_text"].map(lambda t: len(str(t).split()))
    for rid, n in zip(originals["id"], words, strict=True):
        if not min_words <= n <= max_words:
            report.errors.append(f"{rid}: original has {n} words (want {min_words}-{max_words})")
    texts = list(originals["original_text"])
    ids = list(originals["id"])
    for i, j, jac in near_duplicates(texts):
        report.errors.append(f"{ids[i]} and {ids[j]}: near-duplicate originals (5-gram Jaccard {jac:.2f})")
    prompt_words = df["rewrite_prompt"].map(lambda t: len(str(t).split()))
    report.stats = {
        "rows": len(df),
        "originals": len(originals),
        "distinct_prompts": int(df["rewrite_prompt"].nunique()),
        "genres": df["genre"].value_counts().to_dict() if "genre" in df.columns else {},
        "families": families.value_counts().to_dict(),
        "original_words": _describe(words),
        "prompt_words": _describe(prompt_words),
        "rewrite_words": _describe(df["rewritten_text"].map(lambda t: len(str(t).split()))),
        "preamble_share": float(df["rewritten_text"].str.match(r"(?i)(sure|here|certainly|okay)\b").mean()),
    }
    return report


def _not_a_field(value: object, column: str) -> bool:
    """Null, blank, or (outside ``id``, where numbers are fine) not a string."""
    if _is_null(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    return column != "id"


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _describe(values: pd.Series) -> dict[str, float]:
    v = values.to_numpy()
    return {"min": int(v.min()), "median": float(np.median(v)), "mean": round(float(v.mean()), 1), "max": int(v.max())}


def assign_splits(df: pd.DataFrame, validation_fraction: float = 0.2, salt: str = "v1") -> pd.Series:
    """``train``/``validation`` per row; rows sharing an original or a (normalised) prompt share a split.

    Groups are the connected components of the original-prompt graph; each group goes to validation when
    a hash of its smallest id falls under ``validation_fraction`` (stable under additions elsewhere).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for orig, prompt in zip(df["original_text"], df["rewrite_prompt"], strict=True):
        a, b = find("o:" + orig), find("p:" + prompt.lower().strip(" .!"))
        if a != b:
            parent[a] = b
    groups = [find("o:" + o) for o in df["original_text"]]
    first_id = pd.Series(df["id"].to_numpy()).groupby(groups).transform("min")

    def bucket(rid: str) -> float:
        return int(hashlib.sha256(f"{salt}:{rid}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    return pd.Series(
        ["validation" if bucket(r) < validation_fraction else "train" for r in first_id], index=df.index, name="split"
    )
