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

## bench: the benchmarks in bench/, each printing its own figures
bench: $(STAMP)
	$(BIN)/python bench/validate_bench.py
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/localadmin_bench.py

## reliability: the full-size runs of the tests CI runs small (RECONCILER_FUZZ=full: 10,000+
## generated manifest trees; RECONCILER_LOAD=full: the local Admin under load for longer)
reliability: $(STAMP)
	RECONCILER_FUZZ=full $(BIN)/pytest tests/fuzz -q

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
