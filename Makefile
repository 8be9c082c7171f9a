# The two commands a newcomer types on a fresh machine (Python 3.11+ on the PATH):
#   make run    install, then run the main job (hub demo: a simulated province) on the embedded warehouse
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
	$(BIN)/hub demo

test: install
	$(BIN)/python -m pytest
