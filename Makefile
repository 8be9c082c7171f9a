# The two commands a newcomer types on a fresh machine (Python 3.11+ on the PATH):
#   make run    install, then run the main job on the embedded warehouse with the demo sources
#   make test   install, then run the test suite against a real embedded PostgreSQL
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/hub run --all
	$(BIN)/hub status --limit 5

test: install
	$(BIN)/python -m pytest
