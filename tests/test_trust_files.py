"""Issue 28, classes 1 and 3: a run writes only files it can call its own, never through a link it did not
create, never over an input or a model's file; a fine-tuned adapter that cannot load is an error naming the
file, ``finetune --out`` is checked before any work, and a finished run is compared with the new request.
Each test plants its own hostile file in ``tmp_path``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prompt_recovery.cli import app
from prompt_recovery.errors import DataError
from prompt_recovery.finetune import FinetuneError
from prompt_recovery.guard import check_output_folder, check_outputs
from prompt_recovery.rowlog import RowLog
from tests.test_finetune import toy_config, toy_rows

COLUMNS = ["id", "rewrite_prompt"]
META = {"job": "predict", "model": "abc", "input": "def"}
THEIRS = '{"id": "a", "rewrite_prompt": "their notes"}\nnot json, their own line\n'


# -- class 1: resumable files ------------------------------------------------------------------------


def test_a_planted_file_at_a_resumable_path_is_refused_and_kept(tmp_path: Path):
    planted = tmp_path / "sub.csv.partial.jsonl"
    planted.write_text(THEIRS)
    with pytest.raises(DataError, match=r"no record .*Fix:"):
        RowLog(planted, COLUMNS, meta=META)
    assert planted.read_text() == THEIRS  # not truncated at the line that does not parse


def test_a_symlink_at_a_resumable_path_is_never_followed(tmp_path: Path):
    victim = tmp_path / "victim.jsonl"
    victim.write_text(THEIRS)
    (tmp_path / "sub.csv.partial.jsonl").symlink_to(victim)
    with pytest.raises(DataError, match="symbolic link"):
        RowLog(tmp_path / "sub.csv.partial.jsonl", COLUMNS, meta=META)
    (tmp_path / "new.jsonl.meta.json").symlink_to(tmp_path / "victim.meta.json")
    with pytest.raises(DataError, match="symbolic link"):
        RowLog(tmp_path / "new.jsonl", COLUMNS, meta=META)
    assert victim.read_text() == THEIRS and not (tmp_path / "victim.meta.json").exists()


def test_own_file_still_resumes_and_repairs_a_torn_tail(tmp_path: Path):
    path = tmp_path / "sub.csv.partial.jsonl"
    RowLog(path, COLUMNS, meta=META).append([{"id": "a", "rewrite_prompt": "x"}])
    with path.open("a") as fh:
        fh.write('{"id": "b", "rewr')  # a kill mid-record
    log = RowLog(path, COLUMNS, meta=META)
    assert log.done == {"a"} and path.read_text().endswith('"x"}\n')


def test_predict_refuses_a_planted_partial_file(tmp_path: Path):
    data = tmp_path / "in.csv"
    data.write_text("id,original_text,rewritten_text\nr0,Hello there.,Hi.\n")
    (tmp_path / "sub.csv.partial.jsonl").write_text(THEIRS)
    result = CliRunner().invoke(app, ["predict", str(data), "--bank", "osyuksel", "-o", str(tmp_path / "sub.csv")])
    assert result.exit_code == 2 and "no record" in result.output, result.output
    assert (tmp_path / "sub.csv.partial.jsonl").read_text() == THEIRS


# -- class 1: outputs on inputs and model folders ------------------------------------------------------


def _model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "pipeline.json").write_text("{}")
    return model


def test_an_output_inside_the_model_folder_is_refused(tmp_path: Path):
    model = _model(tmp_path)
    for out in (model / "pipeline.json", model / "new.csv"):
        with pytest.raises(DataError, match="inside the model folder"):
            check_outputs([("-o", out)], [tmp_path / "in.csv"], [model])
    (tmp_path / "view").symlink_to(model)  # a folder link into the model
    with pytest.raises(DataError, match="inside the model folder"):
        check_outputs([("--report", tmp_path / "view" / "pipeline.json")], models=[model])
    (tmp_path / "link.json").symlink_to(model / "pipeline.json")  # a file link onto a model file
    with pytest.raises(DataError, match="inside the model folder"):
        check_outputs([("--report", tmp_path / "link.json")], models=[model])
    check_outputs([("-o", tmp_path / "sub.csv")], [tmp_path / "in.csv"], [model])  # beside it: fine
    assert json.loads((model / "pipeline.json").read_text()) == {}


def test_outputs_on_an_input_or_on_each_other_are_refused(tmp_path: Path):
    data = tmp_path / "in.csv"
    data.write_text("id\n1\n")
    (tmp_path / "d").symlink_to(tmp_path)
    with pytest.raises(DataError, match="input"):
        check_outputs([("-o", tmp_path / "d" / "in.csv")], [data])
    with pytest.raises(DataError, match="both name"):
        check_outputs([("--per-row", tmp_path / "x.csv"), ("--report", tmp_path / "d" / "x.csv")])


def test_score_report_into_a_local_encoder_folder_is_refused(tmp_path: Path):
    encoder = _model(tmp_path)
    truth = tmp_path / "t.csv"
    truth.write_text("id,rewrite_prompt\n1,Make it formal.\n")
    args = ["score", str(truth), str(truth), "--encoder", str(encoder), "--report", str(encoder / "pipeline.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "inside the model folder" in result.output, result.output
    assert (encoder / "pipeline.json").read_text() == "{}"


def test_an_output_folder_of_other_files_is_refused(tmp_path: Path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "README.md").write_text("mine")
    with pytest.raises(DataError, match="holds other files"):
        check_output_folder(tmp_path / "home", ["finetune.json"])
    assert check_output_folder(tmp_path / "fresh", ["finetune.json"]) == tmp_path / "fresh"


# -- class 3: fine-tuned adapters ------------------------------------------------------------------------


def _adapter(tmp_path: Path, base: str = "embedded", **config: object) -> Path:
    folder = tmp_path / "adapter"
    folder.mkdir()
    meta = {"format_version": 1, "config": {"base": base, **config}, "chat": False}
    (folder / "finetune.json").write_text(json.dumps(meta))
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    return folder


def test_a_damaged_finetune_json_is_an_error_naming_it(tmp_path: Path):
    from prompt_recovery.predictors.finetuned import Finetuned, FinetunedConfig

    folder = _adapter(tmp_path)
    (folder / "finetune.json").write_text('{"format_version": 1, "conf')
    with pytest.raises(FinetuneError, match=r"finetune\.json: damaged"):
        Finetuned(FinetunedConfig(adapter=str(folder))).fit(None, None)  # type: ignore[arg-type]


def test_a_damaged_adapter_fails_at_load_naming_the_weights(tmp_path: Path):
    from prompt_recovery.predictors.finetuned import Finetuned, FinetunedConfig

    folder = _adapter(tmp_path)
    (folder / "adapter_model.safetensors").write_bytes(b"truncated")
    member = Finetuned(FinetunedConfig(adapter=str(folder)))
    with pytest.raises(FinetuneError, match=r"adapter_model\.safetensors: missing or damaged"):
        member.load_state({"meta": {}}, {})  # what Pipeline.load calls, before any row


def _finetune(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    data = tmp_path / "rows.csv"
    toy_rows().to_csv(data, index=False)
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    (base / "config.json").write_text("{}")  # enough to name a base; the checks run before it loads
    return ["finetune", str(data), "--base", str(base), "--out", str(out), "--device", "cpu", *extra]


def test_finetune_out_that_is_a_file_or_others_folder_fails_before_work(tmp_path: Path):
    (tmp_path / "adapter.bin").write_text("mine")
    result = CliRunner().invoke(app, _finetune(tmp_path, tmp_path / "adapter.bin"))
    assert result.exit_code == 2 and "is a file" in result.output, result.output
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("mine")
    result = CliRunner().invoke(app, _finetune(tmp_path, tmp_path / "notes"))
    assert result.exit_code == 2 and "holds other files" in result.output, result.output
    assert (tmp_path / "notes" / "README.md").read_text() == "mine"


def test_rerun_on_a_finished_adapter_with_other_flags_is_refused(tmp_path: Path):
    base = tmp_path / "base"
    out = tmp_path / "out"
    argv = _finetune(tmp_path, out)
    config = toy_config(base, epochs=1, learning_rate=2e-4, max_text_tokens=256, dropout=0.05, save_every=20)
    config = type(config)(**{**config.as_dict(), "warmup_ratio": 0.05})
    _adapter(tmp_path, **{k: v for k, v in config.as_dict().items() if k != "base"}, base=str(base)).rename(out)
    same = CliRunner().invoke(app, argv)
    assert same.exit_code == 0 and "already holds a finished adapter" in same.output, same.output
    other = CliRunner().invoke(app, [*argv, "--rank", "4"])
    assert other.exit_code == 2 and "trained otherwise" in other.output and "rank: 8 there, 4 now" in other.output


def test_adapter_weights_honour_the_umask(tiny_lm: Path, tmp_path: Path):
    from prompt_recovery.finetune import finetune

    old = os.umask(0o027)
    try:
        finetune(toy_rows(), toy_config(tiny_lm, epochs=1), tmp_path / "lora")
    finally:
        os.umask(old)
    for name in ("adapter_model.safetensors", "adapter_config.json", "finetune.json"):
        assert stat.S_IMODE((tmp_path / "lora" / name).stat().st_mode) == 0o640, name
