"""A model folder on disk: written whole, read only when every file is the one it was written with.

Layout (format 3)::

    model/
      pipeline.json      settings, encoder identity, bank prompts, members (kind, config, state), order
      bank.npz           the bank's vectors, float32 [B, D]
      NAME.npz           one per member (NAME is a safe identifier: pipeline/config.py check_name)
      chooser.json       the trained chooser, when there is one
      manifest.json      written last: every file above with its size and SHA-256

Why a manifest: a save over an existing model that stops half-way (a crash, a full disk) would leave
an old ``pipeline.json`` beside new arrays, and that loads and predicts strings matching neither
model. ``save`` removes the old manifest and ``pipeline.json`` first and writes the manifest last, so
an interrupted save leaves a folder that ``load`` refuses, naming the file that does not match. Every
file a model names is a plain file inside its folder (no links out of it).

Example::

    save(pipeline, "model")
    pipeline = load("model")      # ModelError: "model/blend.npz: does not match manifest.json ..." if mixed
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prompt_recovery.checks import check_path
from prompt_recovery.chooser import Chooser
from prompt_recovery.config import from_table, to_table
from prompt_recovery.embed import load_embedder
from prompt_recovery.errors import ConfigError, ModelError
from prompt_recovery.fileio import atomic_path, write_text_atomic
from prompt_recovery.pipeline.config import PipelineSettings, parse_members
from prompt_recovery.predictors import PromptBank

if TYPE_CHECKING:
    from prompt_recovery.pipeline.model import Pipeline

FORMAT_VERSION = 3
MANIFEST = "manifest.json"
RETRAIN = "Fix: train it again with `prompt-recovery train ... --out FOLDER`."


def save(pipeline: Pipeline, folder: str | Path) -> None:
    """Write the model into ``folder`` (created if needed): ``pipeline.json``, ``bank.npz``, one
    ``NAME.npz`` per member, ``chooser.json`` with a chooser, then ``manifest.json``. Each file is
    written atomically; the manifest and ``pipeline.json`` of a model already there go first."""
    folder = check_path(folder, "model folder")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (MANIFEST, "pipeline.json"):
        (folder / stale).unlink(missing_ok=True)
    files = ["bank.npz"]
    _save_arrays(folder / "bank.npz", {"vectors": pipeline.bank.vectors})
    if pipeline.chooser is not None:
        write_text_atomic(folder / "chooser.json", json.dumps(pipeline.chooser.to_doc()))
        files.append("chooser.json")
    for name, member in pipeline.members.items():
        _save_arrays(folder / f"{name}.npz", member.arrays())
        files.append(f"{name}.npz")
    doc = {
        "format_version": FORMAT_VERSION,
        "settings": to_table(pipeline.settings),
        "chooser": pipeline.chooser is not None,
        "embedder": pipeline.embedder.identity,
        "bank": pipeline.bank.texts,
        "members": {
            name: {"kind": m.kind, "config": m.to_table(), "state": m.state()} for name, m in pipeline.members.items()
        },
        "order": pipeline.order,
        "validation": pipeline.validation,
    }
    write_text_atomic(folder / "pipeline.json", json.dumps(doc, indent=1))
    files.append("pipeline.json")
    manifest = {"format_version": FORMAT_VERSION, "files": {name: _digest(folder / name) for name in files}}
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=1))


def load(folder: str | Path, cache_dir: str | Path | None = None) -> Pipeline:
    """Read a model folder written by ``save``; ``ModelError`` naming the file and the fix when it is
    missing, damaged, not the file the manifest lists, or from another format version or encoder."""
    from prompt_recovery.pipeline.model import Pipeline

    folder = check_path(folder, "model folder")
    meta = folder / "pipeline.json"
    if not folder.is_dir():
        raise ModelError(f"{folder}: no trained model here (no such folder). Fix: run `prompt-recovery train` first.")
    doc = read_json(meta, f"{folder}: no trained model here (missing pipeline.json). {RETRAIN}")
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        version = doc.get("format_version") if isinstance(doc, dict) else None
        raise ModelError(f"{folder}: model format {version} is not {FORMAT_VERSION}. {RETRAIN}")
    listed = _check_manifest(folder)
    try:
        settings = from_table(PipelineSettings, doc["settings"], f"{meta}, settings")
        names = list(doc["members"])
        tables = [{"kind": spec["kind"], **spec["config"]} for spec in doc["members"].values()]
        states = [spec.get("state", {}) for spec in doc["members"].values()]
        bank_texts, order, validation = list(doc["bank"]), list(doc["order"]), dict(doc.get("validation", {}))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{meta}: damaged (missing or malformed {exc}). {RETRAIN}") from None
    try:
        specs = parse_members(tables, f"{meta}: ", names=names)
    except ConfigError as exc:
        raise ModelError(f"{exc}. {RETRAIN}") from None
    embedder = load_embedder(settings.encoder, tokenization=settings.tokenization, cache_dir=cache_dir)
    if embedder.identity != doc.get("embedder"):
        raise ModelError(
            f"{folder}: trained with encoder {doc.get('embedder')}, but {settings.encoder!r} is now "
            f"{embedder.identity}. {RETRAIN}"
        )
    bank_vectors = _load_arrays(folder, "bank.npz", listed)["vectors"]
    if bank_vectors.shape[0] != len(bank_texts):
        raise ModelError(
            f"{folder / 'bank.npz'}: {bank_vectors.shape[0]} vectors for {len(bank_texts)} prompts. {RETRAIN}"
        )
    members = {}
    for spec, state in zip(specs, states, strict=True):
        member = spec.build()
        arrays = _load_arrays(folder, f"{spec.name}.npz", listed)
        try:
            member.load_state(state, arrays)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelError(
                f"{folder / (spec.name + '.npz')}: does not fit member {spec.name} ({exc}). {RETRAIN}"
            ) from None
        members[spec.name] = member
    if not set(order) <= set(members):
        raise ModelError(f"{meta}: the ensemble order names unknown members {order}. {RETRAIN}")
    chooser = None
    if doc.get("chooser"):
        path = _member_file(folder, "chooser.json", listed)
        chooser_doc = read_json(path, f"{path}: missing from the model folder. {RETRAIN}")
        if not isinstance(chooser_doc, dict):
            raise ModelError(f"{path}: damaged (not a JSON object). {RETRAIN}")
        chooser = Chooser.from_doc(chooser_doc, str(path))
    return Pipeline(settings, embedder, PromptBank(bank_texts, bank_vectors), members, order, validation, chooser)


def read_json(path: Path, missing: str) -> Any:
    """The JSON document at ``path``; ``ModelError`` with ``missing`` when there is none, naming the file
    when it is damaged."""
    if not path.is_file():
        raise ModelError(missing)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: damaged ({exc}). {RETRAIN}") from None


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return {"bytes": path.stat().st_size, "sha256": sha.hexdigest()}


def _check_manifest(folder: Path) -> set[str]:
    """The files ``manifest.json`` lists, each checked to be a plain file in ``folder`` whose size and
    SHA-256 match; ``ModelError`` naming the first that does not (an interrupted save, a file copied in
    from another model, a link)."""
    path = folder / MANIFEST
    doc = read_json(
        path,
        f"{path}: missing, so the folder's files cannot be trusted to belong together (an interrupted save?). "
        f"{RETRAIN}",
    )
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or "pipeline.json" not in files:
        raise ModelError(f"{path}: damaged (no list of files). {RETRAIN}")
    for name, expected in files.items():
        file = _member_file(folder, name, set(files))
        if _digest(file) != expected:
            raise ModelError(
                f"{file}: does not match {MANIFEST} (size or SHA-256): the folder mixes files of two saves "
                f"(an interrupted save?). {RETRAIN}"
            )
    return set(files)


def _member_file(folder: Path, name: str, listed: set[str]) -> Path:
    """``folder / name`` when ``name`` is listed in the manifest and is a plain file directly inside
    ``folder`` (not a link, not a path that leaves it); ``ModelError`` otherwise."""
    path = folder / name
    if name not in listed:
        raise ModelError(f"{path}: not listed in {MANIFEST}. {RETRAIN}")
    if Path(name).name != name or name in ("", ".", ".."):
        raise ModelError(f"{folder / MANIFEST}: names {name!r}, which is not a file of this folder. {RETRAIN}")
    if path.is_symlink() or not path.is_file():
        raise ModelError(f"{path}: missing or not a plain file (a link?) in the model folder. {RETRAIN}")
    return path


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)


def _load_arrays(folder: Path, name: str, listed: set[str]) -> dict[str, np.ndarray]:
    path = _member_file(folder, name, listed)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile, pickle and value errors all mean one thing: a damaged file
        raise ModelError(f"{path}: damaged ({type(exc).__name__}: {exc}). {RETRAIN}") from None
