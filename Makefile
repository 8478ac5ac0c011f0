# The two commands of the README: `make demo` (the example DAGs against the bundled emulator) and
# `make test` (the test suite). Each creates its own virtual environment from this repo's files.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
AIRFLOW_VERSION ?= 3.3.2
AIRFLOW2_VERSION ?= 2.11.2
VENV ?= .venv
VENV2 ?= .venv-airflow2

.PHONY: demo test test-airflow2 lint benchmark clean

$(VENV)/.installed-$(AIRFLOW_VERSION): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade uv
	$(VENV)/bin/python -m uv pip install --python $(VENV)/bin/python -q -e ".[test,benchmark,notifications]" "apache-airflow==$(AIRFLOW_VERSION)"
	touch $@

$(VENV2)/.installed-$(AIRFLOW2_VERSION): pyproject.toml
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/python -m pip install -q --upgrade uv
	$(VENV2)/bin/python -m uv pip install --python $(VENV2)/bin/python -q -e ".[test]" "apache-airflow==$(AIRFLOW2_VERSION)"
	touch $@

demo: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/python tools/demo.py

test: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/python -m pytest -q

test-airflow2: $(VENV2)/.installed-$(AIRFLOW2_VERSION)
	$(VENV2)/bin/python -m pytest -q -m airflow

lint: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

benchmark: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(VENV2) .demo .pytest_cache .mypy_cache .ruff_cache
