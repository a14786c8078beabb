# Two commands matter: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= sqlite:///var/sudi.db
HOST ?= 127.0.0.1
PORT ?= 8000
# Two workers per backend fit the 2-core machines this runs on.
PYTEST_WORKERS ?= 2

.PHONY: run test test-sqlite test-postgresql lint demo-sample clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/sudi demo-data --db $(DB)
	$(BIN)/sudi serve --db $(DB) --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(MAKE) --no-print-directory test-sqlite test-postgresql

test-sqlite: $(BIN)/.installed
	SUDI_TEST_DB=sqlite $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -p no:cacheprovider

test-postgresql: $(BIN)/.installed
	SUDI_TEST_DB=postgresql $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -p no:cacheprovider

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy src

# Rebuilds the shipped demo sample from ../shared/data (needs that folder).
demo-sample: $(BIN)/.installed
	$(BIN)/python scripts/build_demo_sample.py --shared ../shared/data --out src/sudi/demo/data

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
