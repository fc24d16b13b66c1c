# The two set-up commands are `make demo` and `make test`; both install first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO_WS := demo-ws
DEMO_DATA := demo-data

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[spark,test]'
	bash scripts/ensure-java.sh
	touch $(STAMP)

demo: install
	rm -rf $(DEMO_WS) $(DEMO_DATA)
	$(BIN)/kefu simulate $(DEMO_DATA) --agents 25 --days 30 --seed 1
	$(BIN)/kefu import $(DEMO_WS) $(DEMO_DATA)
	$(BIN)/kefu demo-summary $(DEMO_WS)

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(DEMO_WS) $(DEMO_DATA) .pytest_cache
