# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev bench clean catalogues

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

# The suite is spread over every core (pytest-xdist), a file's tests together and in order (a
# module's tests may share one running service); the reliability tests, which kill real processes
# and time what the providers see, run after it with the machine to themselves.
test: lint
	$(BIN)/pytest -n auto --dist loadfile --ignore=tests/reliability
	$(BIN)/pytest tests/reliability

bench: install-dev
	$(BIN)/python benchmarks/bench_inbound.py

clean:
	rm -rf $(VENV) *.egg-info

# The gettext catalogues: extract the English (babel.cfg) into the template, merge it into
# every language's .po (new texts appear there untranslated, for translators to fill in).
LOCALE := flows/core/texts/locale
catalogues: install-dev
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-by-file --project=Muster \
		--copyright-holder="Muster contributors" -o $(LOCALE)/muster.pot .
	$(BIN)/pybabel update -D muster -i $(LOCALE)/muster.pot -d $(LOCALE) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel extract -F babel-console.cfg --no-location --sort-by-file --project=Muster \
		--copyright-holder="Muster contributors" -o $(LOCALE)/console.pot .
	$(BIN)/pybabel update -D console -i $(LOCALE)/console.pot -d $(LOCALE) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel extract -F babel-public.cfg --no-location --sort-by-file --project=Muster \
		--copyright-holder="Muster contributors" -o $(LOCALE)/public.pot .
	$(BIN)/pybabel update -D public -i $(LOCALE)/public.pot -d $(LOCALE) --no-fuzzy-matching --ignore-obsolete
