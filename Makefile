# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

run: install
	$(BIN)/muster run

# The checks first: lint and types (flows/ and storage/ strictly), then every test, the
# architecture's layering rules among them (tests/test_architecture.py).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: install-dev
	$(BIN)/python benchmarks/bench_inbound.py

clean:
	rm -rf $(VENV) *.egg-info
