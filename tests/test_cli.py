import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from prompt_recovery.cli import app

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
runner = CliRunner()


def test_score_json_and_per_row(tmp_path):
    rows = tmp_path / "rows.csv"
    args = ["score", str(DEMO / "test.csv"), str(DEMO / "close_guess.csv"), "--json", "--no-cache"]
    result = runner.invoke(app, [*args, "--per-row", str(rows)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n"] == 28 and out["ci_low"] <= out["mean"] <= out["ci_high"]
    table = pd.read_csv(rows)
    assert abs(table["score"].mean() - out["mean"]) < 1e-6


def test_score_perfect_submission_is_one(tmp_path):
    truth = pd.read_csv(DEMO / "test.csv")
    sub = tmp_path / "sub.csv"
    truth[["id", "rewrite_prompt"]].to_csv(sub, index=False)
    result = runner.invoke(app, ["score", str(DEMO / "test.csv"), str(sub), "--json", "--no-cache"])
    assert abs(json.loads(result.stdout)["mean"] - 1.0) < 1e-5


def test_score_mismatched_ids_is_a_clear_error(tmp_path):
    sub = tmp_path / "sub.csv"
    pd.DataFrame({"id": ["d02", "zz9"], "rewrite_prompt": ["x", "y"]}).to_csv(sub, index=False)
    result = runner.invoke(app, ["score", str(DEMO / "test.csv"), str(sub), "--no-cache"])
    assert result.exit_code == 2
    assert "only in the submission (e.g. ['zz9'])" in result.output
    assert "Traceback" not in result.output
