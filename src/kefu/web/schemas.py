"""The answers of the JSON API (`/api/...`) as pydantic models: the routes' `response_model`s, so /openapi.json
says what each one returns.

The keys are those the routes have always answered (tests/web/test_api.py checks real answers against these
models). A KPI record keeps the open shape `Record`: its keys are the grouping's and every metric's of
kefu.metrics.registry, which `docs/metrics.md` lists. Fields follow the order of the answers' keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

#: A KPI value: a count, money, a rate or seconds; None where it is undefined (no denominator).
Figure = int | float | None
#: One KPI record (or one row of the engine's explanation): the grouping's keys and every metric.
Record = dict[str, Any]


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")  # a key added to an answer is kept until it is declared here


# -- session and users ----------------------------------------------------------------------------


class Me(Answer):
    name: str
    role: str
    shops: list[str]
    agent: str | None
    employer: str | None


class Ok(Answer):
    ok: bool


class PasswordChanged(Ok):
    rule: str  # the password rule, in words


class Imports(Answer):
    files: int
    last_import_id: int | None
    last_imported_at: str | None


class Health(Answer):
    """Anonymous callers get `status` only."""

    status: str
    warm: bool | None = None
    reloads: int | None = None
    imports: Imports | None = None


class UserRow(Me):
    disabled: bool
    created_at: str | None


class NewPassword(Answer):
    name: str
    password: str  # shown this once


class AuditRow(Answer):
    ts: str
    user: str | None
    action: str
    object: str | None
    ip: str | None


class Throttled(Answer):
    kind: str  # account or address
    key: str
    failures: int
    wait_s: float


class TargetRow(Answer):
    month: str
    shop: str
    scope: str
    subject: str
    metric: str
    value: float


class Saved(Answer):
    saved: int


# -- KPI pages --------------------------------------------------------------------------------------


class DayFigure(Answer):
    metric: str
    day: Figure
    previous: Figure
    last_week: Figure
    vs_previous: Figure
    vs_last_week: Figure


class Progress(Answer):
    """A month to date against a monthly target (kefu.targets.progress); the keys past `target` only with one."""

    metric: str
    mtd: Figure
    target: float | None
    actual: Figure = None
    completion: float | None = None
    gap: Figure = None
    expected_to_date: Figure = None
    on_track: bool | None = None
    additive: bool | None = None


class Silent(Answer):
    silent_orders: Figure
    silent_sales: Figure
    consulted_sales_share: Figure
    silent_sales_share: Figure
    mtd_silent_sales: Figure
    mtd_consulted_sales_share: Figure


class TrendDay(Answer):
    day: str
    sales_amount: Figure
    silent_sales: Figure
    consult_buyers: Figure
    avg_response_s: Figure


class TeamTarget(Answer):
    metric: str
    mtd: Figure
    target: float
    expected_to_date: Figure
    completion: float | None
    gap: Figure
    on_track: bool | None
    additive: bool


class TeamProgress(Answer):
    """A team's (组别) month to date (None: the agents without a team) and its progress on each team target."""

    team: str | None
    figures: dict[str, Figure]
    targets: list[TeamTarget]


class Overview(Answer):
    shop: str
    day: str
    previous_day: str
    same_day_last_week: str
    month: str
    elapsed_share: float
    figures: list[DayFigure]
    month_to_date: list[Progress]
    silent: Silent
    trend: list[TrendDay]
    teams: list[TeamProgress]
    provisional: dict[str, str]  # metric -> the day its figure becomes final


class Spread(Answer):
    """The best and worst agent on a metric and the gap (peak_name / valley_name on the leaderboard)."""

    metric: str
    peak: Figure
    peak_agent: str | None
    valley: Figure
    valley_agent: str | None
    gap: Figure
    peak_name: str | None = None
    valley_name: str | None = None


class BoardGroup(Answer):
    """One role's table: ranked by `sort` (its own default where the metric asked for does not apply)."""

    role: str
    sort: str
    desc: bool
    columns: list[str]
    rows: list[
        Record
    ]  # rank, agent, name, team, employer, role, me, every column, vs_previous, vs_last_week, month_target
    spread: dict[str, Spread]


class TeamsTable(Answer):
    month: str
    elapsed_share: float
    columns: list[str]
    rows: list[Record]  # team and every column
    targets: list[TeamProgress]


class Leaderboard(Answer):
    shop: str
    date_from: str
    date_to: str
    sort: str
    desc: bool
    employer: str | None
    role: str | None
    team: str | None
    names_hidden: bool
    columns: list[str]
    rows: list[Record]
    spread: dict[str, Spread]
    groups: list[BoardGroup]
    roles: list[str]
    team_names: list[str]
    comparison: dict[str, list[str]]  # previous / last_week -> [first day, last day]
    month: str
    provisional: dict[str, str]
    teams: TeamsTable | None


class HeatCell(Answer):
    day: str
    hour: int
    consult_buyers: Figure
    questions: Figure
    avg_response_s: Figure
    slow_responses: Figure


class Heatmap(Answer):
    shop: str
    date_from: str
    date_to: str
    days: list[str]
    cells: list[HeatCell]


class ChatLine(Answer):
    ts: str
    sender: str
    text: str | None


class LostInquiry(Answer):
    agent: str
    name: str
    team: str | None
    buyer: str
    day: str
    first_question: str
    answered: bool
    first_response_s: float | None
    chat: list[ChatLine]


class Losses(Answer):
    shop: str
    day: str
    date_from: str
    date_to: str
    agent: str | None
    team: str | None
    total: int
    page: int
    pages: int
    page_size: int
    lost: list[LostInquiry]


class Agent(Answer):
    agent: str
    name: str
    shop: str
    team: str | None
    role: str
    employer: str


class AgentDay(Answer):
    """One day of an agent: the grouping's keys, then every metric of kefu.metrics.registry (not listed here), and
    `provisional`: {metric: the day it becomes final} for the figures later rows can still change."""

    shop: str
    agent: str
    day: str
    provisional: dict[str, str]


class Drilldown(Answer):
    agent: str
    day: str
    metric: str | None
    value: Figure
    figures: dict[str, Figure]
    sections: dict[str, list[Record]]  # the engine's explanation, narrowed to the metric
    lost_chats: dict[str, list[Record]]  # buyer -> messages of each lost inquiry


class ChatBuyer(Answer):
    buyer: str
    first_open: str
    answered: bool
    first_response_s: float | None
    any_slow: bool
    lost: bool


class ChatMessage(Answer):
    ts: str
    sender: str
    text: str | None
    response_s: float | None
    slow: bool


class Chat(Answer):
    agent: str
    shop: str
    day: str
    buyer: str
    slow_threshold_s: float
    messages: list[ChatMessage]
    questions: int
    slow_replies: int


class DailyReport(Answer):
    """kefu.reports.daily.DailyReport."""

    shop: str
    day: str
    previous_day: str
    same_day_last_week: str
    month: str
    elapsed_share: float
    team: list[Record]  # one row per metric
    agents: list[Record]  # one row per agent
    spread: list[Spread]
    targets: list[Record]
    teams: list[TeamProgress]
    qc: bool
    data_until: dt.datetime | None
    provisional: dict[str, dt.date]


# -- quality inspection -------------------------------------------------------------------------------


class Finding(Answer):
    """A stored finding (docs/qc.md's contract) with its review."""

    finding_id: str
    shop: str
    agent: str
    buyer: str | None
    ts: dt.datetime | None
    day: dt.date | None
    rule: str
    rule_name: str | None
    severity: str
    points: float | None
    scope: str | None
    text: str | None
    match: str | None
    match_start: int | None
    occurrences: int | None = None
    evidence: str | None = None
    status: str
    reviewer: str | None
    comment: str | None
    reviewed_at: dt.datetime | None


class QueueFilters(Answer):
    shop: str | None
    agent: str | None
    date_from: dt.date | None
    date_to: dt.date | None
    rule: str | None
    severity: str | None
    status: str | None
    source: str
    page: int
    per_agent: int
    seed: int
    team: str | None
    min_severity: str | None


class SampledDialogue(Answer):
    shop: str
    agent: str
    buyer: str
    day: dt.date
    stratum: str
    findings: int
    pick: int
    rules: str
    chat: str  # the chat page's path


class Queue(Answer):
    filters: QueueFilters
    counts: dict[str, int]  # per status: open, confirmed, dismissed
    total: int
    page: int
    page_size: int
    pages: int
    findings: list[Finding]
    sample: list[SampledDialogue] | None


class BulkReviewed(Answer):
    status: str
    reviewed: int


class Rules(Answer):
    custom: bool  # the workspace has its own qc-rules.toml
    text: str
    rules: list[dict[str, Any]]  # kefu.qc.rules.Rule, field by field


class RunSummary(Answer):
    date_from: dt.date | None
    date_to: dt.date | None
    messages: int
    findings: int
    replaced: int
    by_rule: dict[str, int]
    seconds: float


class LedgerRow(Answer):
    month: str
    shop: str
    agent: str
    fund_start: float
    errors: int
    peer_errors: int
    supervisor_errors: int
    costs: float
    deductions: float
    balance: float
    warning_only: bool


class LedgerError(Answer):
    shop: str
    agent: str
    day: dt.date
    ts: dt.datetime | None
    buyer: str | None
    source: str  # peer or supervisor
    report_id: str | None
    finding_id: str | None
    description: str
    cost: float


class PublicError(Answer):
    day: dt.date
    source: str
    description: str
    cost: float


class PeerReport(Answer):
    report_id: str
    shop: str
    reporter: str
    agent: str | None  # hidden from an agent of a shop that hides names
    finding_id: str | None
    ts: dt.datetime | None
    day: dt.date
    description: str
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    buyer: str | None
    reported_at: dt.datetime


# -- pay ------------------------------------------------------------------------------------------------


class SlipSummary(Answer):
    month: str
    agent: str
    name: str
    shop: str
    team: str | None
    role: str
    employer: str
    scheme: str
    scheme_version: str | None
    base: float
    components: dict[str, float]  # component -> amount
    total: float


class Payroll(Answer):
    month: str
    shop: str
    coverage: list[str] | None  # [first day, last day] with data
    days_from_chats: bool
    rows: list[SlipSummary]
    total: float
    unassigned: list[str]  # agents no scheme pays


class Payslip(SlipSummary):
    """An agent's payslip with every line's rule, values and formula, the rows behind it, and raise hints."""

    scheme_source: str | None
    lines: list[dict[str, Any]]
    coverage: list[str] | None
    days_from_chats: bool
    credit_rule: str | None
    rows: dict[str, list[dict[str, Any]]]
    hints: list[dict[str, Any]]


class Settlement(Answer):
    employer: str
    month: str
    components: list[str]
    agents: list[SlipSummary]
    base: float
    total: float


class SchemeFile(Answer):
    file: str
    name: str | None
    effective_from: str | None
    text: str
    problems: list[str]
    components: list[str]


class SchemeName(Answer):
    name: str
    effective_from: str


class Preview(Answer):
    """The what-if: without `ok`, only the problems; else each agent's pay under the saved schemes and the edited."""

    ok: bool
    problems: list[str]
    file: str
    month: str
    rows: list[dict[str, Any]] | None = None
    summary: dict[str, Any] | None = None
    scheme: SchemeName | None = None
