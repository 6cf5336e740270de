"""A self-contained HTML evaluation report: one file a person can open in a browser.

Sections: the summary table (mean SCS and 95% CI per predictor), a score histogram per predictor,
score against true-prompt length, and the best and worst rows of the ensemble. Plots are matplotlib
figures embedded as inline SVG, so the file needs nothing else.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from prompt_recovery.data import write_text_atomic


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def write_report(
    path: str | Path, table: pd.DataFrame, summaries: Mapping[str, Mapping[str, float]], title: str, rows: int = 10
) -> None:
    """``table``: per-row frame with ``rewrite_prompt`` and ``<name>_prediction`` / ``<name>_score`` columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        ax.hist(table[f"{name}_score"], bins=20, range=(0, 1), color="#4C72B0")
        ax.set_title(name)
        ax.set_xlabel("row SCS")
    histograms = _svg(fig)

    fig, ax = plt.subplots(figsize=(6, 3.2))
    words = table["rewrite_prompt"].map(lambda t: len(str(t).split()))
    for name in names:
        ax.scatter(words, table[f"{name}_score"], s=10, alpha=0.6, label=name)
    ax.set_xlabel("words in the true prompt")
    ax.set_ylabel("row SCS")
    ax.legend(fontsize=8)
    scatter = _svg(fig)

    summary_rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{s['mean']:.4f}</td><td>[{s['ci_low']:.4f}, {s['ci_high']:.4f}]</td></tr>"
        for n, s in summaries.items()
    )
    focus = "ensemble" if "ensemble" in names else names[0]
    ranked = table.sort_values(f"{focus}_score", ascending=False)

    def row_table(frame: pd.DataFrame) -> str:
        cells = "".join(
            f"<tr><td>{r[f'{focus}_score']:.3f}</td><td>{html.escape(str(r['rewrite_prompt']))}</td>"
            f"<td>{html.escape(str(r[f'{focus}_prediction']))}</td></tr>"
            for _, r in frame.iterrows()
        )
        return f"<table><tr><th>score</th><th>true prompt</th><th>prediction</th></tr>{cells}</table>"

    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}</style></head><body>
<h1>{html.escape(title)}</h1><p>{len(table)} rows.</p>
<h2>Summary</h2><table><tr><th>predictor</th><th>mean SCS</th><th>95% CI</th></tr>{summary_rows}</table>
<h2>Score distribution</h2>{histograms}
<h2>Score against prompt length</h2>{scatter}
<h2>Best rows ({focus})</h2>{row_table(ranked.head(rows))}
<h2>Worst rows ({focus})</h2>{row_table(ranked.tail(rows).iloc[::-1])}
</body></html>"""
    write_text_atomic(path, doc)
