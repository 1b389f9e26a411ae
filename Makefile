# Skiff: `make run` serves the hub, `make test` runs the whole suite.
# Both create .venv when it is missing or older than pyproject.toml / the lock file.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 5000
LOCK   := requirements/constraints.txt
PIP    := $(PY) -m pip install -q --disable-pip-version-check -c $(LOCK)
# pytest-xdist over both cores; override with `make test XDIST=`.
XDIST  ?= -n 2 --dist loadgroup

RUN_STAMP  := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run test lint bench bench-hub reproduce-models install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel

NUMEXPR_PLUGIN := contrib/backends/skiff-backend-numexpr

$(RUN_STAMP): pyproject.toml $(LOCK) $(NUMEXPR_PLUGIN)/pyproject.toml | $(PY)
	$(PIP) -e '.[hub,bench,scale]'
	$(PIP) -e $(NUMEXPR_PLUGIN)
	touch $@

$(TEST_STAMP): $(RUN_STAMP) pyproject.toml $(LOCK)
	$(PIP) -e '.[hub,bench,scale,dev,onnx,peers]'
	touch $@

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(PY) -m hub.setup_site
	HOST=$(HOST) PORT=$(PORT) $(PY) app.py --host $(HOST) --port $(PORT)

lint: $(TEST_STAMP)
	$(PY) -m ruff check .

test: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(PY) -m framework.bench.perf
	$(PY) -m framework.bench.backends
	$(PY) -m framework.bench.static

bench-hub: $(TEST_STAMP)
	$(PY) -m hub.bench --processes 2 --threads 2

# Re-train the bundled models (contrib/models) and check their cards' metrics (minutes).
reproduce-models: $(RUN_STAMP)
	$(PY) contrib/models/reproduce.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
