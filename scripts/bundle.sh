#!/usr/bin/env bash
# Build the offline bundle: one archive with everything an install on a machine without network needs.
#
#   dist/ops-watch-<version>-py<PYVER>-linux_<arch>.tar.gz
#     ops-watch-<version>-py311-linux_x86_64/
#       INSTALL.txt                 the offline commands, in Chinese and English
#       wheels/                     ops-watch's wheel and every dependency's wheel (requirements/runtime.lock,
#                                   the postgres extra's driver included) for PYVER and PLATFORM
#       requirements/runtime.lock   the exact versions, used as constraints by the install
#       config.example.toml rules/  the example config and the default rules (the wheel carries them too)
#       deploy/systemd/             the unit files and the sysusers file (docs/install.md)
#       SHA256SUMS                  of every file above
#
# Run on a machine with the package index (pip.conf); the target needs no network. Variables:
#   PYTHON    the Python that runs pip here (default python3; any 3.11+, the target's wheels are chosen by tags)
#   PYVER     the target's Python, major.minor (default 3.11; the lock was resolved for 3.11)
#   PLATFORM  the target's oldest accepted wheel platform (default manylinux_2_28_x86_64: glibc 2.28 or newer);
#             wheels tagged for it or any older manylinux are taken
#   DIST      where the archive is written (default dist/)
# Only wheels are taken (--only-binary=:all:): a dependency with no wheel for the target fails the build,
# naming it, rather than ship a source archive the target would need a compiler and build tools for.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
python="${PYTHON:-python3}"
pyver="${PYVER:-3.11}"
platform="${PLATFORM:-manylinux_2_28_x86_64}"
dist="${DIST:-dist}"
lock=requirements/runtime.lock

[[ -f "$lock" ]] || { echo "error: $lock is missing; generate it with scripts/lock.sh" >&2; exit 1; }
if [[ ! "$platform" =~ ^manylinux_2_([0-9]+)_(x86_64|aarch64)$ ]]; then
    echo "error: PLATFORM must look like manylinux_2_28_x86_64 (glibc 2.28, x86_64), not '$platform'" >&2
    exit 1
fi
glibc_minor="${BASH_REMATCH[1]}"
arch="${BASH_REMATCH[2]}"
# pip takes a wheel only for a platform it is given literally, so list every manylinux tag the target accepts:
# manylinux_2_<N> down to 2_5, and the legacy names (manylinux2014 = 2_17, manylinux2010 = 2_12, manylinux1 = 2_5).
platforms=()
for ((minor = glibc_minor; minor >= 5; minor--)); do
    platforms+=(--platform "manylinux_2_${minor}_${arch}")
    case "$minor" in
        17) platforms+=(--platform "manylinux2014_${arch}") ;;
        12) platforms+=(--platform "manylinux2010_${arch}") ;;
        5) platforms+=(--platform "manylinux1_${arch}") ;;
    esac
done
target=(--only-binary=:all: "${platforms[@]}" --python-version "$pyver" --implementation cp)

version="$("$python" -c 'import sys, tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
name="ops-watch-${version}-py${pyver//./}-linux_${arch}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/wheels" "$stage/requirements" "$stage/deploy"

"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check)

# The wheel is built from a clean copy of the checkout (tracked and new files, nothing ignored), so a stale
# build/ or a local egg-info can never slip into it.
echo "building the ops-watch $version wheel"
if ! git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "error: $repo is not a git checkout; make bundle builds the wheel from the checkout's files" >&2
    exit 1
fi
mkdir "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' path; do [[ -e "$path" ]] && printf '%s\0' "$path"; done |
    tar --null -T - -cf - | tar -xf - -C "$work/src"
"${pip[@]}" wheel --quiet --no-deps --wheel-dir "$stage/wheels" "$work/src"

echo "downloading the wheels of $lock for CPython $pyver on $platform (or older)"
if ! "${pip[@]}" download --quiet --no-deps "${target[@]}" --dest "$stage/wheels" -r "$lock"; then
    echo "error: a dependency in $lock has no wheel for CPython $pyver on $platform (see pip's message above)" >&2
    exit 1
fi

# Check the bundle as the target will use it: ops-watch and its postgres extra resolve from wheels/ alone.
# (pip takes the target's tags only with --target; --dry-run writes nothing there.)
"${pip[@]}" install --quiet --dry-run --ignore-installed --no-index --find-links "$stage/wheels" \
    "${target[@]}" --target "$work/target" --constraint "$lock" 'ops-watch[postgres]'

cp "$lock" "$stage/requirements/"
cp config.example.toml "$stage/"
cp -r rules "$stage/rules"
cp -r deploy/systemd "$stage/deploy/systemd"
sed -e "s/@NAME@/$name/g" -e "s/@PYVER@/$pyver/g" -e "s/@GLIBC@/2.$glibc_minor/g" -e "s/@ARCH@/$arch/g" \
    >"$stage/INSTALL.txt" <<'TXT'
@NAME@: ops-watch 离线安装包 / offline install bundle
目标 / target: Linux @ARCH@, CPython @PYVER@, glibc >= @GLIBC@ (ldd --version)

== 中文 ==
本包不需要网络。需要 Python @PYVER@（python3 -V 查看；见 docs/install.md「离线安装」中各发行版获取 3.11 的方法）。
以 root 执行，在本文件所在目录：

  sha256sum -c SHA256SUMS                       # 校验文件完整
  python3.11 -m venv /opt/ops-watch/venv
  /opt/ops-watch/venv/bin/pip install --no-index --find-links wheels -c requirements/runtime.lock ops-watch
  #   使用 PostgreSQL 时改为：... 'ops-watch[postgres]'
  /opt/ops-watch/venv/bin/ops-watch --version

之后按 docs/install.md 第 2 步起（用户、配置、systemd 单元）操作，文中的 /path/to/ops-watch 即本目录：
本目录下有 config.example.toml、rules/ 与 deploy/systemd/。
升级：解压新版本的包，执行同样的 pip install 命令（加 --upgrade），然后 systemctl restart ops-watch。

== English ==
No network needed. Needs Python @PYVER@ (check with python3 -V; docs/install.md, "Offline install from the
bundle", says how to get 3.11 on each distribution). As root, in the directory of this file:

  sha256sum -c SHA256SUMS                       # the files arrived whole
  python3.11 -m venv /opt/ops-watch/venv
  /opt/ops-watch/venv/bin/pip install --no-index --find-links wheels -c requirements/runtime.lock ops-watch
  #   with PostgreSQL: ... 'ops-watch[postgres]'
  /opt/ops-watch/venv/bin/ops-watch --version

Then follow docs/install.md from step 2 (the user, the config, the systemd units), with this directory as
/path/to/ops-watch: it holds config.example.toml, rules/ and deploy/systemd/.
To upgrade: unpack the new bundle, run the same pip install with --upgrade, then systemctl restart ops-watch.
TXT
(cd "$stage" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum >SHA256SUMS)

mkdir -p "$dist"
archive="$dist/$name.tar.gz"
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner -czf "$archive.part" "$name"
mv "$archive.part" "$archive"
echo "wrote $archive ($(du -h "$archive" | cut -f1), $(find "$stage/wheels" -name '*.whl' | wc -l) wheels)"
