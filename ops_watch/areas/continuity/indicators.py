"""The continuity indicators of the score: drills completed on time and backups that succeeded."""

from __future__ import annotations

from sqlalchemy import func, select

from ops_watch.areas.continuity.model import backup_success_rates, drill_completion, drill_label, systems
from ops_watch.core.vocabulary import text as _t
from ops_watch.findings.indicators import IndicatorInputs, IndicatorValue, indicator, percent
from ops_watch.findings.indicators import listed as _listed
from ops_watch.findings.indicators import local_days as _days
from ops_watch.store.schema import Drill


@indicator("drill_completion_rate", name_zh="演练完成率", name_en="drill completion")
def drill_completion_rate(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs

    formula = _t(
        language,
        "考核期内到期并按期完成的演练 ÷ 考核期内到期的演练 × 100%",
        "drills due in the period and passed on time ÷ drills due in the period × 100%",
    )
    first, last = _days(zone, start, end)
    figures = drill_completion(session, contract, first, last)
    if figures.due == 0:
        cadences = any(s.drill_every_days for s in systems(session, contract).values())
        missing = (
            _t(language, "考核期内没有到期的演练", "no drill fell due in the period")
            if cadences
            else _t(
                language,
                "合同未约定演练周期（contract.toml 的 [continuity]）",
                "the contract sets no drill cadence ([continuity])",
            )
        )
        return IndicatorValue(None, formula=formula, missing=missing)
    # No drill record at all means the register never reached ops-watch, not that every drill was missed:
    # missing, saying how many fell due (drill_overdue reports each of them meanwhile).
    if not session.scalar(select(func.count(Drill.id)).where(Drill.date <= last)):
        return IndicatorValue(
            None,
            formula=formula,
            missing=_t(
                language,
                f"ops-watch 没有任何演练记录（考核期内应完成 {figures.due} 次）",
                f"ops-watch holds no drill record at all ({figures.due} drills fell due in the period)",
            ),
        )
    items = sorted(figures.items, key=lambda i: (i["met"], i["due"], i["system"], i["type"]))
    lines = []
    for item in items:
        kind = (
            drill_label(item["type"], True)
            if language == "zh"
            else f"{drill_label(item['type'], False)} drill"
        )
        met = _t(
            language, "按期完成" if item["met"] else "未按期完成", "done on time" if item["met"] else "missed"
        )
        lines.append(
            _t(
                language,
                f"{item['system']} {kind} 应于 {item['due']} 前完成：{met}",
                f"{item['system']} {kind} due {item['due']}: {met}",
            )
        )
    return IndicatorValue(
        percent(figures.done, figures.due),
        figures.done,
        figures.due,
        formula,
        {"due": figures.due, "done": figures.done},
        _t(
            language,
            f"按期 {figures.done} 次 / 到期 {figures.due} 次",
            f"{figures.done} of {figures.due} on time",
        ),
        _listed(lines, language),
    )


@indicator("backup_success_rate", name_zh="备份成功率", name_en="backup success")
def backup_success_rate(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs

    formula = _t(
        language,
        "成功的备份作业 ÷ 考核期内开始的全部备份作业 × 100%",
        "successful backup runs ÷ every backup run started in the period × 100%",
    )
    per_system = backup_success_rates(session, start, end)
    ok = sum(v[0] for v in per_system.values())
    total = sum(v[1] for v in per_system.values())
    if total == 0:
        return IndicatorValue(
            None,
            formula=formula,
            missing=_t(language, "考核期内没有备份作业记录", "no backup run recorded in the period"),
        )
    ranked = sorted(per_system.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0]))
    lines = [
        _t(language, f"{name}：成功 {s} / {n} 次", f"{name}: {s} of {n} runs succeeded")
        for name, (s, n) in ranked
    ]
    return IndicatorValue(
        percent(ok, total),
        ok,
        total,
        formula,
        {"succeeded": ok, "runs": total, "systems": len(per_system)},
        _t(language, f"成功 {ok} 次 / 共 {total} 次", f"{ok} of {total} runs succeeded"),
        _listed(lines, language),
    )
