"""Request and response bodies of the API that are not table models (those are in gateway.db.models)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from gateway.db.models import MotionCreate, MotionPublic, PassingRuleSpec, RoundPublic
from protocol import consts

__all__ = [
    "ChoiceLabel",
    "DeviceBindIn",
    "FocusIn",
    "ItemResultOut",
    "LiveRound",
    "LiveSitting",
    "LiveSnapshot",
    "MeOut",
    "MotionDetail",
    "MotionIn",
    "OpenRoundIn",
    "ResultOut",
    "ResultsOut",
    "RoundResultOut",
    "SwapIn",
    "SwapOut",
]


class MeOut(BaseModel):
    name: str
    role: str


class DeviceBindIn(BaseModel):
    seat_id: int | None = Field(description="座位 id；null 解除绑定 / seat id; null unbinds the keypad")


class SwapIn(BaseModel):
    to: str = Field(
        min_length=1, max_length=16, description="替换用的已登记表决器 / the registered spare keypad"
    )
    reason: str = Field(
        default="故障更换 / failed",
        min_length=1,
        max_length=200,
        description="原因（记入审计）/ why (audited)",
    )


class SwapOut(BaseModel):
    seat: str
    old: str = Field(description="被停用的表决器 / the keypad revoked")
    new: str = Field(description="绑定到座位的表决器 / the keypad now bound to the seat")
    member: str | None = Field(description="本次会议该座位的代表 / the member at that seat in the sitting")
    checked_in: bool | None
    carried_over: bool = Field(
        description="本轮已按项目保留为该代表的票 / the member's presses in the live round carry over"
    )


class OpenRoundIn(BaseModel):
    override_reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None
    ) = Field(
        default=None,
        description=(
            "仅主持人：不足法定人数时开启表决的理由（须机构允许，记入审计日志）/ chair only: why the vote "
            "opens without quorum (if the body allows it; recorded in the audit log)"
        ),
    )


class FocusIn(BaseModel):
    item: int = Field(
        ge=0,
        le=consts.ALL_ITEMS,
        description="事项序号 0..31，255 表示全部事项 / item index 0..31, or 255 for every item",
    )


# --------------------------------------------------------------------------- live picture


class LiveSitting(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    state: str = Field(description="setup | checkin_open | in_session | closed")
    expected: int = Field(description="应到 / members expected (the roster)")
    present: int = Field(description="实到 / members checked in")


class LiveRound(BaseModel):
    model_config = ConfigDict(extra="allow")

    motion_id: int
    round: int
    title: str
    state: str = Field(
        description="ready | open | paused | closed | announced | manual (counted by hand, awaiting confirmation)"
    )
    secret: bool = Field(description="无记名 / secret ballot: no live counts, totals only after closing")
    ballot_kind: int
    item_count: int
    deadline: float | None = Field(description="倒计时结束（Unix 秒）/ countdown end (Unix seconds)")
    voted: int = Field(description="已按键人数 / members who pressed")
    not_pressed: int = Field(description="未按 / present but did not press")
    totals: list[list[int]] | None = Field(
        description="每项计数 / counts per item (赞成/反对/弃权 or grades); null while secret and open"
    )
    result: dict[str, object] | None
    purge_pending: bool = Field(
        False,
        description="无记名表决已结束，但已删除的选择尚未清出数据库文件（清除后关闭才算完成）/ a closed secret "
        "round whose deleted choices have not yet left the database files (the close completes with the purge)",
    )


class LiveSnapshot(BaseModel):
    """What the chair console and the big screen show: the sitting and the current (or latest) round."""

    model_config = ConfigDict(extra="allow")

    hall: str
    version: int = Field(description="每次状态变化加一 / increases with every change")
    sitting: LiveSitting | None
    round: LiveRound | None
    notices: list[dict[str, Any]] = Field(
        default_factory=list,
        description="主持端提示：表决器更换（座位、代表、旧/新表决器、本轮已按项目是否保留；zh/en 文本）；"
        "大屏不显示 / for the chair's side: keypad swaps (seat, member, old and new keypad, whether the "
        "member's presses in the live round carried over; zh/en text); not sent to the display",
    )


# --------------------------------------------------------------------------- motions and results

PresetName = Literal[
    "congress_resolution",
    "standing_committee_resolution",
    "livelihood_selection",
    "satisfaction_rating",
    "performance_rating",
]
BallotKindName = Literal["yes_no_abstain", "item_list", "rating"]
PressPolicyName = Literal["first_press", "last_press"]


class MotionIn(BaseModel):
    """A motion as the clerk enters it: a preset names the kind, rule, policy and options."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(
        min_length=1, max_length=500, description="议题标题（是非表决即表决的问题）/ the motion's title"
    )
    preset: PresetName | None = Field(
        default=None,
        description=(
            "预设 / preset: congress_resolution 人代会决议, standing_committee_resolution 常委会决议 (赞成票超过"
            "全体组成人员的半数), livelihood_selection 民生实事票决 (到会代表半数以上赞成, 按赞成票排序选 select_k 项), "
            "satisfaction_rating 满意度测评 (满意/基本满意/不满意), performance_rating 履职测评 (优秀/满意/基本满意/"
            "不满意); all secret and first-press unless given; fields given here win over the preset"
        ),
    )
    ballot_kind: BallotKindName | Literal[1, 2, 3] | None = Field(
        default=None,
        description="票式 / ballot kind: yes_no_abstain (1) 赞成/反对/弃权, item_list (2) 事项列表, rating (3) 测评",
    )
    items: list[str] = Field(
        default_factory=list,
        description="事项（候选项目、测评对象），1..32 项；是非表决为空 / item titles, 1..32; empty for yes/no/abstain",
    )
    options: int | None = Field(
        default=None,
        ge=1,
        le=255,
        description="可按的选项（位掩码），通常由票式或预设给出 / admitted choice codes as a bit mask; normally from the "
        "ballot kind or preset",
    )
    press_policy: PressPolicyName | Literal[1, 2] | None = Field(
        default=None,
        description="按键规则 / press policy: first_press (1) 首次按键有效, last_press (2) 以最后一次为准",
    )
    secret: bool | None = Field(default=None, description="无记名 / secret ballot (default true)")
    countdown_s: int | None = Field(
        default=None, ge=1, le=3600, description="倒计时秒数 / countdown in seconds"
    )
    passing_rule: PassingRuleSpec | None = Field(
        default=None,
        description="通过规则：base 为 all 全体 / present 到会 / cast 投票，赞成票须超过 (strict) 或达到 "
        "numerator/denominator / passing rule: yes must exceed (strict) or reach numerator/denominator of the base",
    )
    select_k: int | None = Field(
        default=None,
        ge=1,
        le=consts.ITEMS_MAX,
        description="民生实事：选出项目数；候选项目须不少于 ceil(1.2 × select_k)（差额比例不低于20%）/ livelihood: how "
        "many to select; candidates must number at least ceil(1.2 x select_k)",
    )
    interim: Literal["none", "totals", "totals_not_pressed"] = Field(
        default="totals",
        description="表决中主持人界面显示 / what the chair console shows while voting: none, totals, totals_not_pressed "
        "(totals and who has not pressed); a secret round's choices are never shown while it is open",
    )

    def to_create(self) -> MotionCreate:
        """The table model's input; a refusal is a 422 like any invalid request body."""
        data: dict[str, Any] = {k: v for k, v in self.model_dump().items() if v is not None}
        try:
            return MotionCreate.model_validate(data)
        except (ValidationError, ValueError) as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else [{"msg": str(exc)}]
            raise RequestValidationError(errors) from None


class MotionDetail(MotionPublic):
    rounds: list[RoundPublic]


class ChoiceLabel(BaseModel):
    code: int
    zh: str
    en: str


class ItemResultOut(BaseModel):
    index: int
    title: str = Field(
        description="事项名称（是非表决为议题标题）/ item title (the motion's title for yes/no)"
    )
    counts: list[int] = Field(description="按 choices 顺序的计数 / counts in the order of ``choices``")
    outcome: int
    label_zh: str
    label_en: str


class ResultOut(BaseModel):
    outcome: int
    outcome_zh: str
    outcome_en: str
    expected: int = Field(description="应到 / members expected (the roster)")
    present: int = Field(description="实到 / members checked in when the round closed")
    voted: int = Field(description="已按 / members who pressed")
    not_pressed: int = Field(description="未按 / present but did not press")
    rule_zh: str = Field(description="适用的通过规则 / the passing rule applied (Chinese)")
    rule_en: str
    note_zh: str
    note_en: str
    items: list[ItemResultOut]
    audit_head: str | None = Field(
        default=None,
        description="冻结该结果的审计记录 SEQ:HASH（审计链当时的链头），可交给 hallvote audit verify --head / "
        "the audit record that froze this result, SEQ:HASH (the chain's head then): give it to "
        "hallvote audit verify --head",
    )
    manual: bool = Field(
        default=False,
        description="人工计票结果（举手或纸质票），取代本轮表决器计票 / a manual result (show of hands or paper) "
        "that replaces the round's keypad tally",
    )
    manual_entry: ManualOut | None = Field(
        default=None,
        description="人工计票：方式、原因、录入人与确认人 / manual: method, reason, who entered and confirmed",
    )


class ManualIn(BaseModel):
    """Counts entered by hand when keypads fail (人工计票)."""

    method: Literal["show_of_hands", "paper"] = Field(
        description="计票方式：show_of_hands 举手表决，paper 纸质票 / how the hall was counted"
    )
    reason: str = Field(
        max_length=500,
        description="原因（必填），如“表决器故障” / why (required), e.g. the keypads failed",
    )
    counts: list[list[int]] = Field(
        description="每个事项一行，按 choices 顺序的计数：是非表决与项目票决为 [赞成, 反对, 弃权]，满意度测评为四档"
        "计数 / one row per item, counts in the order of ``choices``: [yes, no, abstain], or the four grades "
        "of a rating.  Non-negative; no item's total above 实到; a choice the motion does not offer stays 0",
        max_length=consts.ITEMS_MAX,
    )


class ManualRejectIn(BaseModel):
    reason: str = Field(max_length=500, description="退回原因（必填）/ why the entry is refused (required)")


class ManualOut(BaseModel):
    method: str
    method_zh: str
    method_en: str
    reason: str
    counts: list[list[int]]
    expected: int = Field(description="应到（录入时）/ expected when entered")
    present: int = Field(
        description="实到（录入时，或键盘表决结束时）/ present when entered (or when the keypad round closed)"
    )
    entered_by: str
    entered_role: str
    entered_at: dt.datetime
    confirmed_by: str | None = Field(
        default=None, description="确认人；待确认时为空 / who confirmed; null while pending"
    )


class RoundResultOut(BaseModel):
    number: int
    state: str
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    announced_at: dt.datetime | None
    quorum_override: bool
    result: ResultOut | None = Field(
        description="本轮结束后才有；显示屏仅在宣布后可见 / once the round is closed; the display role sees it "
        "once announced"
    )
    pending_manual: ManualOut | None = Field(
        default=None,
        description="人工计票待确认（本轮状态 manual）；显示屏不可见 / manual counts awaiting confirmation (round "
        "state manual); not shown to the display role",
    )


class ResultsOut(BaseModel):
    motion_id: int
    sitting_id: int
    title: str
    ballot_kind: int
    secret: bool
    choices: list[ChoiceLabel] = Field(description="计数的含义 / what each count counts")
    rounds: list[RoundResultOut]
