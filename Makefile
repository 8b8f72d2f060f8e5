# NSSA developer entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint typecheck unit pcaps golden bench bench-logs clean es-build es-up es-down bench-store bench-overview

$(BIN)/nssa: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/nssa

demo: setup
	$(BIN)/nssa demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The test session starts its own Elasticsearch node (tests/elastic.py) and stops it.
unit: setup es-build
	$(BIN)/pytest

# Elasticsearch for tests and development (tools/es-node): build resolves the jars from Maven
# Central once, like pip; es-up starts a node on loopback and prints ES_URL=...; es-down stops it.
es-build: setup
	$(BIN)/python -m tools.es_node build

es-up: setup
	@$(BIN)/python -m tools.es_node up

es-down: setup
	@$(BIN)/python -m tools.es_node down

test: lint typecheck unit

pcaps: setup
	$(BIN)/python pcaps/generate.py

golden: setup
	$(BIN)/pytest tests/test_golden.py --update-golden

bench: setup
	$(BIN)/python bench/sensor.py

bench-logs: setup
	$(BIN)/python bench/logs.py

bench-store: setup es-build
	$(BIN)/python bench/store.py

bench-overview: setup es-build
	$(BIN)/python bench/overview.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
