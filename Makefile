# Two commands do all set-up on a fresh machine with python3: `make demo` and `make test`.
# Both install requirements.lock exactly (every package pinned and hash-checked), then the
# project itself without dependencies. `make lock` refreshes the lock from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.lock
# The lock is resolved on PyPI for CPython 3.11 on x86-64 Linux (manylinux 2.28), whatever
# machine runs `make lock`; uv runs from its own virtual environment (.tools), outside .venv.
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9

.PHONY: demo test lint bench lab lock clean

# A new lock rebuilds .venv from nothing, so nothing outside the lock survives in it; pip check
# fails when the lock no longer holds what pyproject.toml asks for (run `make lock`). System
# packages (Chromium for the browser tests, PostgreSQL, age): installed when missing as root on
# Debian; anywhere else a missing one stops here with a one-line message.
$(STAMP): $(LOCK) pyproject.toml setup.py scripts/install-debian-packages.sh
	scripts/install-debian-packages.sh
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'

# Core dependencies, every extra, and the build backend (.venv installs the project without
# build isolation, so the backend comes from the lock too).
BUILD_REQUIRES = $(shell $(PYTHON) -c 'import shlex, tomllib; \
	print(shlex.join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')

lock: $(UV)
	printf '%s\n' $(BUILD_REQUIRES) | $(UV) pip compile pyproject.toml - --all-extras \
		--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--index-url https://pypi.org/simple --custom-compile-command "make lock" --quiet \
		--output-file $(LOCK)

demo: $(STAMP)
	$(BIN)/cpw demo
	$(BIN)/python -m sim.web.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two workers, one a core (pytest-xdist); each is a session of its own, with its own session
# fixtures (PostgreSQL cluster, deployments, servers, browser).
test: lint
	$(BIN)/pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python bench/bench_synth.py

# JupyterLab prints its URL with a login token; root (e.g. in a container) needs --allow-root.
# Extra options go in LAB_ARGS, e.g. make lab LAB_ARGS="--no-browser --port 8890".
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) runs .pytest_cache .ruff_cache .hypothesis
