"""Shared helpers for the benchmark scripts: where ../shared lives, and a clear error when it does not."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
BANKS = SHARED / "data" / "external" / "prompt_banks"


def require_shared(path: Path) -> Path:
    if not path.exists():
        sys.exit(
            f"benchmark data not found: {path}\n"
            "The benchmarks read the development data in ../shared/data/external (not shipped with the "
            "repository). Run them from a checkout that has ../shared beside it."
        )
    return path


def sample_prompts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct prompts drawn (seeded) from the pedromb and osyuksel prompt banks."""
    pool: list[str] = []
    for name in ("pedromb/prompts_selected_new_07.json", "osyuksel/prompts_cfg.json"):
        pool += json.loads(require_shared(BANKS / name).read_text())
    unique = sorted({p.strip() for p in pool if isinstance(p, str) and p.strip()})
    return random.Random(seed).sample(unique, n)
