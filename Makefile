# Every target runs `setup` first; `setup` is idempotent (a stamp file records the installed inputs).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch, installed before anything else so that no CUDA build is ever pulled.
TORCH := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-slow lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24,<27"
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/prompt-recovery score data/demo/demo.csv data/demo/constant_guess.csv
	$(BIN)/prompt-recovery score data/demo/demo.csv data/demo/close_guess.csv --per-row .demo_rows.csv

test: setup
	$(BIN)/python -m pytest

test-slow: setup
	$(BIN)/python -m pytest -m slow

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/encode.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
