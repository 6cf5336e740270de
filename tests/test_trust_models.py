"""Issue 28, class 2: a model folder is a closed world.

Member names become file names, so they are safe identifiers, unique (ignoring case) and not reserved;
every file the model names is a plain file inside its folder and listed, with its SHA-256, in
``manifest.json``, written last; a folder that mixes two saves (a crash between writes, a file copied
in) is refused naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from prompt_recovery.errors import ConfigError, ModelError
from prompt_recovery.pipeline import Pipeline, PipelineConfig, PipelineSettings, train
from prompt_recovery.pipeline import store as store_module
from tests.test_pipeline import FAST, labelled


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Pipeline, Pipeline]:
    """Two models that differ in their arrays (retrieval k 3 and k 2, regression widths 32 and 16)."""
    cache = str(tmp_path_factory.mktemp("cache"))
    other = [FAST[0], {"kind": "retrieval", "k": 2}, {"kind": "regression", "epochs": 2, "hidden": 16}]
    settings = PipelineSettings(bank="none")  # the training prompts alone: no 9,205-prompt bank to encode
    one = train(labelled(), PipelineConfig(settings, [dict(m) for m in FAST]), cache_dir=cache)
    two = train(labelled(), PipelineConfig(settings, other), cache_dir=cache)
    return one, two


@pytest.mark.parametrize(
    "name",
    ["../../x", "/tmp/abs", "a/b", "a\\b", "..", ".hidden", "bank", "Bank", "manifest", "pipeline", "", "x" * 65],
)
def test_unsafe_or_reserved_member_names_are_refused(name):
    with pytest.raises(ConfigError, match="name"):
        PipelineConfig.from_doc({"member": [{"kind": "constant", "name": name}]})


def test_names_are_unique_ignoring_case_and_numbering_skips_taken_names():
    with pytest.raises(ConfigError, match="used twice"):
        PipelineConfig.from_doc({"member": [{"kind": "constant", "name": "A"}, {"kind": "retrieval", "name": "a"}]})
    config = PipelineConfig.from_doc(
        {"member": [{"kind": "retrieval", "name": "retrieval2"}, {"kind": "retrieval"}, {"kind": "retrieval"}]}
    )
    assert [s.name for s in config.specs] == ["retrieval2", "retrieval", "retrieval3"]


def test_a_save_cut_short_over_another_model_is_refused_naming_why(trained, tmp_path, monkeypatch):
    one, two = trained
    one.save(tmp_path / "m")
    real = store_module.write_text_atomic

    def crash_at_pipeline_json(path, text):
        if Path(path).name == "pipeline.json":
            raise OSError("simulated crash after the arrays were written")
        real(path, text)

    monkeypatch.setattr(store_module, "write_text_atomic", crash_at_pipeline_json)
    with pytest.raises(OSError, match="simulated"):
        two.save(tmp_path / "m")
    monkeypatch.undo()
    # the new arrays sit beside no pipeline.json and no manifest: refused, never loaded as a mix
    with pytest.raises(ModelError, match=r"missing pipeline\.json"):
        Pipeline.load(tmp_path / "m")
    two.save(tmp_path / "m")  # the same save, run again, ends whole
    assert Pipeline.load(tmp_path / "m").members["retrieval"].config.k == 2


def test_a_file_copied_in_from_another_model_is_refused_naming_it(trained, tmp_path):
    one, two = trained
    one.save(tmp_path / "a")
    two.save(tmp_path / "b")
    shutil.copy(tmp_path / "b" / "regression.npz", tmp_path / "a" / "regression.npz")
    with pytest.raises(ModelError, match=r"regression\.npz: does not match manifest\.json"):
        Pipeline.load(tmp_path / "a")


def test_a_link_in_place_of_a_model_file_is_refused(trained, tmp_path):
    one, _ = trained
    one.save(tmp_path / "m")
    outside = tmp_path / "outside.npz"
    (tmp_path / "m" / "bank.npz").rename(outside)
    os.symlink(outside, tmp_path / "m" / "bank.npz")
    with pytest.raises(ModelError, match=r"bank\.npz: missing or not a plain file"):
        Pipeline.load(tmp_path / "m")


def _rewrite(folder: Path, name: str, edit) -> None:
    """Edit a model file and its manifest entry, as a careful attacker would."""
    path = folder / name
    path.write_text(edit(path.read_text()))
    manifest = json.loads((folder / "manifest.json").read_text())
    data = path.read_bytes()
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_path_like_member_name_in_a_saved_model_is_refused(trained, tmp_path):
    one, _ = trained
    one.save(tmp_path / "m")
    _rewrite(tmp_path / "m", "pipeline.json", lambda t: t.replace('"regression": {', '"../../evil": {'))
    with pytest.raises(ModelError, match="is not allowed"):
        Pipeline.load(tmp_path / "m")


def test_a_manifest_naming_a_file_outside_the_folder_is_refused(trained, tmp_path):
    one, _ = trained
    one.save(tmp_path / "m")
    (tmp_path / "secret.txt").write_text("not the model's")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["files"]["../secret.txt"] = {"bytes": 15, "sha256": "0" * 64}
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="not a file of this folder"):
        Pipeline.load(tmp_path / "m")


def test_a_model_without_a_manifest_is_refused(trained, tmp_path):
    one, _ = trained
    one.save(tmp_path / "m")
    (tmp_path / "m" / "manifest.json").unlink()
    with pytest.raises(ModelError, match=r"manifest\.json: missing"):
        Pipeline.load(tmp_path / "m")
