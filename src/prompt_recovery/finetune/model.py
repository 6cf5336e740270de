"""Base models for fine-tuning and the fine-tuned model for generation: resolve, load, check, merge.

A base is a local Hugging Face folder, a ``.gguf`` file (``transformers`` dequantises it to float32
through the ``gguf`` package: no llama.cpp involved) or ``"embedded"``, the packaged Gemma 3 270M GGUF.
Only causal LMs are accepted: an encoder (BERT, T5 encoder) fails with a message that says so.

A fine-tuned folder holds the peft adapter (``adapter_config.json``, ``adapter_model.safetensors``)
and ``finetune.json`` (how the base was named, the template and prefix it learned with).

Example::

    model, tokenizer, base = load_base("embedded", device="cpu")
    model, tokenizer, meta = load_finetuned("runs/gemma-lora")       # base + adapter, ready to generate
    merge_adapter("runs/gemma-lora", "runs/gemma-merged")            # plain weights for any server
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prompt_recovery.errors import PromptRecoveryError
from prompt_recovery.llm.hf import TransformersLLM

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
META_FILE = "finetune.json"
META_VERSION = 1


class FinetuneError(PromptRecoveryError):
    """A base model or an adapter that cannot be used; the message says why and what to pass instead."""


@dataclass(frozen=True)
class BaseModel:
    """Where a base model's weights are: ``folder`` (+ ``gguf_file`` inside it for a GGUF base)."""

    spec: str
    folder: Path
    gguf_file: str | None = None

    def describe(self) -> str:
        return f"{self.folder / self.gguf_file}" if self.gguf_file else str(self.folder)


def resolve_base(spec: str | Path) -> BaseModel:
    """The weights that ``spec`` names; ``FinetuneError`` with a fix when there are none."""
    spec = str(spec)
    if spec == EMBEDDED:
        from prompt_recovery.llm.embedded import packaged_gguf

        try:
            path = packaged_gguf()
        except PromptRecoveryError as exc:
            raise FinetuneError(str(exc)) from None
        return BaseModel(spec, path.parent, path.name)
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise FinetuneError(f"{path}: a file but not a .gguf model. Fix: pass a .gguf file or a model folder")
        return BaseModel(spec, path.parent.resolve(), path.name)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise FinetuneError(
                f"{path}: no config.json, so not a Hugging Face model folder. "
                "Fix: pass the folder that save_pretrained wrote, a .gguf file, or 'embedded'"
            )
        return BaseModel(spec, path.resolve())
    raise FinetuneError(
        f"{spec}: no such model folder or GGUF file. Fix: pass a local model folder, a .gguf file, or 'embedded'"
    )


def _check_causal(base: BaseModel) -> None:
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if base.gguf_file:
        return  # transformers only reads decoder-only architectures from GGUF; it fails clearly otherwise
    try:
        config = AutoConfig.from_pretrained(base.folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise FinetuneError(f"{base.folder}: unreadable config.json ({exc})") from None
    archs = list(getattr(config, "architectures", None) or [])
    causal_archs = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    # The saved architecture decides (a BERT encoder is "BertModel", its causal head "BertLMHeadModel").
    causal = any(a in causal_archs for a in archs) if archs else config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    if not causal:
        archs_text = ", ".join(archs) or config.model_type
        raise FinetuneError(
            f"{base.folder}: a {config.model_type!r} model ({archs_text}) is not a causal (decoder) LM, so it cannot "
            "write an answer. Fix: pass a causal LM such as Gemma, Llama, Mistral, Qwen or GPT-2"
        )


def load_base(
    spec: str | Path, device: str = "cpu", dtype: str = "auto", show_progress: bool = False
) -> tuple[Any, Any, BaseModel]:
    """(model, tokenizer, where) for a base ``spec``; the model on ``device``, the tokenizer with a pad token.

    ``dtype`` ``auto``: float32 on the CPU, bfloat16 on a GPU that supports it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    base = resolve_base(spec)
    _check_causal(base)
    if dtype == "auto":
        cuda_bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        dtype = "bfloat16" if cuda_bf16 else "float32"
    kwargs: dict[str, Any] = {"local_files_only": True}
    if base.gguf_file:
        kwargs["gguf_file"] = base.gguf_file
    quiet = {}
    if not show_progress:
        hf_logging.disable_progress_bar()
        if base.gguf_file:  # the GGUF conversion uses a bare tqdm that no transformers switch reaches
            import functools

            from transformers import modeling_gguf_pytorch_utils as gguf_utils

            quiet = {"tqdm": gguf_utils.tqdm}
            gguf_utils.tqdm = functools.partial(gguf_utils.tqdm, disable=True)
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(base.folder, **kwargs)
        model: Any = AutoModelForCausalLM.from_pretrained(base.folder, dtype=getattr(torch, dtype), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise FinetuneError(f"{base.describe()}: transformers could not load it as a causal LM ({exc})") from None
    finally:
        if not show_progress:
            hf_logging.enable_progress_bar()
        if quiet:
            gguf_utils.tqdm = quiet["tqdm"]
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device), tokenizer, base


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The ``finetune.json`` of a fine-tuned folder; ``FinetuneError`` when it is not one."""
    path = Path(folder) / META_FILE
    if not path.exists():
        raise FinetuneError(
            f"{folder}: no {META_FILE}, so not a finished fine-tuning run. Fix: pass the --out folder of "
            "`prompt-recovery finetune` (a killed run resumes when rerun with the same flags)"
        )
    redo = f"Fix: run `prompt-recovery finetune` again into a new --out folder (or restore {path})"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise FinetuneError(f"{path}: damaged, not readable JSON ({exc}). {redo}") from None
    if not isinstance(meta, dict):
        raise FinetuneError(f"{path}: damaged, not a JSON object. {redo}")
    if meta.get("format_version") != META_VERSION:
        raise FinetuneError(f"{path}: format version {meta.get('format_version')}, this version reads {META_VERSION}")
    config = meta.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("base"), str):
        raise FinetuneError(f"{path}: damaged, no config with the base model. {redo}")
    return meta


ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def check_adapter(folder: str | Path) -> dict[str, Any]:
    """The ``finetune.json`` of a fine-tuned folder whose adapter files are whole; ``FinetuneError`` naming
    the file that is missing or damaged. Cheap: reads the JSON files and the weights' header only."""
    from safetensors import safe_open

    meta = read_meta(folder)
    config_path, weights = (Path(folder) / name for name in ADAPTER_FILES)
    redo = "Fix: run `prompt-recovery finetune` again into a new --out folder"
    try:
        if not isinstance(json.loads(config_path.read_text(encoding="utf-8")), dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise FinetuneError(f"{config_path}: missing or damaged adapter settings ({exc}). {redo}") from None
    try:
        with safe_open(str(weights), "pt") as handle:
            if not list(handle.keys()):
                raise ValueError("no tensors")
    except Exception as exc:  # safetensors raises its own error type, OSError or ValueError
        raise FinetuneError(f"{weights}: missing or damaged adapter weights ({exc}). {redo}") from None
    return meta


def load_finetuned(folder: str | Path, device: str = "cpu", merge: bool = True) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, meta): the run's base with its adapter, in eval mode.

    ``merge``: fold the adapter into the weights (faster generation; same answers up to rounding).
    """
    from peft import PeftModel

    meta = check_adapter(folder)
    model, tokenizer, _ = load_base(meta["config"]["base"], device=device)
    try:
        model = PeftModel.from_pretrained(model, str(folder))
    except Exception as exc:  # peft, safetensors and torch each raise their own types for a bad adapter
        raise FinetuneError(
            f"{folder}: the adapter does not load onto {meta['config']['base']} ({exc}). "
            "Fix: run `prompt-recovery finetune` again into a new --out folder"
        ) from None
    if merge:
        model = model.merge_and_unload()
    return model.eval(), tokenizer, meta


def merge_adapter(folder: str | Path, out: str | Path) -> Path:
    """Write the base with the adapter folded in as a plain Hugging Face folder (weights + tokenizer).

    The result serves with any engine that reads such folders (vLLM, TGI, llama.cpp after conversion).
    """
    model, tokenizer, meta = load_finetuned(folder, device="cpu", merge=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / META_FILE).write_text(json.dumps({**meta, "merged_from": str(folder)}, indent=2), encoding="utf-8")
    return out


class AdapterLLM(TransformersLLM):
    """The ``transformers`` backend around a model already in memory (a fine-tuned one).

    Requests are rendered strings (``finetune.data.render_prompt``), so ``chat`` is False here even for
    chat models: the template was applied when the string was rendered, as in training.
    """

    def __init__(self, model: Any, tokenizer: Any, *, device: str = "cpu", name: str = "finetuned") -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        self.name = f"transformers:{name}"
        self.chat = False
