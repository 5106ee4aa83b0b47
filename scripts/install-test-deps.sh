#!/usr/bin/env bash
# Install the system components the test suite starts on loopback: PostgreSQL (initdb, pg_ctl),
# OpenSSH's sshd and client, systemd-analyze, and Prometheus with node_exporter.
#
# Quick and idempotent: when everything is present it only checks and says so. It installs the missing
# packages (postgresql, openssh-server, openssh-client, systemd, prometheus, prometheus-node-exporter)
# with apt-get, only when run as root on a system that has apt-get; otherwise it lists what is missing
# and exits 0, and the tests that need those components skip with the reason (in CI they fail instead).
# In CI a failed apt-get fails.
#
# restic (for the backup source's tests) is not installed into the system: when it is not on PATH, the
# Debian package is downloaded with a private apt state and unpacked into .cache/tools/ of the repository
# (no root needed, the system's dpkg untouched); tests look there after PATH.
#
# Usage: scripts/install-test-deps.sh [--check]   (--check: report only, never install)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tools="$repo/.cache/tools"

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

is_ci() {
    case "${CI:-}" in "" | 0 | false | False | FALSE | no) return 1 ;; *) return 0 ;; esac
}

have_postgresql() {
    local bindir
    for bindir in $(pg_config --bindir 2>/dev/null) /usr/lib/postgresql/*/bin; do
        [[ -x "$bindir/initdb" && -x "$bindir/pg_ctl" && -x "$bindir/postgres" ]] && return 0
    done
    return 1
}
have_sshd() { [[ -x /usr/sbin/sshd ]] || command -v sshd >/dev/null 2>&1; }
have_ssh_client() { command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; }
have_systemd_analyze() { command -v systemd-analyze >/dev/null 2>&1; }
have_prometheus() { command -v prometheus >/dev/null 2>&1; }
have_node_exporter() { command -v prometheus-node-exporter >/dev/null 2>&1; }

have_restic() { command -v restic >/dev/null 2>&1 || [[ -x "$tools/usr/bin/restic" ]]; }

# restic from Debian, unpacked under .cache/tools with apt's state kept in a temporary directory.
fetch_restic() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/state/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb" "$tools"
    touch "$tmp/status"
    local opts=(-o "Dir::State=$tmp/state" -o "Dir::State::status=$tmp/status" -o "Dir::Cache=$tmp/cache"
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    {
        apt-get "${opts[@]}" update -q >/dev/null &&
            (cd "$tmp/deb" && apt-get "${opts[@]}" download restic >/dev/null) &&
            dpkg-deb -x "$tmp"/deb/restic_*.deb "$tools"
    } || rc=$?
    rm -rf "$tmp"
    return "$rc"
}

if ! have_restic; then
    if ((check_only)) || ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
        echo "restic missing: the backup source's tests will skip (apt-get install restic)" >&2
    elif fetch_restic && have_restic; then
        echo "restic unpacked into $tools/usr/bin"
    else
        echo "could not fetch restic (apt-get download restic)" >&2
        if is_ci; then
            exit 1
        fi
    fi
fi

missing=()
have_postgresql || missing+=(postgresql)
have_sshd || missing+=(openssh-server)
have_ssh_client || missing+=(openssh-client)
have_systemd_analyze || missing+=(systemd)
have_prometheus || missing+=(prometheus)
have_node_exporter || missing+=(prometheus-node-exporter)

if ((${#missing[@]} == 0)); then
    echo "test components: PostgreSQL, sshd, ssh, systemd-analyze, Prometheus, node_exporter, restic all present"
    exit 0
fi

echo "test components missing: ${missing[*]}"
if ((check_only)) || [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "  not installing them (needs root and apt-get); the tests that need them will skip." >&2
    echo "  To install: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 0
fi

# Package scripts must not start services (a PostgreSQL cluster, sshd on port 22, Prometheus on 9090,
# node_exporter on 9100): the tests start their own on loopback and stop them. A policy-rc.d that exits
# 101 tells invoke-rc.d (and deb-systemd-invoke) "not now"; only add one for the duration of the install
# when the system has none.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# added by ops-watch scripts/install-test-deps.sh for the duration of apt-get install\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    added_policy=1
    trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
install_rc=0
{
    apt-get update -q &&
        apt-get install -y -q --no-install-recommends "${missing[@]}"
} || install_rc=$?

if ((added_policy)); then
    rm -f "$policy"
    trap - EXIT
fi

# The Prometheus packages also enable their units for the next boot; the tests start their own on free
# ports, so keep them off (only the ones installed here: a site's own Prometheus is left alone).
for unit in prometheus prometheus-node-exporter; do
    if [[ " ${missing[*]} " == *" $unit "* ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable "$unit.service" >/dev/null 2>&1 || true
    fi
done

if ((install_rc != 0)); then
    echo "apt-get failed (exit $install_rc) installing ${missing[*]}" >&2
    if is_ci; then
        exit "$install_rc"
    fi
    echo "  going on: the tests that need them will skip." >&2
    exit 0
fi

still=()
have_postgresql || still+=(postgresql)
have_sshd || still+=(openssh-server)
have_ssh_client || still+=(openssh-client)
have_systemd_analyze || still+=(systemd)
have_prometheus || still+=(prometheus)
have_node_exporter || still+=(prometheus-node-exporter)
if ((${#still[@]})); then
    echo "installed, but still not found: ${still[*]}" >&2
    if is_ci; then
        exit 1
    fi
fi
echo "test components installed: ${missing[*]}"
