# Every target creates or reuses .venv itself; nothing needs installing by hand first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := constraints.txt
TASK ?= telecom
# auto: the tier of this machine's card, as `domaintune doctor` finds it; cpu where no CUDA device is found.
GPU ?= auto
MODEL ?=
MODEL_ARG := $(if $(MODEL),--model $(MODEL),)
PORT ?= 7860
# make serve [ADAPTER=runs/<run>/adapter] [API_PORT=8000]
API_PORT ?= 8000
ADAPTER ?=
# make eval JUDGE_URL=http://127.0.0.1:8000/v1 JUDGE_MODEL=restaurant (key: $JUDGE_API_KEY) adds LLM-judge scores
JUDGE_URL ?=
JUDGE_MODEL ?=
JUDGE_ARGS := $(if $(JUDGE_URL),--judge-base-url $(JUDGE_URL) --judge-model $(JUDGE_MODEL),)

.PHONY: setup lock doctor data train predict eval demo test webui serve download bench bench-gpu clean

setup: $(STAMP)

# Plain pip on purpose: torch 2.14.1 comes from this machine's local wheel store, which uv/poetry ignore.
# The torch step (pipelines/core/install.py) keeps a torch already in range, else picks the build the NVIDIA
# driver can load; TORCH_CUDA=cu126|cu128|cu130|cpu forces one (and reruns setup). Then the lock pins the rest.
$(STAMP): pyproject.toml $(LOCK) $(if $(TORCH_CUDA),FORCE)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) packaging
	$(BIN)/python -m pipelines.core.install torch --lock $(LOCK) --out $(VENV)/constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/constraints.txt -e '.[test]'
	touch $(STAMP)

FORCE:

# After changing pyproject.toml: `$(BIN)/pip install -e '.[test]'` (no -c), run the tests, then pin what got installed.
lock: setup
	$(BIN)/python -m pipelines.core.install freeze > $(LOCK).new && mv $(LOCK).new $(LOCK)

doctor: setup
	$(BIN)/domaintune doctor

data: setup
	$(BIN)/domaintune data

train: setup
	$(BIN)/domaintune data --task $(TASK)
	$(BIN)/domaintune train --task $(TASK) --gpu $(GPU) $(MODEL_ARG)

predict: setup
	$(BIN)/domaintune predict --task $(TASK)

eval: setup
	$(BIN)/domaintune eval --task $(TASK) $(JUDGE_ARGS)

# The main job end to end on the embedded default: tiny model, shipped sample data, CPU.
demo: setup
	$(BIN)/domaintune demo --task $(TASK)

test: setup
	$(BIN)/python -m pytest

webui: setup data
	$(BIN)/domaintune webui --port $(PORT)

# The trained run (ADAPTER=runs/<run>/adapter, default the task's latest) as an OpenAI-compatible API on 127.0.0.1.
serve: setup
	$(BIN)/domaintune serve --task $(TASK) $(if $(ADAPTER),--adapter $(ADAPTER),) --port $(API_PORT)

download: setup
	$(BIN)/domaintune download --model $(MODEL)

bench: setup
	$(BIN)/python -m bench

# On a CUDA machine: our recipe and LLaMA-Factory's example per task on BENCH_TIER's plan, appended to
# recipes/measured.yaml with the card's name (python -m bench.recipes --help for variants and steps).
BENCH_TIER ?= 4090
bench-gpu: setup
	$(BIN)/python -m bench.recipes --gpu $(BENCH_TIER) --record

clean:
	rm -rf runs exports recipes/generated dataset_info/*.json dataset_info/*.jsonl
