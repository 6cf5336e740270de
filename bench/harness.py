"""The one harness every maintained benchmark uses: options with ``--smoke``, timing, machine facts, and a
JSON record in ``bench/records/`` that ``bench/results.py`` turns into ``bench/RESULTS.md``.

A benchmark declares its options and its smoke-size values, runs, fills ``run.numbers`` and adds tables;
``run.save()`` writes one record, the latest for that benchmark and size (an earlier one is replaced)::

    run = start("encode", __doc__, options, smoke={"n": 64, "repeats": 1})
    with run.timed("encode"):
        ...
    run.table("speed", ["run", "seconds"], [["ours", 1.2]])
    run.save()                      # bench/records/encode.json, or encode.smoke.json with --smoke

A smoke record checks that the benchmark still runs; it is not a result, and RESULTS.md says so.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "bench" / "records"
SHARED = ROOT.parent / "shared"
CACHE = str(ROOT / ".cache" / "bench")  # the embedding cache the benchmarks share (cold-cache timings use their own)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> dict[str, Any]:
    """What the numbers depend on: CPU, cores, memory, load when the run began, library versions."""
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError):
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    versions = {}
    for name in ("torch", "numpy", "sentence_transformers"):
        with contextlib.suppress(Exception):
            versions[name] = __import__(name).__version__
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_1m": round(os.getloadavg()[0], 2),
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        **versions,
    }


@dataclass
class Run:
    """One run of a benchmark: its options, timings, numbers and tables, and where its record goes."""

    name: str
    args: argparse.Namespace
    variant: str = ""  # e.g. the data source: one record per benchmark, variant and size
    numbers: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    tables: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    began: float = field(default_factory=time.perf_counter)
    facts: dict[str, Any] = field(default_factory=machine)

    @property
    def smoke(self) -> bool:
        return bool(self.args.smoke)

    @contextlib.contextmanager
    def timed(self, label: str) -> Iterator[None]:
        """Adds the wall seconds of the block to ``seconds[label]`` and prints them."""
        t0 = time.perf_counter()
        yield
        self.seconds[label] = round(self.seconds.get(label, 0.0) + time.perf_counter() - t0, 2)
        print(f"  {label}: {self.seconds[label]:.1f}s", flush=True)

    @contextlib.contextmanager
    def cold_cache(self) -> Iterator[str]:
        """A fresh embedding cache folder for a cold-cache timing; at smoke size the shared ``CACHE``, so
        that the one-off single-token states of the search are not recomputed by every smoke run."""
        if self.smoke:
            yield CACHE
            return
        with tempfile.TemporaryDirectory() as tmp:
            yield tmp

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """Prints a markdown table and keeps it for the record (floats as given: round before)."""
        self.tables.append({"title": title, "columns": columns, "rows": rows})
        print(f"\n{title}\n" + render(columns, rows), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(text, flush=True)

    @property
    def path(self) -> Path:
        stem = self.name + (f"-{self.variant}" if self.variant else "")
        return RECORDS / f"{stem}{'.smoke' if self.smoke else ''}.json"

    def save(self) -> Path:
        """Writes the record (replacing the last one of this benchmark, variant and size)."""
        record = {
            "benchmark": self.name,
            "variant": self.variant,
            "size": "smoke" if self.smoke else "full",
            "command": " ".join(["python", *(_relative(a) for a in sys.argv)]),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--", "src")),  # src/ differs from the commit
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": self.facts,
            "wall_s": round(time.perf_counter() - self.began, 1),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
            "options": {k: _jsonable(v) for k, v in vars(self.args).items()},
            "seconds": self.seconds,
            "numbers": self.numbers,
            "tables": self.tables,
            "notes": self.notes,
        }
        RECORDS.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False, default=_jsonable) + "\n")
        tmp.replace(self.path)
        print(f"numbers: {json.dumps(self.numbers, ensure_ascii=False, default=_jsonable)}")
        print(f"record: {self.path.relative_to(ROOT)} ({record['wall_s']:.0f}s)", flush=True)
        return self.path


def start(
    name: str,
    doc: str | None,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    smoke: dict[str, Any] | None = None,
    argv: list[str] | None = None,
) -> Run:
    """Parses the benchmark's options; ``--smoke`` replaces the defaults by ``smoke`` (an option given on
    the command line still wins)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmark runs (a few seconds)")
    if options:
        options(parser)
    first, _ = parser.parse_known_args(argv)
    if first.smoke and smoke:
        parser.set_defaults(**smoke)
    run = Run(name, parser.parse_args(argv))
    print(f"== bench {name}{' (smoke)' if run.smoke else ''}: load {run.facts['load_1m']}", flush=True)
    return run


def in_out_folder(run: Run, measure: Callable[[Run, Path], None]) -> None:
    """``measure(run, folder)`` with ``--out`` as the folder, else a temporary one removed afterwards."""
    if getattr(run.args, "out", None) is None:
        with tempfile.TemporaryDirectory() as tmp:
            measure(run, Path(tmp))
    else:
        measure(run, run.args.out)


def shared(path: str, run: Run | None = None) -> Path | None:
    """``../shared/<path>`` for a full run, which stops with how to fix it when the file is missing. A
    smoke run gets ``None`` whether or not ../shared exists (it uses shipped data, or skips, and says
    which), so that it runs the same in a clone without ../shared."""
    if run is not None and run.smoke:
        run.note(f"smoke: shipped data in place of ../shared/{path}")
        return None
    full = SHARED / path
    if full.exists():
        return full
    sys.exit(
        f"benchmark data not found: {full}\n"
        "Full-size benchmarks read the development data in ../shared/data/external (not shipped with the "
        "repository): run them from a checkout with ../shared beside it, or add --smoke to use shipped data."
    )


def render(columns: list[str], rows: list[list[Any]]) -> str:
    """A markdown table; values as ``str`` gives them (a benchmark rounds its floats before)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in rows])


def _relative(arg: str) -> str:
    with contextlib.suppress(ValueError):
        return str(Path(arg).resolve().relative_to(ROOT)) if os.sep in arg else arg
    return arg


def _jsonable(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return v
