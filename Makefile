# The two commands a newcomer types on a fresh machine (Python 3.11+ on the PATH):
#   make run    install, then run the main job (hub demo: a simulated province) on the embedded warehouse
#   make test   install, then run the test suite against a real embedded PostgreSQL
# `make install` also sets up Airflow's distributed engine (`hub cluster up`): the `cluster` extra
# (CeleryExecutor) and Debian's redis-server, installed with apt when it is absent (root).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A Debian package installed when absent: as root, or through sudo.
APT_GET = $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: run test install redis browser

install: $(VENV)/.installed redis

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,cluster]'
	touch $@

redis:
	@command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { \
	  echo "installing Debian's redis-server (for hub cluster)"; \
	  $(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends redis-server; }

run: install
	$(BIN)/hub demo

# The report's tests open every page in a real headless browser: Debian's chromium, installed
# when absent.
browser:
	@command -v chromium >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium; }

test: install browser
	$(BIN)/python -m pytest
