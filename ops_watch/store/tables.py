"""The tables reading findings does not need (31 of 35), declared the first time store.schema is asked for one of
them (see its docstring): `from ops_watch.store.schema import DoorEvent` as before, or `schema.declare_all()`.
Import them from store.schema, never from here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ops_watch.store.schema import Base, BatchRows, DecimalText, Money, UTCDateTime


class RowError(BatchRows, Base):
    """A refused row of a batch: kept so nothing is lost silently."""

    __tablename__ = "row_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("evidence_batches.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(256), default="")
    value: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)


class InventoryResource(BatchRows, Base):
    """An allocated cloud resource, as the latest inventory says."""

    __tablename__ = "inventory_resources"
    resource_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    platform: Mapped[str] = mapped_column(String(128), index=True)
    tenant_unit: Mapped[str] = mapped_column(String(256), index=True)
    type: Mapped[str] = mapped_column(String(32))
    vcpu: Mapped[int] = mapped_column(Integer, default=0)
    memory_gb: Mapped[float] = mapped_column(Float, default=0.0)
    storage_gb: Mapped[float] = mapped_column(Float, default=0.0)
    backup_required: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(256), default="")
    # "" any enabled source that can reach it; ssh | prometheus | file | none
    collect_via: Mapped[str] = mapped_column(String(32), default="")
    allocated_from: Mapped[date | None] = mapped_column(Date)
    allocated_to: Mapped[date | None] = mapped_column(Date)
    # How often its source samples it, as the inventory states (seconds); None: inferred from its samples.
    sample_interval_s: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffMember(BatchRows, Base):
    """The contractor's staff registry."""

    __tablename__ = "staff"
    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    card_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[str] = mapped_column(String(128), default="")
    employer: Mapped[str] = mapped_column(String(256), default="")
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    certificates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UtilizationSample(BatchRows, Base):
    """One measurement of a resource: CPU and memory in percent, storage in GB."""

    __tablename__ = "utilization_samples"
    __table_args__ = (UniqueConstraint("resource_id", "at", name="uq_utilization_resource_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    cpu_pct: Mapped[float | None] = mapped_column(Float)
    mem_pct: Mapped[float | None] = mapped_column(Float)
    storage_used_gb: Mapped[float | None] = mapped_column(Float)
    storage_total_gb: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64), default="")


class UtilizationHourly(Base):
    """Hourly roll-up of the raw samples: what evaluation reads, and what is kept long (400 days)."""

    __tablename__ = "utilization_hourly"
    # On SQLite the rows are kept in (resource_id, hour) order (migration 0003): checks read them so.
    __table_args__ = {"sqlite_with_rowid": False}
    resource_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    hour: Mapped[datetime] = mapped_column(
        UTCDateTime(), primary_key=True, index=True
    )  # start of the hour, UTC
    samples: Mapped[int] = mapped_column(Integer)
    cpu_mean: Mapped[float | None] = mapped_column(Float)
    cpu_max: Mapped[float | None] = mapped_column(Float)
    cpu_p95: Mapped[float | None] = mapped_column(Float)
    mem_mean: Mapped[float | None] = mapped_column(Float)
    mem_max: Mapped[float | None] = mapped_column(Float)
    mem_p95: Mapped[float | None] = mapped_column(Float)
    storage_used_gb: Mapped[float | None] = mapped_column(Float)  # the hour's largest
    storage_total_gb: Mapped[float | None] = mapped_column(Float)


class CollectionStatus(Base):
    """The last attempt of each source at each target (host, resource): what failed, since when, why."""

    __tablename__ = "collection_status"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(256), primary_key=True)
    last_attempt: Mapped[datetime] = mapped_column(UTCDateTime())
    last_success: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # "" when fine; else unreachable | timeout | auth | host_key_unknown | host_key_changed | parse | http | config
    error_kind: Mapped[str] = mapped_column(String(32), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")


class StoreState(Base):
    """Small named values the jobs keep between runs (e.g. how far the roll-up has read)."""

    __tablename__ = "store_state"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ClusterInstance(Base):
    """An `ops-watch run` that uses this store: which one it is, when it last showed it was alive, whether it
    leads (store/cluster.py). One row per process start; rows of stopped instances are kept a week."""

    __tablename__ = "cluster_instances"
    instance: Mapped[str] = mapped_column(String(128), primary_key=True)  # "host:pid"
    node: Mapped[str] = mapped_column(String(128))  # the host name, as `ops-watch status` shows it
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    role: Mapped[str] = mapped_column(String(16), default="standby")  # leader | standby | stopped
    leading_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClusterLeadership(Base):
    """The one row naming the leader and its epoch. A new leader raises the epoch while it holds the lock, so
    work claimed under an older epoch (an old leader that was frozen) is refused in SQL: a fencing token."""

    __tablename__ = "cluster_leadership"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    instance: Mapped[str] = mapped_column(String(128), default="")
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkClaim(Base):
    """A piece of work one node has taken (a drop-folder file before it is moved): the key is unique, so a second
    node's claim fails; a claim of a process that is gone, or older than its lease, may be taken over."""

    __tablename__ = "work_claims"
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))  # "host:pid"
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message written before any attempt to send it; it stays until a server accepted it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))  # email | dingtalk | wecom | webhook
    receiver: Mapped[str] = mapped_column(String(128), default="")  # the receiver's name in the config
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(256), unique=True)
    references: Mapped[str] = mapped_column(String(256), default="")
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("alert_groups.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # a webhook's JSON body
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Who is sending it ("host:pid") and since when: recorded before the attempt, so a pass that cannot record
    # the outcome (a locked store) never sends it again; a claim of a process that died is released.
    claimed_by: Mapped[str] = mapped_column(String(128), default="", server_default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DoorEvent(BatchRows, Base):
    """One access-control event (门禁记录). `dedupe_key` makes the same event from two files one row."""

    __tablename__ = "door_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # No index on person or card: the checks read events by time, and each index costs the bulk load ~20 %.
    person_id: Mapped[str] = mapped_column(String(128), default="")
    name: Mapped[str] = mapped_column(String(128), default="")
    card_no: Mapped[str] = mapped_column(String(128), default="")
    door: Mapped[str] = mapped_column(String(256), default="")
    direction: Mapped[str] = mapped_column(String(8), default="")  # in | out | "" (reader without direction)
    result: Mapped[str] = mapped_column(String(16))  # granted | denied
    device: Mapped[str] = mapped_column(String(256), default="")
    serial_no: Mapped[str] = mapped_column(String(128), default="")
    dedupe_key: Mapped[str] = mapped_column(String(600), unique=True)


class HandoverShift(BatchRows, Base):
    """One shift of a handover sheet (交接班表); a corrected sheet replaces the row of the same (date, shift)."""

    __tablename__ = "handover_shifts"
    __table_args__ = (UniqueConstraint("date", "shift", name="uq_handover_date_shift"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    shift: Mapped[str] = mapped_column(String(64))
    on_duty: Mapped[list[str]] = mapped_column(JSON, default=list)
    handover_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handed_over_by: Mapped[str] = mapped_column(String(128), default="")
    taken_over_by: Mapped[str] = mapped_column(String(128), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BackupJob(BatchRows, Base):
    """One run of a backup job (备份作业). `dedupe_key` (system, job, start) makes a run reported twice one row."""

    __tablename__ = "backup_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(256), index=True)
    job: Mapped[str] = mapped_column(String(256), default="")
    started: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # success | failed | partial
    size_gb: Mapped[float | None] = mapped_column(Float)
    dedupe_key: Mapped[str] = mapped_column(String(800), unique=True)


class Drill(BatchRows, Base):
    """One recovery or emergency drill (演练记录); a corrected record replaces the same (date, system, type)."""

    __tablename__ = "drills"
    __table_args__ = (UniqueConstraint("date", "system", "type", name="uq_drill_date_system_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    system: Mapped[str] = mapped_column(String(256), index=True)
    type: Mapped[str] = mapped_column(String(16))  # restore | emergency | failover
    scenario: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(8))  # pass | fail
    rto_minutes: Mapped[float | None] = mapped_column(Float)
    rpo_minutes: Mapped[float | None] = mapped_column(Float)
    participants: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DrillPlan(BatchRows, Base):
    """One drill the contractor announced (演练计划)."""

    __tablename__ = "drill_plans"
    __table_args__ = (UniqueConstraint("date", "system", "type", name="uq_drill_plan_date_system_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    system: Mapped[str] = mapped_column(String(256), index=True)
    type: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BillingStatement(BatchRows, Base):
    """One line of the contractor's monthly statement (对账单); a corrected statement replaces the line."""

    __tablename__ = "billing_statements"
    __table_args__ = (UniqueConstraint("month", "platform", "item", name="uq_billing_statement_line"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # 2026-10
    platform: Mapped[str] = mapped_column(String(128))
    item: Mapped[str] = mapped_column(String(64))  # vcpu | memory_gb | storage_gb | fixed_fee | other text
    quantity: Mapped[Decimal | None] = mapped_column(DecimalText())
    unit_price: Mapped[Decimal | None] = mapped_column(DecimalText())
    amount: Mapped[Decimal] = mapped_column(Money())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BudgetEvent(BatchRows, Base):
    """A budget line's event (预算事件): the initial budget, an adjustment (调剂/收回: negative), a payment."""

    __tablename__ = "budget_events"
    __table_args__ = (UniqueConstraint("date", "kind", "amount", "note", name="uq_budget_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # initial | adjustment | payment
    amount: Mapped[Decimal] = mapped_column(Money())
    note: Mapped[str] = mapped_column(String(512), default="")


class IndicatorExplanation(BatchRows, Base):
    """Why a cost indicator deviated from its target (偏差说明), as the center recorded it."""

    __tablename__ = "indicator_explanations"
    __table_args__ = (UniqueConstraint("indicator", "period", name="uq_indicator_explanation"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(256))
    period: Mapped[str] = mapped_column(String(16))  # 2026 | 2026-Q3 | 2026-10
    explanation: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(128), default="")
    recorded_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditSubmission(BatchRows, Base):
    """One audit material handed in (审计材料报送): a register row, or a document dropped in the folder (its
    arrival time recorded). `item` is the key of a material of the contract's [audit]; `submitted_at` None is
    a submission whose time nobody recorded."""

    __tablename__ = "audit_submissions"
    __table_args__ = (UniqueConstraint("item", "period", "document", name="uq_audit_submission"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(16))  # 2026 | 2026-Q3 | 2026-10
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str] = mapped_column(String(128), default="")
    document: Mapped[str] = mapped_column(String(512), default="")
    source: Mapped[str] = mapped_column(String(16), default="register")  # register | drop
    sha256: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InspectionPlan(Base):
    """The center's unannounced inspections of a month (检查计划), drawn once from a random seed kept here: the
    dates can be drawn again from the seed, never guessed from the code."""

    __tablename__ = "inspection_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # 2026-12
    seed: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_by: Mapped[str] = mapped_column(String(128), default="")


class PlannedInspection(Base):
    """One inspection of a plan: the day, the area to look at, when the center was reminded."""

    __tablename__ = "planned_inspections"
    __table_args__ = (UniqueConstraint("day", "area", name="uq_planned_inspection"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    area: Mapped[str] = mapped_column(String(64))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InspectionRecord(BatchRows, Base):
    """What an inspection found (检查记录): result, problems, the rectification deadline and when it was met."""

    __tablename__ = "inspection_records"
    __table_args__ = (UniqueConstraint("day", "area", name="uq_inspection_record"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    area: Mapped[str] = mapped_column(String(64))
    inspector: Mapped[str] = mapped_column(String(128), default="")
    result: Mapped[str] = mapped_column(String(16))  # pass | problems
    problems: Mapped[str] = mapped_column(Text, default="")
    rectify_by: Mapped[date | None] = mapped_column(Date)
    rectified_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyResponse(BatchRows, Base):
    """One answer to the satisfaction survey (满意度调查): which tenant unit, who, when, the score."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("unit", "respondent", "day", name="uq_survey_response"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(String(256), index=True)
    respondent: Mapped[str] = mapped_column(String(128))
    day: Mapped[date] = mapped_column(Date, index=True)
    score: Mapped[float] = mapped_column(Float)
    comments: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContractReview(BatchRows, Base):
    """A contract text dropped in the folder, linted on arrival: its problems (repealed laws cited, required
    clauses absent) as contract_text.Problem rows. A new version under the same file name replaces them."""

    __tablename__ = "contract_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(String(512), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    encoding: Mapped[str] = mapped_column(String(32), default="")
    paragraphs: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertGroup(Base):
    """Findings a route sends together (Alertmanager's group): one per route, receiver and group labels."""

    __tablename__ = "alert_groups"
    __table_args__ = (UniqueConstraint("route", "receiver", "key", name="uq_alert_group"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route: Mapped[str] = mapped_column(String(64))  # the route's path in the config, e.g. "0.1"
    receiver: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(700))  # the group labels as JSON
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # first change not yet told
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    firing: Mapped[bool] = mapped_column(Boolean, default=False)  # had firing findings at the last message
    thread_message_id: Mapped[str] = mapped_column(String(256), default="")


class AlertGroupMember(Base):
    """A finding in a group, and what the group's receiver was last told about it."""

    __tablename__ = "alert_group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id", ondelete="CASCADE"), primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    told: Mapped[str] = mapped_column(String(16), default="")  # "" | firing | muted | resolved


class UserAccount(Base):
    """A local account of the web console (`ops-watch users`): an Argon2id hash, never the password."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # viewer | operator | admin
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginSession(Base):
    """A console session: only the sha256 of its cookie is kept, so a copy of the store opens no session."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")


class AuthEvent(Base):
    """The console's audit trail: every login, logout, failure, account change and write, with who, when and
    from where (GB/T 22239-2019 security audit)."""

    __tablename__ = "auth_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # login | logout | user_add | acknowledge | ...
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    ok: Mapped[bool] = mapped_column(Boolean)


class ApiToken(Base):
    """A bearer token of the read-only JSON API: only the sha256 of the secret is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class TrailSeal(Base):
    """One link of a hash chain (ops_watch/trail, docs/trail.md): a batch of evidence or a decision, sealed when
    it was stored. `hash` = sha256 of `prev`, a newline and `body` (canonical JSON); `entries` holds the batch's
    rows as "key<TAB>digest" lines (zlib), which `body` commits to through their digest."""

    __tablename__ = "trail_seals"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_trail_seals_chain_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(16))  # evidence | decisions
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … in each chain, no gaps
    kind: Mapped[str] = mapped_column(String(16))  # batch | genesis | purge | insert | update
    subject: Mapped[str] = mapped_column(String(128), index=True)  # "evidence_batches:17", "finding_events:4"
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)
    entries: Mapped[bytes | None] = mapped_column(LargeBinary)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class TrailHead(Base):
    """A chain's head as published (the log, the weekly report, the archive mailbox): verify holds the chain to
    every one of them, so rewriting the chain means rewriting what was published too."""

    __tablename__ = "trail_heads"
    __table_args__ = (UniqueConstraint("chain", "day", name="uq_trail_heads_chain_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)  # the site day it closes
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
