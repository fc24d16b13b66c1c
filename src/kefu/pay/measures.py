"""The values a pay scheme may score, test or rank: every agent KPI of the registry
plus the monthly pay inputs below, declared once (scheme validation, the
payslip, docs/pay.md and the "which KPI would raise my pay" hints read this).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kefu.metrics.registry import AGENT_METRICS, Diff, Sum


@dataclass(frozen=True)
class Measure:
    key: str
    zh: str
    en: str
    unit: str  # as in the KPI registry: ratio, s, yuan, count units …, plus score and days
    higher_is_better: bool | None
    doc: str
    #: None when the agent has no rows (a rate with no denominator); counts are 0 instead
    zero_when_missing: bool = True
    #: the smallest meaningful change, used to step over a strict threshold (> / <)
    step: Decimal = Decimal("1")


PAY_MEASURES: tuple[Measure, ...] = (
    Measure(
        "net_sales",
        "净销售额",
        "Net credited sales",
        "yuan",
        True,
        "sales_amount of the month minus the counted refunds that finished in the month (docs/pay.md, P3).",
        step=Decimal("0.01"),
    ),
    Measure(
        "refund_amount",
        "退款扣回额",
        "Refunds deducted",
        "yuan",
        False,
        "Counted refunds of the agent's credited orders that finished in the month.",
        step=Decimal("0.01"),
    ),
    Measure(
        "qc_errors",
        "质检确认差错数",
        "Confirmed QC errors",
        "errors",
        False,
        "Confirmed quality-inspection findings of the month (kefu.qc.confirmed_errors).",
    ),
    Measure(
        "qc_points",
        "质检扣分",
        "QC points deducted",
        "points",
        False,
        "Points of the confirmed QC findings of the month.",
        step=Decimal("0.5"),
    ),
    Measure(
        "test_score",
        "产品知识考试成绩",
        "Product-knowledge test score",
        "score",
        True,
        "Imported with `kefu pay import --kind test_scores` (0–100); the mean when several tests.",
        zero_when_missing=False,
        step=Decimal("0.5"),
    ),
    Measure(
        "working_days",
        "出勤天数",
        "Working days",
        "days",
        True,
        "Imported attendance; without an attendance import for the month, the days with the agent's own messages.",
        step=Decimal("0.5"),
    ),
    Measure(
        "leave_days",
        "请假天数",
        "Leave days",
        "days",
        False,
        "Imported attendance (0 when not imported).",
        step=Decimal("0.5"),
    ),
)

_KPI_STEPS = {"ratio": Decimal("0.001"), "s": Decimal("0.1"), "yuan": Decimal("0.01")}


def _from_metric(m) -> Measure:
    return Measure(
        m.key,
        m.zh,
        m.en,
        m.unit,
        m.higher_is_better,
        m.doc,
        zero_when_missing=isinstance(m.formula, Sum | Diff),
        step=_KPI_STEPS.get(m.unit, Decimal("1")),
    )


MEASURES: dict[str, Measure] = {m.key: _from_metric(m) for m in AGENT_METRICS} | {m.key: m for m in PAY_MEASURES}
KPI_KEYS = frozenset(m.key for m in AGENT_METRICS)


def measure(key: str) -> Measure:
    return MEASURES[key]


def show(key: str, value: Decimal | None) -> str:
    """A value as a payslip shows it: 95.0%, 12.3 秒, ¥1,234.50, 3."""
    if value is None:
        return "无数据"
    unit = MEASURES[key].unit if key in MEASURES else ""
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.1f} 秒"
    if unit == "yuan":
        return f"¥{value:,.2f}"
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value.normalize():f}"
