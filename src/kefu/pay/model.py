"""The data of a month's pay, as plain frozen dataclasses: what goes in (MonthData)
and what comes out (Payroll → Slip → Line). No I/O here.

Money is `decimal.Decimal` throughout, rounded half-up to 0.01 once per line
(kefu.pay.components.money); a slip's total is the exact sum of its lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kefu.config import default


@dataclass(frozen=True)
class AgentInfo:
    """One account as the roster (agents table) describes it."""

    agent: str
    shop: str
    name: str
    team: str | None = None
    role: str = "presales"
    employer: str = "in_house"
    active: bool = True


@dataclass(frozen=True)
class Prize:
    amount: Decimal
    reason: str
    source: str = ""  # file:line it was imported from


@dataclass(frozen=True)
class Attendance:
    working_days: Decimal
    leave_days: Decimal = Decimal(0)
    scheduled_days: Decimal | None = None
    source: str = ""


@dataclass(frozen=True)
class MutualMistake:
    """One error (差错) behind a 互查 deduction (kefu.qc.ledger.month_errors): a record, not an exception."""

    source: str  # "peer" (a colleague reported it) or "supervisor" (found in QC review, nobody reported it)
    day: dt.date
    description: str
    cost: Decimal
    report_id: str | None = None
    finding_id: str | None = None


@dataclass(frozen=True)
class MutualAccount:
    """An agent's 互查 fund of the month (kefu.qc.ledger.month_ledger, kefu.toml `[qc.mutual]`)."""

    fund_start: Decimal
    costs: Decimal  # what the month's errors cost
    deductions: Decimal  # costs, or 0 in a warning-only month
    balance: Decimal  # fund_start − deductions, never below 0: what a `mutual_fund` component pays
    warning_only: bool = False
    errors: tuple[MutualMistake, ...] = ()
    peer_cost: Decimal = Decimal("10.00")  # what one error costs, as the settings of the month say
    supervisor_cost: Decimal = Decimal("20.00")


@dataclass(frozen=True)
class MonthData:
    """Everything a scheme can use for one month: per-agent values, the shop's own figures, inputs."""

    month: str  # YYYY-MM
    first_day: dt.date
    last_day: dt.date
    agents: dict[str, AgentInfo]
    #: agent -> measure key (kefu.pay.measures) -> value; None = undefined (a rate with no denominator)
    values: dict[str, dict[str, Decimal | None]]
    #: shop -> KPI key -> the shop's own figure for the month (the "shop standard")
    shop_values: dict[str, dict[str, Decimal | None]]
    #: (shop, scope, subject, metric) -> monthly target (kefu.targets)
    targets: dict[tuple[str, str, str, str], Decimal] = field(default_factory=dict)
    prizes: dict[str, tuple[Prize, ...]] = field(default_factory=dict)
    attendance: dict[str, Attendance] = field(default_factory=dict)
    #: agent -> their 互查 fund of the month; no entry: no fund (no message and no error in the month)
    mutual: dict[str, MutualAccount] = field(default_factory=dict)
    #: True when working days come from the chats because no attendance was imported for the month
    days_from_chats: bool = False
    #: first and last day of the month with any message (None: no data)
    coverage: tuple[dt.date, dt.date] | None = None
    credit_rule: str = default("credit_rule")  # kefu.toml [kpi] credit_rule

    def value(self, agent: str, key: str) -> Decimal | None:
        return self.values.get(agent, {}).get(key)


@dataclass(frozen=True)
class Used:
    """A value a rule used: the KPI or input, its 中文名, the value, and where it came from."""

    key: str
    zh: str
    value: Decimal | None
    shown: str
    source: str = ""  # e.g. "店铺标准 (店铺本月询单转化率)", "月度目标", "出勤表 attendance.csv:3"


@dataclass(frozen=True)
class Line:
    """One component of one agent's pay."""

    component: str  # the component's name in the scheme (基本工资 for the base)
    kind: str  # base, commission, kpi_score, threshold, pool, ranking, prizes, mutual_fund, limit
    amount: Decimal
    rule: str  # the rule in words
    formula: str  # the computation with the numbers substituted
    used: tuple[Used, ...] = ()
    detail: tuple[dict[str, Any], ...] = ()  # per tier / KPI / condition / prize


@dataclass(frozen=True)
class Slip:
    """One agent's pay for a month (工资条)."""

    month: str
    agent: AgentInfo
    scheme: str
    scheme_version: str  # effective_from of the version used
    scheme_source: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def base(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind == "base"), Decimal("0.00"))

    def line(self, component: str) -> Line | None:
        return next((line for line in self.lines if line.component == component), None)


@dataclass(frozen=True)
class Payroll:
    month: str
    slips: tuple[Slip, ...]
    #: agents active in the month that no scheme applies to (managers, QC, trainers …)
    unassigned: tuple[AgentInfo, ...] = ()
    coverage: tuple[dt.date, dt.date] | None = None
    days_from_chats: bool = False

    def slip(self, agent: str) -> Slip | None:
        return next((s for s in self.slips if s.agent.agent == agent), None)

    @property
    def total(self) -> Decimal:
        return sum((s.total for s in self.slips), Decimal("0.00"))
