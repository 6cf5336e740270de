"""No profanity in what people read: a check on decoded text, whole words, inflections included.

The token search's vocabulary filter (``search/vocab.py``) blocks single pieces whose word is on
better-profanity's list, but a piece can carry an inflected form ("▁bastards") and a word can be spelled
across pieces ("bast" + "ards"). So every string a prediction may return is checked here as text: split
into words (letters only, lower-cased), and a word is profane when it, or its stem after dropping a
common English ending (-s, -es, -ed, -ing, -er, -ers, -y, -ies), is on the list.

``clean`` removes such words and tidies the spaces left behind; it never returns a blank for a non-blank
input that had any decent word (the caller decides what a blank means).

Example::

    is_decent("Rewrite it as a sea shanty")          # True
    is_decent("write it, right old bastards")        # False ("bastards" -> "bastard")
    clean("write it, right old bastards caution")    # 'write it, right old caution'
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files


@cache
def profane_words() -> frozenset[str]:
    """better-profanity's word list, lower-cased (its own matcher adds leetspeak variants we don't need:
    vocabulary pieces are spelled plainly, and an exact set lookup checks 30k pieces in ~0.04 s where
    ``contains_profanity`` takes ~4 s)."""
    text = (files("better_profanity") / "profanity_wordlist.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip())


WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
ENDINGS = ("ies", "ers", "ing", "es", "ed", "er", "s", "y")


@cache
def is_profane_word(word: str) -> bool:
    """True when ``word`` (any case) or its stem without one common ending is on the list:
    "Bastards" -> True, "classes" -> False, "hell" -> True, "shell" -> False."""
    w = word.lower()
    words = profane_words()
    if w in words:
        return True
    for end in ENDINGS:
        if w.endswith(end) and len(w) - len(end) >= 3:
            stem = w[: -len(end)]
            if end == "s" and stem.endswith("s"):
                continue  # "assess" is not a plural of "asses": a word in -ss takes -es
            if (
                stem in words
                or (end == "ies" and stem + "y" in words)
                or (end in ("ing", "ed", "er") and stem + "e" in words)
            ):
                return True
    return False


def profane_in(text: str) -> list[str]:
    """The profane words of ``text``, in order: "old bastards, damn" -> ['bastards', 'damn']."""
    return [m.group(0) for m in WORD.finditer(text) if is_profane_word(m.group(0))]


def is_decent(text: str) -> bool:
    """True when no word of ``text`` is profane (see ``is_profane_word``)."""
    return not profane_in(text)


def clean(text: str) -> str:
    """``text`` without its profane words; runs of spaces collapse and a space before punctuation
    goes: "a damn good , text" -> 'a good, text'."""
    if is_decent(text):
        return text
    out = WORD.sub(lambda m: "" if is_profane_word(m.group(0)) else m.group(0), text)
    out = re.sub(r"\s+([,.;:!?])", r"\1", out)
    return re.sub(r"\s{2,}", " ", out).strip()
