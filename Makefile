# Every target installs what it needs into .venv first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint check-schema fmt bench reliability clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: the main job end to end on the embedded local Admin (state in .reconciler/): validate,
## apply (registers the example workflows, launches runs and a backfill), apply again (approves
## the gate the first run has reached by then), then a plan that must show no changes
demo: $(STAMP)
	$(BIN)/reconciler validate manifests-examples
	$(BIN)/reconciler apply manifests-examples --auto-approve
	$(BIN)/reconciler apply manifests-examples --auto-approve
	$(BIN)/reconciler plan manifests-examples --detailed-exitcode

## test: lint, type check, schema freshness, then the whole test suite
test: lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/reconciler schema --check schemas

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/reconciler schema --write schemas

## bench: every benchmark in bench/ (bench/run_all.py), figures written into docs/performance.md;
## about 10 minutes on 2 cores. BENCH_ARGS=--large adds plan at 50,000 manifests (longer).
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

## reliability: the full-size runs of the tests `make test` runs small (docs/reliability.md):
## apply killed after every one of its calls, 8 fault seeds, 5 rounds of concurrent applies;
## 12,500 generated manifest trees through validate and plan; the local Admin under load for 60 s
reliability: $(STAMP)
	RELIABILITY_FULL=1 $(BIN)/pytest tests/reliability tests/engine/test_create_paths.py -s
	RECONCILER_FUZZ=full $(BIN)/pytest tests/fuzz -q
	RECONCILER_LOAD=full $(BIN)/pytest tests/localadmin/test_load.py -q -s

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
