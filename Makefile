# NSSA developer entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint typecheck unit pcaps golden bench bench-logs clean es-build es-up es-down bench-store bench-overview kernels wheelhouse

$(BIN)/nssa: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# AS number and holder of outside sources (correlator/geography.py): the CSV files of npm's
# @ip-location-db/asn (CC BY 4.0: RouteViews, NRO, DB-IP), unpacked into the venv at setup like
# a pip package, never committed and never fetched at run time. Countries come from pip (iptocc).
ASN_DB := $(VENV)/share/nssa/asn
ASN_VERSION := 2.3.2026061719
ASN_STAMP := $(ASN_DB)/.installed-$(ASN_VERSION)

$(ASN_STAMP): | $(BIN)/nssa
	rm -rf $(ASN_DB) $(ASN_DB).part && mkdir -p $(ASN_DB).part
	cd $(ASN_DB).part && npm pack --silent @ip-location-db/asn@$(ASN_VERSION) >/dev/null
	tar xzf $(ASN_DB).part/*.tgz -C $(ASN_DB).part
	mv $(ASN_DB).part/package $(ASN_DB)
	rm -rf $(ASN_DB).part $(ASN_DB)/asn-ipv4.csv $(ASN_DB)/asn-ipv6.csv  # the -num files are read
	touch $@

# The packet path's compiled kernels (sensors/_*.pyx, Cython): the editable install builds
# them; this rebuilds the ones whose source changed since (C compiler and Python headers:
# .ci/run installs them).
KERNELS_STAMP := build/.kernels
$(KERNELS_STAMP): $(wildcard sensors/_*.pyx) setup.py | $(BIN)/nssa
	$(BIN)/python setup.py --quiet build_ext --inplace
	mkdir -p build && touch $@

kernels: $(KERNELS_STAMP)

# Wheels of NSSA (kernels compiled) and of every dependency, for an air-gapped install with
# `pip install --no-index --find-links wheelhouse nssa` (deploy/README.md).
wheelhouse: $(BIN)/nssa
	rm -rf wheelhouse && $(BIN)/python -m pip wheel --quiet --wheel-dir wheelhouse .

setup: $(BIN)/nssa $(ASN_STAMP) $(KERNELS_STAMP)

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info sensors/_*.c sensors/*.so wheelhouse
