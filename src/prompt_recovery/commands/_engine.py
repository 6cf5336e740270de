"""``--engine``, ``--address`` and ``--workers``: where ``predict``, ``evaluate`` and ``generate`` run."""

from __future__ import annotations

from typing import Annotated

import typer

from prompt_recovery.engines import Engine

EngineOpt = Annotated[
    Engine,
    typer.Option(
        help="local: this process. ray: the workers of a Ray cluster (pip install 'prompt-recovery[ray]'); "
        "the output is the same.",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="With --engine ray: the cluster to use (e.g. auto, HOST:6379, ray://HOST:10001); default: start a "
        "local one on this machine's CPUs.",
    ),
]
WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="With --engine ray: workers (one model each); default one per cluster CPU.")
]
