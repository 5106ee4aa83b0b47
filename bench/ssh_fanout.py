"""SSH fan-out: one collection cycle over N hosts, cold (new connections) and warm (kept), beside Ansible.

    sudo python bench/ssh_fanout.py                      # N = 200, pool 50
    sudo python bench/ssh_fanout.py --hosts 50 --no-ansible

N "hosts" are distinct loopback addresses 127.0.x.y, served by ceil(N/16) OpenSSH sshd processes (one
sshd listens on at most 16 addresses) on one port, all with the same host key. Every client checks host
keys against the same known_hosts file. The login is a dedicated user with a clean home and /bin/sh as
its shell (created with useradd and removed at the end; root when useradd is missing), so no rc file
runs per session.

Printed for our collector: wall seconds, client CPU seconds (getrusage of this process: every thread) and
this process's peak RSS (it imports what the daemon imports), for a cold cycle (new collector: handshakes) and warm cycles (kept connections
and shells). Beside it, when ansible-core is installed: `ansible all -m raw -a <the same command> -f POOL`,
cold (fresh ControlPath directory) and warm (its ControlPersist masters still up), with the OpenSSH
client's default key exchange and with curve25519-sha256 (paramiko's). Its CPU is that of ansible and
its ssh processes (getrusage of children). Then the targets and whether each was met:
cold at least 3x faster than Ansible's cold, warm at least 10x faster than our cold, RSS under 120 MB.
Must run as root (sshd). Stops every sshd it started, and any ssh control master, at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pwd
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from sshd import SSHD, Sshd, free_port, generate_key  # noqa: E402

# What the daemon imports, so that the RSS printed is the daemon's, not a bare script's.
import ops_watch.daemon  # noqa: E402, F401
from ops_watch import plugins  # noqa: E402
from ops_watch.sources.procfs import SNAPSHOT_SCRIPT  # noqa: E402
from ops_watch.sources.ssh import SshCollector, SshSettings  # noqa: E402

plugins.load()

BENCH_USER = "opswatch-bench"
PER_SSHD = 16


@dataclass
class Figures:
    label: str
    wall: float
    cpu: float
    ok: int
    total: int
    rss_mb: float | None = None

    def line(self) -> str:
        rss = f"{self.rss_mb:7.1f} MB" if self.rss_mb is not None else "        -"
        return f"  {self.label:<44} {self.wall:8.2f} s wall {self.cpu:8.2f} s CPU {rss}   {self.ok}/{self.total} ok"


def addresses(n: int) -> list[str]:
    # 127.0.1.1 ... 127.0.1.250, 127.0.2.1 ...: never 127.0.0.1, which other services on this box use.
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_user(home: Path) -> tuple[str, bool]:
    """(login name, created by us). A dedicated user with a clean home and /bin/sh; else root."""
    if shutil.which("useradd") is None:
        print("  useradd not found: logging in as root (its rc files run per session)")
        return "root", False
    with contextlib.suppress(KeyError):
        pwd.getpwnam(BENCH_USER)
        subprocess.run(["userdel", BENCH_USER], check=False, capture_output=True)
    done = subprocess.run(
        # password "*": no password, but not a locked account ("!"), which sshd without PAM refuses
        [
            "useradd",
            "--home-dir",
            str(home),
            "--create-home",
            "--shell",
            "/bin/sh",
            "--password",
            "*",
            BENCH_USER,
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"  useradd failed ({done.stderr.strip()}): logging in as root")
        return "root", False
    return BENCH_USER, True


def our_cycles(
    hosts: list[str], port: int, user: str, key: Path, known_hosts: Path, pool: int, warm_rounds: int
) -> tuple[Figures, list[Figures]]:
    settings = SshSettings(
        user=user,
        port=port,
        from_inventory=False,
        hosts=[(f"vm-{i:04d}", address, "") for i, address in enumerate(hosts)],
        key_file=key,
        known_hosts=known_hosts,
        host_key_policy="strict",
        pool=pool,
        connect_timeout=30,
        command_timeout=30,
    )
    collector = SshCollector(settings)
    try:
        figures = []
        for round_ in range(1 + warm_rounds):
            cpu0, t0 = self_cpu(), time.perf_counter()
            result = collector.collect([], datetime.now(UTC))
            wall, cpu = time.perf_counter() - t0, self_cpu() - cpu0
            ok = sum(1 for s in result.statuses if s.ok)
            if ok < len(hosts):
                failures = [s.error for s in result.statuses if not s.ok]
                print(f"  {len(failures)} failed, e.g. {failures[:3]}")
            label = "ops-watch cold (new connections)" if round_ == 0 else f"ops-watch warm #{round_}"
            figures.append(Figures(label, wall, cpu, ok, len(hosts), peak_rss_mb()))
            time.sleep(0.3)  # let the CPU counters move, as between real cycles
        cpu0, t0 = self_cpu(), time.perf_counter()
        time.sleep(5)
        idle = (self_cpu() - cpu0) / (time.perf_counter() - t0)
        print(f"  idle, {len(hosts)} connections kept open: {100 * idle:.1f} % of one core")
        return figures[0], figures[1:]
    finally:
        collector.close()


def ansible_cycle(
    ansible: str,
    workdir: Path,
    hosts: list[str],
    port: int,
    user: str,
    key: Path,
    known_hosts: Path,
    pool: int,
    kex: str | None,
) -> tuple[Figures, Figures]:
    """Cold and warm `ansible all -m raw` with host key checking on; (cold, warm)."""
    tag = kex or "default kex"
    run_dir = workdir / f"ansible-{(kex or 'default').replace('@', '_')}"
    control = run_dir / "cp"
    control.mkdir(parents=True)
    inventory = run_dir / "hosts.ini"
    inventory.write_text("[all]\n" + "".join(f"{h}\n" for h in hosts), encoding="ascii")
    ssh_args = [
        "-o ControlMaster=auto",
        "-o ControlPersist=60s",
        "-o StrictHostKeyChecking=yes",
        f"-o UserKnownHostsFile={known_hosts}",
        "-o GlobalKnownHostsFile=/dev/null",
        "-o IdentitiesOnly=yes",
    ]
    if kex:
        ssh_args.append(f"-o KexAlgorithms={kex}")
    cfg = run_dir / "ansible.cfg"
    cfg.write_text(
        "[defaults]\n"
        "host_key_checking = True\n"
        f"remote_user = {user}\n"
        f"private_key_file = {key}\n"
        f"forks = {pool}\n"
        "gathering = explicit\n"
        "[ssh_connection]\n"
        f"ssh_args = {' '.join(ssh_args)}\n"
        f"control_path_dir = {control}\n"
        "control_path = %(directory)s/%%h\n"
        "pipelining = False\n",
        encoding="ascii",
    )
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(cfg),
        ANSIBLE_HOME=str(run_dir / "home"),
        ANSIBLE_LOCAL_TEMP=str(run_dir / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER="auto_silent",
    )
    command = [ansible, "all", "-i", str(inventory), "-e", f"ansible_port={port}", "-m", "raw"]
    command += ["-a", SNAPSHOT_SCRIPT, "-f", str(pool), "-o"]
    out = []
    try:
        for phase in ("cold", "warm"):
            cpu0, t0 = children_cpu(), time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
            wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
            ok = sum(1 for line in done.stdout.splitlines() if "| CHANGED |" in line or "| SUCCESS |" in line)
            if ok < len(hosts):
                bad = [line[:160] for line in done.stdout.splitlines() if "| CHANGED |" not in line][:3]
                print(f"  ansible {phase}: {len(hosts) - ok} failed, e.g. {bad or done.stderr[-300:]}")
            label = f"Ansible -m raw {phase} ({tag})"
            out.append(Figures(label, wall, cpu, ok, len(hosts)))
    finally:
        for sock in control.iterdir():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"],
                capture_output=True,
                check=False,
                timeout=10,
            )
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--pool", type=int, default=50)
    parser.add_argument("--warm-rounds", type=int, default=5)
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("ssh_fanout: run as root (it starts sshd processes and logs in to them)", file=sys.stderr)
        return 2
    if not os.access(SSHD, os.X_OK):
        print(f"ssh_fanout: {SSHD} not found: apt-get install openssh-server", file=sys.stderr)
        return 2

    print(f"RSS after the daemon's imports: {peak_rss_mb():.1f} MB")
    workdir = Path(tempfile.mkdtemp(prefix="ops-watch-ssh-bench-"))
    os.chmod(workdir, 0o755)  # the bench user reads authorized_keys and its key below it
    servers: list[Sshd] = []
    user, created_user = "root", False
    try:
        user, created_user = make_user(workdir / "home")
        key = workdir / "id_ed25519"
        public = generate_key(key)
        hosts = addresses(args.hosts)
        port = free_port()
        host_key = workdir / "ssh_host_ed25519_key"
        generate_key(host_key, comment="host")
        for i in range(math.ceil(len(hosts) / PER_SSHD)):
            chunk = hosts[i * PER_SSHD : (i + 1) * PER_SSHD]
            servers.append(
                Sshd(workdir / f"sshd-{i:02d}", [(h, port) for h in chunk], [public], host_key=host_key)
            )
        t0 = time.perf_counter()
        for server in servers:
            server.start()
        print(
            f"{len(hosts)} hosts on {len(servers)} sshd processes (port {port}), pool {args.pool}, "
            f"user {user}; started in {time.perf_counter() - t0:.1f} s"
        )
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(
            "".join(servers[0].known_hosts_line(h, port) + "\n" for h in hosts), encoding="ascii"
        )

        cold, warm = our_cycles(hosts, port, user, key, known_hosts, args.pool, args.warm_rounds)
        print("\nops-watch (paramiko, curve25519, a kept shell per host):")
        print(cold.line())
        for w in warm:
            print(w.line())
        warm_wall = statistics.median(w.wall for w in warm)
        warm_cpu = statistics.median(w.cpu for w in warm)
        print(f"  {'warm median':<44} {warm_wall:8.2f} s wall {warm_cpu:8.2f} s CPU")
        rss = max([cold.rss_mb or 0.0] + [w.rss_mb or 0.0 for w in warm])

        ansible_cold: dict[str, Figures] = {}
        ansible = shutil.which("ansible") or shutil.which("ansible", path=str(Path(sys.executable).parent))
        if args.no_ansible:
            print("\nAnsible: skipped (--no-ansible)")
        elif ansible is None:
            print("\nAnsible: not installed (pip install ansible-core); no comparison")
        else:
            version = subprocess.run(
                [ansible, "--version"], capture_output=True, text=True
            ).stdout.splitlines()
            print(
                f"\n{version[0] if version else 'ansible'} (OpenSSH client, StrictHostKeyChecking=yes, same known_hosts):"
            )
            for kex in (None, "curve25519-sha256"):
                a_cold, a_warm = ansible_cycle(
                    ansible, workdir, hosts, port, user, key, known_hosts, args.pool, kex
                )
                print(a_cold.line())
                print(a_warm.line())
                ansible_cold[kex or "default"] = a_cold

        print("\nTargets:")
        for name, a in ansible_cold.items():
            ratio = a.wall / cold.wall
            verdict = "met" if ratio >= 3 else "NOT met"
            print(f"  cold >= 3x faster than Ansible cold ({name} kex): {ratio:.1f}x  {verdict}")
        if not ansible_cold:
            print("  cold >= 3x faster than Ansible: not measured (no Ansible)")
        ratio = cold.wall / warm_wall
        print(
            f"  warm >= 10x faster than our cold: {ratio:.1f}x (median warm)  {'met' if ratio >= 10 else 'NOT met'}"
        )
        print(f"  RSS < 120 MB: peak {rss:.1f} MB  {'met' if rss < 120 else 'NOT met'}")
        return 0
    finally:
        for server in servers:
            server.stop()
        if created_user:
            subprocess.run(["userdel", BENCH_USER], check=False, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
