# The two set-up commands are `make demo` and `make test`; both install first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO_WS := demo-ws
DEMO_DATA := demo-data

.PHONY: install assets demo test test-full lint bench clean

# Front-end packages come from the npm registry at build time, never from the repo.
VENDOR := src/kefu/web/static/vendor/echarts.min.js

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[spark,test,lint]'
	bash scripts/ensure-java.sh
	touch $(STAMP)

assets: $(VENDOR)

$(VENDOR): src/kefu/web/package.json src/kefu/web/package-lock.json
	npm ci --prefix src/kefu/web --no-audit --no-fund
	mkdir -p src/kefu/web/static/vendor
	cp src/kefu/web/node_modules/htmx.org/dist/htmx.min.js src/kefu/web/node_modules/echarts/dist/echarts.min.js src/kefu/web/static/vendor/

demo: install assets
	rm -rf $(DEMO_WS) $(DEMO_DATA)
	$(BIN)/kefu simulate $(DEMO_DATA) --agents 25 --days 30 --seed 1
	$(BIN)/kefu import $(DEMO_WS) $(DEMO_DATA)
	$(BIN)/kefu demo-summary $(DEMO_WS)
	$(BIN)/kefu serve $(DEMO_WS) --create-admin

# Two workers (one per core), each test file on one worker so its module fixtures are built once.
PYTEST := $(BIN)/python -m pytest -q -n 2 --dist loadfile

test: install assets
	bash scripts/ensure-chromium.sh
	$(PYTEST)

# Nightly: the thorough hypothesis profile (16x the examples of make test; tests/profiles.py).
test-full: install assets
	bash scripts/ensure-chromium.sh
	$(PYTEST) --hypothesis-profile=thorough

# ruff (lint + format) over the code, tests and benchmarks; mypy over src/kefu ([tool.mypy] in pyproject.toml).
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install assets
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.qc
	$(BIN)/python -m bench.web_load

clean:
	rm -rf $(VENV) $(DEMO_WS) $(DEMO_DATA) .pytest_cache .ruff_cache .mypy_cache
