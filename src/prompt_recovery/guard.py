"""What a run may write: never an input, never a file of a model folder it reads, never through a link.

Every command that writes calls ``check_outputs`` once, before any work, with each output it will write
(its flag for the message), every input file it reads and every model folder it reads (a trained model,
an adapter, an encoder or base model folder). A refused output is a ``DataError`` that names the flag,
the path, what it would overwrite and the fix. Paths are compared after resolving links and ``..``, both
as spelled and through the link, so ``-o link.csv`` (a link to the input) and ``-o dir/pipeline.json``
(``dir`` a link to the model) are refused alike. Resumable files (``rowlog.RowLog``) add their own rule:
an existing file is resumed only when its sidecar proves that this kind of run wrote it.

Example::

    check_outputs([("-o", "sub.csv"), ("-o", "sub.csv.partial.jsonl")], inputs=["rows.csv"], models=["model"])
    check_outputs([("--report", "model/pipeline.json")], models=["model"])
    # DataError: --report model/pipeline.json: inside the model folder model (it would overwrite ...
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from prompt_recovery.errors import DataError
from prompt_recovery.fileio import check_output_path, same_file

__all__ = ["check_output_folder", "check_outputs", "is_inside", "real_paths"]


def real_paths(path: str | Path) -> list[Path]:
    """Where a write to ``path`` may land: its folder resolved plus its name, and the link's target if it is one.

    Example: ``out.csv`` a link to ``../model/pipeline.json`` -> ``[/abs/out.csv, /abs/model/pipeline.json]``.
    """
    path = Path(path).expanduser()
    spelled = Path(os.path.abspath(path))
    places = [spelled.parent.resolve() / spelled.name]
    if path.is_symlink():
        places.append(path.resolve())
    return places


def is_inside(path: str | Path, folder: str | Path) -> bool:
    """True when ``path`` (resolved) is ``folder`` (resolved) or lies under it."""
    folder = Path(folder).expanduser().resolve()
    return any(p == folder or folder in p.parents for p in real_paths(path))


def check_outputs(
    outputs: Sequence[tuple[str, str | Path | None]],
    inputs: Iterable[str | Path | None] = (),
    models: Iterable[str | Path | None] = (),
) -> None:
    """Refuse, before any work, outputs that would overwrite an input, a model's file, or one another.

    ``outputs``: ``(flag, path)`` pairs (``None`` paths are skipped); ``inputs``: files the run reads;
    ``models``: folders the run reads (a model folder, an adapter, a local encoder or base model; a
    model given as a file, e.g. a ``.gguf``, counts as an input). Each output also passes
    ``fileio.check_output_path`` (writable, not a folder). ``DataError`` naming the flag and the fix.
    """
    given = [(flag, Path(path)) for flag, path in outputs if path is not None]
    files = [Path(p) for p in inputs if p is not None]
    folders: list[Path] = []
    for model in models:
        if model is None:
            continue
        (folders if Path(model).is_dir() else files).append(Path(model))
    for flag, path in given:
        check_output_path(path, files, flag)
        for place in real_paths(path):
            if any(same_file(place, source) for source in files):
                raise DataError(
                    f"{flag} {path}: is an input file of this run (through a link); writing it would destroy "
                    "the input. Fix: choose another output path."
                )
        for folder in folders:
            if is_inside(path, folder):
                raise DataError(
                    f"{flag} {path}: inside the model folder {folder}, which this run reads; writing there "
                    f"would change or replace the model. Fix: write outside {folder}."
                )
    for i, (flag, path) in enumerate(given):
        for other_flag, other in given[i + 1 :]:
            if same_file(path, other):
                raise DataError(f"{flag} and {other_flag} both name {path}. Fix: give them different paths.")


def check_output_folder(
    folder: str | Path,
    owned: Iterable[str],
    flag: str = "--out",
    inputs: Iterable[str | Path | None] = (),
    models: Iterable[str | Path | None] = (),
) -> Path:
    """Refuse, before any work, an output folder this run could not call its own.

    Accepted: a missing folder (its parent must be a writable folder), an empty one, or one that holds
    any of ``owned`` (names this kind of run writes, e.g. ``finetune.json``, ``checkpoint``). Refused: a
    file, a link, a folder of other files, a folder inside a model folder the run reads, or one that holds
    (or is inside) an input. ``DataError`` naming ``flag``, the path and the fix.
    """
    folder = Path(folder)
    if folder.is_symlink():
        raise DataError(f"{flag} {folder}: is a symbolic link. Fix: name a real folder (e.g. {folder.resolve()}).")
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{flag} {folder}: is a file; this output is a folder. Fix: choose a new folder name.")
    for model in models:
        if model is not None and (is_inside(folder, model) or is_inside(model, folder)):
            raise DataError(
                f"{flag} {folder}: overlaps the model {model}, which this run reads. Fix: choose a new folder."
            )
    for source in inputs:
        if source is not None and (is_inside(source, folder) or is_inside(folder, source)):
            raise DataError(
                f"{flag} {folder}: holds the input {source}; writing there could overwrite it. "
                "Fix: choose a new folder."
            )
    if folder.is_dir():
        names = {p.name for p in folder.iterdir()}
        if names and not names & set(owned):
            raise DataError(
                f"{flag} {folder}: the folder holds other files ({', '.join(sorted(names)[:3])}"
                f"{', ...' if len(names) > 3 else ''}) and no run of this kind. Fix: choose a new or empty folder."
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DataError(f"{flag} {folder}: not writable. Fix: check the permissions or choose another folder.")
        return folder
    parent = next((p for p in folder.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise DataError(f"{flag} {folder}: {parent} is a file, not a folder. Fix: choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{flag} {folder}: {parent} is not writable. Fix: choose another path.")
    return folder
