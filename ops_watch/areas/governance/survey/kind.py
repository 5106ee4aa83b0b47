"""survey: satisfaction-survey answers (满意度调查), one row per questionnaire; upsert by (unit, respondent,
day): the same person's answer of the same day sent again replaces the first.

The score is a number from 0 to the questionnaire's top score (`[survey] scale_max` in contract.toml, default
100), stored as written; ops_watch.areas.governance.survey.model shows it out of 100. A score above the top score is refused naming the
scale (a 5-point questionnaire loaded under a 100-point contract, or a typo). A row without a unit or without a
respondent is refused: an anonymous questionnaire cannot show which units and how many people answered, and
showing that is the point of keeping the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ops_watch.areas.governance.survey.model import survey_terms
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, CellParser, Column, ParseContext, RecordKind
from ops_watch.store.schema import SurveyResponse


def _scale_text(scale: float) -> str:
    return f"{scale:g}"


def score_value() -> CellParser:
    number = fields.number(minimum=0, suffixes=("分",))

    def parse(value: Any, ctx: ParseContext) -> float:
        out = number(value, ctx)
        scale = survey_terms(ctx.contract).scale_max
        if out > scale:
            s = _scale_text(scale)
            raise CellError(
                f"高于问卷满分 {s}（contract.toml [survey] scale_max = {s}）：若问卷不是 {s} 分制，"
                f"请在合同条款中改 scale_max",
                f"above the questionnaire's top score {s} (contract.toml [survey] scale_max = {s}): if the "
                f"questionnaire is not out of {s}, set scale_max to its top score",
            )
        return out

    return parse


COLUMNS = (
    # unit and respondent: the header is required, an empty cell reaches build, which says why it matters.
    Column(
        "unit",
        ("单位", "租户单位", "使用单位", "unit", "单位名称", "所在单位", "填报单位", "部门"),
        fields.text(256),
        default="",
        type_doc="text, up to 256: the tenant unit as the inventory names it (or a spelling [survey] "
        "unit_aliases maps); must not be empty",
        example="刑侦支队",
    ),
    Column(
        "respondent",
        (
            "填表人",
            "答卷人",
            "填写人",
            "respondent",
            "答题人",
            "被调查人",
            "姓名",
            "填报人",
            "调查对象",
        ),
        fields.text(128),
        default="",
        type_doc="text, up to 128: who answered; must not be empty",
        example="王警官",
    ),
    Column(
        "day",
        (
            "日期",
            "填写日期",
            "date",
            "填表日期",
            "答卷日期",
            "调查日期",
            "提交时间",
            "提交答卷时间",
            "填报日期",
            "答题时间",
            "提交日期",
        ),
        fields.date_value(),
        type_doc="date",
        example="2026-11-05",
    ),
    Column(
        "score",
        (
            "得分",
            "满意度",
            "评分",
            "score",
            "总分",
            "满意度得分",
            "满意度评分",
            "综合评分",
            "总体满意度",
            "满意度分数",
            "总得分",
            "得分(分)",
        ),
        score_value(),
        type_doc="number from 0 to [survey] scale_max (default 100); `95分` is read as 95",
        example="92",
    ),
    Column(
        "comments",
        (
            "意见",
            "建议",
            "备注",
            "comments",
            "意见建议",
            "意见和建议",
            "其他意见",
            "意见及建议",
            "其他建议",
            "留言",
        ),
        fields.text(4000),
        required=False,
        default="",
        example="夜间响应可再快些",
    ),
)


@dataclass(slots=True)
class SurveyRecord:
    unit: str
    respondent: str
    day: date
    score: float
    comments: str


def build(values: dict[str, Any], _ctx: ParseContext) -> SurveyRecord:
    if not values["unit"]:
        raise CellError(
            "未填单位：匿名问卷无法说明调查覆盖了哪些租户单位，请补填作答人所在单位",
            "no unit: an anonymous questionnaire cannot show which tenant units the survey covered; fill in "
            "the respondent's unit",
            column="unit",
        )
    if not values["respondent"]:
        raise CellError(
            "未填填表人：匿名问卷无法说明有多少人作答（一份问卷不能代表整个单位），请补填填表人",
            "no respondent: an anonymous questionnaire cannot show how many people answered (one "
            "questionnaire cannot stand for a whole unit); fill in who answered",
            column="respondent",
        )
    return SurveyRecord(**values)


KIND = RecordKind(
    name="survey",
    title_zh="满意度调查",
    title_en="satisfaction survey",
    columns=COLUMNS,
    record_type=SurveyRecord,
    build=build,
    table=SurveyResponse,
    write_mode="upsert",
    key=("unit", "respondent", "day"),
    time_column=None,
    needs_contract=True,
)

KINDS.add(KIND.name, KIND)
