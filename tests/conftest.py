"""Session fixtures: the real T5 vocabulary, a tiny random sentence-t5 folder built in code, MiniLM.

Models are built or loaded once per session; tests that mutate an embedder deep-copy it first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"
T5_TOKENIZER = FIXTURES / "t5" / "tokenizer.json"


def build_tiny_sentence_t5(folder: Path, seed: int = 0) -> Path:
    """A sentence-t5-shaped sentence-transformers folder with random weights and the real T5 vocabulary:
    T5 encoder (d_model 32, 2 layers) -> mean pooling -> 32x32 Dense without bias -> Normalize."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    torch.manual_seed(seed)
    hf_dir = folder.parent / f"{folder.name}-hf"
    config = T5Config(vocab_size=32128, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, dropout_rate=0.0)
    T5EncoderModel(config).save_pretrained(hf_dir)
    T5TokenizerFast(tokenizer_file=str(T5_TOKENIZER)).save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=256)
    dense = Dense(32, 32, bias=False, activation_function=torch.nn.Identity())
    modules = [transformer, Pooling(32, pooling_mode="mean"), dense, Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_t5(tmp_path_factory.mktemp("models") / "tiny-sentence-t5")


@pytest.fixture(scope="session")
def minilm():
    from prompt_recovery.embed import load_embedder

    return load_embedder("minilm")


# the tiny causal LM and its trained LoRA adapter, for the predictor contract test (tests/test_predictors.py)
from tests.test_finetune import tiny_lm, trained  # noqa: E402, F401
