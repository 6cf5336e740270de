"""Pooling, dense and normalisation: the sentence-transformers modules after the transformer, in torch.

Read from a sentence-transformers folder's config files, applied in the same order and with the same
arithmetic as sentence-transformers, so ``hf`` mode embeddings equal theirs (tested to 1e-6).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from prompt_recovery.errors import EmbedderError

_POOL_KEYS = {  # sentence-transformers < 6 stored booleans; 6.x stores "pooling_mode"
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
}


def read_pooling_mode(folder: Path) -> str:
    """The pooling mode ("mean", "cls", "max" or "mean_sqrt_len_tokens") in ``folder/config.json``."""
    config = json.loads((folder / "config.json").read_text())
    mode = config.get("pooling_mode")
    if isinstance(mode, list):
        mode = mode[0] if len(mode) == 1 else None
    if mode is None:
        on = [name for key, name in _POOL_KEYS.items() if config.get(key)]
        mode = on[0] if len(on) == 1 else None
    if mode not in set(_POOL_KEYS.values()):
        raise EmbedderError(f"{folder}: unsupported pooling config {config}; supported: {sorted(_POOL_KEYS.values())}")
    return str(mode)


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Token states [B, L, H] and attention mask [B, L] -> sentence vectors [B, H]."""
    if mode == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).max(dim=1).values
    summed = (hidden * m).sum(dim=1)
    count = m.sum(dim=1).clamp(min=1e-9)
    return summed / (count.sqrt() if mode == "mean_sqrt_len_tokens" else count)


def load_dense(folder: Path) -> nn.Module:
    """A ``Dense`` module folder -> ``nn.Sequential(Linear, activation)`` with its saved weights."""
    config = json.loads((folder / "config.json").read_text())
    linear = nn.Linear(config["in_features"], config["out_features"], bias=config.get("bias", True))
    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        state = load_file(str(folder / "model.safetensors"))
    elif (folder / "pytorch_model.bin").exists():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise EmbedderError(f"{folder}: Dense module without model.safetensors or pytorch_model.bin")
    linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()}, strict=True)
    activation = str(config.get("activation_function", "torch.nn.modules.activation.Tanh"))
    act = _ACTIVATIONS.get(activation.rsplit(".", 1)[-1])
    if act is None:
        raise EmbedderError(f"{folder}: unsupported Dense activation {activation!r}; supported: {sorted(_ACTIVATIONS)}")
    return nn.Sequential(linear, act())


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "Identity": nn.Identity,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "GELU": nn.GELU,
}
