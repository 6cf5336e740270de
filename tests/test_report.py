"""The HTML report: what it says (run details, groups, rows) and that a real browser renders it."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prompt_recovery.metric import summarize
from prompt_recovery.report import excerpt, group_means, write_report

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "test.csv"
CHROMIUM = Path("/usr/bin/chromium")


def report_table() -> pd.DataFrame:
    rows = pd.read_csv(DEMO, dtype=str)
    rng = np.random.default_rng(0)
    table = rows[["id", "rewrite_prompt", "original_text", "rewritten_text", "prompt_family", "genre"]].copy()
    for name in ("retrieval", "ensemble"):
        table[f"{name}_prediction"] = "Rewrite the text <b>boldly</b>."  # escaped, not markup
        table[f"{name}_score"] = rng.uniform(size=len(table))
    return table


def write(path: Path) -> pd.DataFrame:
    table = report_table()
    summaries = {n: summarize(table[f"{n}_score"].to_numpy()).as_dict() for n in ("retrieval", "ensemble")}
    facts = {"model folder": "/models/demo", "members (ensemble order)": "retrieval", "scoring encoder": "minilm"}
    members = [{"member": "retrieval", "kind": "retrieval", "ensemble place": "1", "settings": "k=3"}]
    write_report(path, table, summaries, "evaluation: test.csv", facts=facts, members=members)
    return table


def test_report_says_what_produced_it_and_shows_groups_and_rows(tmp_path):
    table = write(tmp_path / "r.html")
    doc = (tmp_path / "r.html").read_text()
    assert "/models/demo" in doc and "members (ensemble order)" in doc and "k=3" in doc
    assert "<h2>By prompt family</h2>" in doc and "<h2>By genre</h2>" in doc
    worst = table.sort_values("ensemble_score").iloc[0]
    assert f'<td class="text">{worst["id"]}</td>' in doc
    assert excerpt(worst["original_text"]).split("…")[0][:60].replace("'", "&#x27;") in doc
    assert "&lt;b&gt;boldly" in doc and "<b>boldly" not in doc
    assert doc.count("<svg") == 2 and ">rows<" in doc  # histograms have a y-axis label
    assert "http" not in doc.split("<svg")[0].replace("http://www.w3.org", "")  # nothing fetched


def test_group_means_and_excerpt_by_hand():
    table = pd.DataFrame({"prompt_family": ["form", "form", "task"], "ensemble_score": [0.2, 0.4, 0.9]})
    means = group_means(table, "prompt_family", ["ensemble"])
    assert list(means["prompt_family"]) == ["form", "task"] and means["ensemble"][0] == pytest.approx(0.3)
    weighted = group_means(table, "prompt_family", ["ensemble"], np.array([3.0, 1.0, 1.0]))
    assert weighted["ensemble"][0] == pytest.approx(0.25)
    assert excerpt("one  two\nthree four", 12) == "one two…"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    write(tmp_path / "r.html")
    shot = tmp_path / "r.png"
    args = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        (tmp_path / "r.html").as_uri(),
    ]
    subprocess.run(args, check=True, timeout=60, capture_output=True)
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (2400, 1280)
    assert (image < 128).mean() > 0.01  # text and plots drawn, not a blank page
    keep = Path("/tmp/prompt-recovery-report.png")
    if keep.parent.is_dir():
        shutil.copy(shot, keep)  # to look at by hand
