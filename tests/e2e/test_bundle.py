"""The offline bundle as a police network gets it: built with `make bundle`'s script, unpacked, installed into a
fresh venv with the package index switched off, and run.

The bundle is built once for the module (for CPython 3.11, the lock's Python, on this machine's platform; the
build needs the package index, the install does not). pip is cut off from every index and pip.conf (the
environment is scrubbed of PIP_* variables, PIP_CONFIG_FILE is /dev/null, the index URL points at a closed
port), so a wheel missing from the bundle fails the install instead of being fetched from the mirror.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 600  # the build downloads ~60 MB of wheels; a slow mirror must not hang the suite forever

if sys.version_info[:2] != (3, 11) or sys.platform != "linux" or platform.machine() != "x86_64":
    pytest.skip("the lock and the bundle are for CPython 3.11 on Linux x86_64", allow_module_level=True)


def offline_env() -> dict[str, str]:
    """The environment with no way to an index: no PIP_* settings, no pip.conf, an unreachable index URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PIP_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    env["PIP_CONFIG_FILE"] = os.devnull  # pip then reads no config file at all (global, site or user)
    env["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple/"  # the discard port: nothing listens
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))}: exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked bundle's directory."""
    dist = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PYTHON=sys.executable, PYVER="3.11", DIST=str(dist))
    run("bash", REPO / "scripts" / "bundle.sh", cwd=REPO, env=env)
    archives = list(dist.glob("ops-watch-*-py311-linux_x86_64.tar.gz"))
    assert len(archives) == 1, f"expected one bundle in {dist}, found {archives}"
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(unpacked, filter="data")
    (top,) = unpacked.iterdir()
    assert top.name == archives[0].name.removesuffix(".tar.gz")
    return top


def lock_names(lock: Path) -> set[str]:
    return {
        line.split("==")[0].lower().replace("_", "-")
        for line in lock.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }


def wheel_name(wheel: Path) -> str:
    return wheel.name.split("-")[0].lower().replace("_", "-")


def fresh_venv(where: Path) -> Path:
    run(sys.executable, "-m", "venv", where, cwd=where.parent, env=offline_env())
    return where / "bin"


def test_the_bundle_holds_the_lock_the_wheels_the_units_and_the_config(bundle):
    lock = bundle / "requirements" / "runtime.lock"
    assert lock.read_bytes() == (REPO / "requirements" / "runtime.lock").read_bytes()
    wheels = sorted((bundle / "wheels").glob("*.whl"))
    assert {wheel_name(w) for w in wheels} == lock_names(lock) | {"ops-watch"}
    assert not [p for p in (bundle / "wheels").iterdir() if p.suffix != ".whl"], "only wheels, no sdists"
    for unit in (REPO / "deploy" / "systemd").iterdir():
        assert (bundle / "deploy" / "systemd" / unit.name).read_bytes() == unit.read_bytes()
    assert (bundle / "config.example.toml").read_bytes() == (REPO / "config.example.toml").read_bytes()
    assert sorted(p.name for p in (bundle / "rules").iterdir()) == sorted(
        p.name for p in (REPO / "rules").iterdir()
    )
    install = (bundle / "INSTALL.txt").read_text(encoding="utf-8")
    assert "离线" in install and "--no-index --find-links wheels" in install
    sums = run("sha256sum", "--quiet", "-c", "SHA256SUMS", cwd=bundle)
    assert sums.stdout == ""


def test_installs_with_no_index_and_runs(bundle, tmp_path):
    env = offline_env()
    bin_dir = fresh_venv(tmp_path / "venv")
    run(bin_dir / "pip", "install", "--no-index", "--find-links", bundle / "wheels",
        "-c", bundle / "requirements" / "runtime.lock", "ops-watch", cwd=tmp_path, env=env)  # fmt: skip
    # The exact versions of the lock, ops-watch from its wheel (not this checkout), no test tools.
    frozen = run(bin_dir / "pip", "freeze", cwd=tmp_path, env=env).stdout.splitlines()
    installed = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in frozen}
    assert installed.pop("ops-watch") == "0.1.0"
    locked = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (bundle / "requirements" / "runtime.lock").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert set(installed) <= set(locked), f"not in the lock: {set(installed) - set(locked)}"
    assert all(installed[name] == locked[name] for name in installed)
    assert "pytest" not in installed and "psycopg" not in installed

    ops = bin_dir / "ops-watch"
    assert run(ops, "--version", cwd=tmp_path, env=env).stdout.strip().endswith("0.1.0")
    assert "Usage:" in run(ops, "--help", cwd=tmp_path, env=env).stdout

    # The wheel carries the default rules and the example config, identical to the repository's.
    where = run(
        bin_dir / "python", "-c",
        "from ops_watch.core.packaged import data_files; d = data_files(); print(d.rules_dir); print(d.example_config)",
        cwd=tmp_path, env=env,
    ).stdout.split("\n")  # fmt: skip
    rules_dir, example = Path(where[0]), Path(where[1])
    assert rules_dir.is_relative_to(tmp_path / "venv") and example.is_relative_to(tmp_path / "venv")
    assert example.read_bytes() == (REPO / "config.example.toml").read_bytes()
    for rule in (REPO / "rules").glob("*.toml"):
        assert (rules_dir / rule.name).read_bytes() == rule.read_bytes(), rule.name

    # A site made from the bundle's example config and rules: the config checks and one pass runs on SQLite.
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(bundle / "config.example.toml", site / "config.toml")
    shutil.copytree(bundle / "rules", site / "rules")
    shutil.copytree(REPO / "examples", site / "var" / "drop")
    run(ops, "--config", site / "config.toml", "config", "check", cwd=site, env=env)
    run(ops, "--config", site / "config.toml", "--log-level", "warning", "run", "--once", cwd=site, env=env)
    assert (site / "var" / "ops-watch.db").is_file()


def test_a_missing_wheel_fails_the_install(bundle, tmp_path):
    """The install really has no index: take one dependency's wheel away and pip cannot complete it."""
    wheels = tmp_path / "wheels"
    shutil.copytree(bundle / "wheels", wheels)
    (missing,) = wheels.glob("click-*.whl")
    missing.unlink()
    bin_dir = fresh_venv(tmp_path / "venv")
    proc = run(bin_dir / "pip", "install", "--no-index", "--find-links", wheels,
               "-c", bundle / "requirements" / "runtime.lock", "ops-watch",
               cwd=tmp_path, env=offline_env(), check=False)  # fmt: skip
    assert proc.returncode != 0
    # pip names the package it cannot find (as a conflict with the lock's pin, or as no matching distribution).
    assert "click" in proc.stdout + proc.stderr
