# Every target runs `setup` first; `setup` is idempotent (a stamp file records the installed inputs).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch, installed before anything else so that no CUDA build is ever pulled.
TORCH := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-slow lint bench bench-shared bench-smoke clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24,<27"
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Train on a 700-row sample of the corpus train split and the demo's 56 training rows (a sample: the
# cold-cache encoding of all 1,903 rows alone takes ~3 minutes on 2 cores); predict the 28 demo test
# rows, score them against a hand-written constant, and print every member's evaluation (MiniLM proxy).
demo: setup
	$(BIN)/prompt-recovery train data/corpus/corpus.csv data/demo/train.csv --split-file data/corpus/splits.csv \
		--sample 700 --config data/demo/pipeline.toml --out .demo/model
	$(BIN)/prompt-recovery predict data/demo/test.csv --model .demo/model -o .demo/submission.csv
	$(BIN)/prompt-recovery score data/demo/test.csv .demo/submission.csv --per-row .demo/rows.csv
	$(BIN)/prompt-recovery score data/demo/test.csv data/demo/constant_guess.csv
	$(BIN)/prompt-recovery evaluate data/demo/test.csv --model .demo/model --report .demo/report.html

test: setup
	$(BIN)/python -m pytest

test-slow: setup
	$(BIN)/python -m pytest -m slow

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The maintained benchmarks (bench/RESULTS.md, generated from the records they write in bench/records/).
# `bench`: full size on the shipped data; `bench-shared`: full size on ../shared/data/external (tens of
# minutes each); `bench-smoke`: every benchmark at tiny size on shipped data (a few minutes: CI runs it).
bench: setup
	$(BIN)/python bench/calibration.py
	$(BIN)/python bench/predict.py
	$(BIN)/python bench/refine.py
	$(BIN)/python bench/llm.py
	$(BIN)/python bench/quality.py --source corpus
	$(BIN)/python bench/mean_prompt_quality.py --pool osyuksel --train 8000
	$(BIN)/python bench/results.py

bench-shared: setup
	$(BIN)/python bench/encode.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/mean_prompt_quality.py
	$(BIN)/python bench/quality.py --source public
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/cross_source.py
	$(BIN)/python bench/chooser.py
	$(BIN)/python bench/results.py

bench-smoke: setup
	$(BIN)/python bench/calibration.py --smoke
	$(BIN)/python bench/encode.py --smoke
	$(BIN)/python bench/search.py --smoke
	$(BIN)/python bench/mean_prompt_quality.py --smoke
	$(BIN)/python bench/refine.py --smoke
	$(BIN)/python bench/predict.py --smoke
	$(BIN)/python bench/quality.py --source corpus --smoke
	$(BIN)/python bench/scale.py --smoke
	$(BIN)/python bench/cross_source.py --smoke
	$(BIN)/python bench/chooser.py --smoke
	$(BIN)/python bench/llm.py --smoke
	$(BIN)/python bench/ray_scale.py --smoke
	$(BIN)/python bench/results.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
