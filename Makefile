VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test unit integration e2e soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,sim]'
	touch $(STAMP)

## run: the sample job (test_input.json) end to end; outputs land in ./out/
run: $(STAMP)
	$(PY) -m entrypoints.sample_job test_input.json --out out

## test: every test (unit, integration, e2e)
test: $(STAMP)
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest tests/unit

integration: $(STAMP)
	$(PY) -m pytest tests/integration

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

## soak: 1000 sequential jobs through one worker; prints fds, threads and RSS before and after
soak: $(STAMP)
	SOAK_JOBS=1000 $(PY) -m pytest -s -m soak tests/faults/test_soak.py

clean:
	rm -rf $(VENV) out .pytest_cache build dist simulated_uploaded local_upload
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
