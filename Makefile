VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install demo test lint bench bench-core clean

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
	$(VENV)/bin/ruff check stark circuits solvency tests benches

bench: install
	$(VENV)/bin/solvency bench --users 1024,4096,16384,65536 --assets 22 --preset fast --out benches/results --force
	$(VENV)/bin/solvency bench --users 1024,4096,16384,65536 --assets 22 --preset proven --out benches/results --force

bench-core: install
	$(PY) benches/bench_stark.py --log-rows 18 --cols 64 --preset fast
	$(PY) benches/bench_stark.py --log-rows 18 --cols 64 --preset fast --no-zk

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
