# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install test test-all demo lint schema servers clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check conditioning pipeline eval flows tests

schema: $(STAMP)
	$(VENV)/bin/defectforge spec schema > datasets/defect-spec.schema.json

demo: $(STAMP)
	$(VENV)/bin/defectforge demo

servers: $(STAMP)
	$(VENV)/bin/defectforge servers

clean:
	rm -rf runs .pytest_cache
