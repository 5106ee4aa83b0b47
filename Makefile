# ops-watch: the two commands of a fresh machine are `make demo` and `make test` (see README.md).
#
#   make venv    create .venv (Python >= 3.11) and install ops-watch editable with the test extra
#   make demo    run the main job once on the embedded default config and the sample evidence
#   make test    install the system components the tests start (as root, with apt-get), run the suite
#   make lint    ruff check + ruff format --check
#   make clean   remove the venv, the demo's var/ and caches
#
# Variables: PYTHON (default python3); TESTS (default tests/); PYTEST_ARGS (extra pytest arguments,
# e.g. make test TESTS=tests/integration PYTEST_ARGS="-k store")

PYTHON ?= python3
VENV := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
# Written after a successful install; pyproject.toml (or the install script) changing re-installs.
STAMP := $(VENV)/.ops-watch-installed
PYTEST_ARGS ?=
TESTS ?= tests/

# Every recipe line runs in bash with -e (stop at the first failure) and pipefail.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: venv demo test test-deps lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml scripts/make-venv.sh
	PYTHON="$(PYTHON)" bash scripts/make-venv.sh "$(VENV)"
	touch "$@"

# The report's charts use a CJK font of the system, else the one scripts/install-test-deps.sh unpacked.
demo: venv
	PATH="$(VENV_BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" \
		OPS_WATCH_FONT_DIRS="$${OPS_WATCH_FONT_DIRS:-$(CURDIR)/.cache/tools/usr/share/fonts}" bash scripts/demo.sh

test-deps:
	bash scripts/install-test-deps.sh

# pytest's exit code is make's: any failure or error fails the target, and so does exit code 5
# (no tests collected), which is reported as such.
test: venv test-deps
	@echo "$(VENV)/bin/python -m pytest -q -ra $(TESTS) $(PYTEST_ARGS)"
	@rc=0; PATH="$(VENV_BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" \
		"$(VENV_BIN)/python" -m pytest -q -ra $(TESTS) $(PYTEST_ARGS) || rc=$$?; \
	if [ "$$rc" -eq 5 ]; then echo "make test: FAILED: pytest collected no tests" >&2; fi; \
	if [ "$$rc" -ne 0 ]; then echo "make test: FAILED (pytest exit code $$rc)" >&2; fi; \
	exit "$$rc"

# Both linters run; either failing fails the target.
lint: venv
	@rc=0; \
	echo "ruff check ."; "$(VENV_BIN)/ruff" check . || rc=1; \
	echo "ruff format --check ."; "$(VENV_BIN)/ruff" format --check --output-format concise . || rc=1; \
	exit "$$rc"

clean:
	rm -rf "$(VENV)" var .pytest_cache .ruff_cache build dist ./*.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
