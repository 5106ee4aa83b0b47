# ops-watch: the two commands of a fresh machine are `make demo` and `make test` (see README.md).
#
#   make venv    create .venv (Python >= 3.11) and install ops-watch editable with the test extra
#   make demo    install the runtime only, run the main job once on the embedded default config and the sample evidence
#   make test    install the system components the tests start (as root, with apt-get), run the suite
#   make lint    ruff check + ruff format --check
#   make bundle  build dist/ops-watch-<version>-py311-linux_x86_64.tar.gz: the wheel, every dependency's wheel,
#                the lock, the unit files, the example config and rules, for an install with no network
#   make lock    re-resolve requirements/*.lock from the package index (scripts/lock.sh; review and commit)
#   make clean   remove the venv, the demo's var/ and caches
#
# Every install uses the exact versions of requirements/runtime.lock (demo, bundle) or requirements/test.lock
# (test: the same versions plus the test tools), so what is tested is what ships.
#
# Variables: PYTHON (default python3); TESTS (default tests/); PYTEST_ARGS (extra pytest arguments,
# e.g. make test TESTS=tests/integration PYTEST_ARGS="-k store"); for make bundle PYVER (default 3.11) and
# PLATFORM (default manylinux_2_28_x86_64: glibc 2.28 or newer, e.g. Kylin V10, UOS 20, openEuler, Debian 12)

PYTHON ?= python3
VENV := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
# Written after a successful install; pyproject.toml, the lock or the install script changing re-installs.
# One venv, two stamps: the runtime (make demo) and the runtime plus the test extra (make test).
STAMP_RUNTIME := $(VENV)/.ops-watch-runtime
STAMP_TEST := $(VENV)/.ops-watch-test
PYVER ?= 3.11
PLATFORM ?= manylinux_2_28_x86_64
PYTEST_ARGS ?=
TESTS ?= tests/

# Every recipe line runs in bash with -e (stop at the first failure) and pipefail.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: venv venv-runtime demo test test-deps lint bundle lock clean

venv: $(STAMP_TEST)
venv-runtime: $(STAMP_RUNTIME)

$(STAMP_RUNTIME): pyproject.toml requirements/runtime.lock scripts/make-venv.sh
	PYTHON="$(PYTHON)" bash scripts/make-venv.sh "$(VENV)" runtime
	touch "$@"

$(STAMP_TEST): pyproject.toml requirements/test.lock scripts/make-venv.sh
	PYTHON="$(PYTHON)" bash scripts/make-venv.sh "$(VENV)" test
	touch "$@"

# The report's charts use a CJK font of the system, else the one scripts/install-test-deps.sh unpacked.
demo: venv-runtime
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

bundle:
	PYTHON="$(PYTHON)" PYVER="$(PYVER)" PLATFORM="$(PLATFORM)" bash scripts/bundle.sh

lock:
	PYTHON="$(PYTHON)" bash scripts/lock.sh

clean:
	rm -rf "$(VENV)" var .pytest_cache .ruff_cache build dist ./*.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
