"""Grouping, pacing and routing of alerts (Alertmanager's model) read straight from the outbox rows.

Findings are put in the store as the engine leaves them; each pass of the planner runs at an explicit time,
so the waits (group_wait, group_interval, repeat_interval) are checked just before and at their end.
The default route here: receiver "center", group_by area+severity, group_wait 30s, group_interval 5m,
repeat_interval 4h, send_resolved true.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from alert_helpers import T0, add_finding, add_findings, notified, outbox, set_status

from ops_watch.config import Config, load_config
from ops_watch.notify.groups import plan
from ops_watch.notify.outbox import deliver_due, queue_finding_messages

S = timedelta(seconds=1)
WAIT = timedelta(seconds=30)
INTERVAL = timedelta(minutes=5)
REPEAT = timedelta(hours=4)

RECEIVERS = """
[[notify.receivers]]
name = "center"
email = ["center@gov.example"]

[[notify.receivers]]
name = "oncall"
email = ["oncall@gov.example"]

[[notify.receivers]]
name = "staff"
email = ["staff@gov.example"]
"""


def routing_config(
    config_file: Callable[..., Path], top: str = "", routes: str = "", name: str = "config.toml"
) -> Config:
    """The default route (overridable by `top` lines) with child routes given as [[notify.route.routes]]."""
    settings = {
        "receiver": '"center"',
        "group_by": '["area", "severity"]',
        "group_wait": '"30s"',
        "group_interval": '"5m"',
        "repeat_interval": '"4h"',
        "send_resolved": "true",
    }
    for line in top.strip().splitlines():
        key, value = (p.strip() for p in line.split("=", 1))
        settings[key] = value
    route = "\n".join(f"{k} = {v}" for k, v in settings.items())
    text = f"{RECEIVERS}\n[notify.route]\n{route}\n{routes}"
    return load_config(config_file(text, name=name))


def told(store, receiver: str | None = None) -> list:
    return outbox(store) if receiver is None else outbox(store, receiver=receiver)


# ---- group_wait: siblings go out together ----------------------------------------------------------


def test_500_findings_in_one_evaluation_make_one_message_per_group_after_group_wait(store, config_file):
    cfg = routing_config(config_file)
    ids = []
    for area in ("resources", "staffing"):
        for severity in ("warning", "critical"):
            ids += add_findings(store, 125, area=area, severity=severity)
    assert len(ids) == 500

    for at in (T0, T0 + WAIT - S):
        result = plan(store, cfg, at)
        assert (result.queued, result.waiting) == (0, 4)
    assert told(store) == []
    assert set(notified(store, ids)) == {""}  # nobody knows of them yet

    result = plan(store, cfg, T0 + WAIT)
    assert (result.queued, result.groups_told, result.waiting) == (4, 4, 0)
    subjects = sorted(m.subject for m in told(store))
    assert subjects == sorted(
        f"[ops-watch][{sev}] {area}：新增 125 项"
        for area in ("资源使用", "人员与门禁")
        for sev in ("警告", "严重")
    )
    for m in told(store):
        assert m.receiver == "center" and m.recipients == ["center@gov.example"]
        assert "另有 75 项未列出" in m.body_text  # 50 listed, the rest counted
    assert set(notified(store, ids)) == {"open"}
    assert plan(store, cfg, T0 + WAIT + timedelta(hours=1)).queued == 0  # no news, repeat not due

    # And through the file transport: four .eml files, one per group.
    assert deliver_due(store, cfg, T0 + WAIT).sent == 4
    files = sorted(cfg.outbox_dir.glob("*.eml"))
    assert len(files) == 4
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
    assert sorted(m["Subject"] for m in mails) == subjects
    assert {m["To"] for m in mails} == {"center@gov.example"}


def test_a_new_finding_in_a_told_group_waits_group_interval_a_new_group_waits_group_wait(store, config_file):
    cfg = routing_config(config_file)
    add_finding(store, area="resources", summary="第一项")
    plan(store, cfg, T0 + WAIT)
    [first] = told(store)

    later = T0 + WAIT + timedelta(minutes=1)
    add_finding(store, area="resources", summary="同组新增", at=later)  # the told group
    add_finding(store, area="staffing", summary="新组", at=later)  # a group of its own
    assert plan(store, cfg, later).queued == 0
    assert plan(store, cfg, later + WAIT - S).queued == 0
    assert plan(store, cfg, later + WAIT).queued == 1  # the new group, after group_wait
    assert told(store)[-1].subject == "[ops-watch][警告] 新组"

    last = T0 + WAIT  # the told group's last message
    assert plan(store, cfg, last + INTERVAL - S).queued == 0
    assert plan(store, cfg, last + INTERVAL).queued == 1
    added = told(store)[-1]
    assert added.subject == "[ops-watch][警告] 资源使用：新增 1 项，另有 1 项未解决"
    assert "同组新增" in added.body_text and "第一项" in added.body_text
    assert added.references == first.message_id  # threads under the group's first message


def test_no_news_repeats_after_repeat_interval_only(store, config_file):
    cfg = routing_config(config_file)
    add_finding(store, summary="一直未解决")
    plan(store, cfg, T0 + WAIT)
    told_at = T0 + WAIT
    for k in (1, 2):
        assert plan(store, cfg, told_at + k * REPEAT - S).queued == 0
        assert plan(store, cfg, told_at + k * REPEAT).queued == 1
    first, *repeats = told(store)
    assert len(repeats) == 2
    for m in repeats:
        assert m.subject == "[ops-watch][警告] 证据与送达：仍有 1 项未解决"
        assert "定期提醒" in m.body_text and "一直未解决" in m.body_text
        assert m.references == first.message_id


def test_repeat_interval_zero_never_repeats(store, config_file):
    cfg = routing_config(config_file, top='repeat_interval = "0s"')
    add_finding(store)
    assert plan(store, cfg, T0 + WAIT).queued == 1
    for later in (timedelta(hours=4), timedelta(days=1), timedelta(days=365)):
        assert plan(store, cfg, T0 + WAIT + later).queued == 0


# ---- resolved, acknowledged, silenced ---------------------------------------------------------------


@pytest.mark.parametrize("send_resolved", [True, False])
def test_a_resolved_finding_sends_a_notice_only_with_send_resolved(store, config_file, send_resolved):
    cfg = routing_config(config_file, top=f"send_resolved = {str(send_resolved).lower()}")
    fid = add_finding(store, summary="备份失败")
    plan(store, cfg, T0 + WAIT)
    set_status(store, fid, "resolved", T0 + timedelta(minutes=1))
    last = T0 + WAIT
    assert plan(store, cfg, last + INTERVAL - S).queued == 0
    assert plan(store, cfg, last + INTERVAL).queued == (1 if send_resolved else 0)
    for later in (REPEAT, timedelta(days=3)):
        assert plan(store, cfg, last + INTERVAL + later).queued == 0  # nothing open: no repeats
    messages = told(store)
    if send_resolved:
        assert [m.subject for m in messages[1:]] == ["[ops-watch][已解决] 已解决：备份失败"]
        assert messages[1].references == messages[0].message_id
    else:
        assert len(messages) == 1
    assert notified(store, [fid]) == ["resolved"]


@pytest.mark.parametrize("send_resolved", [True, False])
def test_after_everything_resolved_a_new_finding_waits_group_wait_again(store, config_file, send_resolved):
    # Alertmanager: a group whose alerts all resolved is gone; the next alert starts a new group that waits
    # group_wait for its siblings, whether or not the receiver hears of resolutions.
    cfg = routing_config(config_file, top=f"send_resolved = {str(send_resolved).lower()}")
    fid = add_finding(store)
    plan(store, cfg, T0 + WAIT)
    set_status(store, fid, "resolved", T0 + timedelta(minutes=1))
    plan(store, cfg, T0 + WAIT + INTERVAL)  # the resolution is settled (told or not)
    before = len(told(store))

    again = T0 + timedelta(days=1)
    add_findings(store, 1, at=again)
    assert plan(store, cfg, again).queued == 0  # wait for siblings
    add_findings(store, 1, at=again + WAIT / 2)
    assert plan(store, cfg, again + WAIT - S).queued == 0
    assert plan(store, cfg, again + WAIT).queued == 1
    assert len(told(store)) == before + 1
    assert "新增 2 项" in told(store)[-1].subject  # both siblings in one message


def test_a_finding_opened_and_resolved_before_the_first_message_sends_nothing(store, config_file):
    cfg = routing_config(config_file)
    fid = add_finding(store)
    assert plan(store, cfg, T0).waiting == 1
    set_status(store, fid, "resolved", T0 + WAIT / 2)
    for at in (T0 + WAIT / 2, T0 + WAIT, T0 + timedelta(days=1)):
        assert plan(store, cfg, at).queued == 0
    assert told(store) == []


def test_after_an_untold_flap_the_next_finding_still_waits_group_wait(store, config_file):
    # A finding opened and resolved before the group's first message leaves nothing behind: a finding of
    # the same group hours later must wait group_wait for its siblings like any first news.
    cfg = routing_config(config_file)
    fid = add_finding(store)
    plan(store, cfg, T0)
    set_status(store, fid, "resolved", T0 + WAIT / 2)
    plan(store, cfg, T0 + WAIT / 2)

    later = T0 + timedelta(hours=2)
    add_findings(store, 1, at=later)
    assert plan(store, cfg, later).queued == 0, "sent at once: the flap's old wait was reused"
    add_findings(store, 1, at=later + S)
    assert plan(store, cfg, later + WAIT).queued == 1
    assert "新增 2 项" in told(store)[-1].subject


def test_acknowledged_and_silenced_findings_are_not_resent_and_reopening_is_news(store, config_file):
    cfg = routing_config(config_file)
    acked = add_finding(store, summary="已确认的问题")
    silenced = add_finding(store, summary="被静默的问题")
    plan(store, cfg, T0 + WAIT)
    assert len(told(store)) == 1

    set_status(store, acked, "acknowledged", T0 + timedelta(minutes=1))
    set_status(store, silenced, "silenced", T0 + timedelta(minutes=1))
    for later in (INTERVAL, REPEAT, 3 * REPEAT):
        assert plan(store, cfg, T0 + WAIT + later).queued == 0  # muted: no repeats, no notice
    assert notified(store, [acked, silenced]) == ["acknowledged", "silenced"]

    reopened = T0 + WAIT + 3 * REPEAT + S
    set_status(store, silenced, "open", reopened)  # the silence ended and it still fails
    assert plan(store, cfg, reopened + max(WAIT, INTERVAL)).queued == 1
    news = told(store)[-1]
    assert news.subject == "[ops-watch][警告] 被静默的问题"  # the only finding to tell: its own summary
    assert (
        "新增" in news.body_text and "被静默的问题" in news.body_text and "已确认的问题" not in news.body_text
    )


def test_a_finding_silenced_before_it_was_told_is_news_when_it_opens(store, config_file):
    cfg = routing_config(config_file)
    fid = add_finding(store, status="silenced", summary="静默中")
    assert plan(store, cfg, T0 + timedelta(days=1)).queued == 0
    set_status(store, fid, "open", T0 + timedelta(days=2))
    assert plan(store, cfg, T0 + timedelta(days=2)).queued == 0
    assert plan(store, cfg, T0 + timedelta(days=2) + WAIT).queued == 1
    assert told(store)[-1].subject == "[ops-watch][警告] 静默中"


# ---- routes -----------------------------------------------------------------------------------------

ONCALL_CRITICAL_CONTINUE = """
[[notify.route.routes]]
receiver = "oncall"
match = { severity = ["critical"] }
group_wait = "0s"
continue = true
"""


def test_a_critical_route_with_continue_sends_at_once_and_the_default_still_gets_it(store, config_file):
    cfg = routing_config(config_file, routes=ONCALL_CRITICAL_CONTINUE)
    add_finding(store, severity="critical", area="resources", summary="磁盘已满")
    add_finding(store, severity="warning", area="resources", summary="磁盘将满")

    assert plan(store, cfg, T0).by_receiver == {"oncall": 1}  # group_wait 0s: at once
    [page] = told(store, "oncall")
    assert page.subject == "[ops-watch][严重] 磁盘已满" and page.recipients == ["oncall@gov.example"]
    assert plan(store, cfg, T0 + WAIT).by_receiver == {"center": 2}  # and the default, after its wait
    assert sorted(m.subject for m in told(store, "center")) == [
        "[ops-watch][严重] 磁盘已满",
        "[ops-watch][警告] 磁盘将满",
    ]
    assert len(told(store, "oncall")) == 1  # the warning never went to oncall


FIRST_MATCH_WINS = """
[[notify.route.routes]]
receiver = "staff"
match = { area = ["staffing"] }

[[notify.route.routes]]
receiver = "oncall"
match = { severity = ["critical"] }
"""


def test_the_first_matching_child_wins_without_continue(store, config_file):
    cfg = routing_config(config_file, routes=FIRST_MATCH_WINS)
    add_finding(store, area="staffing", severity="critical", summary="无人值守")
    add_finding(store, area="resources", severity="critical", summary="CPU 满载")
    add_finding(store, area="resources", severity="warning", summary="内存偏高")
    assert plan(store, cfg, T0 + WAIT).queued == 3
    by_receiver = {m.receiver: m.subject for m in told(store)}
    assert by_receiver == {
        "staff": "[ops-watch][严重] 无人值守",  # not also oncall: the first match took it
        "oncall": "[ops-watch][严重] CPU 满载",
        "center": "[ops-watch][警告] 内存偏高",  # no child matched: the top route takes it
    }


@pytest.mark.parametrize(
    ("match", "finding", "expected"),
    [
        ('{ area = ["governance"] }', {"area": "governance"}, "oncall"),
        ('{ area = ["governance"] }', {"area": "evidence"}, "center"),
        ('{ rule = ["backup-age"] }', {"rule": "backup-age"}, "oncall"),
        ('{ rule = ["backup-age"] }', {"rule": "backup-count"}, "center"),
        ('{ check = ["restic_snapshot_age"] }', {"check": "restic_snapshot_age"}, "oncall"),
        ('{ check = ["restic_snapshot_age"] }', {"check": "restic_check"}, "center"),
        ('{ area = ["continuity"], severity = ["critical"] }', {"area": "continuity"}, "center"),
        (
            '{ area = ["continuity"], severity = ["critical"] }',
            {"area": "continuity", "severity": "critical"},
            "oncall",
        ),
        ('{ rule = ["a", "b"] }', {"rule": "b"}, "oncall"),
    ],
)
def test_a_route_matches_by_area_rule_and_check(store, config_file, match, finding, expected):
    routes = f'\n[[notify.route.routes]]\nreceiver = "oncall"\nmatch = {match}\n'
    cfg = routing_config(config_file, routes=routes)
    add_finding(store, **finding)
    assert plan(store, cfg, T0 + WAIT).by_receiver == {expected: 1}


def test_a_child_route_inherits_unset_settings_and_overrides_set_ones(store, config_file):
    routes = """
[[notify.route.routes]]
receiver = "oncall"
match = { area = ["staffing"] }
group_by = ["subject"]
"""
    cfg = routing_config(config_file, routes=routes)
    add_findings(store, 3, area="staffing")  # three subjects: three groups on the child route
    assert plan(store, cfg, T0 + WAIT - S).queued == 0  # group_wait inherited
    assert plan(store, cfg, T0 + WAIT).by_receiver == {"oncall": 3}


# ---- force, config changes ---------------------------------------------------------------------------


def test_force_sends_news_without_waiting_but_does_not_invent_repeats(store, config_file):
    cfg = routing_config(config_file)
    add_finding(store, summary="甲")
    assert queue_finding_messages(store, cfg, T0, force=True).queued == 1
    add_finding(store, summary="乙", at=T0 + S)
    assert queue_finding_messages(store, cfg, T0 + S).queued == 0  # unforced: group_interval
    assert queue_finding_messages(store, cfg, T0 + 2 * S, force=True).queued == 1  # forced: now
    assert queue_finding_messages(store, cfg, T0 + 3 * S, force=True).queued == 0  # no news: nothing
    assert [m.subject for m in told(store)] == [
        "[ops-watch][警告] 甲",
        "[ops-watch][警告] 证据与送达：新增 1 项，另有 1 项未解决",
    ]


ONCALL_CRITICAL = """
[[notify.route.routes]]
receiver = "oncall"
match = { severity = ["critical"] }
group_wait = "0s"
"""

STAFF_THEN_ONCALL = """
[[notify.route.routes]]
receiver = "oncall"
match = { severity = ["critical"] }
group_wait = "0s"

[[notify.route.routes]]
receiver = "oncall"
match = { area = ["staffing"] }
group_wait = "0s"
"""

ONCALL_STAFF_ONLY = """
[[notify.route.routes]]
receiver = "oncall"
match = { area = ["staffing"] }
group_wait = "0s"
"""


@pytest.mark.parametrize(
    ("before", "after"),
    [(ONCALL_CRITICAL, ""), (STAFF_THEN_ONCALL, ONCALL_STAFF_ONLY)],
    ids=["only-child-removed", "first-of-two-removed"],
)
def test_a_route_removed_from_the_config_closes_its_groups_without_a_message(
    store, config_file, before, after
):
    old = routing_config(config_file, routes=before)
    fid = add_finding(store, area="resources", severity="critical", summary="机房断电")
    assert plan(store, old, T0).by_receiver == {"oncall": 1}

    new = routing_config(config_file, routes=after, name="new.toml")
    # The finding now belongs to the default route: news there, after its wait.
    assert plan(store, new, T0 + S).queued == 0
    assert plan(store, new, T0 + S + WAIT).by_receiver == {"center": 1}
    set_status(store, fid, "resolved", T0 + timedelta(hours=1))
    for at in (T0 + timedelta(hours=1), T0 + timedelta(days=1), T0 + timedelta(days=2)):
        plan(store, new, at)
    assert len(told(store, "oncall")) == 1  # the old route's group said nothing more
    assert [m.subject for m in told(store, "center")] == [
        "[ops-watch][严重] 机房断电",
        "[ops-watch][已解决] 已解决：机房断电",
    ]
