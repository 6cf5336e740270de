"""LoRA fine-tuning on a tiny random causal LM built in code (character tokenizer, Llama, hidden 32):
it learns a toy mapping, saves and reloads, resumes after a kill, and refuses bad inputs clearly."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pandas as pd
import pytest

from prompt_recovery.errors import DataError
from prompt_recovery.finetune import FinetuneConfig, FinetuneError, finetune, load_finetuned, merge_adapter
from prompt_recovery.finetune.data import answer_target, collate, encode_rows, render_prompt
from prompt_recovery.finetune.model import AdapterLLM, resolve_base
from prompt_recovery.llm import GenerationConfig
from prompt_recovery.llm.templates import GUESS_STOP

SHOUT, WHISPER = "Shout it.", "Whisper it."
WORDS = ["the cat sat", "a dog ran", "we go home", "red sun set", "big fish swim", "old man sing"]


def toy_rows() -> pd.DataFrame:
    """Uppercase rewrites were made by SHOUT, lowercase ones by WHISPER."""
    rows = []
    for i, text in enumerate(WORDS):
        rows.append(
            {"id": f"s{i}", "original_text": text.title(), "rewritten_text": text.upper(), "rewrite_prompt": SHOUT}
        )
        rows.append({"id": f"w{i}", "original_text": text.title(), "rewritten_text": text, "rewrite_prompt": WHISPER})
    return pd.DataFrame(rows)


def build_tiny_causal_lm(folder: Path) -> Path:
    """A Llama (hidden 32, 2 layers) with a character-level tokenizer: <bos> added, eos/pad/unk defined."""
    import torch
    from tokenizers import Tokenizer, decoders, models, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    chars = sorted(set(string.printable) - set("\x0b\x0c\r\t"))
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 1)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        initializer_range=0.5,  # frozen random output weights need range for sharp answers
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def toy_config(base: Path, **overrides) -> FinetuneConfig:
    settings = {
        "base": str(base),
        "rank": 8,
        "alpha": 16.0,
        "dropout": 0.0,
        "epochs": 40,
        "learning_rate": 1e-2,
        "batch_size": 4,
        "warmup_ratio": 0.0,
        "max_text_tokens": 16,
        "device": "cpu",
        "save_every": 10,
    }
    return FinetuneConfig(**{**settings, **overrides})


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="session")
def trained(tiny_lm: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("runs") / "lora"
    return finetune(toy_rows(), toy_config(tiny_lm), out)


def generate(model, tokenizer, rows: pd.DataFrame, chat: bool = False, prefix: str = "") -> list[str]:
    llm = AdapterLLM(model, tokenizer)
    requests = [
        render_prompt(tokenizer, o, r, chat=chat, prefix=prefix, budget=16)
        for o, r in zip(rows["original_text"], rows["rewritten_text"], strict=True)
    ]
    return [c.text.strip() for c in llm.generate(requests, GenerationConfig(max_tokens=16, stop=GUESS_STOP))]


# -- config and data ---------------------------------------------------------------------------------


def test_config_checks_say_the_fix():
    with pytest.raises(ValueError, match="rank must be at least 1, but it was: 0"):
        FinetuneConfig(rank=0)
    with pytest.raises(ValueError, match="learning_rate"):
        FinetuneConfig(learning_rate=0)
    with pytest.raises(ValueError, match="needs a response prefix"):
        FinetuneConfig(answer="change")
    with pytest.raises(ValueError, match="device must be one of"):
        FinetuneConfig(device="tpu")  # type: ignore[arg-type]
    assert FinetuneConfig(max_rows=5).training_dict()["max_rows"] == 5


def test_answer_styles():
    assert answer_target("  Make it   formal. ", "prompt") == "Make it formal."
    assert answer_target("Rewrite this essay as a sea shanty.", "change", "Rewrite the text") == "as a sea shanty."
    assert answer_target("Rewrite the text as a poem", "change", "Rewrite the text") == "as a poem"
    assert answer_target("Add a dragon.", "change", "Rewrite the text") == "Add a dragon."


def test_examples_keep_the_head_and_mask_all_but_the_answer(tiny_lm: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    rows = pd.DataFrame([{"original_text": "abcdefghij" * 3, "rewritten_text": "XYZ", "rewrite_prompt": SHOUT}])
    (example,), chat = encode_rows(rows, tokenizer, toy_config(tiny_lm, max_text_tokens=5))
    assert not chat
    prompt = tokenizer.decode(example.prompt, skip_special_tokens=True)
    assert prompt == "Original text: abcde ...\nRewritten text: XYZ\nInstruction:"
    assert tokenizer.decode(example.answer) == f" {SHOUT}<eos>"
    short = encode_rows(rows.assign(rewrite_prompt="Hi"), tokenizer, toy_config(tiny_lm))[0][0]
    batch = collate([example, short], tokenizer.pad_token_id)
    span = batch["answer_span"]
    assert span == len(example.answer)
    assert batch["labels"][1].tolist()[: span - len(short.answer)] == [-100] * (span - len(short.answer))
    assert batch["input_ids"][1, -len(short.answer) :].tolist() == list(short.answer)
    assert batch["attention_mask"][1].sum() == len(short.prompt) + len(short.answer)


def test_chat_template_models_get_their_template_and_no_double_bos(tiny_lm: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    rows = toy_rows().iloc[[0]]
    (plain,), chat = encode_rows(rows, tokenizer, toy_config(tiny_lm))
    assert chat
    assert plain.prompt[:2] == (tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids("<"))
    assert tokenizer.decode(plain.prompt).endswith("Instruction:</><assistant>")
    assert tokenizer.decode(plain.answer) == f"{SHOUT}</><eos>"
    (seeded,), _ = encode_rows(rows, tokenizer, toy_config(tiny_lm, prefix="Say"))
    assert tokenizer.decode(seeded.prompt).endswith("<assistant>Say")
    assert tokenizer.decode(seeded.answer) == f" {SHOUT}</><eos>"
    with pytest.raises(DataError, match="no chat template"):
        encode_rows(rows, AutoTokenizer.from_pretrained(tiny_lm), toy_config(tiny_lm, template="chat"))


def test_chat_backend_continues_a_prefixed_assistant_turn(tiny_lm: Path):
    """A chat request ending with the response prefix is continued, as fine-tuning rendered it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prompt_recovery.llm.templates import guess_request

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}"
        "{% if not (loop.last and m['role'] == 'assistant') %}</>{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    llm = AdapterLLM(AutoModelForCausalLM.from_pretrained(tiny_lm), tokenizer)
    llm.chat = True
    seen = []
    generate = llm.model.generate

    def spy(ids, **kwargs):
        seen.append((ids, kwargs["pad_token_id"]))
        return generate(ids, **kwargs)

    llm.model.generate = spy
    request = guess_request([], "abc", "ABC", chat=True, prefix="Say", max_chars=10**6)
    llm.generate([request], GenerationConfig(max_tokens=2))
    ids, pad = seen[0]
    assert tokenizer.decode(ids[0]).endswith("<assistant>Say")
    assert pad == tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


# -- training ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_loss_falls_and_it_writes_the_trained_prompt(trained):
    losses = trained.losses
    assert trained.finished and trained.steps == trained.total_steps == 120
    assert sum(losses[-5:]) / 5 < 0.25 * sum(losses[:5]) / 5
    rows = toy_rows().iloc[[0, 1]]
    assert generate(trained.model, trained.tokenizer, rows) == [SHOUT, WHISPER]


@pytest.mark.slow
def test_outputs_beside_the_adapter(trained):
    out = trained.out
    for name in ("adapter_config.json", "adapter_model.safetensors", "finetune.json", "loss.csv", "loss.png"):
        assert (out / name).exists(), name
    assert not (out / "checkpoint").exists()
    meta = json.loads((out / "finetune.json").read_text())
    assert meta["rows"] == 12 and meta["chat"] is False and meta["config"]["rank"] == 8
    assert len(pd.read_csv(out / "loss.csv")) == 120


@pytest.mark.slow
def test_adapter_saves_loads_and_answers_the_same(trained):
    rows = toy_rows()
    before = generate(trained.model, trained.tokenizer, rows)
    model, tokenizer, meta = load_finetuned(trained.out)
    assert generate(model, tokenizer, rows) == before
    assert meta["rows"] == 12


@pytest.mark.slow
def test_merged_weights_load_as_a_plain_model(trained, tmp_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged = merge_adapter(trained.out, tmp_path / "merged")
    model = AutoModelForCausalLM.from_pretrained(merged)
    tokenizer = AutoTokenizer.from_pretrained(merged)
    rows = toy_rows().iloc[[0, 1]]
    assert generate(model, tokenizer, rows) == [SHOUT, WHISPER]


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_checkpoint(tiny_lm: Path, tmp_path: Path):
    config = toy_config(tiny_lm, epochs=4, dropout=0.1)
    whole = finetune(toy_rows(), config, tmp_path / "whole")
    part = finetune(toy_rows(), config, tmp_path / "part", stop_after=5)
    assert not part.finished and part.steps == 5
    assert (tmp_path / "part" / "checkpoint" / "state.json").exists()
    assert not (tmp_path / "part" / "finetune.json").exists()
    rest = finetune(toy_rows(), config, tmp_path / "part")
    assert rest.finished and rest.resumed_from == 5
    assert rest.losses == pytest.approx(whole.losses, rel=1e-4)
    other = toy_config(tiny_lm, epochs=4, dropout=0.1, learning_rate=5e-3)
    finetune(toy_rows(), config, tmp_path / "other", stop_after=2)
    with pytest.raises(FinetuneError, match="checkpoint of another run"):
        finetune(toy_rows(), other, tmp_path / "other")


@pytest.mark.slow
def test_change_style_with_a_prefix_learns_the_rest(tiny_lm: Path, tmp_path: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    rows = toy_rows().assign(rewrite_prompt=lambda d: "Rewrite the text " + d["rewrite_prompt"].str.lower())
    config = toy_config(tiny_lm, answer="change", prefix="Rewrite the text")
    (example, *_), _ = encode_rows(rows, tokenizer, config)
    assert tokenizer.decode(example.prompt).endswith("Instruction: Rewrite the text")
    assert tokenizer.decode(example.answer) == " shout it.<eos>"


# -- bad inputs ------------------------------------------------------------------------------------


def test_no_rows_is_a_data_error(tiny_lm: Path, tmp_path: Path):
    with pytest.raises(DataError, match="no training rows"):
        finetune(toy_rows().iloc[:0], toy_config(tiny_lm), tmp_path / "x")


def test_missing_base_model_says_what_to_pass(tmp_path: Path):
    with pytest.raises(FinetuneError, match="no such model folder or GGUF file"):
        resolve_base(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FinetuneError, match=r"no config\.json"):
        resolve_base(tmp_path / "empty")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(FinetuneError, match=r"not a \.gguf"):
        resolve_base(tmp_path / "weights.bin")


def test_non_causal_model_is_refused(tmp_path: Path):
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertModel(config).save_pretrained(tmp_path / "bert")
    with pytest.raises(FinetuneError, match="not a causal"):
        finetune(toy_rows(), FinetuneConfig(base=str(tmp_path / "bert"), device="cpu"), tmp_path / "out")


def test_packaged_model_resolves_to_its_gguf():
    base = resolve_base("embedded")
    assert base.gguf_file and base.gguf_file.endswith(".gguf") and (base.folder / base.gguf_file).is_file()


# -- the pipeline member and the command -------------------------------------------------------------


@pytest.mark.slow
def test_finetuned_member_cleans_and_falls_back(trained, tmp_path: Path):
    import numpy as np

    from prompt_recovery.config import from_table
    from prompt_recovery.errors import ConfigError
    from prompt_recovery.predictors.base import Features
    from prompt_recovery.predictors.finetuned import Finetuned, FinetunedConfig

    rows = toy_rows()
    features = Features(rows, np.zeros((len(rows), 2)), np.zeros((len(rows), 2)))
    member = Finetuned(FinetunedConfig(adapter=str(trained.out), max_tokens=16))
    member.fit(features, None)
    assert member.predict(features.subset(np.array([0, 1])), None) == [SHOUT, WHISPER]
    prefixed = Finetuned(FinetunedConfig(adapter=str(trained.out), max_tokens=16, prefix="Please"))
    prefixed.llm, prefixed.meta = member.llm, member.meta
    assert all(p.startswith("Please") for p in prefixed.predict(features.subset(np.array([0])), None))
    missing = Finetuned(FinetunedConfig(adapter=str(tmp_path / "missing")))
    with pytest.raises(FinetuneError, match=r"missing: no finetune\.json"):  # an error naming it, not a fallback
        missing.predict(features.subset(np.array([0, 1])), None)
    with pytest.raises(ConfigError, match="unknown setting 'adaptor'"):
        from_table(FinetunedConfig, {"adaptor": "x"}, "member finetuned")
    with pytest.raises(ConfigError, match="adapter is not set"):
        from_table(FinetunedConfig, {}, "member finetuned")


@pytest.mark.slow
def test_finetune_command_errors_and_run(tiny_lm: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from prompt_recovery.cli import app

    data = tmp_path / "rows.csv"
    toy_rows().to_csv(data, index=False)
    runner = CliRunner()
    missing = runner.invoke(
        app, ["finetune", str(data), "--base", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2 and "no such model folder" in missing.output
    bad = runner.invoke(
        app, ["finetune", str(data), "--base", str(tiny_lm), "--out", str(tmp_path / "o"), "--rank", "0"]
    )
    assert bad.exit_code == 2 and "rank must be at least 1" in bad.output
    args = ["finetune", str(data), "--base", str(tiny_lm), "--out", str(tmp_path / "o"), "--device", "cpu"]
    args += ["--epochs", "2", "--learning-rate", "0.01", "--max-text-tokens", "16"]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "trained 6 steps on 12 rows" in ok.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "already holds a finished adapter" in again.output
