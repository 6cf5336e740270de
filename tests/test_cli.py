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


def _help_pages() -> dict[str, str]:
    from prompt_recovery.commands import app as group

    pages = {"": runner.invoke(app, ["-h"], env={"COLUMNS": "120"}).stdout}
    for name in [*group.registered_commands, *group.registered_groups]:
        command = getattr(name, "name", None) or name.callback.__name__.replace("_", "-")
        command = {"check-corpus-command": "check-corpus", "generate-prompts-command": "prompts"}.get(command, command)
        result = runner.invoke(app, [command, "-h"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (command, result.output)
        pages[command] = result.stdout
    pages["generate prompts"] = runner.invoke(app, ["generate", "prompts", "--help"], env={"COLUMNS": "120"}).stdout
    return pages


def test_help_pages_are_plain():
    pages = _help_pages()
    assert {"score", "evaluate", "check-corpus", "generate", "generate prompts"} <= set(pages)
    for name, text in pages.items():
        for bad in ("<bool>", "<path>", "<str>", "<int", "list[", "``", "{"):
            assert bad not in text, (name, bad)
        assert "-h" in text, name
    assert " score [OPTIONS] TRUTH SUBMISSION" in pages["score"]
    assert "LABELLED..." in pages["train"] and "SECONDS" in pages["predict"]
    assert "Examples:" in pages["score"] and "prompt-recovery evaluate data/demo/test.csv" in pages["evaluate"]
    # a docstring paragraph is one line of help, not broken where the source wrapped it
    lines = [line.strip() for line in pages["score"].splitlines()]
    assert (
        "Score a submission against the truth with the competition metric: mean SCS and its bootstrap 95% CI." in lines
    )
    assert "prompt-recovery score data/demo/test.csv data/demo/close_guess.csv" in lines


def test_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"prompt-recovery {version('prompt-recovery')}"


def test_shared_options_wherever_they_apply():
    pages = _help_pages()
    for name in ("score", "evaluate", "calibrate", "train", "predict", "mean-prompt", "attractors"):
        assert "--cache-dir" in pages[name] and "--no-cache" in pages[name], name
    for name in ("score", "evaluate", "calibrate", "train", "predict", "mean-prompt", "attractors"):
        assert "--encoder" in pages[name], name
    for name in ("score", "evaluate", "calibrate", "attractors", "check-corpus"):
        assert "--json" in pages[name], name
    assert "--report" in pages["score"] and "--report" in pages["evaluate"]


def test_score_report_and_evaluate_under_another_encoder(tmp_path, tiny_t5_dir):
    """score --report writes a report with the truth's columns; evaluate --encoder predicts with the
    model's encoder and scores with another; a skipped validation is a plain warning."""
    from tests.test_pipeline import FAST, labelled

    report = tmp_path / "s.html"
    res = runner.invoke(
        app, ["score", str(DEMO / "test.csv"), str(DEMO / "close_guess.csv"), "--report", str(report), "--no-cache"]
    )
    assert res.exit_code == 0, res.output
    doc = report.read_text()
    assert "By prompt family" in doc and "close_guess.csv" in doc and "submission" in doc
    cfg = tmp_path / "p.toml"
    cfg.write_text(  # the training prompts alone as the bank: these tests are about the commands
        'bank = "none"\n'
        + "\n".join("[[member]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in m.items()) + "\n" for m in FAST)
    )
    data, model = tmp_path / "train.csv", tmp_path / "model"
    labelled().to_csv(data, index=False)
    res = runner.invoke(app, ["train", str(data), "--out", str(model), "--config", str(cfg), "--sample", "20"])
    assert res.exit_code == 0, res.output
    assert "warning: validation skipped" in res.stderr
    args = ["evaluate", str(DEMO / "test.csv"), "--model", str(model), "--no-cache", "--json"]
    own = json.loads(runner.invoke(app, args).stdout)
    res = runner.invoke(app, [*args, "--encoder", str(tiny_t5_dir), "--report", str(tmp_path / "e.html")])
    assert res.exit_code == 0, res.output
    other = json.loads(res.stdout)
    assert own["encoder"] == "minilm" and other["encoder"] == str(tiny_t5_dir) and other["model_encoder"] == "minilm"
    assert other["predictors"]["ensemble"]["mean"] != own["predictors"]["ensemble"]["mean"]
    doc = (tmp_path / "e.html").read_text()
    assert "scoring encoder" in doc and str(tiny_t5_dir) in doc and "prediction encoder" in doc
