#!/usr/bin/env bash
# Create the project's virtualenv (default .venv) if needed and install ops-watch into it, editable, at the
# exact versions of the lock in requirements/ (scripts/lock.sh), so what is tested and demonstrated is what
# the offline bundle ships:
#
#   scripts/make-venv.sh .venv runtime   the runtime only, with requirements/runtime.lock (make demo)
#   scripts/make-venv.sh .venv test      plus the test extra, with requirements/test.lock (make test, make venv)
#
# The Makefile re-runs it when pyproject.toml, a lock or this script changes. Both kinds share one venv:
# the test lock holds the runtime lock's versions, so installing one after the other changes nothing twice.
#
# Needs Python 3.11 or newer ($PYTHON, default python3). On Debian/Ubuntu the venv module lives in
# a separate package (python3.X-venv); when it is missing and we are root with apt-get, it is installed.
set -euo pipefail

venv="${1:-.venv}"
kind="${2:-test}"
python="${PYTHON:-python3}"

case "$kind" in
    runtime) spec='.' lock=requirements/runtime.lock ;;
    test) spec='.[test]' lock=requirements/test.lock ;;
    *)
        echo "error: unknown install kind '$kind' (runtime or test)" >&2
        exit 2
        ;;
esac
if [[ ! -f "$lock" ]]; then
    echo "error: $lock is missing; generate it with scripts/lock.sh" >&2
    exit 1
fi

version_ok='import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'

if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found. ops-watch needs Python 3.11 or newer (Debian 12: apt-get install python3)." >&2
    exit 1
fi
if ! "$python" -c "$version_ok"; then
    echo "error: ops-watch needs Python 3.11 or newer, but $python is $("$python" -V 2>&1)." >&2
    echo "  Install a newer Python and run: make PYTHON=python3.11 ..." >&2
    exit 1
fi

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$version_ok" 2>/dev/null; then
    echo "using the virtualenv in $venv"
else
    rm -rf "$venv"
    echo "creating a virtualenv in $venv with $("$python" -V 2>&1)"
    err="$(mktemp)"
    trap 'rm -f "$err"' EXIT
    if ! "$python" -m venv "$venv" 2>"$err"; then
        rm -rf "$venv"
        # Debian and Ubuntu split venv/ensurepip out of the interpreter package.
        pkg="python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
            echo "the venv module is missing; installing $pkg"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q
            apt-get install -y -q --no-install-recommends "$pkg"
            "$python" -m venv "$venv"
        else
            cat "$err" >&2
            echo "error: $python cannot create a virtualenv. On Debian/Ubuntu: sudo apt-get install $pkg" >&2
            exit 1
        fi
    fi
fi

echo "installing ops-watch (editable, $kind, versions of $lock) into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --constraint "$lock" --editable "$spec"
