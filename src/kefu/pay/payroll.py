"""The month's payroll (工资表) from MonthData and schemes — a pure function.

`compute` picks each scheme's version for the month, assigns every agent to
the one scheme that applies, works out the group figures a component needs
(the pool's working days, the ranking), then each agent's lines. `raise_hints`
re-runs the same function with one KPI improved to say which KPI would raise
an agent's pay most.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from kefu.errors import KefuError
from kefu.pay import components as c
from kefu.pay.measures import MEASURES, show
from kefu.pay.model import AgentInfo, Line, MonthData, Payroll, Slip
from kefu.pay.scheme import (
    Commission,
    Condition,
    KpiScore,
    MutualFund,
    Pool,
    Prizes,
    Ranking,
    Scheme,
    Threshold,
    assign,
    select,
)


class PayrollError(KefuError):
    """The payroll cannot be computed as the data stands; `problems` says what to fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def compute(data: MonthData, schemes: Iterable[Scheme]) -> Payroll:
    chosen = select(schemes, data.month)
    paid = assign(data.agents, chosen)
    _check_days(data, paid)
    groups = _group_figures(data, paid)
    slips = [_slip(data, paid[a], data.agents[a], groups) for a in _ordered(data.agents, paid)]
    unassigned = tuple(data.agents[a] for a in _ordered(data.agents, data.agents) if a not in paid)
    return Payroll(data.month, tuple(slips), unassigned, data.coverage, data.days_from_chats)


def _ordered(agents: dict[str, AgentInfo], keys) -> list[str]:
    return sorted(keys, key=lambda a: (agents[a].shop, agents[a].team or "", a))


def _days_source(data: MonthData, agent: str) -> str:
    if data.days_from_chats:
        return "有聊天记录的天数(本月未导入出勤表)"
    found = data.attendance.get(agent)
    return f"出勤表 {found.source}" if found else "出勤表(无此客服)"


def _check_days(data: MonthData, paid: dict[str, Scheme]) -> None:
    """Schemes that share a pool or prorate the base need every agent's working days."""
    problems = []
    for agent, scheme in sorted(paid.items()):
        needs_days = scheme.base.prorate or any(isinstance(k, Pool) for k in scheme.components)
        if needs_days and data.value(agent, "working_days") is None:
            problems.append(
                f"{agent}: attendance for {data.month} has no row for this agent, and {scheme.label} "
                f"({scheme.source}) needs working days; add the agent to the attendance file and import it again"
            )
        if scheme.base.prorate and not data.days_from_chats:
            found = data.attendance.get(agent)
            if found is not None and not found.scheduled_days:
                problems.append(
                    f"{agent}: {scheme.label} prorates the base, but the attendance row ({found.source}) "
                    "has no scheduled_days (应出勤天数)"
                )
    if problems:
        raise PayrollError(problems)


# -- group figures: pools and rankings --------------------------------------------------


def _group_key(within: str, info: AgentInfo) -> tuple:
    return {"scheme": (), "shop": (info.shop,), "team": (info.shop, info.team)}[within]


def _group_figures(data: MonthData, paid: dict[str, Scheme]) -> dict[tuple, dict]:
    """(scheme name, component name, agent) -> the agent's share of the pool or rank in the ranking."""
    out: dict[tuple, dict] = {}
    for scheme in {s.name: s for s in paid.values()}.values():
        members = [a for a, s in paid.items() if s.name == scheme.name]
        for comp in scheme.components:
            if isinstance(comp, Pool):
                for group in _groups(members, data, comp.shared_within).values():
                    days = {a: data.value(a, "working_days") or Decimal(0) for a in group}
                    shares = c.pool_shares(comp.pool, days)
                    total = sum(days.values(), Decimal(0))
                    for a in group:
                        out[(scheme.name, comp.name, a)] = {"share": shares[a], "days": days[a], "total_days": total}
            elif isinstance(comp, Ranking):
                for group in _groups(members, data, comp.within).values():
                    checks = {
                        a: [c.check(w, data.values.get(a, {}), _standard(data, a)) for w in comp.when] for a in group
                    }
                    ranked = {
                        a: kpi_value
                        for a in group
                        if (kpi_value := data.value(a, comp.kpi)) is not None and all(x["met"] for x in checks[a])
                    }
                    positions = c.ranks(ranked, comp.better_high)
                    for a in group:
                        out[(scheme.name, comp.name, a)] = {
                            "rank": positions.get(a),
                            "competitors": len(ranked),
                            "checks": checks[a],
                        }
    return out


def _groups(members: list[str], data: MonthData, within: str) -> dict[tuple, list[str]]:
    found: dict[tuple, list[str]] = {}
    for a in sorted(members):
        found.setdefault(_group_key(within, data.agents[a]), []).append(a)
    return found


# -- one agent ----------------------------------------------------------------------------


def _standard(data: MonthData, agent: str):
    """How a condition's "shop" / "target" value is found for this agent."""
    info = data.agents[agent]

    def lookup(cond: Condition) -> tuple[Decimal | None, str]:
        if cond.value == "shop":
            return data.shop_values.get(info.shop, {}).get(
                cond.kpi
            ), f"店铺标准：{info.shop} 本月{MEASURES[cond.kpi].zh}"
        for scope, subject, word in (
            ("agent", agent, "个人"),
            ("team", info.team, "小组"),
            ("shop", info.shop, "店铺"),
        ):
            found = data.targets.get((info.shop, scope, subject or "", cond.kpi))
            if found is not None:
                return found, f"{word}月度目标"
        return None, "未设月度目标"

    return lookup


def _slip(data: MonthData, scheme: Scheme, info: AgentInfo, groups: dict[tuple, dict]) -> Slip:
    agent = info.agent
    values = data.values.get(agent, {})
    attendance = data.attendance.get(agent)
    base = c.base_line(
        scheme.base.amount,
        scheme.base.prorate,
        values.get("working_days"),
        attendance.scheduled_days if attendance else None,
        _days_source(data, agent),
    )
    lines: list[Line] = [base]
    for comp in scheme.components:
        lines.append(_component(comp, data, scheme, agent, values, base.amount, groups))
    performance = sum((line.amount for line in lines[1:]), Decimal(0))
    limit = c.performance_limit(performance, scheme.limits.cap, scheme.limits.floor)
    if limit is not None:
        lines.append(limit)
    return Slip(data.month, info, scheme.name, scheme.effective_from, scheme.source, tuple(lines))


def _component(comp, data: MonthData, scheme: Scheme, agent: str, values, base: Decimal, groups) -> Line:
    if isinstance(comp, Commission):
        return c.commission(comp, values.get("sales_amount") or Decimal(0), values.get("refund_amount") or Decimal(0))
    if isinstance(comp, KpiScore):
        return c.kpi_score(comp, values)
    if isinstance(comp, Threshold):
        return c.threshold(comp, values, _standard(data, agent), base)
    if isinstance(comp, Pool):
        g = groups[(scheme.name, comp.name, agent)]
        return c.pool(comp, g["share"], g["days"], g["total_days"], values, _days_source(data, agent))
    if isinstance(comp, Ranking):
        g = groups[(scheme.name, comp.name, agent)]
        return c.ranking(comp, g["rank"], g["competitors"], values.get(comp.kpi), g["checks"])
    if isinstance(comp, MutualFund):
        return c.mutual_fund(comp, data.mutual.get(agent))
    assert isinstance(comp, Prizes)
    return c.prizes(comp, data.prizes.get(agent, ()))


# -- which KPI would raise the pay most ----------------------------------------------------


def raise_hints(data: MonthData, schemes: Iterable[Scheme], agent: str) -> list[dict]:
    """For each KPI the agent's scheme scores, tests or ranks: the money gained by improving it to
    each value that changes the pay (the next one first, the best last), sorted by the largest gain.

    Each figure re-runs `compute` with only that KPI of this agent changed (the agent's other
    figures and every colleague's stay as they are), so it is what the scheme would pay.
    """
    schemes = list(schemes)
    chosen = select(schemes, data.month)
    scheme = assign({agent: data.agents[agent]}, chosen).get(agent)
    if scheme is None:
        return []
    peers = {a: i for a, i in data.agents.items() if scheme.applies_to.matches(i)}
    scoped = dataclasses.replace(data, agents=peers)
    now = _total(scoped, scheme, agent)
    out = []
    for key, candidates in _candidates(scheme, scoped, agent).items():
        current = scoped.value(agent, key)
        steps: list[dict[str, Any]] = []
        for value in sorted(candidates, key=lambda v: abs(v - current) if current is not None else 0):
            if not _better(key, value, current):
                continue
            changed = dict(scoped.values.get(agent, {}), **{key: value})
            gain = _total(dataclasses.replace(scoped, values={**scoped.values, agent: changed}), scheme, agent) - now
            if gain > 0 and all(gain > s["gain"] for s in steps):
                steps.append({"value": value, "shown": show(key, value), "gain": gain})
        if steps:
            out.append(
                {
                    "kpi": key,
                    "zh": MEASURES[key].zh,
                    "current": current,
                    "shown": show(key, current),
                    "steps": steps,
                    "best_gain": steps[-1]["gain"],
                }
            )
    return sorted(out, key=lambda h: (-h["best_gain"], h["kpi"]))


def _better(key: str, value: Decimal, current: Decimal | None) -> bool:
    if current is None:
        return True
    direction = MEASURES[key].higher_is_better
    if direction is None:
        return value != current
    return value > current if direction else value < current


def _total(data: MonthData, scheme: Scheme, agent: str) -> Decimal:
    """The agent's pay under `scheme` (which pays them) with `data`."""
    slip = compute(data, [scheme]).slip(agent)
    assert slip is not None  # the scheme was chosen for this agent
    return slip.total


def _candidates(scheme: Scheme, data: MonthData, agent: str) -> dict[str, set[Decimal]]:
    found: dict[str, set[Decimal]] = {}
    standard = _standard(data, agent)
    for comp in scheme.components:
        if isinstance(comp, KpiScore):
            for k in comp.kpis:
                current = data.value(agent, k.kpi)
                tenth = (k.best - k.worst) / 10
                nxt = k.best if current is None else _clamp_toward(current + tenth, k.worst, k.best)
                found.setdefault(k.kpi, set()).update({k.best, nxt})
        conditions = comp.when if isinstance(comp, Threshold | Ranking) else []
        for cond in conditions:
            target = standard(cond)[0] if isinstance(cond.value, str) else cond.value
            if target is not None:
                step = MEASURES[cond.kpi].step
                found.setdefault(cond.kpi, set()).update({target - step, target, target + step})
        if isinstance(comp, Ranking):
            others = {v for a in data.agents if a != agent and (v := data.value(a, comp.kpi)) is not None}
            found.setdefault(comp.kpi, set()).update(others)
    return {k: {v for v in vs if _possible(k, v)} for k, vs in found.items()}


def _clamp_toward(value: Decimal, worst: Decimal, best: Decimal) -> Decimal:
    low, high = min(worst, best), max(worst, best)
    return min(max(value, low), high)


def _possible(key: str, value: Decimal) -> bool:
    """Values a KPI can take: no negative counts or times, no rate above 100 %."""
    if value < 0:
        return False
    return not (MEASURES[key].unit == "ratio" and value > 1)


__all__ = ["PayrollError", "compute", "raise_hints"]
