# Two commands do all set-up on a fresh machine with python3: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench lab clean

# System packages (Chromium for the browser tests, PostgreSQL): installed when missing as root on
# Debian; anywhere else a missing one stops here with a one-line message.
$(STAMP): pyproject.toml scripts/install-debian-packages.sh
	scripts/install-debian-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,lab,scale,web]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cpw demo
	$(BIN)/python -m sim.web.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_synth.py

# JupyterLab prints its URL with a login token; root (e.g. in a container) needs --allow-root.
# Extra options go in LAB_ARGS, e.g. make lab LAB_ARGS="--no-browser --port 8890".
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
