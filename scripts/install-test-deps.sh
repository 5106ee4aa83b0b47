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
# Chromium (for the tests that render the weekly report's HTML email as a mail client would) and a CJK
# font are fetched the same way when missing: Debian's chromium and those of its libraries the system
# does not already have are unpacked into .cache/tools/, run through the wrapper .cache/tools/bin/chromium;
# fonts-wqy-microhei goes to .cache/tools/usr/share/fonts/ when fontconfig knows no Chinese font. In CI a
# failed fetch fails, as for restic.
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

# A private apt: its state (package lists, status, cache) in the temporary directory $1, so the system's
# dpkg is neither read nor written. Sets apt_opts for the caller's apt-get; the caller removes $1.
private_apt() {
    local tmp="$1"
    mkdir -p "$tmp/state/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
    touch "$tmp/status"
    apt_opts=(-o "Dir::State=$tmp/state" -o "Dir::State::status=$tmp/status" -o "Dir::Cache=$tmp/cache"
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -q >/dev/null
}

# restic from Debian, unpacked under .cache/tools with apt's state kept in a temporary directory.
fetch_restic() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    mkdir -p "$tools"
    {
        private_apt "$tmp" &&
            (cd "$tmp/deb" && apt-get "${apt_opts[@]}" download restic >/dev/null) &&
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

# ---- Chromium and a CJK font (the HTML email rendering tests) ----------------------------------------

chromium_bin="$tools/usr/lib/chromium/chromium"
chromium_wrapper="$tools/bin/chromium"
fonts_conf="$tools/fontconfig.conf"

have_chromium() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
        [[ -x "$chromium_wrapper" && -x "$chromium_bin" ]]
}

have_cjk_font() {
    if command -v fc-list >/dev/null 2>&1; then
        [[ -n "$(fc-list :lang=zh family 2>/dev/null)" ]] && return 0
        [[ -f "$fonts_conf" && -n "$(FONTCONFIG_FILE="$fonts_conf" fc-list :lang=zh family 2>/dev/null)" ]]
        return
    fi
    # No fontconfig tools to ask: a font file unpacked here is the best sign there is.
    [[ -n "$(find "$tools/usr/share/fonts" -type f \( -name '*.tt[cf]' -o -name '*.otf' \) -print -quit 2>/dev/null)" ]]
}

# fontconfig's own configuration plus the fonts unpacked here (a path relative to this file, so the
# repository can move). The wrapper sets FONTCONFIG_FILE to it; tests/browser.py writes its own likewise.
write_fonts_conf() {
    mkdir -p "$tools/usr/share/fonts"
    cat >"$fonts_conf" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<!-- Written by scripts/install-test-deps.sh: the system's fonts and those unpacked under .cache/tools. -->
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir prefix="relative">usr/share/fonts</dir>
</fontconfig>
XML
}

# Sonames the system's dynamic loader already finds.
system_sonames() {
    local ldconfig
    ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
    "$ldconfig" -p 2>/dev/null | awk 'NR > 1 { print $1 }' | sort -u
}

# Base names of the shared libraries a .deb puts straight into the loader's directories (plugins in
# subdirectories are not counted: they say nothing about what the system has).
deb_sonames() {
    dpkg-deb -c "$1" | awk '{ print $6 }' |
        grep -E '^\./(usr/)?lib(32|64)?/([^/]*-linux-gnu[^/]*/)?[^/]+\.so(\.[0-9]+)*$' | sed 's|.*/||' | sort -u ||
        true
}

# The unpacked library directories, for LD_LIBRARY_PATH: the multiarch ones and the subdirectories that
# hold libraries found by an absolute RUNPATH pointing into the system (libpulse's pulseaudio/).
chromium_libdirs() {
    local d
    for d in "$tools"/usr/lib/*-linux-gnu* "$tools"/lib/*-linux-gnu*; do
        [[ -d "$d" ]] || continue
        echo "$d"
        find "$d" -mindepth 2 -maxdepth 2 -name 'lib*.so*' -printf '%h\n'
    done | sort -u
}

write_chromium_wrapper() {
    local d libpath=""
    while read -r d; do
        libpath+="${libpath:+:}\$here/${d#"$tools"/}"
    done < <(chromium_libdirs)
    mkdir -p "$tools/bin"
    cat >"$chromium_wrapper" <<EOF
#!/bin/sh
# Written by scripts/install-test-deps.sh: Debian's Chromium unpacked under .cache/tools, run with the
# libraries unpacked beside it (the system's dpkg knows nothing of them) and the fonts unpacked there.
here="\$(cd "\$(dirname "\$0")/.." && pwd)"
LD_LIBRARY_PATH="${libpath}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
FONTCONFIG_FILE="\${FONTCONFIG_FILE:-\$here/fontconfig.conf}"
export LD_LIBRARY_PATH FONTCONFIG_FILE
exec "\$here/usr/lib/chromium/chromium" "\$@"
EOF
    chmod 0755 "$chromium_wrapper"
}

# Every library resolves (ldd: no "not found", which also catches a missing symbol version) and a
# headless screenshot of a small page works.
verify_chromium() {
    local tmp="$1" f missing libpath
    libpath="$(chromium_libdirs | paste -sd:)"
    missing="$(for f in "$chromium_bin" "$tools"/usr/lib/chromium/*.so "$tools"/usr/lib/chromium/*.so.[0-9]; do
        [[ -e "$f" ]] && LD_LIBRARY_PATH="$libpath" ldd "$f" 2>&1 | sed "s|^|${f##*/}: |"
    done | grep 'not found' | sort -u || true)"
    if [[ -n "$missing" ]]; then
        echo "chromium: libraries not found after unpacking:" >&2
        echo "$missing" >&2
        return 1
    fi
    printf '<html><body><h1 style="color:#c00">ops-watch 周报</h1></body></html>' >"$tmp/page.html"
    if ! timeout 120 "$chromium_wrapper" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$tmp/profile" --screenshot="$tmp/shot.png" --window-size=600,800 \
        "file://$tmp/page.html" >"$tmp/chromium.log" 2>&1 || [[ ! -s "$tmp/shot.png" ]]; then
        echo "chromium: the headless screenshot failed; its output:" >&2
        tail -20 "$tmp/chromium.log" >&2
        return 1
    fi
}

# Debian's chromium and the library packages of its dependency closure that the system lacks.
fetch_chromium_into() {
    local tmp="$1" p deb libs pkgs=() want=() unpacked=0
    private_apt "$tmp" || return 1
    # The status file is empty, so apt resolves the whole closure as if nothing were installed.
    mapfile -t pkgs < <(apt-get "${apt_opts[@]}" install -s -q --no-install-recommends chromium |
        awk '/^Inst / { print $2 }')
    if ((${#pkgs[@]} == 0)); then
        echo "chromium: apt-get resolved no packages (apt-get install -s chromium)" >&2
        return 1
    fi
    # Only chromium's own packages and shared library packages (Debian names them lib*) are of use:
    # the rest (dpkg, perl, systemd, icon themes, ...) are programs and data headless Chromium never
    # reads from here. The C library and the loader always stay the system's: two loaders break all.
    for p in "${pkgs[@]}"; do
        case "$p" in
            libc6 | libc-bin | libc6-*) ;;
            chromium | chromium-common | lib*) want+=("$p") ;;
        esac
    done
    (cd "$tmp/deb" && apt-get "${apt_opts[@]}" download "${want[@]}" >/dev/null) || return 1
    system_sonames >"$tmp/system-sonames"
    mkdir -p "$tools"
    for deb in "$tmp"/deb/*.deb; do
        p="$(dpkg-deb -f "$deb" Package)"
        if [[ "$p" != chromium && "$p" != chromium-common ]]; then
            libs="$(deb_sonames "$deb")"
            # No library in the loader's directories (plugins, data): nothing the loader would use.
            [[ -n "$libs" ]] || continue
            # The system has this library: keep its copy, never a second one beside it.
            grep -qxF -f <(printf '%s\n' "$libs") "$tmp/system-sonames" && continue
        fi
        dpkg-deb -x "$deb" "$tools" || return 1
        unpacked=$((unpacked + 1))
    done
    # Debian's launcher script calls /usr/lib/chromium/chromium, which is not there: the wrapper replaces it.
    rm -f "$tools/usr/bin/chromium"
    write_fonts_conf
    write_chromium_wrapper
    if ! verify_chromium "$tmp"; then
        rm -f "$chromium_wrapper"
        return 1
    fi
    echo "chromium $(dpkg-deb -f "$tmp"/deb/chromium_*.deb Version) unpacked into $tools ($unpacked packages; run $chromium_wrapper)"
}

fetch_cjk_font_into() {
    local tmp="$1"
    private_apt "$tmp" &&
        (cd "$tmp/deb" && apt-get "${apt_opts[@]}" download fonts-wqy-microhei >/dev/null) &&
        dpkg-deb -x "$tmp"/deb/fonts-wqy-microhei_*.deb "$tools" &&
        write_fonts_conf &&
        have_cjk_font &&
        echo "CJK font fonts-wqy-microhei unpacked into $tools/usr/share/fonts"
}

# Runs fetch_<what>_into in a temporary directory that is removed afterwards.
in_tmp() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    "$@" "$tmp" || rc=$?
    rm -rf "$tmp"
    return "$rc"
}

can_fetch() { ((check_only == 0)) && command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; }

if ! have_chromium; then
    if ! can_fetch; then
        echo "chromium missing: the HTML email rendering tests will skip (apt-get install chromium)" >&2
    elif ! in_tmp fetch_chromium_into; then
        echo "could not fetch chromium (apt-get download chromium and its libraries)" >&2
        if is_ci; then
            exit 1
        fi
    fi
fi

if ! have_cjk_font; then
    if ! can_fetch; then
        echo "no CJK font: Chinese renders as boxes (apt-get install fonts-noto-cjk or fonts-wqy-microhei)" >&2
    elif ! in_tmp fetch_cjk_font_into; then
        echo "could not fetch a CJK font (apt-get download fonts-wqy-microhei)" >&2
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
    extras=""
    have_chromium && extras+=", Chromium"
    have_cjk_font && extras+=", a CJK font"
    echo "test components: PostgreSQL, sshd, ssh, systemd-analyze, Prometheus, node_exporter, restic$extras all present"
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
