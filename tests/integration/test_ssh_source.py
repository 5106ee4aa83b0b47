"""The SSH source against OpenSSH's sshd started on 127.0.0.1 (tests/integration/sshd.py).

One sshd serves the module on several ports of 127.0.0.1: normal ones, one whose ForceCommand hangs
(`sleep 60`) and one whose ForceCommand is not a shell. Tests that stop or re-key a server start their
own. Needs root: sshd logs in as the current user (root) with a generated ed25519 key.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paramiko
import pytest
from conftest import require_component
from sshd import SSHD, Sshd, free_port, generate_key

from ops_watch.config import load_config
from ops_watch.sources import CollectResult, Target, TargetStatus
from ops_watch.sources.ssh import (
    KnownHosts,
    SshCollector,
    SshSettings,
    build,
    parse_address,
    parse_jump_host,
)

NORMAL_PORTS = 6


@pytest.fixture(scope="module")
def sshd_ok() -> None:
    if os.geteuid() != 0:
        pytest.skip("sshd tests need root: sshd switches to the logged-in user (run make test as root)")
    require_component(SSHD, "apt-get install openssh-server")


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory, sshd_ok: None) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("client") / "id_ed25519"
    return path, generate_key(path)


class Server:
    """The module's sshd and its ports."""

    def __init__(self, sshd: Sshd, ports: list[int], hang: int, not_shell: int):
        self.sshd, self.ports, self.hang, self.not_shell = sshd, ports, hang, not_shell

    @property
    def port(self) -> int:
        return self.ports[0]

    def known_hosts(self, *ports: int) -> str:
        return "".join(self.sshd.known_hosts_line(port=p) + "\n" for p in (ports or self.ports))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, client_key: tuple[Path, str]) -> Iterator[Server]:
    ports = [free_port() for _ in range(NORMAL_PORTS)]
    hang, not_shell = free_port(), free_port()
    sshd = Sshd(
        tmp_path_factory.mktemp("sshd"),
        [("127.0.0.1", p) for p in [*ports, hang, not_shell]],
        [client_key[1]],
        extra_config=(
            f"Match LocalPort {hang}\n    ForceCommand sleep 60\n"
            f"Match LocalPort {not_shell}\n    ForceCommand echo this account runs no shell\n"
        ),
    )
    sshd.start()
    try:
        yield Server(sshd, ports, hang, not_shell)
    finally:
        sshd.stop()


@pytest.fixture
def own_sshd(tmp_path: Path, client_key: tuple[Path, str]) -> Iterator[Callable[..., Sshd]]:
    """Factory for servers a test may stop, restart or re-key; all stopped at the end."""
    started: list[Sshd] = []

    def start(port: int | None = None, name: str = "own") -> Sshd:
        s = Sshd(tmp_path / name, [("127.0.0.1", port or free_port())], [client_key[1]])
        s.start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def make_collector(tmp_path: Path, client_key: tuple[Path, str]) -> Iterator[Callable[..., SshCollector]]:
    made: list[SshCollector] = []

    def make(
        hosts: list[tuple[str, str]] | None = None, known_hosts: str | None = "", **kw: object
    ) -> SshCollector:
        kh = tmp_path / "known_hosts"
        if known_hosts is not None:
            kh.write_text(known_hosts, encoding="ascii")
        settings = SshSettings(
            user="root",
            key_file=client_key[0],
            known_hosts=kh,
            hosts=[(rid, address, "") for rid, address in (hosts or [])],
            pool=8,
            connect_timeout=3,
            command_timeout=2,
        )
        for k, v in kw.items():
            setattr(settings, k, v)
        collector = SshCollector(settings)
        made.append(collector)
        return collector

    yield make
    for c in made:
        c.close()


def cycle(collector: SshCollector, targets: list[Target] | None = None) -> CollectResult:
    return collector.collect(targets or [], datetime.now(UTC))


def status_of(result: CollectResult, resource_id: str) -> TargetStatus:
    [st] = [s for s in result.statuses if s.target == resource_id]
    return st


def sample_ids(result: CollectResult) -> set[str]:
    return {s.resource_id for s in result.samples}


# ---- data ----------------------------------------------------------------------------------------


def test_first_poll_has_no_cpu_then_cpu_from_counter_deltas(server: Server, make_collector) -> None:
    collector = make_collector(known_hosts=server.known_hosts())
    targets = [Target("vm-1", f"127.0.0.1:{server.port}"), Target("vol-1", "")]  # a volume has no address
    first = cycle(collector, targets)
    assert first.statuses == [TargetStatus("vm-1", True)]
    [s1] = first.samples
    assert s1.cpu_pct is None  # one reading: nothing to take a delta from, and nothing slept on the host
    assert s1.mem_pct is not None and 0 < s1.mem_pct <= 100
    assert s1.storage_total_gb is not None and s1.storage_used_gb is not None
    assert 0 < s1.storage_used_gb <= s1.storage_total_gb
    transport = collector._sessions["vm-1"].transport

    time.sleep(0.3)  # let the jiffy counters move
    second = cycle(collector, targets)
    [s2] = second.samples
    assert s2.cpu_pct is not None and 0 <= s2.cpu_pct <= 100
    assert collector._sessions["vm-1"].transport is transport  # the connection was kept
    assert transport is not None and transport.is_active()


def test_config_hosts_beside_inventory_and_config_wins(server: Server, make_collector) -> None:
    collector = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{server.ports[1]}"), ("vm-2", f"127.0.0.1:{server.ports[2]}")],
        known_hosts=server.known_hosts(),
    )
    targets = [Target("vm-1", "127.0.0.1:1"), Target("vm-3", f"127.0.0.1:{server.ports[3]}")]
    result = cycle(collector, targets)
    assert sample_ids(result) == {"vm-1", "vm-2", "vm-3"}  # vm-1 from the config, not port 1
    assert all(s.ok for s in result.statuses)

    inventory_off = make_collector(hosts=[("vm-2", f"127.0.0.1:{server.ports[2]}")], from_inventory=False)
    assert {s.target for s in cycle(inventory_off, targets).statuses} == {"vm-2"}


def test_hashed_known_hosts_entry(server: Server, make_collector) -> None:
    key_type, b64 = server.sshd.host_public_line.split()[:2]
    hashed = paramiko.HostKeys.hash_host(f"[127.0.0.1]:{server.port}")
    collector = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{server.port}")], known_hosts=f"# hashed\n{hashed} {key_type} {b64}\n"
    )
    result = cycle(collector)
    assert status_of(result, "vm-1").ok
    assert sample_ids(result) == {"vm-1"}


# ---- host keys ---------------------------------------------------------------------------------


def test_unknown_host_key_takes_no_data(server: Server, make_collector, tmp_path: Path) -> None:
    other_port = server.ports[1]
    known = server.known_hosts(other_port)  # another [host]:port is known, not this one
    collector = make_collector(hosts=[("vm-1", f"127.0.0.1:{server.port}")], known_hosts=known)
    result = cycle(collector)
    st = status_of(result, "vm-1")
    assert (st.ok, st.error_kind) == (False, "host_key_unknown")
    assert st.error.startswith(f"vm-1 (127.0.0.1:{server.port}): host key ssh-ed25519 SHA256:")
    assert result.samples == []
    assert (tmp_path / "known_hosts").read_text(encoding="ascii") == known  # strict: nothing written


def test_changed_host_key_takes_no_data(server: Server, make_collector, tmp_path: Path) -> None:
    impostor = generate_key(tmp_path / "other_host_key").split()
    collector = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{server.port}")],
        known_hosts=f"[127.0.0.1]:{server.port} {impostor[0]} {impostor[1]}\n",
    )
    result = cycle(collector)
    st = status_of(result, "vm-1")
    assert (st.ok, st.error_kind) == (False, "host_key_changed")
    assert "CHANGED" in st.error and "line 1" in st.error
    assert result.samples == []


def test_revoked_host_key_is_refused(server: Server, make_collector) -> None:
    key_type, b64 = server.sshd.host_public_line.split()[:2]
    known = server.known_hosts() + f"@revoked * {key_type} {b64}\n"
    collector = make_collector(hosts=[("vm-1", f"127.0.0.1:{server.port}")], known_hosts=known)
    st = status_of(cycle(collector), "vm-1")
    assert (st.ok, st.error_kind) == (False, "host_key_changed")
    assert "@revoked" in st.error


def test_accept_new_records_first_key_and_refuses_a_changed_one(
    own_sshd, make_collector, tmp_path: Path
) -> None:
    first = own_sshd(name="first")
    port = first.listen[0][1]
    collector = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{port}")], known_hosts=None, host_key_policy="accept-new"
    )
    known_hosts = tmp_path / "known_hosts"
    assert not known_hosts.exists()

    result = cycle(collector)
    assert status_of(result, "vm-1").ok
    assert known_hosts.read_text(encoding="ascii") == first.known_hosts_line() + "\n"

    # The host is reinstalled (a new host key) on the same address: refused, and the file keeps the old key.
    first.stop()
    own_sshd(port=port, name="second")
    result = cycle(collector)
    st = status_of(result, "vm-1")
    assert (st.ok, st.error_kind) == (False, "host_key_changed")
    assert result.samples == []
    assert known_hosts.read_text(encoding="ascii") == first.known_hosts_line() + "\n"


def test_accept_new_from_many_threads_writes_every_key_once(
    server: Server, make_collector, tmp_path: Path
) -> None:
    hosts = [(f"vm-{i}", f"127.0.0.1:{p}") for i, p in enumerate(server.ports)]
    (tmp_path / "known_hosts").write_text("# written by hand\n", encoding="ascii")
    collector = make_collector(hosts=hosts, known_hosts=None, host_key_policy="accept-new", pool=len(hosts))
    result = cycle(collector)
    assert all(s.ok for s in result.statuses) and len(result.samples) == len(hosts)
    lines = (tmp_path / "known_hosts").read_text(encoding="ascii").splitlines()
    assert lines[0] == "# written by hand"
    assert sorted(lines[1:]) == sorted(server.known_hosts().splitlines())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    strict = make_collector(hosts=hosts, known_hosts=None)  # the file as written, now checked strictly
    assert all(s.ok for s in cycle(strict).statuses)


# ---- failures that never stop the others ---------------------------------------------------------


def test_down_host_is_unreachable_and_others_still_give_data(server: Server, make_collector) -> None:
    closed = free_port()
    collector = make_collector(
        hosts=[("vm-down", f"127.0.0.1:{closed}"), ("vm-up", f"127.0.0.1:{server.port}")],
        known_hosts=server.known_hosts(),
    )
    result = cycle(collector)
    st = status_of(result, "vm-down")
    assert (st.ok, st.error_kind) == (False, "unreachable")
    assert st.error == f"vm-down (127.0.0.1:{closed}): connection refused"
    assert status_of(result, "vm-up").ok
    assert sample_ids(result) == {"vm-up"}


def test_hanging_command_times_out_and_others_are_not_delayed(server: Server, make_collector) -> None:
    collector = make_collector(
        hosts=[("vm-hang", f"127.0.0.1:{server.hang}"), ("vm-up", f"127.0.0.1:{server.port}")],
        known_hosts=server.known_hosts(server.hang, server.port),
    )
    for _ in range(2):  # the next cycle opens a new shell, which hangs again
        started = time.monotonic()
        result = cycle(collector)
        elapsed = time.monotonic() - started
        st = status_of(result, "vm-hang")
        assert (st.ok, st.error_kind) == (False, "timeout")
        assert st.error == f"vm-hang (127.0.0.1:{server.hang}): no complete output within 2s"
        assert sample_ids(result) == {"vm-up"}
        assert elapsed < 30  # bounded by the command timeout, not by the 60 s the command sleeps


def test_silent_server_is_a_handshake_timeout(server: Server, make_collector) -> None:
    """A port that accepts TCP and never speaks SSH (an overloaded or wrong service)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        collector = make_collector(
            hosts=[("vm-silent", f"127.0.0.1:{port}"), ("vm-up", f"127.0.0.1:{server.port}")],
            known_hosts=server.known_hosts(),
            connect_timeout=1,
        )
        result = cycle(collector)
    st = status_of(result, "vm-silent")
    assert (st.ok, st.error_kind) == (False, "timeout")
    assert st.error == f"vm-silent (127.0.0.1:{port}): the SSH handshake did not finish within 1s"
    assert sample_ids(result) == {"vm-up"}


def test_unreadable_known_hosts_polls_nothing(server: Server, make_collector, tmp_path: Path) -> None:
    collector = make_collector(hosts=[("vm-1", f"127.0.0.1:{server.port}")], known_hosts=None)
    collector.known_hosts.path = tmp_path  # a directory
    st = status_of(cycle(collector), "vm-1")
    assert (st.ok, st.error_kind) == (False, "config")
    assert "cannot read known_hosts" in st.error


def test_output_that_is_not_our_shell_is_a_parse_failure(server: Server, make_collector) -> None:
    collector = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{server.not_shell}")], known_hosts=server.known_hosts(server.not_shell)
    )
    st = status_of(cycle(collector), "vm-1")
    assert (st.ok, st.error_kind) == (False, "parse")
    assert "this account runs no shell" in st.error


def test_broken_connection_is_reopened_next_cycle(own_sshd, make_collector) -> None:
    server = own_sshd()
    port = server.listen[0][1]
    collector = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{port}")], known_hosts=server.known_hosts_line() + "\n"
    )
    assert cycle(collector).samples[0].cpu_pct is None
    before = collector._sessions["vm-1"].transport

    server.restart()  # sshd and every session process killed, started again on the same port
    time.sleep(0.3)
    result = cycle(collector)
    assert status_of(result, "vm-1").ok
    after = collector._sessions["vm-1"].transport
    assert after is not before and after is not None and after.is_active()
    assert result.samples[0].cpu_pct is not None  # the counters of the host outlive its connection

    after.close()  # the connection dropped on our side
    time.sleep(0.1)
    result = cycle(collector)
    assert status_of(result, "vm-1").ok
    assert collector._sessions["vm-1"].transport is not after


def test_wrong_key_or_user_is_auth(server: Server, make_collector, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    generate_key(stranger)
    address = f"127.0.0.1:{server.port}"
    wrong_key = make_collector(hosts=[("vm-1", address)], known_hosts=server.known_hosts(), key_file=stranger)
    st = status_of(cycle(wrong_key), "vm-1")
    assert (st.ok, st.error_kind) == (False, "auth")
    assert f"user 'root': the server refused key file {stranger}" in st.error

    wrong_user = make_collector(
        hosts=[("vm-1", address)], known_hosts=server.known_hosts(), user="nosuchuser"
    )
    st = status_of(cycle(wrong_user), "vm-1")
    assert (st.ok, st.error_kind) == (False, "auth")
    assert "user 'nosuchuser'" in st.error


def test_jump_host(server: Server, make_collector) -> None:
    through = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{server.ports[1]}"), ("vm-2", f"127.0.0.1:{server.ports[2]}")],
        known_hosts=server.known_hosts(),
        jump_host=f"root@127.0.0.1:{server.port}",
    )
    result = cycle(through)
    assert sample_ids(result) == {"vm-1", "vm-2"}
    assert through.jump is not None and through.jump._transport is not None

    closed = free_port()
    dead_jump = make_collector(
        hosts=[("vm-1", f"127.0.0.1:{server.ports[1]}"), ("vm-2", f"127.0.0.1:{server.ports[2]}")],
        known_hosts=server.known_hosts(),
        jump_host=f"127.0.0.1:{closed}",
    )
    result = cycle(dead_jump)
    assert result.samples == []
    for st in result.statuses:
        assert (st.ok, st.error_kind) == (False, "unreachable")
        assert f"jump host root@127.0.0.1:{closed}: connection refused" in st.error


def test_built_from_config_with_an_encrypted_key(server: Server, config_file, tmp_path: Path) -> None:
    key = tmp_path / "id_encrypted"
    public = generate_key(key, passphrase="correct horse")
    server.sshd.authorized_keys.append(public)
    server.sshd.write_config()  # authorized_keys is read at each login
    (tmp_path / "passphrase").write_text("correct horse\n", encoding="utf-8")
    (tmp_path / "hosts").write_text(server.known_hosts(), encoding="ascii")
    path = config_file(
        f"""
[collect.ssh]
enabled = true
user = "root"
key_file = "{key.name}"
passphrase_file = "passphrase"
known_hosts = "hosts"
connect_timeout = "3s"
command_timeout = "2s"
pool = 4
[[collect.ssh.hosts]]
resource_id = "vm-1"
address = "127.0.0.1:{server.port}"
"""
    )
    config = load_config(path)
    collector = build(config)
    assert collector is not None
    try:
        result = cycle(collector)
        assert [s.ok for s in result.statuses] == [True]
        assert sample_ids(result) == {"vm-1"}
    finally:
        collector.close()

    (tmp_path / "passphrase").write_text("wrong\n", encoding="utf-8")
    collector = build(load_config(path))
    assert collector is not None
    try:
        st = status_of(cycle(collector), "vm-1")
        assert (st.ok, st.error_kind) == (False, "auth")
        assert f"cannot load key file {key}" in st.error
    finally:
        collector.close()

    assert build(load_config(config_file("[collect.ssh]\nenabled = false\n", name="off.toml"))) is None


def test_close_closes_every_connection(server: Server, make_collector) -> None:
    collector = make_collector(
        hosts=[(f"vm-{i}", f"127.0.0.1:{p}") for i, p in enumerate(server.ports[:3])],
        known_hosts=server.known_hosts(),
    )
    assert len(cycle(collector).samples) == 3
    transports = [s.transport for s in collector._sessions.values()]
    collector.close()
    assert all(t is not None and not t.is_active() for t in transports)
    assert collector._sessions == {}
    with pytest.raises(RuntimeError):
        cycle(collector)


# ---- pure parts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.1.2.3", ("10.1.2.3", 22)),
        ("10.1.2.3:2222", ("10.1.2.3", 2222)),
        ("host.example", ("host.example", 22)),
        ("[fe80::1]:2200", ("fe80::1", 2200)),
        ("fe80::1", ("fe80::1", 22)),
    ],
)
def test_parse_address(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address, 22) == expected


@pytest.mark.parametrize("address", ["", "10.1.2.3:0", "10.1.2.3:x", "[fe80::1", "[fe80::1]x"])
def test_parse_address_refuses(address: str) -> None:
    with pytest.raises(ValueError):
        parse_address(address, 22)


def test_bad_address_is_a_config_status(make_collector) -> None:
    collector = make_collector(hosts=[("vm-1", "10.1.2.3:99999")])
    st = status_of(cycle(collector), "vm-1")
    assert (st.ok, st.error_kind) == (False, "config")


def test_parse_jump_host() -> None:
    assert parse_jump_host("ops@bastion:2222", "opswatch") == ("ops", "bastion", 2222)
    assert parse_jump_host("bastion", "opswatch") == ("opswatch", "bastion", 22)


def test_known_hosts_patterns(tmp_path: Path) -> None:
    blob_line = generate_key(tmp_path / "k").split()
    key_type, b64 = blob_line[0], blob_line[1]
    path = tmp_path / "known_hosts"
    path.write_text(
        f"*.prod.example,!db.prod.example {key_type} {b64}\n[10.0.0.?]:2222 {key_type} {b64}\nbad.example ssh-ed25519 !!not-base64!!\n",
        encoding="ascii",
    )
    kh = KnownHosts(path, "strict")
    assert [e.line for e in kh.entries_for("web.prod.example")] == [1]
    assert kh.entries_for("db.prod.example") == []
    assert [e.line for e in kh.entries_for("[10.0.0.7]:2222")] == [2]
    assert kh.entries_for("10.0.0.7") == []
    assert kh.problems == ["line 3: the key is not base64"]


def test_accept_new_writes_are_serialized(tmp_path: Path) -> None:
    """Many threads accepting keys of different hosts at once: every line lands, none twice."""
    path = tmp_path / "known_hosts"
    kh = KnownHosts(path, "accept-new")
    key_type, b64 = generate_key(tmp_path / "k").split()[:2]
    blob = base64.b64decode(b64)
    names = [f"[127.0.0.1]:{20000 + i}" for i in range(40)]
    threads = [threading.Thread(target=kh.verify, args=(n, key_type, blob)) for n in names for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text(encoding="ascii").splitlines()
    assert sorted(lines) == sorted(f"{n} {key_type} {b64}" for n in names)
