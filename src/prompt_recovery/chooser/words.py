"""Words of a text, for the chooser's lexical features: content words, stems, and the words a rewrite added.

A content word is a run of letters, lower-cased, at least 3 long and not an English stop word
(scikit-learn's list). Its stem is its first 5 letters, a cheap stand-in for "the same word":
"formal" and "formally" both stem to "forma". The added words of a rewrite are the content words of
the rewritten text whose stems
are absent from the original, in first-seen order.

Example::

    content_words("Rewrite it as a sea shanty!")             # ['rewrite', 'sea', 'shanty']
    added_words("The cat sat.", "Ahoy! The cat sat, matey.")  # ['ahoy', 'matey']
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

WORD = re.compile(r"[a-z]+")
STEM = 5


def content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if len(w) >= 3 and w not in ENGLISH_STOP_WORDS]


def stems(words: list[str]) -> set[str]:
    return {w[:STEM] for w in words}


def added_words(original: str, rewritten: str, limit: int = 48) -> list[str]:
    """Up to ``limit`` distinct content words of ``rewritten`` whose stems ``original`` lacks."""
    before = stems(content_words(original))
    out = [w for w in dict.fromkeys(content_words(rewritten)) if w[:STEM] not in before]
    return out[:limit]


def hit_share(candidate_words: list[str], target_stems: set[str]) -> float:
    """Share of ``candidate_words`` whose stems are in ``target_stems`` (0 for no words)."""
    if not candidate_words:
        return 0.0
    return sum(w[:STEM] in target_stems for w in candidate_words) / len(candidate_words)
