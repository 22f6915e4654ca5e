"""The registry of metrics of DOMAIN.md: what each counts, as pure definitions over per-case facts.

A metric's numerator and denominator name facts (one 0/1 flag per case, computed in SQL by queries.py as of
a moment); the value is a pure function of their sums. Adding a metric means adding a fact and a line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grievance.errors import InvalidInput


@dataclass(frozen=True)
class Fact:
    """A yes/no property of a case of the cohort as of the report's moment; summed over the cases."""

    key: str
    label: str
    label_en: str


FACTS: dict[str, Fact] = {
    f.key: f
    for f in [
        Fact("received", "受理的诉求（不含重复件）", "cases received (duplicates excluded)"),
        Fact("duplicate", "合并的重复件", "duplicates merged into another case"),
        Fact("responded", "已响应（含当场答复）", "responded or answered on the spot"),
        Fact("responded_on_time", "在响应时限内首次响应", "first responded by the respond due time"),
        Fact("resolved", "已办结且此后未重办", "resolved and not reopened since"),
        Fact(
            "resolved_on_time",
            "最后一次办结在办结时限内（含延期）",
            "last resolve by its due time (extensions included)",
        ),
        Fact("overdue", "有超期未办或超期办理的时限", "a due time passed unmet, or met late"),
        Fact(
            "department_overdue",
            "承办单位的时限（签收、响应、办结）超期未办或超期办理",
            "a due time of the department (accept, respond, resolve) passed unmet, or met late",
        ),
        Fact(
            "centre_overdue",
            "中心的时限（回访等）超期未办或超期办理",
            "a due time of the centre (callback...) passed unmet, or met late",
        ),
        Fact("callback_reached", "办结后回访联系到诉求人", "a callback after the resolve reached the petitioner"),
        Fact("reached", "最近一次回访联系到诉求人", "the latest callback reached the petitioner"),
        Fact("solved", "回访表示已解决", "the reached callback says solved"),
        Fact("satisfied", "回访满意或基本满意", "the reached callback says satisfied or basically satisfied"),
        Fact("satisfaction_points", "满意计1分、基本满意按权重计分", "satisfied 1, basically satisfied its weight"),
        Fact("dispute", "矛盾纠纷类诉求", "dispute cases"),
        Fact("mediated", "办结结果为已化解的矛盾纠纷", "dispute cases resolved as mediated"),
        Fact("reopened", "办结的诉求曾经重办", "resolved cases ever reopened"),
        Fact("enterprise", "服务的企业（去重）", "enterprises served (each once)"),
        Fact("large_enterprise", "规上企业", "large enterprises"),
        Fact("liaison_covered", "有在岗包保干部的规上企业", "large enterprises with an active liaison"),
    ]
}


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    label_en: str
    kind: Literal["rate", "count", "score"]
    numerator: str
    denominator: str | None = None
    # What it counts: cases of the cohort, or enterprises (coverage, as of the moment, whatever the period).
    unit: Literal["case", "enterprise"] = "case"

    @property
    def formula(self) -> str:
        top = FACTS[self.numerator].label
        if self.denominator is None:
            return f"{self.label} = {top}数"
        return f"{self.label} = {top} ÷ {FACTS[self.denominator].label}"

    @property
    def formula_en(self) -> str:
        top = FACTS[self.numerator].label_en
        if self.denominator is None:
            return f"{self.label_en} = number of {top}"
        return f"{self.label_en} = {top} / {FACTS[self.denominator].label_en}"

    def value(self, sums: dict[str, float]) -> dict[str, float | int | None]:
        """The JSON of the metric from the sums of the facts: counts carry only a value, and a rate whose
        denominator is 0 has none (never 0 % or 100 %)."""
        numerator = _number(sums.get(self.numerator, 0))
        if self.denominator is None:
            return {"value": numerator}
        denominator = _number(sums.get(self.denominator, 0))
        value = round(numerator / denominator, 6) if denominator else None
        return {"numerator": numerator, "denominator": denominator, "value": value}


def _number(x: float) -> float | int:
    x = float(x or 0)
    return int(x) if x.is_integer() else round(x, 6)


METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        Metric("intake_count", "受理量", "cases received", "count", "received"),
        Metric("response_rate", "响应率", "response rate", "rate", "responded", "received"),
        Metric("on_time_response_rate", "按时响应率", "on-time response rate", "rate", "responded_on_time", "received"),
        Metric("resolution_rate", "办结率", "resolution rate", "rate", "resolved", "received"),
        Metric(
            "on_time_resolution_rate", "按时办结率", "on-time resolution rate", "rate", "resolved_on_time", "resolved"
        ),
        Metric("overdue_count", "超期件数", "overdue cases", "count", "overdue"),
        Metric(
            "department_overdue_count",
            "承办单位超期件数",
            "overdue at departments",
            "count",
            "department_overdue",
        ),
        Metric("centre_overdue_count", "中心超期件数", "overdue at the centre", "count", "centre_overdue"),
        Metric("callback_rate", "回访率", "callback rate", "rate", "callback_reached", "resolved"),
        Metric("solved_rate", "解决率", "solved rate", "rate", "solved", "reached"),
        Metric("satisfaction_rate", "满意率", "satisfaction rate", "rate", "satisfied", "reached"),
        Metric("satisfaction_score", "满意度得分", "satisfaction score", "score", "satisfaction_points", "reached"),
        Metric("mediation_rate", "矛盾化解率", "mediation rate", "rate", "mediated", "dispute"),
        Metric("reopen_rate", "重办率", "reopen rate", "rate", "reopened", "resolved"),
        Metric("duplicate_count", "重复件数", "duplicates merged", "count", "duplicate"),
        Metric("enterprises_served", "服务企业数", "enterprises served", "count", "enterprise", unit="enterprise"),
        Metric(
            "liaison_coverage",
            "包保覆盖率",
            "liaison coverage",
            "rate",
            "liaison_covered",
            "large_enterprise",
            unit="enterprise",
        ),
    ]
}

# Facts that describe enterprises rather than the period's cases: the same for every group, so groups omit them.
ZONE_METRICS = frozenset({"liaison_coverage"})


def metric(key: str) -> Metric:
    found = METRICS.get(key)
    if found is None:
        raise InvalidInput.field(
            "metric",
            f"没有指标 {key}，可选：{'、'.join(METRICS)}",
            f"no metric {key!r}; accepted: {', '.join(METRICS)}",
        )
    return found
