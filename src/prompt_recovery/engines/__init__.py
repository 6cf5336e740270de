"""Where ``predict``, ``evaluate`` and ``generate`` run: ``local`` (this process, the default) or ``ray``
(a Ray cluster: ``engines/ray.py``, installed with ``pip install 'prompt-recovery[ray]'``)."""

from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    """``--engine``: this process, or the Ray cluster at ``--address`` (a local one when not given)."""

    local = "local"
    ray = "ray"
