"""A self-contained HTML evaluation report: one file a person can open in a browser.

Sections: what produced it (model folder, members in ensemble order with their settings, encoders,
tokenization, rows, weights, date), the summary table (mean SCS and 95% CI per predictor), a table per
prompt family and per genre when the rows have those columns, a score histogram per predictor, score
against true-prompt length (one panel per predictor, so that no predictor hides another), and the
best and worst rows of the focus predictor with their id, original and rewritten excerpts, true prompt
and prediction. Plots are matplotlib figures embedded as inline SVG, so the file needs nothing else.

Example::

    table = pd.DataFrame({"id": ["a"], "rewrite_prompt": ["Make it a poem."],
                          "ensemble_prediction": ["Rewrite as a poem."], "ensemble_score": [0.81]})
    write_report("report.html", table, {"ensemble": summarize(table["ensemble_score"]).as_dict()},
                 "evaluation", facts={"rows": "1"})
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prompt_recovery.fileio import write_text_atomic

GROUP_COLUMNS = {"prompt_family": "prompt family", "genre": "genre"}
EXCERPT = 160  # characters of an original or rewritten text shown in the row tables

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:2em auto;
 padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
td,th{border:1px solid #d0d0d0;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{max-width:260px}td.excerpt{max-width:300px;color:#444;font-size:.95em}
.note{color:#555;font-size:.92em}.warn{color:#8a4b00}
svg{max-width:100%;height:auto}
"""


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def excerpt(text: object, limit: int = EXCERPT) -> str:
    """Whitespace collapsed, cut at a word boundary before ``limit`` characters, with an ellipsis.

    Example: ``excerpt("one  two\\nthree four", 12)`` -> ``"one two…"``."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def _shade(score: float) -> str:
    """A cell background from white (0) to blue (1): high and low scores stand out in a table."""
    alpha = float(np.clip(score, 0.0, 1.0)) * 0.45
    return f' style="background:rgba(76,114,176,{alpha:.2f})"'


def _cell(value: object, cls: str = "text") -> str:
    return f'<td class="{cls}">{html.escape(str(value))}</td>'


def _facts_table(facts: Mapping[str, str]) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th>{_cell(v)}</tr>" for k, v in facts.items())
    return f"<table>{rows}</table>"


def _members_table(members: Sequence[Mapping[str, str]]) -> str:
    if not members:
        return ""
    keys = list(members[0])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(_cell(m.get(k, "")) for k in keys) + "</tr>" for m in members)
    # settings are long and rarely what a reader looks for first: folded, one click away
    return f"<details><summary>Members and their settings</summary><table><tr>{head}</tr>{body}</table></details>"


def group_means(
    table: pd.DataFrame, column: str, names: Sequence[str], weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Rows and mean score per predictor for each value of ``column``, worst (by the last name) first.

    Example: two rows of family ``form`` scoring 0.2 and 0.4 -> ``form, rows 2, <name> 0.3``."""
    w = pd.Series(np.ones(len(table)) if weights is None else np.asarray(weights, dtype=float), index=table.index)
    out = []
    for value, part in table.groupby(table[column].astype(str), sort=True):
        pw = w.loc[part.index]
        row: dict[str, object] = {column: value, "rows": len(part)}
        for name in names:
            scores = part[f"{name}_score"].astype(float)
            row[name] = float(np.average(scores, weights=pw)) if pw.sum() > 0 else float("nan")
        out.append(row)
    return pd.DataFrame(out).sort_values(names[-1], kind="stable").reset_index(drop=True)


def _group_section(table: pd.DataFrame, names: Sequence[str], weights: np.ndarray | None) -> str:
    parts = []
    for column, label in GROUP_COLUMNS.items():
        if column not in table.columns or table[column].isna().all():
            parts.append(
                f"<p class='note'>No table by {label}: the rows have no <code>{column}</code> column "
                "(add one to the labelled file to see scores per group).</p>"
            )
            continue
        means = group_means(table, column, names, weights)
        head = f"<th>{label}</th><th>rows</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names)
        body = "".join(
            "<tr>"
            + _cell(r[column])
            + _cell(r["rows"], "num")
            + "".join(f'<td class="num"{_shade(r[n])}>{r[n]:.3f}</td>' for n in names)
            + "</tr>"
            for _, r in means.iterrows()
        )
        parts.append(
            f"<h2>By {label}</h2><p class='note'>Mean row SCS per {label}, lowest first (by {names[-1]}).</p>"
            f"<table><tr>{head}</tr>{body}</table>"
        )
    return "".join(parts)


def _plots(table: pd.DataFrame, names: Sequence[str]) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = min(3.0 * len(names), 12.0)
    fig, axes = plt.subplots(1, len(names), figsize=(width, 2.6), sharey=True, squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[0], names, strict=True)):
        ax.hist(table[f"{name}_score"], bins=20, range=(0, 1), color="#4C72B0")
        ax.set_title(name)
        ax.set_xlabel("row SCS")
        if i == 0:
            ax.set_ylabel("rows")
    histograms = _svg(fig)

    words = table["rewrite_prompt"].map(lambda t: len(str(t).split()))
    fig, axes = plt.subplots(1, len(names), figsize=(width, 2.6), sharex=True, sharey=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (ax, name) in enumerate(zip(axes[0], names, strict=True)):
        ax.scatter(words, table[f"{name}_score"], s=12, alpha=0.7, color=colours[i % len(colours)])
        ax.set_title(name)
        ax.set_xlabel("words in the true prompt")
        ax.set_ylim(-0.02, 1.02)
        if i == 0:
            ax.set_ylabel("row SCS")
    scatter = _svg(fig)
    return histograms, scatter


def _row_table(frame: pd.DataFrame, focus: str) -> str:
    extra = [c for c in GROUP_COLUMNS if c in frame.columns]
    texts = [c for c in ("original_text", "rewritten_text") if c in frame.columns]
    head = (
        "<th>id</th><th>score</th>"
        + "".join(f"<th>{GROUP_COLUMNS[c]}</th>" for c in extra)
        + "".join(f"<th>{c.split('_')[0]} (excerpt)</th>" for c in texts)
        + "<th>true prompt</th><th>prediction</th>"
    )
    body = "".join(
        "<tr>"
        + _cell(r["id"])
        + f'<td class="num"{_shade(r[f"{focus}_score"])}>{r[f"{focus}_score"]:.3f}</td>'
        + "".join(_cell(r[c]) for c in extra)
        + "".join(_cell(excerpt(r[c]), "excerpt") for c in texts)
        + _cell(r["rewrite_prompt"])
        + _cell(r[f"{focus}_prediction"])
        + "</tr>"
        for _, r in frame.iterrows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(
    path: str | Path,
    table: pd.DataFrame,
    summaries: Mapping[str, Mapping[str, float]],
    title: str,
    facts: Mapping[str, str] | None = None,
    members: Sequence[Mapping[str, str]] = (),
    weights: np.ndarray | None = None,
    warnings: Sequence[str] = (),
    rows: int = 10,
) -> None:
    """Write the report.

    ``table``: one row per labelled row with ``id``, ``rewrite_prompt`` and ``<name>_prediction`` /
    ``<name>_score`` for every name of ``summaries``; ``original_text``, ``rewritten_text``,
    ``prompt_family`` and ``genre`` are shown when present. ``facts``: what produced the report, in
    order (label -> text). ``members``: one mapping per member (name, kind, settings, ...). ``weights``
    [N]: row weights, used for the per-group means as for ``summaries``. The focus of the row tables is
    ``ensemble`` when present, else the first name.
    """
    names = list(summaries)
    focus = "ensemble" if "ensemble" in names else names[0]
    ordered = [*(n for n in names if n != focus), focus]  # group tables sort by the last: the focus
    histograms, scatter = _plots(table, names)
    summary_rows = "".join(
        f"<tr>{_cell(n)}<td class='num'>{s['mean']:.4f}</td>"
        f"<td class='num'>[{s['ci_low']:.4f}, {s['ci_high']:.4f}]</td></tr>"
        for n, s in summaries.items()
    )
    ranked = table.sort_values(f"{focus}_score", ascending=False, kind="stable")
    shown = min(rows, len(table))
    notes = "".join(f"<p class='warn'>warning: {html.escape(w)}</p>" for w in warnings)
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>{notes}
<h2>Summary</h2><table><tr><th>predictor</th><th>mean SCS</th><th>95% CI</th></tr>{summary_rows}</table>
<h2>Run</h2>{_facts_table(facts or {"rows": str(len(table))})}{_members_table(members)}
{_group_section(table, ordered, weights)}
<h2>Score distribution</h2>{histograms}
<h2>Score against prompt length</h2>{scatter}
<h2>Best {shown} rows ({html.escape(focus)})</h2>{_row_table(ranked.head(rows), focus)}
<h2>Worst {shown} rows ({html.escape(focus)})</h2>{_row_table(ranked.tail(rows).iloc[::-1], focus)}
</body></html>"""
    write_text_atomic(path, doc)
