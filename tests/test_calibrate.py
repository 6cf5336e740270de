"""Calibration with a known answer: probes scored on a hidden subset of the pool pull the weights
towards that subset, so fresh prompts score on the weighted pool as they do on the hidden subset."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.calibrate import calibrate, effective_sample_size, probe_matrix, solve_weights
from prompt_recovery.cli import app

FORMS = [
    "a haiku",
    "a sea shanty",
    "a limerick",
    "a sonnet",
    "a rap verse",
    "a fairy tale",
    "a news headline",
    "a poem",
]
STYLES = ["more formal", "more casual", "sarcastic", "cheerful", "concise", "polite", "dramatic", "gloomy"]
TEXTS = ["text", "email", "story", "essay", "recipe"]
FORM_VERBS = ["Rewrite this {t} as {x}.", "Turn the {t} into {x}."]
STYLE_VERBS = ["Make this {t} {x}.", "Rewrite the {t} to sound {x}."]


def pool() -> pd.DataFrame:
    form = [v.format(t=t, x=x) for v in FORM_VERBS for t in TEXTS for x in FORMS]
    style = [v.format(t=t, x=x) for v in STYLE_VERBS for t in TEXTS for x in STYLES]
    prompts = form + style
    kind = ["form"] * len(form) + ["style"] * len(style)
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(prompts))], "rewrite_prompt": prompts, "kind": kind})


def test_worked_example():
    u = solve_weights(np.array([[0.2], [0.6]]), np.array([0.5]), spread=1e-9)
    np.testing.assert_allclose(u, [0.5, 1.5], atol=1e-3)
    assert effective_sample_size(np.ones(4)) == pytest.approx(4)


def test_weights_recover_a_hidden_subset(minilm):
    df = pool()
    rng = np.random.default_rng(0)
    # hidden subset: mostly form prompts, few style prompts (a distribution shift the probes reveal)
    hidden = df[
        (df.kind == "form") & (rng.uniform(size=len(df)) < 0.9)
        | (df.kind == "style") & (rng.uniform(size=len(df)) < 0.1)
    ]
    probes = [
        "Rewrite it as a ballad.",
        "Make it formal.",
        "Rewrite the text.",
        "Turn it into a song.",
        "Make it angry.",
    ]
    fresh = ["Convert this into a short poem.", "Make it sound friendly.", "Rewrite as verse.", "Rewrite this essay."]
    truths = list(df["rewrite_prompt"])
    probe_scores = probe_matrix(minilm, probes, list(hidden["rewrite_prompt"])).mean(axis=0)

    result = calibrate(minilm, probes, probe_scores, truths, spread=1e-4)
    assert result.fit_error("calibrated") < 0.5 * result.fit_error("uniform")
    assert result.weights.min() >= 0 and result.weights.mean() == pytest.approx(1.0, abs=1e-3)
    assert 1 < result.ess < len(df)

    s = probe_matrix(minilm, fresh, truths)
    truth = probe_matrix(minilm, fresh, list(hidden["rewrite_prompt"])).mean(axis=0)
    uniform_err = np.abs(s.mean(axis=0) - truth).mean()
    weighted_err = np.abs((s * result.weights[:, None]).mean(axis=0) - truth).mean()
    assert weighted_err < 0.6 * uniform_err
    # and the weights moved towards the hidden kind
    assert result.weights[df.kind == "form"].mean() > result.weights[df.kind == "style"].mean()


def test_calibrate_cli_and_weighted_score(tmp_path):
    df = pool()
    pool_path, probes_path, out = tmp_path / "pool.csv", tmp_path / "probes.csv", tmp_path / "w.csv"
    df[["id", "rewrite_prompt"]].to_csv(pool_path, index=False)
    pd.DataFrame({"prompt": ["Make it formal.", "Rewrite it as a poem."], "public_lb_score": [0.3, 0.2]}).to_csv(
        probes_path, index=False
    )
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "calibrate",
            "--probes",
            str(probes_path),
            "--pool",
            str(pool_path),
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "effective sample size" in res.output and "cannot be reached" not in res.output
    weights = pd.read_csv(out)
    assert list(weights.columns) == ["id", "weight"] and len(weights) == len(df)
    sub = tmp_path / "sub.csv"
    df.assign(rewrite_prompt="Make it formal.")[["id", "rewrite_prompt"]].to_csv(sub, index=False)
    plain = runner.invoke(app, ["score", str(pool_path), str(sub), "--json", "--no-cache"])
    weighted = runner.invoke(app, ["score", str(pool_path), str(sub), "--json", "--no-cache", "--weights", str(out)])
    import json

    assert abs(json.loads(plain.stdout)["mean"] - 0.3) > abs(json.loads(weighted.stdout)["mean"] - 0.3)
    targets_weighted = runner.invoke(
        app,
        [
            "mean-prompt",
            "--targets",
            str(pool_path),
            "--weights",
            str(out),
            "--max-tokens",
            "1",
            "--vocab-limit",
            "200",
            "--proposal",
            "exhaustive",
            "--cache-dir",
            str(tmp_path),
        ],
    )
    assert targets_weighted.exit_code == 0, targets_weighted.output


def test_probes_of_another_encoder_are_refused_and_tiny_ess_warned(tmp_path):
    """The shipped sentence-t5 probes (scores near 0.6) under MiniLM (row scores near 0.02): no weighting
    reaches them, so nothing is written without --force, and the weights would rest on a few rows."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    probes, pool = root / "data" / "examples" / "leaderboard_probes.csv", root / "data" / "demo" / "test.csv"
    out = tmp_path / "w.csv"
    args = ["calibrate", "--probes", str(probes), "--pool", str(pool), "--out", str(out), "--no-cache"]
    runner = CliRunner()
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and not out.exists()
    assert "cannot be reached by any weighting under minilm" in res.stderr
    assert "--encoder sentence-t5" in res.stderr and "rest on about" in res.stderr
    res = runner.invoke(app, [*args, "--force", "--json"])
    assert res.exit_code == 0 and out.exists()
    import json

    doc = json.loads(res.stdout)
    assert doc["ess"] < 5 and len(doc["warnings"]) == 2 and doc["written"]
    res = runner.invoke(
        app, ["score", str(pool), str(root / "data" / "demo" / "close_guess.csv"), "--weights", str(out), "--no-cache"]
    )
    assert res.exit_code == 0 and "weighted" in res.stdout
    assert "note: scores are weighted by" in res.stderr and "effective sample size" in res.stderr


def test_warnings_of_a_calibration():
    from prompt_recovery.calibrate import Calibration

    table = pd.DataFrame(
        {"prompt": ["p"], "target": [0.5], "uniform": [0.3], "calibrated": [0.5], "lowest": [0.1], "highest": [0.9]}
    )
    assert Calibration(np.ones(20), table, 20.0).warnings() == []
    assert "rest on about 2 of 20" in Calibration(np.ones(20), table, 2.0).warnings()[0]
    far = table.assign(target=0.95)
    assert "1 of 1 probe scores cannot be reached" in Calibration(np.ones(20), far, 20.0).warnings("minilm")[0]
