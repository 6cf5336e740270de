"""Trust, round 3 (issue 28), classes 4-6: banks read alike in every format, texts and ids that only
look valid, and the Python API's own errors for wrong arguments.

Every test builds its own hostile input in ``tmp_path``; none loads a model (a fake embedder fails the
test if anything reaches it).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prompt_recovery.banks import read_bank
from prompt_recovery.cli import app
from prompt_recovery.data import DEFAULT_MAX_CHARS, read_rows, write_submission
from prompt_recovery.errors import DataError
from prompt_recovery.fileio import read_table
from prompt_recovery.metric import cosine_rows, summarize
from prompt_recovery.pipeline import Pipeline, PipelineSettings
from prompt_recovery.predictors import Features, PromptBank
from prompt_recovery.scoring import score_prompts, score_submission

HEADER = "id,original_text,rewritten_text\n"
INVISIBLE = ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", "\u00ad", " \u200b \u2060 "]


class NoEmbedder:
    """An Embedder stand-in that fails the test if a bad argument gets as far as encoding."""

    def encode(self, texts, **_):
        raise AssertionError(f"encode reached with {texts!r:.80}")


def write_parquet(path, column, values):
    pd.DataFrame({column: values}).to_parquet(path)
    return path


# -- class 4: one bank check for every format --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "build", "where", "shown"),
    [
        ("num.jsonl", lambda p: p.write_text('{"prompt": "ok"}\n{"prompt": 5}\n'), "row 2", "an int (5)"),
        ("null.jsonl", lambda p: p.write_text('{"prompt": "ok"}\n{"prompt": null}\n'), "row 2", "missing value"),
        ("list.jsonl", lambda p: p.write_text('{"prompt": "ok"}\n{"prompt": ["a", "b"]}\n'), "row 2", "['a', 'b']"),
        ("null.json", lambda p: p.write_text('["ok", null]'), "item 2", "missing value"),
        ("ints.parquet", lambda p: write_parquet(p, "prompt", [1, 2, 3]), "row 1", "an int (1)"),
        ("mixed.parquet", lambda p: write_parquet(p, "prompt", ["ok", None]), "row 2", "missing value"),
    ],
)
def test_bank_values_that_are_not_text_are_refused_in_every_format(tmp_path, name, build, where, shown):
    build(tmp_path / name)
    with pytest.raises(DataError) as err:
        read_bank(tmp_path / name)
    message = str(err.value)
    assert f"{name}, {where}" in message and shown in message and "Fix:" in message
    assert "empty or blank" not in message


@pytest.mark.parametrize("suffix", [".txt", ".json", ".jsonl", ".csv"])
def test_bank_prompt_over_the_text_cap_is_refused(tmp_path, suffix):
    huge = "Make it formal " + "x" * DEFAULT_MAX_CHARS
    path = tmp_path / f"bank{suffix}"
    if suffix == ".txt":
        path.write_text(f"Short prompt\n{huge}\n")
        where = "line 2"
    elif suffix == ".json":
        path.write_text(json.dumps(["Short prompt", huge]))
        where = "item 2"
    else:
        df = pd.DataFrame({"prompt": ["Short prompt", huge]})
        df.to_csv(path, index=False) if suffix == ".csv" else df.to_json(path, orient="records", lines=True)
        where = "row 2"
    with pytest.raises(DataError) as err:
        read_bank(path)
    assert f"{path.name}, {where}" in str(err.value) and f"limit of {DEFAULT_MAX_CHARS:,}" in str(err.value)


def test_bank_invisible_only_prompts_are_blank_and_dropped(tmp_path):
    (tmp_path / "bank.txt").write_text("Make it formal\n" + "\n".join(INVISIBLE) + "\nAs a poem\n")
    assert read_bank(tmp_path / "bank.txt") == ["Make it formal", "As a poem"]
    (tmp_path / "blank.json").write_text(json.dumps(INVISIBLE))
    with pytest.raises(DataError, match="no prompts in this bank"):
        read_bank(tmp_path / "blank.json")


def test_bank_spec_of_the_wrong_type_is_a_clear_error():
    with pytest.raises(DataError, match=r"bank: got None, expected a path"):
        read_bank(None)  # type: ignore[arg-type]


# -- class 5: texts and ids ---------------------------------------------------------------------------


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_invisible_only_text_is_an_empty_text(tmp_path, invisible):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + f"a,hello,HELLO\nb,hi,{invisible}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 2 \(id 'b'\), column 'rewritten_text': empty text"):
        read_rows(path)


def test_invisible_only_prediction_is_refused_as_blank(tmp_path):
    with pytest.raises(DataError, match=r"1 blank prediction"):
        write_submission(tmp_path / "sub.csv", ["a", "b"], ["Make it formal", "\u200b\u2060"])
    assert not (tmp_path / "sub.csv").exists()


@pytest.mark.parametrize("bad", [{"k": 1}, [1, 2]])
def test_non_scalar_ids_are_refused_naming_the_row(tmp_path, bad):
    path = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "original_text": "t", "rewritten_text": "u"},
        {"id": bad, "original_text": "t", "rewritten_text": "u"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(DataError, match=r"in.jsonl, row 2, column 'id': .* is not an id") as err:
        read_rows(path)
    assert "Fix:" in str(err.value)
    path.write_text('{"id": 7, "original_text": "t", "rewritten_text": "u"}\n')  # a number is an id
    assert list(read_rows(path)["id"]) == ["7"]


@pytest.mark.parametrize(
    ("sep", "said", "fix"),
    [("\t", "looks tab-separated", "in.tsv"), (";", "looks semicolon-separated", "save it comma-separated")],
)
@pytest.mark.parametrize("text", ["plain text", "text, with a comma"])
def test_other_separators_saved_as_csv_are_named(tmp_path, sep, said, fix, text):
    path = tmp_path / "in.csv"
    path.write_text(sep.join(["id", "original_text", "rewritten_text"]) + "\n" + sep.join(["a", text, "T"]) + "\n")
    with pytest.raises(DataError) as err:
        read_rows(path)
    message = str(err.value)
    assert "in.csv, line 1" in message and said in message and fix in message
    assert "quote" not in message


def test_tsv_files_are_read(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_text("id\toriginal_text\trewritten_text\na\thello, there\tHELLO\n")
    assert read_rows(path).loc[0, "original_text"] == "hello, there"


def test_field_over_the_csv_reader_limit_names_row_column_and_cap(tmp_path):
    limit = csv.field_size_limit()
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "a,short,SHORT\nb," + "x" * (limit + 10) + ",X\n")
    with pytest.raises(DataError) as err:
        read_rows(path)
    message = str(err.value)
    assert "row 2 (id 'b'), column 'original_text'" in message and f"limit of {DEFAULT_MAX_CHARS:,}" in message
    assert "quote" not in message and csv.field_size_limit() == limit  # the global limit is restored
    assert read_rows(path, max_chars=limit + 100).loc[1, "original_text"] == "x" * (limit + 10)


def test_unclosed_quote_in_a_big_file_is_still_named(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + 'a,"never closed,u\n' + "b,t,u\n" * (csv.field_size_limit() // 6 + 10))
    with pytest.raises(DataError, match=r"in.csv, line 2: .*never closes"):
        read_table(path)


def test_cli_names_the_separator_without_a_traceback(tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("id\trewrite_prompt\na\tMake it formal\n")
    sub = tmp_path / "sub.csv"
    sub.write_text("id,rewrite_prompt\na,Make it formal\n")
    result = CliRunner().invoke(app, ["score", str(truth), str(sub), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 2, result.output
    assert "looks tab-separated" in result.output and "Traceback" not in result.output


# -- class 6: the Python API checks its arguments -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            (NoEmbedder(), "Make it formal", "Make it formal"),
            "predictions: got a str ('Make it formal'), expected a list",
        ),
        ((NoEmbedder(), ["Make it formal"], None), "truths: got None, expected a list of strings"),
        ((NoEmbedder(), [{"prompt": "x"}], ["x"]), "predictions, item 1: got a dict"),
        ((NoEmbedder(), ["a", "b"], ["a"]), "2 predictions for 1 truths"),
        ((["a"], ["a"], NoEmbedder()), "embedder: got a list (['a']), expected an Embedder"),
    ],
)
def test_score_prompts_refuses_wrong_arguments(args, said):
    with pytest.raises(DataError) as err:
        score_prompts(*args)
    assert said in str(err.value)


def test_score_submission_names_missing_columns():
    truth = pd.DataFrame({"id": ["a"], "rewrite_prompt": ["Make it formal"]})
    sub = pd.DataFrame({"id": ["a"], "prediction": ["Make it formal"]})
    with pytest.raises(
        DataError, match=r"submission: missing column\(s\) \['rewrite_prompt'\]; found \['id', 'prediction'\]"
    ):
        score_submission(truth, sub, NoEmbedder())  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"truth: got a list .*expected a pandas DataFrame"):
        score_submission([{"id": "a"}], sub, NoEmbedder())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        (None, "rows: got None, expected a pandas DataFrame with columns ['original_text', 'rewritten_text']"),
        ([{"original_text": "a", "rewritten_text": "A"}], "Fix: pd.DataFrame(rows)"),
        (pd.DataFrame({"original_text": ["a"]}), "rows: missing column(s) ['rewritten_text']; found ['original_text']"),
    ],
)
def test_pipeline_predict_refuses_wrong_rows(rows, said):
    pipeline = Pipeline(PipelineSettings(), NoEmbedder(), PromptBank([], np.zeros((0, 4), np.float32)), {}, [])  # type: ignore[arg-type]
    with pytest.raises(DataError) as err:
        pipeline.predict(rows)
    assert said in str(err.value)
    with pytest.raises(DataError):
        Features.of(rows, NoEmbedder())  # type: ignore[arg-type]


def test_encode_refuses_a_bare_string_and_non_strings():
    from prompt_recovery.embed.embedder import Embedder

    fake = object.__new__(Embedder)  # the checks come before any model is touched
    with pytest.raises(DataError, match=r"encode: texts: got a str \('Make it formal'\).*wrap one text in a list"):
        fake.encode("Make it formal")
    with pytest.raises(DataError, match=r"encode: texts, item 2: got None"):
        fake.encode(["ok", None])  # type: ignore[list-item]
    with pytest.raises(DataError, match=r"got a DataFrame"):
        fake.encode(pd.DataFrame({"rewrite_prompt": ["a"]}))  # type: ignore[arg-type]


def test_metric_functions_refuse_wrong_shapes():
    with pytest.raises(DataError, match=r"cosine_rows: first array: got an array of shape \[3\], expected \[N, D\]"):
        cosine_rows(np.ones(3), np.ones(3))
    with pytest.raises(DataError, match=r"shape mismatch: \[2, 3\] vs \[2, 4\]"):
        cosine_rows(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(DataError, match=r"summarize: scores: got None"):
        summarize(None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"2 weights for 3 scores"):
        summarize(np.ones(3), weights=np.ones(2))
