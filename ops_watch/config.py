"""Configuration: TOML read with tomllib, validated with pydantic; every problem names its key path.

Relative paths in the file are resolved against the directory the file is in, so the same config
works from any working directory (the systemd unit, `make demo`, tests).

Secrets never sit in the file itself: each secret setting `x` is given as `x_file` (a path; a relative
path is looked up in $CREDENTIALS_DIRECTORY first, which is where systemd's LoadCredential= puts it) or
`x_env` (the name of an environment variable). The value is held as a SecretStr and registered with the
log redactor, so it never reaches output or logs.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ops_watch.core.errors import ConfigError, key_path, reason
from ops_watch.core.log import get_logger, register_secret
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import parse_duration

Duration = Annotated[
    timedelta, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str | int | float) else v)
]


def _secret_path(path: Path, base: Path) -> Path:
    if path.is_absolute():
        return path
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / path).exists():
        return Path(creds) / path
    return base / path


def read_secret(file: Path | None, env: str | None, base: Path) -> SecretStr:
    """The secret's current value (read at use, so a rotated credential is picked up)."""
    if file is not None:
        path = _secret_path(file, base)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    elif env is not None:
        if env not in os.environ:
            raise ValueError(f"environment variable {env} is not set")
        value = os.environ[env]
    else:
        return SecretStr("")
    register_secret(value)
    return SecretStr(value)


def _checking_secrets(info: Any) -> bool:
    return bool((getattr(info, "context", None) or {}).get("check_secrets", True))


def _validate_secret_file(v: Path | None, info: Any) -> Path | None:
    if v is not None and _checking_secrets(info):
        read_secret(v, None, _base(info))
    return v


def _validate_secret_env(v: str | None, info: Any) -> str | None:
    if v is not None and _checking_secrets(info):
        read_secret(None, v, _base(info))
    return v


def _ip_networks(v: list[str], info: Any) -> list[str]:
    """A list of IP addresses or CIDR networks (an allow-list of clients), each checked."""
    for item in v:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{info.field_name}: {item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
            ) from None
    return v


def _no_inline_secret(v: Any, info: Any) -> None:
    if v is not None:
        name = info.field_name
        raise ValueError(f"do not write a secret in the file; use {name}_file or {name}_env")
    return None


class _WithPassword(Strict):
    """A password given as password_file or password_env; checked at load, read at use."""

    password: None = None
    password_file: Path | None = None
    password_env: str | None = None

    _inline = field_validator("password", mode="before")(_no_inline_secret)
    _file = field_validator("password_file")(_validate_secret_file)
    _env = field_validator("password_env")(_validate_secret_env)

    @model_validator(mode="after")
    def _one_source(self) -> _WithPassword:
        if self.password_file is not None and self.password_env is not None:
            raise ValueError("give password_file or password_env, not both")
        return self

    def secret(self, base: Path) -> SecretStr:
        return read_secret(self.password_file, self.password_env, base)


class SiteConfig(Strict):
    name: str = "市大数据中心"
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from None
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PathsConfig(Strict):
    state_dir: Path = Path("var")
    rules_dir: Path = Path("rules")


class StoreConfig(_WithPassword):
    url: str = ""  # empty: SQLite file ops-watch.db in state_dir
    busy_timeout_ms: int = Field(default=5000, ge=0)


class IngestConfig(Strict):
    drop_dir: Path = Path("var/drop")
    sheet: str | None = None  # XLSX sheet to read; default the first
    max_bad_rows_reported: int = Field(default=10000, ge=1)
    # A row dated more than this after its file arrived is a row error (a clock or a typo, never evidence).
    future_tolerance: Duration = timedelta(days=1)
    # A dropped file is taken once its size and modification time stayed the same across two looks this far
    # apart (and it is older than this): a file still being written waits for the next scan.
    settle: Duration = timedelta(seconds=2)
    # What one XLSX workbook may hold; a file beyond any of these is refused, naming the limit (formats.md).
    xlsx_max_rows: int = Field(default=1_048_576, ge=1)  # Excel's own limit
    xlsx_max_columns: int = Field(default=1024, ge=1)
    xlsx_max_cell_chars: int = Field(default=32_767, ge=1)  # Excel's own limit
    xlsx_max_unzipped_mb: int = Field(default=512, ge=1)  # the total size of the workbook's parts, unpacked
    # Who may own a dropped file besides ops-watch's own user and the drop folder's owner (user names or uids):
    # the accounts senders upload with. A file of anyone else (a link to a system file) is refused unread.
    owners: list[str] = Field(default_factory=list)
    # [ingest.columns.<kind>]: the site's own header -> a column of that kind, on top of the kind's aliases.
    # The kinds and their columns are plug-ins: ingest.column_map_problems checks them once they are loaded.
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _names_given(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for kind, mapping in v.items():
            for header, name in mapping.items():
                if not header.strip() or not name.strip():
                    raise ValueError(
                        f"ingest.columns.{kind}: {header!r} = {name!r}: neither side may be empty"
                    )
        return v


class ScheduleEntry(Strict):
    every: Duration | None = None
    cron: str | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleEntry:
        if self.enabled and (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' (e.g. \"5m\") or 'cron' (e.g. \"0 8 * * mon\")")
        if self.cron is not None:
            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"cron {self.cron!r}: {exc}") from None
        if self.every is not None and self.every.total_seconds() < 1:
            raise ValueError("'every' must be at least 1s")
        return self


def _every(text: str) -> ScheduleEntry:
    return ScheduleEntry(every=parse_duration(text))


class ScheduleConfig(Strict):
    collect: ScheduleEntry = Field(default_factory=lambda: _every("5m"))
    ingest: ScheduleEntry = Field(default_factory=lambda: _every("1m"))
    doors: ScheduleEntry = Field(default_factory=lambda: _every("5m"))
    backups: ScheduleEntry = Field(default_factory=lambda: _every("1h"))
    evaluate: ScheduleEntry = Field(default_factory=lambda: _every("5m"))
    notify: ScheduleEntry = Field(default_factory=lambda: _every("1m"))
    report_weekly: ScheduleEntry = Field(default_factory=lambda: ScheduleEntry(cron="0 8 * * mon"))
    inspections: ScheduleEntry = Field(default_factory=lambda: _every("15m"))
    purge: ScheduleEntry = Field(default_factory=lambda: ScheduleEntry(cron="30 3 * * *"))
    # The evidence trail: each day's heads published after [trail] publish_at, and the chains verified.
    trail: ScheduleEntry = Field(default_factory=lambda: _every("1h"))


class LocalSourceConfig(Strict):
    enabled: bool = True
    resource_id: str = ""  # empty: the host name


class SshHost(Strict):
    """A host listed in the config rather than (or beside) the inventory."""

    resource_id: str = Field(min_length=1)
    address: str = Field(min_length=1)  # host or host:port
    user: str = ""  # empty: collect.ssh.user


class SshSourceConfig(Strict):
    enabled: bool = False
    # Hosts: every inventory resource with an address, plus those listed here.
    from_inventory: bool = True
    hosts: list[SshHost] = Field(default_factory=list)
    user: str = "opswatch"
    port: int = Field(default=22, ge=1, le=65535)
    key_file: Path | None = None
    passphrase: None = None
    passphrase_file: Path | None = None
    passphrase_env: str | None = None
    known_hosts: Path = Path("known_hosts")
    # "strict": only keys already in known_hosts; "accept-new": trust a host's first key (and write it),
    # refuse a changed one. A daemon never asks.
    host_key_policy: Literal["strict", "accept-new"] = "strict"
    jump_host: str = ""  # user@host:port of a bastion, empty: none
    pool: int = Field(default=50, ge=1, le=1000)
    connect_timeout: Duration = timedelta(seconds=10)
    command_timeout: Duration = timedelta(seconds=20)

    _inline = field_validator("passphrase", mode="before")(_no_inline_secret)
    _file = field_validator("passphrase_file")(_validate_secret_file)
    _env = field_validator("passphrase_env")(_validate_secret_env)

    def passphrase_value(self, base: Path) -> str:
        return read_secret(self.passphrase_file, self.passphrase_env, base).get_secret_value()


class PrometheusSourceConfig(_WithPassword):
    enabled: bool = False
    url: str = "http://127.0.0.1:9090"
    # Which label of node_exporter's series names the resource, and what in the inventory it matches:
    # the resource id, or the address (host, with any :port ignored on both sides).
    match_label: str = "instance"
    match_to: Literal["resource_id", "address"] = "address"
    # Only series whose job label is this (empty: any job).
    job: str = "node"
    username: str = ""  # basic auth; the password comes from password_file / password_env
    bearer_token: None = None
    bearer_token_file: Path | None = None
    bearer_token_env: str | None = None
    verify_tls: bool = True
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=30)
    # After downtime, read back at most this far with range queries, at this step.
    backfill_max: Duration = timedelta(days=7)
    step: Duration = timedelta(minutes=5)

    _token_inline = field_validator("bearer_token", mode="before")(_no_inline_secret)
    _token_file = field_validator("bearer_token_file")(_validate_secret_file)
    _token_env = field_validator("bearer_token_env")(_validate_secret_env)

    def token_value(self, base: Path) -> str:
        return read_secret(self.bearer_token_file, self.bearer_token_env, base).get_secret_value()


class CollectConfig(Strict):
    local: LocalSourceConfig = Field(default_factory=LocalSourceConfig)
    ssh: SshSourceConfig = Field(default_factory=SshSourceConfig)
    prometheus: PrometheusSourceConfig = Field(default_factory=PrometheusSourceConfig)


class DoorReader(Strict):
    """A Hikvision reader: (doorNo, cardReaderNo) of the device -> the door's name and the direction."""

    door_no: int = Field(ge=1)
    reader_no: int = Field(ge=1)
    door: str = Field(min_length=1)
    direction: Literal["in", "out", ""] = ""  # "": the reader has no direction (entry-only counting)


class DoorTerminal(Strict):
    """A ZKBioTime terminal: its serial number -> the door's name and the direction."""

    terminal_sn: str = Field(min_length=1)
    door: str = Field(min_length=1)
    # "punch_state": from the punch (check-in = in, check-out = out, others none); "": no direction.
    direction: Literal["in", "out", "", "punch_state"] = "punch_state"


# Hikvision access-control event codes (major 5 = MAJOR_EVENT), from the device SDK header HCNetSDK.h
# (MINOR_* constants) and Hikvision's HEOP EventType.kt. Events with other minors (door opened/closed, alarms)
# are not passages and are counted as ignored. docs/doors.md names each code and its source. A second factor
# not given in time counts as denied: a presented credential did not open the door.
HIKVISION_GRANTED = (
    0x01, 0x02, 0x26, 0x28, 0x2B, 0x2E, 0x36, 0x39, 0x3C, 0x3F, 0x42, 0x45, 0x48, 0x4B, 0x4D, 0x65, 0x69,
    0x99, 0x9C, 0x9F, 0xB5,
)  # fmt: skip
HIKVISION_DENIED = (
    0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x0E, 0x0F, 0x27, 0x29, 0x2A, 0x2C, 0x2D,
    0x2F, 0x30, 0x31, 0x37, 0x38, 0x3A, 0x3B, 0x3D, 0x3E, 0x40, 0x41, 0x43, 0x44, 0x46, 0x47, 0x49, 0x4A,
    0x4C, 0x4E, 0x4F, 0x50, 0x66, 0x67, 0x68, 0x70, 0x71, 0x75, 0x76, 0x77, 0x78, 0x94, 0x96, 0x97, 0x98,
    0x9A, 0x9B, 0x9D, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4,
)  # fmt: skip


class HikvisionCodes(Strict):
    major: int = 5
    granted: list[int] = Field(default_factory=lambda: list(HIKVISION_GRANTED))
    denied: list[int] = Field(default_factory=lambda: list(HIKVISION_DENIED))

    @model_validator(mode="after")
    def _disjoint(self) -> HikvisionCodes:
        both = sorted(set(self.granted) & set(self.denied))
        if both:
            raise ValueError(f"minor codes {both} are listed as both granted and denied")
        return self


class DoorDevice(_WithPassword):
    """A door controller (Hikvision) or a ZKBioTime server: how its events map to doors, and how to poll it."""

    name: str = Field(min_length=1, max_length=200)  # stored with each event; a dropped file names it
    vendor: Literal["hikvision", "zkbiotime"]
    url: str = ""  # http(s)://host[:port] to poll; empty: events arrive as dropped files only
    poll: bool = True  # false: keep the mapping for files but do not poll
    username: str = ""
    auth_scheme: Literal["JWT", "Token"] = "JWT"  # ZKBioTime: the Authorization header's scheme
    verify_tls: bool = True
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=30)
    page_size: int = Field(default=0, ge=0, le=1000)  # 0: the vendor's usual (Hikvision 30, ZKBioTime 100)
    # The first poll (and a poll after long downtime) reads back at most this far.
    backfill_max: Duration = timedelta(days=7)
    # ZKBioTime: each poll also reads back this far before the newest punch it has, for punches a terminal
    # that was offline uploads late with their original times (read again, they are stored once).
    reread: Duration = timedelta(days=1)
    readers: list[DoorReader] = Field(
        default_factory=list
    )  # Hikvision; empty: every reader of door N is "门N"
    terminals: list[DoorTerminal] = Field(default_factory=list)  # ZKBioTime; empty: door = terminal alias
    # A single-door device (a face terminal at the entrance): the door of its events when neither `readers`
    # nor the export names one. Empty: Hikvision's default "<name>门N"; a CSV row without a door is refused.
    door: str = ""
    # How a door export names this device in its own fields (设备名称 / 设备序列号 cells, or a drop/door/
    # subfolder), besides `name`: rows naming one of these are this device's and are stored under `name`.
    match: list[str] = Field(default_factory=list)
    # Events pushed by the device (ISAPI HTTP listening, docs/doors.md "Pushed events"): off until a secret is
    # set. The secret is the last part of the device's URL /ingest/hikvision/<name>/<secret> (or the password
    # of HTTP basic authentication with the device's name); `push_from`: the addresses or networks it may push
    # from (empty: any address, the secret still needed).
    push_secret: None = None
    push_secret_file: Path | None = None
    push_secret_env: str | None = None
    push_from: list[str] = Field(default_factory=list)

    _push_inline = field_validator("push_secret", mode="before")(_no_inline_secret)
    _push_file = field_validator("push_secret_file")(_validate_secret_file)
    _push_env = field_validator("push_secret_env")(_validate_secret_env)

    _push_networks = field_validator("push_from")(_ip_networks)

    @model_validator(mode="after")
    def _mapping(self) -> DoorDevice:
        if self.push_secret_file is not None and self.push_secret_env is not None:
            raise ValueError("give push_secret_file or push_secret_env, not both")
        if self.push_from and not self.pushes:
            raise ValueError("push_from is set but no push_secret_file / push_secret_env: pushing is off")
        if self.vendor == "hikvision" and self.terminals:
            raise ValueError("terminals are for ZKBioTime; a Hikvision device lists readers")
        if self.vendor == "zkbiotime" and self.readers:
            raise ValueError("readers are for Hikvision; a ZKBioTime server lists terminals")
        seen = set()
        for r in self.readers:
            if (r.door_no, r.reader_no) in seen:
                raise ValueError(f"reader door_no={r.door_no} reader_no={r.reader_no} is listed twice")
            seen.add((r.door_no, r.reader_no))
        sns = [t.terminal_sn for t in self.terminals]
        if len(set(sns)) != len(sns):
            raise ValueError("a terminal_sn is listed twice")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self

    @property
    def polled(self) -> bool:
        return bool(self.url) and self.poll

    @property
    def pushes(self) -> bool:
        """The device may push its events (a push secret is configured)."""
        return self.push_secret_file is not None or self.push_secret_env is not None

    def push_key(self, base: Path) -> SecretStr:
        """The push secret's current value (read at use: a rotated secret is picked up)."""
        return read_secret(self.push_secret_file, self.push_secret_env, base)


class DoorsConfig(Strict):
    hikvision: HikvisionCodes = Field(default_factory=HikvisionCodes)
    devices: list[DoorDevice] = Field(default_factory=list)

    @field_validator("devices")
    @classmethod
    def _unique_names(cls, v: list[DoorDevice]) -> list[DoorDevice]:
        names = [d.name for d in v]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"device name {name!r} is used twice")
        # A name or match value must name one device: an export's 设备名称 cell is looked up case-blind.
        owner: dict[str, str] = {}
        for i, d in enumerate(v):
            for j, value in enumerate([d.name, *d.match]):
                key = value.strip().casefold()
                where = f"[{i}].name" if j == 0 else f"[{i}].match[{j - 1}]"
                if not key:
                    raise ValueError(f"{where}: an empty match value names no device")
                if owner.setdefault(key, d.name) != d.name:
                    raise ValueError(f"{where}: {value!r} already names the device {owner[key]!r}")
        return v

    def device(self, name: str) -> DoorDevice | None:
        return next((d for d in self.devices if d.name == name), None)

    def named(self, text: str) -> DoorDevice | None:
        """The device an export's own field (设备名称, 设备序列号) or a drop subfolder names: by `name` or one
        of its `match` values, case-blind; None when none does."""
        key = text.strip().casefold()
        if not key:
            return None
        return next(
            (d for d in self.devices if key in {m.strip().casefold() for m in (d.name, *d.match)}),
            None,
        )


class ResticRepository(_WithPassword):
    """A restic repository whose snapshots are a system's backup runs (`restic snapshots --json`)."""

    name: str = Field(min_length=1, max_length=200)  # unique; a dropped snapshots file is "<name>…json"
    system: str = Field(min_length=1, max_length=256)  # the system these snapshots back up
    job: str = ""  # the job name the runs carry; empty: "restic:<name>"
    repository: str = ""  # restic -r (a path, sftp:…, s3:…, rest:…); empty: RESTIC_REPOSITORY where it runs
    host: str = ""  # run restic over SSH on this host (host or host:port, [collect.ssh] keys); empty: locally
    user: str = ""  # SSH user; empty: collect.ssh.user
    command: str = "restic"
    snapshot_host: str = ""  # only snapshots taken on this host (restic --host); empty: all
    tags: list[str] = Field(default_factory=list)  # only snapshots with all of these tags (restic --tag a,b)
    poll: bool = True  # false: files only
    timeout: Duration = timedelta(minutes=2)

    @field_validator("tags")
    @classmethod
    def _no_commas(cls, v: list[str]) -> list[str]:
        for tag in v:
            if not tag or "," in tag:
                raise ValueError(f"tag {tag!r}: a restic tag is not empty and has no comma")
        return v

    @property
    def job_name(self) -> str:
        return self.job or f"restic:{self.name}"


class BackupsConfig(Strict):
    restic: list[ResticRepository] = Field(default_factory=list)

    @field_validator("restic")
    @classmethod
    def _unique_names(cls, v: list[ResticRepository]) -> list[ResticRepository]:
        names = [r.name for r in v]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"restic repository name {name!r} is used twice")
        return v


class UtilizationConfig(Strict):
    # Raw samples are kept this many days; hourly roll-ups (mean, max, p95) much longer, and checks read those.
    raw_days: int = Field(default=35, ge=1)
    rollup_days: int = Field(default=400, ge=30)


_log = get_logger(__name__)


class EmailConfig(_WithPassword):
    """[notify.email]. An SMTP login over a connection without TLS (security = "none") sends the password in
    clear text: refused unless allow_plaintext_login = true says so on purpose, and then warned about."""

    enabled: bool = True
    transport: Literal["file", "smtp"] = "file"
    outbox_dir: Path = Path("var/outbox")
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    verify_tls: bool = True  # check the server's certificate (off only for a test server)
    ca_file: Path | None = None  # a private CA's certificate to trust; unset: the system's
    username: str = ""
    allow_plaintext_login: bool = False  # log in over security = "none" (clear text) on purpose
    timeout: Duration = timedelta(seconds=30)
    sender: str = "ops-watch@localhost"
    recipients: list[str] = Field(default_factory=lambda: ["supervision@example.org"])

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for addr in v:
            if "@" not in addr:
                raise ValueError(f"{addr!r} is not an email address")
        return v

    @model_validator(mode="after")
    def _no_plaintext_login(self) -> EmailConfig:
        if self.transport != "smtp" or self.security != "none" or not self.username:
            return self
        if not self.allow_plaintext_login:
            raise ValueError(
                f'SMTP 以明文登录：security = "none" 时用户 {self.username!r} 的密码会明文发送到 '
                f'{self.host}:{self.port}；请改用 security = "starttls" 或 "tls"，确需明文时设 '
                'allow_plaintext_login = true / SMTP login in clear text: with security = "none" the password '
                f'of {self.username!r} goes to {self.host}:{self.port} unencrypted; use security = "starttls" or '
                '"tls", or set allow_plaintext_login = true if you mean it'
            )
        _log.warning(
            "SMTP login in plaintext allowed (notify.email.allow_plaintext_login = true): the password is sent "
            "unencrypted / SMTP 明文登录已允许：密码不加密发送",
            host=f"{self.host}:{self.port}",
            username=self.username,
        )
        return self


def _secret_pair(name: str) -> tuple[Any, Any, Any]:
    return (
        field_validator(name, mode="before")(_no_inline_secret),
        field_validator(f"{name}_file")(_validate_secret_file),
        field_validator(f"{name}_env")(_validate_secret_env),
    )


def _one_address_each(v: list[str]) -> list[str]:
    """Each entry one email address (a list someone wrote as "a@x, b@y" in one string is refused, not mis-sent)."""
    for addr in v:
        if "@" not in addr or any(c in addr for c in "\r\n,;<> "):
            raise ValueError(f"{addr!r} is not one email address")
    return v


class DingTalkReceiver(Strict):
    """A DingTalk (钉钉) group robot. Its URL carries the access token, so it is a secret like a password."""

    url: None = None
    url_file: Path | None = None
    url_env: str | None = None
    secret: None = None  # the robot's signing secret (加签), if the robot has one
    secret_file: Path | None = None
    secret_env: str | None = None
    at_mobiles: list[str] = Field(default_factory=list)  # phone numbers to @ on critical messages
    timeout: Duration = timedelta(seconds=10)

    _url_inline, _url_file, _url_env = _secret_pair("url")
    _s_inline, _s_file, _s_env = _secret_pair("secret")

    @model_validator(mode="after")
    def _has_url(self) -> DingTalkReceiver:
        if (self.url_file is None) == (self.url_env is None):
            raise ValueError("give the robot's webhook URL as url_file or url_env (one of them)")
        return self

    def url_value(self, base: Path) -> str:
        return read_secret(self.url_file, self.url_env, base).get_secret_value()

    def secret_value(self, base: Path) -> str:
        if self.secret_file is None and self.secret_env is None:
            return ""
        return read_secret(self.secret_file, self.secret_env, base).get_secret_value()


class WeComReceiver(Strict):
    """A WeCom (企业微信) group robot; its URL carries the key, so it is a secret."""

    url: None = None
    url_file: Path | None = None
    url_env: str | None = None
    timeout: Duration = timedelta(seconds=10)

    _url_inline, _url_file, _url_env = _secret_pair("url")

    @model_validator(mode="after")
    def _has_url(self) -> WeComReceiver:
        if (self.url_file is None) == (self.url_env is None):
            raise ValueError("give the robot's webhook URL as url_file or url_env (one of them)")
        return self

    def url_value(self, base: Path) -> str:
        return read_secret(self.url_file, self.url_env, base).get_secret_value()


class WebhookReceiver(Strict):
    """A generic JSON POST; with a secret, HMAC-SHA256 of "<X-Ops-Watch-Timestamp>.<body>" goes in `header`
    as "sha256=<hex>" (docs/alerts.md says how a receiver verifies it)."""

    url: str = Field(min_length=1)
    hmac_secret: None = None
    hmac_secret_file: Path | None = None
    hmac_secret_env: str | None = None
    header: str = "X-Ops-Watch-Signature"
    timeout: Duration = timedelta(seconds=10)

    _h_inline, _h_file, _h_env = _secret_pair("hmac_secret")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"url {v!r} must start with http:// or https://")
        return v

    def secret_value(self, base: Path) -> str:
        if self.hmac_secret_file is None and self.hmac_secret_env is None:
            return ""
        return read_secret(self.hmac_secret_file, self.hmac_secret_env, base).get_secret_value()


class Receiver(Strict):
    """Where a route's messages go: email addresses and/or chat robots and webhooks."""

    name: str = Field(min_length=1, max_length=100)
    email: list[str] = Field(default_factory=list)
    dingtalk: DingTalkReceiver | None = None
    wecom: WeComReceiver | None = None
    webhook: WebhookReceiver | None = None

    @field_validator("email")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        return _one_address_each(v)

    @model_validator(mode="after")
    def _somewhere(self) -> Receiver:
        if not (self.email or self.dingtalk or self.wecom or self.webhook):
            raise ValueError(f"receiver {self.name!r} sends nowhere: give email, dingtalk, wecom or webhook")
        return self


GroupLabel = Literal["area", "severity", "rule", "check", "subject"]


class RouteMatch(Strict):
    """A route takes a finding when every given list holds its value (an empty list matches anything)."""

    severity: list[Literal["info", "warning", "critical"]] = Field(default_factory=list)
    area: list[str] = Field(default_factory=list)
    rule: list[str] = Field(default_factory=list)
    check: list[str] = Field(default_factory=list)


class Route(Strict):
    """Alertmanager-style routing: the first matching child route wins unless it says `continue`; a route
    with no matching child takes the finding itself. Unset settings are inherited from the parent."""

    receiver: str = ""
    match: RouteMatch = Field(default_factory=RouteMatch)
    group_by: list[GroupLabel] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None  # 0: never re-send a group that is still open
    send_resolved: bool | None = None
    continue_: bool = Field(default=False, alias="continue")
    routes: list[Route] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _root_route() -> Route:
    return Route(
        receiver="default",
        group_by=["area", "severity"],
        group_wait=timedelta(seconds=30),
        group_interval=timedelta(minutes=5),
        repeat_interval=timedelta(hours=24),
        send_resolved=True,
    )


class NotifyConfig(Strict):
    language: Literal["zh", "en"] | None = None  # default: site.language
    max_attempts: int = Field(default=12, ge=1)
    retry_base: Duration = timedelta(seconds=30)
    retry_cap: Duration = timedelta(hours=1)
    email: EmailConfig = Field(default_factory=EmailConfig)
    # Receivers by name; "default" (email to notify.email.recipients) exists unless given here.
    receivers: list[Receiver] = Field(default_factory=list)
    route: Route = Field(default_factory=_root_route)

    @model_validator(mode="after")
    def _routes_name_receivers(self) -> NotifyConfig:
        names = [r.name for r in self.receivers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"receiver name {name!r} is used twice")
        known = set(names) | {"default"}
        if not self.route.receiver:
            raise ValueError("route.receiver: the top route needs a receiver")

        def walk(route: Route, where: str) -> None:
            if route.receiver and route.receiver not in known:
                raise ValueError(
                    f"{where}.receiver: no receiver named {route.receiver!r} (known: {', '.join(sorted(known))})"
                )
            for i, child in enumerate(route.routes):
                walk(child, f"{where}.routes[{i}]")

        walk(self.route, "route")
        return self

    def receiver(self, name: str) -> Receiver:
        """A receiver by name; "default" is email to notify.email.recipients unless configured."""
        for r in self.receivers:
            if r.name == name:
                return r
        if name == "default":
            return Receiver(name="default", email=list(self.email.recipients))
        raise KeyError(name)


class ReportConfig(Strict):
    """The weekly compliance summary (R14): who gets it, in which language, how long it is kept."""

    language: Literal["zh", "en"] | None = None  # default: notify.language, then site.language
    # Receivers (by name, as in [notify]) whose email addresses get the report; chat robots get no report.
    receivers: list[str] = Field(default_factory=lambda: ["default"])
    retention_years: int = Field(default=3, ge=1)
    # Extra folders searched for a CJK font for the charts (before the system's fonts).
    font_dirs: list[Path] = Field(default_factory=list)
    max_rows: int = Field(default=50, ge=5, le=1000)  # rows of a table in the email; the XLSX has them all
    trend_weeks: int = Field(default=8, ge=2, le=52)


class TrailConfig(Strict):
    """[trail]: the evidence trail's daily chain heads (issue 22; ops_watch/trail/heads.py). Each site day's heads
    are recorded and logged at `publish_at` (site time) the next day, and mailed to `archive_mailbox` when set:
    a mailbox the contractor cannot reach keeps a copy the store cannot rewrite."""

    archive_mailbox: list[str] = Field(default_factory=list)
    publish_at: str = "00:10"  # HH:MM, site time: `publish_time`
    # Every run of the `trail` job verifies the seals since the last intact verify; every this many days, all.
    full_verify_days: int = Field(default=7, ge=1)

    @field_validator("archive_mailbox")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        return _one_address_each(v)

    @field_validator("publish_at", mode="before")
    @classmethod
    def _time_of_day(cls, v: Any) -> Any:
        if isinstance(v, time):  # TOML's own local time, 00:10:00
            return f"{v:%H:%M}"
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", v.strip()) if isinstance(v, str) else None
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(
                f'{v!r} 不是时刻：请写站点时间 HH:MM，如 "00:10" / {v!r} is not a time of day: write HH:MM in '
                'site time, e.g. "00:10"'
            )
        return f"{int(match[1]):02d}:{match[2]}"

    @property
    def publish_time(self) -> time:
        hours, minutes = self.publish_at.split(":")
        return time(int(hours), int(minutes))


class RetentionConfig(Strict):
    # The Cybersecurity Law asks for network logs kept not less than six months; keep our audit trail longer.
    days: int = Field(default=400, ge=183)


class LogConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class WebConfig(Strict):
    """The web console (`ops-watch serve`, docs/console.md): where it listens, how long a session lasts, how
    logins are throttled, the password policy, a reverse proxy's single sign-on, and TLS files."""

    listen: str = "127.0.0.1:8080"  # host:port, [v6]:port
    idle_timeout: Duration = timedelta(minutes=30)
    session_lifetime: Duration = timedelta(hours=12)
    # Failed logins within `lockout`, per account name and per address, before that name or address is refused
    # (even with the right password) for `lockout`.
    login_failures: int = Field(default=5, ge=1, le=100)
    lockout: Duration = timedelta(minutes=15)
    password_min_length: int = Field(default=12, ge=8, le=128)
    password_classes: int = Field(default=3, ge=1, le=4)  # of lower case, upper case, digits, others
    trusted_proxies: list[str] = Field(default_factory=list)  # IP addresses or CIDR networks
    proxy_user_header: str = ""  # e.g. "X-Remote-User"; believed only from trusted_proxies
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{v!r} is not host:port (e.g. 127.0.0.1:8080, or [::1]:8080)")
        return v

    @field_validator("idle_timeout", "session_lifetime", "lockout")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("must be longer than 0 (e.g. 30m)")
        return v

    _networks = field_validator("trusted_proxies")(_ip_networks)

    @field_validator("proxy_user_header")
    @classmethod
    def _header_name(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Za-z0-9-]+", v):
            raise ValueError(f"{v!r} is not an HTTP header name (letters, digits and -, e.g. X-Remote-User)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> WebConfig:
        if self.idle_timeout > self.session_lifetime:
            raise ValueError("idle_timeout is longer than session_lifetime: make it shorter")
        if self.proxy_user_header and not self.trusted_proxies:
            raise ValueError(
                "proxy_user_header is set but trusted_proxies is empty: name the proxy's addresses, or anyone "
                "could send the header"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key (or neither: TLS by a reverse proxy)")
        return self

    def proxy_trusted(self, address: str) -> bool:
        """Is `address` (the peer of a connection) one of trusted_proxies?"""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)

    def tls_files(self, base: Path) -> tuple[Path, Path] | None:
        """(certificate, key) resolved against the config's directory ($CREDENTIALS_DIRECTORY first, as for
        secrets), or None: TLS is the reverse proxy's."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        return _secret_path(self.tls_cert, base), _secret_path(self.tls_key, base)


class MetricsConfig(Strict):
    """[metrics]: Prometheus exposition (docs/metrics.md). The console serves /metrics on its own listener; a
    site that runs no console gives the daemon a listener of its own here ("host:port", empty: none)."""

    listen: str = ""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        value = value.strip()
        if value:
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"listen {value!r}: write host:port, e.g. 127.0.0.1:9108")
        return value


class HaConfig(Strict):
    """[ha]: several `ops-watch run` on one PostgreSQL store, one of them leading (docs/install.md, "Two nodes").
    `lease`: how long a leader that can no longer reach the store (its host frozen, the network cut) keeps running
    jobs; the server ends its lock session after the same time, so the standby cannot take over sooner.
    `heartbeat`: how often the leader proves itself on its lock connection and a standby tries the lock."""

    lease: Duration = timedelta(seconds=30)
    heartbeat: Duration = timedelta(seconds=5)

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> HaConfig:
        if self.heartbeat.total_seconds() < 0.2:
            raise ValueError("heartbeat: at least 0.2s")
        if self.heartbeat * 3 > self.lease:
            raise ValueError(
                f"lease ({self.lease.total_seconds():g}s) must be at least 3 x heartbeat "
                f"({self.heartbeat.total_seconds():g}s): a leader must beat several times within its lease"
            )
        return self


class Config(Strict):
    site: SiteConfig = Field(default_factory=SiteConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    collect: CollectConfig = Field(default_factory=CollectConfig)
    doors: DoorsConfig = Field(default_factory=DoorsConfig)
    backups: BackupsConfig = Field(default_factory=BackupsConfig)
    utilization: UtilizationConfig = Field(default_factory=UtilizationConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    trail: TrailConfig = Field(default_factory=TrailConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    ha: HaConfig = Field(default_factory=HaConfig)

    # Set by load_config, not by the file.
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _report_receivers_exist(self) -> Config:
        known = {r.name for r in self.notify.receivers} | {"default"}
        for name in self.report.receivers:
            if name not in known:
                raise ValueError(
                    f"report.receivers: no receiver named {name!r} in [notify] (known: {', '.join(sorted(known))})"
                )
        return self

    def resolve(self, path: Path) -> Path:
        """A configured path, relative to the config file's directory."""
        return path if path.is_absolute() else (self.config_dir / path)

    @property
    def state_dir(self) -> Path:
        return self.resolve(self.paths.state_dir)

    @property
    def rules_dir(self) -> Path:
        return self.resolve(self.paths.rules_dir)

    @property
    def drop_dir(self) -> Path:
        return self.resolve(self.ingest.drop_dir)

    @property
    def outbox_dir(self) -> Path:
        return self.resolve(self.notify.email.outbox_dir)

    def store_password(self) -> str:
        return self.store.secret(self.config_dir).get_secret_value()

    def smtp_password(self) -> str:
        return self.notify.email.secret(self.config_dir).get_secret_value()

    @property
    def config_dir(self) -> Path:
        return self.source_path.parent if self.source_path else Path.cwd()

    @property
    def language(self) -> str:
        return self.notify.language or self.site.language

    @property
    def report_language(self) -> str:
        return self.report.language or self.language

    @property
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"

    @property
    def store_url(self) -> str:
        if self.store.url:
            return self.store.url
        return f"sqlite:///{self.state_dir / 'ops-watch.db'}"


def _base(info: Any) -> Path:
    ctx = getattr(info, "context", None) or {}
    return Path(ctx.get("base", Path.cwd()))


def format_validation_error(file: str, exc: ValidationError) -> list[str]:
    return [f"{file}: {key_path(e['loc']) or '(top level)'}: {reason(e)}" for e in exc.errors()]


def parse_config(data: dict[str, Any], path: Path, check_secrets: bool = True) -> Config:
    """Validate an already-read mapping; raise ConfigError listing every problem.

    check_secrets=False is for commands an operator runs by hand that need no secret: under systemd
    the secrets come from $CREDENTIALS_DIRECTORY, which such a command does not have.
    """
    try:
        cfg = Config.model_validate(data, context={"base": path.parent, "check_secrets": check_secrets})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path.name, exc)) from None
    return cfg.model_copy(update={"source_path": path.resolve()})


def load_config(path: Path | str, check_secrets: bool = True) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path.name}: not UTF-8 text (byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path.name}: not valid TOML: {exc}"]) from None
    return parse_config(data, path, check_secrets)


def default_config_path() -> Path:
    """$OPS_WATCH_CONFIG, else ./config.toml, else /etc/ops-watch/config.toml."""
    env = os.environ.get("OPS_WATCH_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    if local.exists():
        return local
    return Path("/etc/ops-watch/config.toml")
