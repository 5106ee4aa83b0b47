"""restic snapshots (`restic snapshots --json`) as backup runs.

`snapshot_rows` maps the snapshots of one configured repository (`[[backups.restic]]`) to rows under
BACKUP_HEADER. The dropped-file format below and the live poll (ops_watch.areas.continuity.backups) both use it, so a run
read either way has the same cells and the same dedupe key (system | job | started).

- A snapshot exists only for a backup that completed, so every snapshot is one run with status "success".
  A failed run leaves no snapshot: its absence is what the backup checks see.
- started = the snapshot's `time` (when restic started the backup), to the second, with restic's offset.
  It is used even when the snapshot has a `summary` (restic ≥ 0.17), whose `backup_start` is a little
  later: `time` is in every snapshot whatever restic version wrote or reads it, so the run's key stays
  the same when an older restic (which drops `summary`) reads the same snapshot.
- finished = summary.backup_end (restic ≥ 0.17); empty without a summary.
- size_gb = summary.total_bytes_processed (the data the run read), else summary.data_added, in GB of
  2^30 bytes (as the resource samples count GB); empty without a summary.
- Snapshots of another host than the repository's `snapshot_host`, or without all of its `tags`, are no
  rows and are counted in the batch detail (restic applies the same filters when it is polled).
- A snapshot that is not a JSON object or has no usable `time` is a row error naming it.
- A dropped file names its repository: the file name starts with the `name` of a configured
  `[[backups.restic]]` entry (the longest such name wins), because a snapshot does not say which
  repository it is in, nor which system it backs up.
- An empty list (`[]`, what restic prints for a repository without snapshots) is this format too: it is
  refused as a file with no runs, rather than as JSON of an unknown shape, so the report says why.
- The output of `restic snapshots --json --group-by …` (a list of {"group_key", "snapshots"}) is read as
  the snapshots of all its groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ops_watch.formats.tabular import SourceRow, TableError
from ops_watch.formats.vendor import BACKUP_HEADER, VendorContext, VendorFormat, fault_row, vendor_format

if TYPE_CHECKING:
    from ops_watch.config import Config, ResticRepository

FORMAT_NAME = "restic-snapshots"
REPOSITORIES_KEY = "backups.restic"
STATUS = "success"
GIB = 1024**3
SNAPSHOT_ID_KEYS = ("tree", "id", "short_id")


def restic_time(value: Any) -> datetime | None:
    """A restic time (Go RFC 3339 with up to nine fractional digits, "Z" or an offset) as an aware datetime
    to the second; None when it is not one. A time without an offset is not restic's and is refused."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    date_part, sep, rest = text.partition("T")
    if not sep:
        return None
    # Drop the fraction (nanoseconds are more digits than Python reads; runs are keyed to the second).
    clock, zone = rest, ""
    for sign in ("+", "-"):
        at = rest.rfind(sign)
        if at > 0:
            clock, zone = rest[:at], rest[at:]
            break
    clock = clock.partition(".")[0]
    try:
        when = datetime.fromisoformat(f"{date_part}T{clock}{zone}")
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()


def _bytes(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def snapshot_label(item: dict[str, Any]) -> str:
    """How an error names a snapshot: its short id (restic's own way), else its id's first 8 digits."""
    short = _text(item.get("short_id")) or _text(item.get("id"))[:8]
    return short or "(no id)"


def _tags(item: dict[str, Any]) -> list[str]:
    tags = item.get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def skip_reason(item: dict[str, Any], repo: ResticRepository) -> str:
    """Why the repository's filters leave a snapshot out (as restic --host / --tag a,b would); "" if kept."""
    host = _text(item.get("hostname"))
    if repo.snapshot_host and host != repo.snapshot_host:
        return f"hostname {host or '(none)'} is not snapshot_host {repo.snapshot_host}"
    missing = [t for t in repo.tags if t not in _tags(item)]
    if missing:
        return "without tag " + ", ".join(missing)
    return ""


def snapshot_row(item: Any, number: int, repo: ResticRepository, ctx: VendorContext) -> SourceRow | None:
    """One snapshot as a row, a fault row, or None when the repository's filters leave it out (counted)."""
    name = repo.name
    if not isinstance(item, dict):
        shown = repr(item)[:80]
        return fault_row(
            number,
            f"restic 仓库「{name}」的快照应为 JSON 对象，实际为：{shown}",
            f"restic repository {name!r}: a snapshot must be a JSON object, got: {shown}",
            [repo.system, repo.job_name, "", "", STATUS, ""],
        )
    reason = skip_reason(item, repo)
    if reason:
        ctx.ignore(reason)
        return None
    label = snapshot_label(item)
    raw_time = item.get("time")
    started = restic_time(raw_time)
    if started is None:
        cells = [repo.system, repo.job_name, _text(raw_time), "", STATUS, ""]
        if not _text(raw_time):
            return fault_row(
                number,
                f"restic 仓库「{name}」的快照 {label} 没有 time：restic 的每个快照都有开始时间，请用 "
                "restic snapshots --json 重新导出",
                f"restic repository {name!r}, snapshot {label}: no time, which every restic snapshot has: "
                "export again with restic snapshots --json",
                cells,
            )
        shown = _text(raw_time)[:60]
        return fault_row(
            number,
            f"restic 仓库「{name}」的快照 {label} 的 time「{shown}」不是带时区的 RFC 3339 时间（restic 的写法如 "
            "2026-11-02T01:00:00.123+08:00）：请用 restic snapshots --json 重新导出",
            f"restic repository {name!r}, snapshot {label}: time {shown!r} is not an RFC 3339 time with an "
            "offset (restic writes e.g. 2026-11-02T01:00:00.123+08:00): export again with restic snapshots --json",
            cells,
        )
    finished, size = "", ""
    summary = item.get("summary")
    if isinstance(summary, dict):
        end = restic_time(summary.get("backup_end"))
        if end is not None and end >= started:
            finished = end.isoformat()
        size_bytes = _bytes(summary.get("total_bytes_processed"))
        if size_bytes is None:
            size_bytes = _bytes(summary.get("data_added"))
        if size_bytes is not None:
            size = f"{size_bytes / GIB:.6f}"
    return SourceRow(number, [repo.system, repo.job_name, started.isoformat(), finished, STATUS, size])


def snapshot_rows(
    snapshots: Iterable[Any], repo: ResticRepository, ctx: VendorContext, first_number: int = 1
) -> Iterator[SourceRow]:
    """Rows for a repository's snapshots. A snapshot's row number is its position (from `first_number`),
    so "row 5" of a file is its fifth snapshot even when snapshots before it were filtered out."""
    for offset, item in enumerate(snapshots):
        row = snapshot_row(item, first_number + offset, repo, ctx)
        if row is not None:
            yield row


# ---- the file format ------------------------------------------------------------------------------


def looks_like_snapshot(item: Any) -> bool:
    return isinstance(item, dict) and "time" in item and any(k in item for k in SNAPSHOT_ID_KEYS)


def is_group(item: Any) -> bool:
    """One group of `restic snapshots --json --group-by …`."""
    return isinstance(item, dict) and "group_key" in item and isinstance(item.get("snapshots"), list)


def detect(document: Any) -> bool:
    if not isinstance(document, list):
        return False
    if not document:
        return True  # restic's answer for a repository without snapshots (see the module doc)
    if all(is_group(g) for g in document):
        return True
    return any(looks_like_snapshot(item) for item in document)


def snapshots_of(document: list[Any]) -> list[Any]:
    """The snapshots of the document, in order (the groups' snapshots one group after the other)."""
    if document and all(is_group(g) for g in document):
        return [s for group in document for s in group["snapshots"]]
    return list(document)


def repository_for_file(config: Config, file_stem: str) -> ResticRepository:
    """The configured restic repository whose name the file name starts with (the longest such name)."""
    repositories = config.backups.restic
    stem = file_stem.strip().casefold()
    matches = [r for r in repositories if stem.startswith(r.name.strip().casefold())]
    if matches:
        return max(matches, key=lambda r: len(r.name.strip()))
    names_zh = "、".join(f"「{r.name}」" for r in repositories) or "（无）"
    names_en = ", ".join(repr(r.name) for r in repositories) or "(none)"
    raise TableError(
        f"文件名「{file_stem}」不以任何已配置的 restic 仓库名称开头（已配置：{names_zh}）：restic 快照不含所属"
        f"仓库和业务系统，请把文件命名为「<仓库名称>…json」，或在配置中添加 [[{REPOSITORIES_KEY}]]"
        "（name、system）",
        f"the file name {file_stem!r} does not start with the name of a configured restic repository "
        f"(configured: {names_en}): a restic snapshot names neither its repository nor the system it backs "
        f'up, so name the file "<repository name>…json" or add a [[{REPOSITORIES_KEY}]] entry (name, system)',
    )


def rows(document: Any, ctx: VendorContext) -> Iterator[SourceRow]:
    # Every check runs before the first row: a file of no known repository, or one without any run, is
    # refused whole with its reason.
    repo = repository_for_file(ctx.config, ctx.file_stem)
    snapshots = snapshots_of(document)
    ctx.detail["repository"] = repo.name
    ctx.detail["snapshots"] = len(snapshots)
    if not snapshots:
        raise TableError(
            f"restic 快照列表为空：仓库「{repo.name}」（或其筛选条件下）没有快照，即没有可记录的备份作业",
            f"the restic snapshot list is empty: repository {repo.name!r} has no snapshots (matching its "
            "filters), so there is no backup run to record",
        )
    found = list(snapshot_rows(snapshots, repo, ctx))
    if not found:
        ignored = ctx.detail.get("ignored_events", {})
        why_en = "; ".join(f"{n} {reason}" for reason, n in ignored.items())
        raise TableError(
            f"文件中的 {len(snapshots)} 个快照都不符合仓库「{repo.name}」的 snapshot_host / tags 筛选条件"
            f"（{why_en}）：请检查配置 [[{REPOSITORIES_KEY}]] 或导出的仓库",
            f"none of the file's {len(snapshots)} snapshots matches the snapshot_host / tags of repository "
            f"{repo.name!r} ({why_en}): check its [[{REPOSITORIES_KEY}]] entry, or which repository was exported",
        )
    return iter(found)


FORMAT = vendor_format(
    VendorFormat(
        name=FORMAT_NAME,
        kind="backup",
        header=BACKUP_HEADER,
        detect=detect,
        rows=rows,
        shape_zh='restic snapshots --json 的输出（[{"time", "tree", "id", "hostname", …}]；文件名以仓库名称开头）',
        shape_en='the output of restic snapshots --json ([{"time", "tree", "id", "hostname", …}]; the file name '
        "starts with the repository name)",
    )
)

__all__ = [
    "FORMAT_NAME",
    "GIB",
    "detect",
    "repository_for_file",
    "restic_time",
    "skip_reason",
    "snapshot_label",
    "snapshot_row",
    "snapshot_rows",
    "snapshots_of",
]
