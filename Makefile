# Two commands for a new machine:
#   make run   - the product on its embedded default (SQLite, in-process jobs, mail to a folder, demo data)
#   make test  - the test suite (no external service needed; set TEST_DATABASE_URL/REDIS_URL for PostgreSQL/Redis)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
AXE := node_modules/axe-core/axe.min.js

.PHONY: run test lint install install-dev translations migrate seed worker serve messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(STAMP_DEV): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(STAMP_RUN)

# axe-core for the browser tests (tests/browser), from the npm registry into node_modules.
$(AXE): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV) $(AXE)

translations: $(STAMP_RUN)
	$(BIN)/pybabel compile -d translations

migrate: install translations
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask demo seed --if-empty --port $(PORT)

run: seed
	@echo ""
	@echo "  Serving on port $(PORT): open the URLs printed above (any *.localhost name reaches this machine)."
	@echo ""
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# PYTEST_ARGS: extra arguments for pytest (CI's moved-clock runs leave the browser tests out).
test: install-dev translations
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

worker: install
	$(BIN)/python worker.py

# Refresh the message catalogues after changing user-visible strings. --ignore-dirs replaces pybabel's default, which
# skips every folder whose name starts with "_" and so missed the strings of templates/_macros.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 \
		--ignore-dirs=".* __pycache__ node_modules" -o translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i translations/messages.pot -d translations

clean:
	rm -rf $(VENV) instance
