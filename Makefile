# Every target creates or reuses .venv itself; nothing needs installing by hand first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TASK ?= telecom
GPU ?= cpu
MODEL ?=
MODEL_ARG := $(if $(MODEL),--model $(MODEL),)
PORT ?= 7860

.PHONY: setup data train predict eval demo test webui download bench clean

setup: $(STAMP)

# Plain pip on purpose: torch 2.14.1 comes from this machine's local wheel store, which uv/poetry ignore.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

data: setup
	$(BIN)/domaintune data

train: setup
	$(BIN)/domaintune data --task $(TASK)
	$(BIN)/domaintune train --task $(TASK) --gpu $(GPU) $(MODEL_ARG)

predict: setup
	$(BIN)/domaintune predict --task $(TASK)

eval: setup
	$(BIN)/domaintune eval --task $(TASK)

# The main job end to end on the embedded default: tiny model, shipped sample data, CPU.
demo: setup
	$(BIN)/domaintune demo --task $(TASK)

test: setup
	$(BIN)/python -m pytest

webui: setup data
	$(BIN)/domaintune webui --port $(PORT)

download: setup
	$(BIN)/domaintune download --model $(MODEL)

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf runs exports recipes/generated dataset_info/*.json dataset_info/*.jsonl
