"""The README cannot rot: its Python API example runs, and its settings table names every setting."""

import dataclasses
import os
import re
import shutil
from pathlib import Path

import pytest

from prompt_recovery.chooser import ChooserConfig
from prompt_recovery.pipeline import PipelineSettings
from prompt_recovery.predictors import PREDICTORS, InvertConfig

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def test_the_python_api_example_runs(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", section("Python API"), re.S)
    assert code, "no python block in the Python API section"
    shutil.copytree(ROOT / "data" / "demo", tmp_path / "data" / "demo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMPT_RECOVERY_CACHE", str(tmp_path / "cache"))
    namespace: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)  # our own README's example
    assert len(namespace["predictions"]) == 28 and all(p.strip() for p in namespace["predictions"])
    assert (tmp_path / "python-model" / "pipeline.json").exists()
    assert os.listdir(tmp_path / "cache"), "the example uses the embedding cache"
    assert namespace["result"].rows == 28 and (tmp_path / "python-submission.csv").exists()
    assert set(namespace["evaluation"].results) >= {"constant", "retrieval", "ensemble"}


def test_every_public_name_is_importable_and_named_in_the_readme():
    import prompt_recovery

    assert prompt_recovery.__all__ == sorted(prompt_recovery.__all__)
    api = section("Python API")
    for name in prompt_recovery.__all__:
        assert getattr(prompt_recovery, name) is not None
        assert f"{name}" in api, f"README's Python API section does not name {name}"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = prompt_recovery.nope


@pytest.mark.parametrize(
    "config",
    [PipelineSettings, ChooserConfig, InvertConfig, *(p.Config for p in PREDICTORS.values())],
    ids=lambda c: c.__name__,
)
def test_the_settings_table_names_every_setting(config):
    table = section("Pipeline configuration")
    missing = [f.name for f in dataclasses.fields(config) if f"`{f.name}`" not in table]
    assert not missing, f"README's settings table lacks {missing} of {config.__name__}"
