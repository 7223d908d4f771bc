VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install demo test lint page bench bench-core dist clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[prove,test,bench]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/solvency demo

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check stark circuits solvency tests benches web

# The browser page (solvency/web/index.html, package data) rebuilt from web/ after a change
# there; tests/web/test_page_build.py fails while it is stale. `--check` only compares.
page: install
	PYTHONPATH=$(CURDIR) $(PY) web/build.py

bench: install
	$(VENV)/bin/solvency bench --users 1024,4096,16384,65536 --assets 22 --preset fast --out benches/results --force
	$(VENV)/bin/solvency bench --users 1024,4096,16384,65536 --assets 22 --preset proven --out benches/results --force

# The STARK core at the size of its targets (2^18 x 64); smaller for a quick look:
# make bench-core BENCH_LOG_ROWS=12 BENCH_COLS=16 BENCH_OUT=/tmp/bench
BENCH_LOG_ROWS ?= 18
BENCH_COLS ?= 64
BENCH_OUT ?= benches/results
BENCH_CORE := $(PY) benches/bench_stark.py --log-rows $(BENCH_LOG_ROWS) --cols $(BENCH_COLS) \
	--preset fast --out $(BENCH_OUT)

bench-core: install
	$(BENCH_CORE)
	$(BENCH_CORE) --no-zk

# The wheel a customer or an auditor installs (docs/install.md): dist/stark_solvency-*.whl.
# The package is not on PyPI: `pip install stark-solvency` finds nothing.
dist: install
	rm -rf dist build  # build/ may hold modules removed since
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis dist build
