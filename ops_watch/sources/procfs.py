"""Pure parsers of what a Linux host says about itself: `/proc/stat`, `/proc/meminfo` and `df -P -k`.

No transport here: the SSH source runs one command (`SNAPSHOT_SCRIPT`) that prints each file after a
section marker, and `parse_snapshot` turns its output into counters and figures. Each parser raises
ParseError naming the section and what was wrong, quoting the offending text.

CPU % needs two readings: `cpu_percent(prev, cur)` from the change of the jiffy counters between two
polls, so nothing sleeps on the target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GIB = 1024**3

# Section markers of the snapshot command's output, each on a line of its own.
MARKER = "@@ops-watch"
SECTIONS = ("stat", "meminfo", "df")

# The snapshot as a POSIX sh function, cheap on the target (about 1.3 ms of CPU, one fork for df) and
# printed with ONE printf, so it travels as one SSH packet rather than dozens:
# - the first line of /proc/stat is the aggregate "cpu" line (the rest, per CPU and interrupts, can be
#   tens of KB on big hosts);
# - /proc/meminfo up to its Cached line (MemTotal, MemFree, MemAvailable, Buffers, Cached come first);
# - `df -P -k -T -l`: POSIX columns plus the file system type, local file systems only (GNU and busybox;
#   -l also avoids hanging on a dead NFS server). Where -T or -l is unknown (nothing printed), plain
#   `df -P -k`. LC_ALL=C keeps the header English and skips loading locales. df's stderr is dropped;
#   other error messages reach the output before the first marker and are quoted in a ParseError.
# Its one argument is printed as the last line: the SSH source passes an end marker.
SNAPSHOT_FUNCTION = (
    "ow_snapshot() {\n"
    " IFS= read -r ow_s < /proc/stat\n"
    ' ow_m=; while IFS= read -r ow_l; do ow_m="$ow_m$ow_l\n'
    '"; case $ow_l in Cached:*) break;; esac; done < /proc/meminfo\n'
    ' ow_d=$(LC_ALL=C df -P -k -T -l 2>/dev/null); [ -n "$ow_d" ] || ow_d=$(LC_ALL=C df -P -k 2>/dev/null)\n'
    f' printf \'%s\\n\' \'{MARKER} stat\' "$ow_s" \'{MARKER} meminfo\' "$ow_m{MARKER} df" "$ow_d" "$1"\n'
    "}\n"
)
SNAPSHOT_SCRIPT = SNAPSHOT_FUNCTION + f"ow_snapshot '{MARKER} end'\n"

# File system types that hold no allocated storage (pseudo, in-memory, read-only images) or that belong
# to another resource (network and cluster file systems: a share is counted where it is allocated, not
# on every client that mounts it).
SKIP_FSTYPES = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "iso9660",
        "mqueue",
        "nsfs",
        "overlay",
        "proc",
        "pstore",
        "ramfs",
        "rpc_pipefs",
        "securityfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
        "udf",
        # network / cluster
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.sshfs",
        "fuse.s3fs",
        "9p",
        "afs",
        "lustre",
        "gpfs",
    }
)
# Without a type column (df without -T), the device column says enough for the usual pseudo file systems,
# which are mounted with their type as the device name ("tmpfs", "overlay"; Debian's devtmpfs is "udev").
SKIP_DEVICES = SKIP_FSTYPES | {"udev", "none", "shm"}
# ...and for network shares: host:/export (NFS), //host/share (SMB).
_NETWORK_DEVICE = re.compile(r"^(?:[^/\s]+:/|//)")


class ParseError(ValueError):
    """The output of a host is not what the parser expects; the message names the section and the text."""


def _quote(text: str, limit: int = 80) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")


# ---- /proc/stat ----------------------------------------------------------------------------------

CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CpuCounters:
    """Jiffies since boot from the aggregate `cpu` line. guest and guest_nice are already counted in user
    and nice, so they are left out of the total."""

    user: int
    nice: int
    system: int
    idle: int
    iowait: int = 0
    irq: int = 0
    softirq: int = 0
    steal: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f) for f in CPU_FIELDS)

    @property
    def waiting(self) -> int:
        """Time with nothing to run: idle plus waiting for I/O."""
        return self.idle + self.iowait


def parse_proc_stat(text: str) -> CpuCounters:
    """The aggregate `cpu` line of /proc/stat (the first line; per-CPU lines and the rest are ignored).

    Kernels before 2.6 have fewer columns (iowait came in 2.5.41, steal in 2.6.11): missing ones are 0.
    """
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0] != "cpu":
            continue
        values = fields[1 : 1 + len(CPU_FIELDS)]
        if len(values) < 4:
            raise ParseError(
                f"/proc/stat: the cpu line has {len(values)} counters, at least 4 expected: {_quote(line)}"
            )
        try:
            numbers = [int(v) for v in values]
        except ValueError:
            raise ParseError(
                f"/proc/stat: the cpu line has a counter that is not a whole number: {_quote(line)}"
            ) from None
        if any(n < 0 for n in numbers):
            raise ParseError(f"/proc/stat: the cpu line has a negative counter: {_quote(line)}")
        return CpuCounters(*numbers)
    raise ParseError(
        f"/proc/stat: no aggregate 'cpu' line in {_quote(text) if text.strip() else 'empty output'}"
    )


def cpu_percent(prev: CpuCounters | None, cur: CpuCounters) -> float | None:
    """CPU busy % between two readings: (Δtotal - Δidle - Δiowait) / Δtotal.

    None when there is no earlier reading, when no time passed, or when any counter went down (the host
    rebooted, or a 32-bit counter wrapped): the next poll measures again from this reading.
    """
    if prev is None:
        return None
    deltas = [getattr(cur, f) - getattr(prev, f) for f in CPU_FIELDS]
    if any(d < 0 for d in deltas):
        return None
    total = sum(deltas)
    if total <= 0:
        return None
    waiting = (cur.idle - prev.idle) + (cur.iowait - prev.iowait)
    busy = total - waiting
    return round(min(100.0, max(0.0, 100.0 * busy / total)), 2)


# ---- /proc/meminfo -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemInfo:
    total_kb: int
    available_kb: int
    estimated: bool  # True: no MemAvailable (kernels before 3.14); MemFree + Buffers + Cached stood in

    @property
    def used_percent(self) -> float:
        used = max(0, self.total_kb - self.available_kb)
        return round(min(100.0, 100.0 * used / self.total_kb), 2)


_MEMINFO_LINE = re.compile(r"^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$")


def parse_meminfo(text: str) -> MemInfo:
    """MemTotal and MemAvailable (kB); without MemAvailable, MemFree + Buffers + Cached."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _MEMINFO_LINE.match(line.strip())
        if m is None:
            raise ParseError(f"/proc/meminfo: not a 'Name: value kB' line: {_quote(line)}")
        values[m.group(1)] = int(m.group(2))
    total = values.get("MemTotal")
    if total is None:
        raise ParseError(
            f"/proc/meminfo: no MemTotal line in {_quote(text) if text.strip() else 'empty output'}"
        )
    if total <= 0:
        raise ParseError("/proc/meminfo: MemTotal is 0")
    if "MemAvailable" in values:
        return MemInfo(total, values["MemAvailable"], estimated=False)
    missing = [k for k in ("MemFree", "Buffers", "Cached") if k not in values]
    if missing:
        raise ParseError(f"/proc/meminfo: neither MemAvailable nor {', '.join(missing)} to estimate it from")
    return MemInfo(total, values["MemFree"] + values["Buffers"] + values["Cached"], estimated=True)


# ---- df -P -k [-T] -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiskUsage:
    used_kb: int
    total_kb: int
    filesystems: int  # how many were counted

    @property
    def used_gb(self) -> float:
        return round(self.used_kb * 1024 / GIB, 3)

    @property
    def total_gb(self) -> float:
        return round(self.total_kb * 1024 / GIB, 3)


# blocks, used, available, capacity, mount point: the numbers are always the last columns before the mount
# point, which starts with "/" and may hold spaces. Sizes may be "-" for file systems without a size.
_DF_NUMBERS = re.compile(r"\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s+(\d+%|-)\s+(/.*)$")
_DF_HEADER_FIRST = ("Filesystem", "文件系统")


def _skipped(device: str, fstype: str | None) -> bool:
    if fstype is not None:
        return fstype in SKIP_FSTYPES
    return (
        device in SKIP_DEVICES or device.startswith("/dev/loop") or _NETWORK_DEVICE.match(device) is not None
    )


def parse_df(text: str) -> DiskUsage:
    """Used and total size of the real file systems in `df -P -k` output (1024-byte blocks), with or
    without a Type column (`-T`; the header says which).

    Skipped: pseudo, image and network file systems (by type, else by the usual device names), zero-size
    ones, and a device seen before (bind mounts, btrfs subvolumes). A device name too long for its column
    may stand alone on its line with the figures on the next (df without -P); that is joined.
    """
    used = total = counted = 0
    seen: set[str] = set()
    typed = False
    pending = ""  # a device name whose figures are on the next line
    any_line = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        any_line = True
        if not pending and line.split(None, 1)[0] in _DF_HEADER_FIRST and not _DF_NUMBERS.search(line):
            typed = line.split()[1:2] == ["Type"] or line.split()[1:2] == ["类型"]
            continue
        if pending:
            line = pending + " " + line.strip()
            pending = ""
        m = _DF_NUMBERS.search(line)
        if m is None:
            if " " not in line.strip() and not line[0].isspace():
                pending = line.strip()
                continue
            raise ParseError(
                f"df: not a 'device blocks used available capacity mountpoint' line: {_quote(line)}"
            )
        device, fstype = line[: m.start()].strip(), None
        if typed:
            device, _, fstype = device.rpartition(" ")
            device = device.strip()
        if not device:
            raise ParseError(f"df: a line without a device name: {_quote(line)}")
        blocks, used_s, _avail, _cap, _mount = m.groups()
        if _skipped(device, fstype) or blocks == "-" or used_s == "-" or int(blocks) == 0 or device in seen:
            continue
        seen.add(device)
        used += int(used_s)
        total += int(blocks)
        counted += 1
    if pending:
        raise ParseError(f"df: the output ends with a device name and no figures: {_quote(pending)}")
    if not any_line:
        raise ParseError("df: empty output")
    if counted == 0:
        raise ParseError(f"df: no real file system in {_quote(text)}")
    return DiskUsage(used, total, counted)


# ---- the whole snapshot --------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    cpu: CpuCounters
    memory: MemInfo
    disk: DiskUsage


def split_sections(text: str) -> tuple[str, dict[str, str]]:
    """The snapshot's output cut at its section markers: (what came before the first marker, sections).

    Before the first marker may be a login rc file's chatter, or an error message of the shell."""
    preamble: list[str] = []
    sections: dict[str, list[str]] = {}
    current = preamble
    prefix = MARKER + " "
    for line in text.splitlines():
        if line.startswith(prefix):
            current = sections.setdefault(line[len(prefix) :].strip(), [])
            continue
        current.append(line)
    return "\n".join(preamble).strip(), {
        n: "\n".join(lines) + ("\n" if lines else "") for n, lines in sections.items()
    }


def parse_snapshot(text: str) -> Snapshot:
    """All figures from the snapshot command's output; ParseError names the section that was wrong (and
    quotes what the host printed before the first section, such as a shell's error message)."""
    preamble, sections = split_sections(text)
    try:
        missing = [s for s in SECTIONS if s not in sections]
        if missing:
            shown = _quote(text) if text.strip() else "empty output"
            raise ParseError(f"output without the section(s) {', '.join(missing)}: {shown}")
        return Snapshot(
            cpu=parse_proc_stat(sections["stat"]),
            memory=parse_meminfo(sections["meminfo"]),
            disk=parse_df(sections["df"]),
        )
    except ParseError as exc:
        if preamble and sections:
            raise ParseError(f"{exc} (the host also said {_quote(preamble, 200)})") from None
        raise
