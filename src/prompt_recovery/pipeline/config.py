"""What a pipeline is made of: its settings and its member tables, parsed once into typed specs.

Configured by a small TOML file (or the defaults, ``DEFAULT_MEMBERS``)::

    encoder = "minilm"
    bank = "osyuksel"                 # extra prompt bank: a packaged name, a file (see banks.py), or "none"
    validation_fraction = 0.2
    validation_rows = 600             # cap on the rows that choose the ensemble
    suffix = ""                       # appended to every ensemble prediction (e.g. an attractor run)

    [[member]]
    kind = "constant"                 # the mean prompt: also the last fallback
    [[member]]
    kind = "retrieval"
    k = 20
    [[member]]
    kind = "blend"                    # retrieval + a regression: vectors averaged, inverted once
    invert = {steps = 10}

Each member table is parsed once, through its predictor's typed config, into a ``MemberSpec``: an
unknown key is an error that lists the known ones. Member names become file names in the model folder
(``NAME.npz``), so a name is a safe identifier (letters, digits, ``_`` and ``-``, starting with a
letter), unique ignoring case, and not one of ``RESERVED``.

Example::

    config = PipelineConfig.from_doc({"member": [{"kind": "constant"}, {"kind": "retrieval", "k": 5}]})
    [s.name for s in config.specs]        # ['constant', 'retrieval']
    members = config.build()              # fresh, unfitted predictors, one per spec
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from prompt_recovery.chooser import ChooserConfig
from prompt_recovery.config import from_table
from prompt_recovery.errors import ConfigError
from prompt_recovery.predictors import PREDICTORS, Predictor

FALLBACK = "Rewrite the following text in a different style."
# not member names: prediction outputs and model files use them
RESERVED = ("joined", "readable", "ensemble", "bank", "chooser", "pipeline", "manifest")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")  # a member name: a file name on every OS, no path parts
REFIT_SHARE = 0.1  # refit = "auto": refit when the validation part holds more than this share of the rows
# The defaults train in minutes on 2 cores (bench/chooser.py prints the times): a mean prompt of at most
# 16 searched tokens, and the blend without its attention regression and without token-search
# refinement (its string is a join of bank prompts, so people can read it). The chooser is off by
# default: across sources it lost to these members' join (docs/decisions.md, chooser).
DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = (
    {"kind": "constant", "max_tokens": 16},
    {
        "kind": "blend",
        "parts": [
            {"kind": "retrieval", "k": 20, "weight": 2},
            {"kind": "regression", "arch": "mlp"},
            {"kind": "retrieval", "match": "bank", "k": 20},
        ],
        "invert": {"steps": 0, "warm_start": True},
    },
)


@dataclass(frozen=True)
class PipelineSettings:
    """The pipeline's own settings (the top level of the TOML file, members aside)."""

    encoder: str = "minilm"
    tokenization: str = "auto"
    # extra prompts for retrieval and inversion: a packaged bank name, a file (banks.py), or "none". The
    # packaged osyuksel bank by default: it lifts cross-source scores at no in-source cost
    # (docs/decisions.md, cross_source)
    bank: str = "osyuksel"
    validation_fraction: float = 0.2
    validation_rows: int = 600  # at most this many rows choose the ensemble; the rest train
    # the share of the validation rows held out by whole prompt group (split.py): prompts of a kind the
    # members never saw, as on rewrites from another source; the rest are drawn at random
    validation_groups: float = 0.5
    # refit every member on all rows after validation: "auto" does when the validation rows are more
    # than REFIT_SHARE of the rows (small data, where they matter), "always", or "never"
    refit: Literal["auto", "always", "never"] = "auto"
    suffix: str = ""
    seed: int = 0
    # the learned reranker and gate over each row's candidate pool (chooser/); trained on the
    # validation rows, so off when validation is skipped
    chooser: ChooserConfig = field(default_factory=ChooserConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if not 0 <= self.validation_groups <= 1:
            raise ValueError(f"validation_groups must be in [0, 1], got {self.validation_groups}")
        if self.validation_rows < 0:
            raise ValueError(f"validation_rows must be >= 0, got {self.validation_rows}")


@dataclass(frozen=True)
class MemberSpec:
    """One parsed member: its unique ``name``, its ``kind`` and the predictor's typed ``config``."""

    name: str
    kind: str
    config: Any

    def build(self) -> Predictor:
        """A fresh, unfitted predictor (configs are frozen, so specs can build any number)."""
        return PREDICTORS[self.kind](self.config)


@dataclass
class PipelineConfig:
    """Settings plus member tables; ``specs`` (parsed in ``__post_init__``) is what training builds from."""

    settings: PipelineSettings = field(default_factory=PipelineSettings)
    members: list[dict[str, Any]] = field(default_factory=lambda: [dict(m) for m in DEFAULT_MEMBERS])
    specs: tuple[MemberSpec, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # every member table is checked now, not after minutes of work, and never parsed again
        self.specs = parse_members(self.members)

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        """Read a pipeline TOML file; ``ConfigError`` naming the file (and line, for syntax errors)."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: no such config file. Fix: check the path (see data/demo/pipeline.toml)."
            ) from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not a TOML file.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text. Fix: save the config as UTF-8 TOML.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}. Fix: see data/demo/pipeline.toml.") from None
        return cls.from_doc(doc, str(path))

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], where: str = "pipeline config") -> PipelineConfig:
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where}: expected a table of settings, got {type(doc).__name__} {doc!r}")
        doc = dict(doc)
        members = doc.pop("member", None)
        settings = from_table(PipelineSettings, doc, where)
        if members is None:
            return cls(settings)
        if not isinstance(members, list) or not members:
            raise ConfigError(f"{where}: [[member]] must be a list of tables with at least one member")
        return cls(settings, [dict(m) if isinstance(m, Mapping) else m for m in members])

    def with_encoder(self, encoder: str) -> PipelineConfig:
        return self.with_settings(encoder=encoder)

    def with_settings(self, **changes: Any) -> PipelineConfig:
        """A copy with some settings replaced (``with_settings(bank="none")``); members unchanged."""
        return PipelineConfig(replace(self.settings, **changes), self.members)

    def build(self) -> dict[str, Predictor]:
        """Fresh, unfitted predictors by member name, in the config's order."""
        return {spec.name: spec.build() for spec in self.specs}


def check_name(name: object, where: str) -> str:
    """``name`` if it is a safe member name; ``ConfigError`` saying why not. A member's name is the stem
    of its file in the model folder, so no path separators, dots or reserved names."""
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name must be text, got {name!r}")
    if not NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: the name {name!r} is not allowed: a member name is 1-64 letters, digits, '_' or '-', "
            "starting with a letter (it names the member's file in the model folder)"
        )
    if name.lower() in RESERVED:
        raise ConfigError(f"{where}: the name {name!r} is reserved; choose another (not {', '.join(RESERVED)})")
    return name


def parse_members(
    tables: list[dict[str, Any]], where: str = "", names: list[str] | None = None
) -> tuple[MemberSpec, ...]:
    """Specs from member tables (``kind``, optional ``name``, then the predictor's settings). Unnamed
    members are named after their kind, numbered from the second on (``regression``, ``regression2``,
    skipping names already taken). ``names`` (a saved model's) names each table instead. Names are
    unique ignoring case (file systems that ignore case would mix their files). ``ConfigError`` for an
    unknown kind or setting, or an unsafe, reserved or repeated name."""
    specs: list[MemberSpec] = []
    taken: set[str] = set()
    for i, table in enumerate(tables, start=1):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}member {i}: expected a table, got {table!r}")
        spec = dict(table)
        kind = spec.pop("kind", None)
        if kind not in PREDICTORS:
            raise ConfigError(f"{where}member {i}: kind {kind!r} unknown; choose from {', '.join(sorted(PREDICTORS))}")
        given = spec.pop("name", None)
        if names is not None:
            name = check_name(names[i - 1], f"{where}member {i}")
        elif given is not None:
            name = check_name(given, f"{where}member {i}")
            if name.lower() in taken:
                raise ConfigError(f"{where}member {i}: the name {name!r} is used twice. Fix: give each member its own.")
        else:
            name, n = kind, 1
            while name.lower() in taken:
                n += 1
                name = f"{kind}{n}"
        if name.lower() in taken:
            raise ConfigError(f"{where}member {i}: the name {name!r} is used twice")
        taken.add(name.lower())
        predictor = PREDICTORS[kind].from_table(spec, f"{where}member {i} ({kind})")
        specs.append(MemberSpec(name, kind, predictor.config))
    return tuple(specs)


def build_members(tables: list[dict[str, Any]], where: str = "") -> dict[str, Predictor]:
    """Predictors from member tables, by name (``parse_members`` then ``MemberSpec.build``)."""
    return {spec.name: spec.build() for spec in parse_members(tables, where)}
