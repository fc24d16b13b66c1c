"""Pure pay arithmetic: one function per component kind, from values to a `Line`.

Nothing here reads a database. Every amount is exact `Decimal` until the
component's final figure, which is rounded half-up to 0.01 once (`money`);
caps and floors then clamp the rounded figure. Each Line carries the rule in
words, the formula with the numbers substituted and the values it used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from kefu.formatting import yuan
from kefu.pay.measures import MEASURES, show
from kefu.pay.model import Line, MutualAccount, Prize, Used
from kefu.pay.scheme import Commission, Condition, KpiScore, MutualFund, Pool, Prizes, Ranking, Threshold

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}
OP_TEXT = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def money(value: Decimal) -> Decimal:
    """Round half-up to the cent (0.005 → 0.01), the one rounding each component gets."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def used(key: str, value: Decimal | None, source: str = "") -> Used:
    return Used(key, MEASURES[key].zh, value, show(key, value), source)


# -- commission (提成) ----------------------------------------------------------------


def tiered(sales: Decimal, bands: Sequence[tuple[Decimal, Decimal]]) -> tuple[Decimal, list[dict]]:
    """Marginal (超额累进) commission: each rate applies to the part of sales inside its band.

    With rates ≥ 0 the result never falls when sales rise. Negative net sales (refunds of
    earlier months above this month's sales) are charged back at the first band's rate.
    """
    if sales < 0:
        start, rate = bands[0]
        return sales * rate, [{"from": start, "to": None, "rate": rate, "portion": sales, "money": sales * rate}]
    parts: list[dict[str, Any]] = []
    for i, (start, rate) in enumerate(bands):
        end = bands[i + 1][0] if i + 1 < len(bands) else None
        if sales <= start:
            break
        portion = (sales if end is None else min(sales, end)) - start
        parts.append({"from": start, "to": end, "rate": rate, "portion": portion, "money": portion * rate})
    return sum((p["money"] for p in parts), Decimal(0)), parts


def commission(spec: Commission, sales: Decimal, refunds: Decimal) -> Line:
    base = sales - refunds if spec.net_of_refunds else sales
    exact, parts = tiered(base, [(t.from_, t.rate) for t in spec.bands])
    amount = money(exact)
    what = "净销售额(客服销售额 − 退款)" if spec.net_of_refunds else "客服销售额"
    if spec.tiers is None:
        rule = f"{what} × {pct(spec.bands[0].rate)}"
    else:
        rule = f"{what}按超额累进阶梯提成：" + "；".join(f"{yuan(t.from_)} 起 {pct(t.rate)}" for t in spec.bands)
    head = f"{yuan(sales)} − {yuan(refunds)} = {yuan(base)}；" if spec.net_of_refunds else ""
    steps = (
        " + ".join(f"{yuan(p['portion'])} × {pct(p['rate'])}" for p in parts)
        or f"{yuan(base)} × {pct(spec.bands[0].rate)}"
    )
    values = [used("sales_amount", sales)] + (
        [used("refund_amount", refunds), used("net_sales", base)] if spec.net_of_refunds else []
    )
    detail = tuple(
        {"band_from": p["from"], "band_to": p["to"], "rate": p["rate"], "portion": p["portion"], "money": p["money"]}
        for p in parts
    )
    return _limited(
        spec,
        Line(
            spec.name,
            "commission",
            amount,
            _with_note(rule, spec.note),
            f"{head}{steps} = {yuan(amount)}",
            tuple(values),
            detail,
        ),
    )


# -- KPI score (KPI 考核) -------------------------------------------------------------


def score(value: Decimal | None, worst: Decimal, best: Decimal) -> Decimal:
    """Linear 0 at worst … 1 at best, clamped to [0, 1]; no value scores 0."""
    if value is None:
        return Decimal(0)
    return min(max((value - worst) / (best - worst), Decimal(0)), Decimal(1))


def kpi_score(spec: KpiScore, values: Mapping[str, Decimal | None]) -> Line:
    detail: list[dict[str, Any]] = []
    points = Decimal(0)
    for k in spec.kpis:
        value = values.get(k.kpi)
        s = score(value, k.worst, k.best)
        detail.append(
            {
                "kpi": k.kpi,
                "zh": MEASURES[k.kpi].zh,
                "value": value,
                "shown": show(k.kpi, value),
                "worst": k.worst,
                "best": k.best,
                "weight": k.weight,
                "score": s,
                "points": k.weight * s,
            }
        )
        points += k.weight * s
    weights = sum((k.weight for k in spec.kpis), Decimal(0))
    amount = money(spec.amount * points / weights)
    rule = (
        f"满分 {yuan(spec.amount)}，各项在最差值(0 分)与最佳值(满权重)之间线性计分，超出区间按端点计，无数据计 0 分："
        + "；".join(
            f"{MEASURES[k.kpi].zh} {show(k.kpi, k.worst)}→{show(k.kpi, k.best)} 权重 {k.weight.normalize():f}"
            for k in spec.kpis
        )
    )
    terms = " + ".join(f"{_num(d['points'])}" for d in detail)
    formula = f"{yuan(spec.amount)} × ({terms}) / {_num(weights)} = {yuan(amount)}"
    return _limited(
        spec,
        Line(
            spec.name,
            "kpi_score",
            amount,
            _with_note(rule, spec.note),
            formula,
            tuple(used(k.kpi, values.get(k.kpi)) for k in spec.kpis),
            tuple(detail),
        ),
    )


# -- thresholds (达标奖 / 扣罚) -------------------------------------------------------


Standard = Callable[[Condition], tuple[Decimal | None, str]]


def check(cond: Condition, values: Mapping[str, Decimal | None], standard: Standard) -> dict:
    """One condition: the agent's value, the value it is compared with (and where that came from), the result."""
    actual = values.get(cond.kpi)
    if isinstance(cond.value, str):
        target, source = standard(cond)
    else:
        target, source = cond.value, ""
    met = actual is not None and target is not None and OPS[cond.op](actual, target)
    return {
        "kpi": cond.kpi,
        "zh": MEASURES[cond.kpi].zh,
        "op": cond.op,
        "value": actual,
        "shown": show(cond.kpi, actual),
        "target": target,
        "target_shown": show(cond.kpi, target),
        "target_source": source,
        "met": met,
    }


def condition_text(cond: Condition) -> str:
    target = (
        {"shop": "店铺标准", "target": "月度目标"}.get(cond.value)
        if isinstance(cond.value, str)
        else show(cond.kpi, cond.value)
    )
    return f"{MEASURES[cond.kpi].zh} {OP_TEXT[cond.op]} {target}"


def threshold(spec: Threshold, values: Mapping[str, Decimal | None], standard: Standard, base: Decimal) -> Line:
    checks = [check(c, values, standard) for c in spec.when]
    met = all(c["met"] for c in checks)
    if spec.percent_of_base is not None:
        full = base * spec.percent_of_base / 100
        what = f"基本工资的 {abs(spec.percent_of_base).normalize():f}%"
        how = f"{yuan(base)} × {spec.percent_of_base.normalize():f}%"
    else:
        assert spec.amount is not None  # the scheme gives percent_of_base or amount (Threshold._one_way)
        full, what, how = spec.amount, yuan(abs(spec.amount)), yuan(spec.amount)
    amount = money(full) if met else ZERO
    verb = "扣" if full < 0 else "奖励"
    rule = "当 " + " 且 ".join(condition_text(c) for c in spec.when) + f" 时，{verb} {what}"
    facts = "，".join(
        f"{c['zh']} {c['shown']} {OP_TEXT[c['op']]} {c['target_shown']}{' ✓' if c['met'] else ' ✗'}" for c in checks
    )
    formula = f"{facts}：{'条件成立，' + how + ' = ' + yuan(amount) if met else '条件不成立，' + yuan(ZERO)}"
    values_used = []
    for c in checks:
        values_used.append(used(c["kpi"], c["value"]))
        if c["target_source"]:
            values_used.append(Used(c["kpi"], c["zh"], c["target"], c["target_shown"], c["target_source"]))
    return _limited(
        spec,
        Line(spec.name, "threshold", amount, _with_note(rule, spec.note), formula, tuple(values_used), tuple(checks)),
    )


# -- subtraction pool (减分制) --------------------------------------------------------


def pool_shares(pool: Decimal, days: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The pool split by working days, to the cent, adding up to the pool exactly.

    Each share is pool × days / total days rounded down to the cent; the cents left
    over go one each to the largest remainders (ties: account order) — the
    largest-remainder method, so no cent of the pool is created or lost.
    """
    total = sum(days.values(), Decimal(0))
    if total <= 0:
        return {a: ZERO for a in days}
    exact = {a: pool * d / total for a, d in days.items()}
    floors = {a: v.quantize(CENT, rounding=ROUND_FLOOR) for a, v in exact.items()}
    left = int(((pool - sum(floors.values(), Decimal(0))) / CENT).to_integral_value())
    by_remainder = sorted(days, key=lambda a: (-(exact[a] - floors[a]), a))
    for a in by_remainder[:left]:
        floors[a] += CENT
    return floors


def pool(
    spec: Pool,
    share: Decimal,
    days: Decimal,
    total_days: Decimal,
    values: Mapping[str, Decimal | None],
    days_source: str,
) -> Line:
    errors = values.get("qc_errors") or Decimal(0)
    complaints = values.get("complaints") or Decimal(0)
    deduction = spec.per_qc_error * errors + spec.per_complaint * complaints
    amount = money(share - deduction)
    rule = (
        f"绩效池 {yuan(spec.pool)} 按出勤天数在{ {'scheme': '本方案', 'shop': '本店', 'team': '本组'}[spec.shared_within] }的客服间分配；"
        f"每个质检确认差错扣 {yuan(spec.per_qc_error)}，每次投诉扣 {yuan(spec.per_complaint)}"
    )
    formula = (
        f"{yuan(spec.pool)} × {_num(days)} / {_num(total_days)} 天 = {yuan(share)}；"
        f"− {_num(errors)} × {yuan(spec.per_qc_error)} − {_num(complaints)} × {yuan(spec.per_complaint)} = {yuan(amount)}"
    )
    values_used = (used("working_days", days, days_source), used("qc_errors", errors), used("complaints", complaints))
    detail = ({"pool": spec.pool, "days": days, "total_days": total_days, "share": share, "deduction": deduction},)
    return _limited(spec, Line(spec.name, "pool", amount, _with_note(rule, spec.note), formula, values_used, detail))


# -- ranking and imported prizes ------------------------------------------------------


def ranks(values: Mapping[str, Decimal], higher_is_better: bool) -> dict[str, int]:
    """Competition ranking (1, 2, 2, 4): equal values share a rank."""
    ordered = sorted(values.values(), reverse=higher_is_better)
    return {a: ordered.index(v) + 1 for a, v in values.items()}


def ranking(spec: Ranking, rank: int | None, competitors: int, value: Decimal | None, checks: list[dict]) -> Line:
    amount = money(spec.prizes[rank - 1]) if rank is not None and rank <= len(spec.prizes) else ZERO
    order = "高者优先" if spec.better_high else "低者优先"
    rule = f"按{MEASURES[spec.kpi].zh}排名({order}，并列同名次)：" + "，".join(
        f"第{i}名 {yuan(p)}" for i, p in enumerate(spec.prizes, 1)
    )
    if spec.when:
        rule += "；参评条件：" + " 且 ".join(condition_text(c) for c in spec.when)
    if rank is None:
        why = "无数据" if value is None else "不满足参评条件"
        formula = f"{MEASURES[spec.kpi].zh} {show(spec.kpi, value)}，{why}，未参与排名 = {yuan(ZERO)}"
    else:
        formula = f"{MEASURES[spec.kpi].zh} {show(spec.kpi, value)}，{competitors} 人中第 {rank} 名 = {yuan(amount)}"
    detail = ({"rank": rank, "competitors": competitors, "value": value},) + tuple(checks)
    return _limited(
        spec, Line(spec.name, "ranking", amount, _with_note(rule, spec.note), formula, (used(spec.kpi, value),), detail)
    )


def prizes(spec: Prizes, found: Sequence[Prize]) -> Line:
    amount = money(sum((p.amount for p in found), Decimal(0)))
    formula = (" + ".join(f"{yuan(p.amount)}({p.reason})" for p in found) or "本月无导入奖励") + f" = {yuan(amount)}"
    detail = tuple({"amount": p.amount, "reason": p.reason, "source": p.source} for p in found)
    return _limited(
        spec,
        Line(
            spec.name,
            "prizes",
            amount,
            _with_note("本月导入的奖励合计(排名奖、专项奖等)", spec.note),
            formula,
            (),
            detail,
        ),
    )


# -- the 互查 fund ----------------------------------------------------------------------

SOURCES_ZH = {"peer": "同事互查", "supervisor": "主管发现"}


def mutual_fund(spec: MutualFund, fund: MutualAccount | None) -> Line:
    """The agent's 互查 balance at the end of the month, as kefu.qc.ledger worked it out (the fund, less each
    error's cost, never below 0; nothing deducted in a warning-only month); no fund that month pays 0."""
    if fund is None:
        rule = "互查基金月末余额(kefu.toml [qc.mutual])"
        return _limited(
            spec,
            Line(
                spec.name,
                "mutual_fund",
                ZERO,
                _with_note(rule, spec.note),
                f"本月无互查基金(本月无聊天记录，也无差错) = {yuan(ZERO)}",
            ),
        )
    rule = (
        f"互查基金每月 {yuan(fund.fund_start)}：同事举报并经主管确认的差错每个扣 {yuan(fund.peer_cost)}，"
        f"主管质检发现而无同事举报的差错每个扣 {yuan(fund.supervisor_cost)}；基金不低于 ¥0.00，警示月只提示不扣款；发放月末余额"
    )
    terms = []
    for source in ("peer", "supervisor"):
        costs: dict[Decimal, int] = {}
        for e in fund.errors:
            if e.source == source:
                costs[e.cost] = costs.get(e.cost, 0) + 1
        terms += [f"{n} × {yuan(cost)}({SOURCES_ZH[source]})" for cost, n in sorted(costs.items())]
    amount = money(fund.balance)
    if not fund.errors:
        formula = f"本月无差错，全额发放：{yuan(fund.fund_start)} = {yuan(amount)}"
    elif fund.warning_only:
        formula = (
            f"警示月，只提示不扣款：差错 {' + '.join(terms)} = {yuan(fund.costs)} 不扣；"
            f"{yuan(fund.fund_start)} − {yuan(ZERO)} = {yuan(amount)}"
        )
    else:
        left = fund.fund_start - fund.deductions
        formula = f"{yuan(fund.fund_start)} − {' − '.join(terms)} = "
        formula += yuan(amount) if left == amount else f"{yuan(left)}，基金不低于 ¥0.00 = {yuan(amount)}"
    count = {s: sum(e.source == s for e in fund.errors) for s in ("peer", "supervisor")}
    values = (
        Used("mutual_fund", "互查基金", fund.fund_start, yuan(fund.fund_start), "kefu.toml [qc.mutual] fund"),
        Used(
            "mutual_peer_errors", "同事互查确认差错", Decimal(count["peer"]), str(count["peer"]), "互查举报(主管已确认)"
        ),
        Used(
            "mutual_supervisor_errors",
            "主管发现差错",
            Decimal(count["supervisor"]),
            str(count["supervisor"]),
            "质检复核确认、无同事举报",
        ),
        Used(
            "mutual_deductions",
            "互查扣款",
            fund.deductions,
            yuan(fund.deductions),
            "警示月：只提示不扣款" if fund.warning_only else "",
        ),
    )
    detail: tuple[dict[str, object], ...] = (
        {
            "fund_start": fund.fund_start,
            "peer_errors": count["peer"],
            "supervisor_errors": count["supervisor"],
            "costs": fund.costs,
            "deductions": fund.deductions,
            "balance": fund.balance,
            "warning_only": fund.warning_only,
        },
    )
    detail += tuple(
        {
            "source": e.source,
            "day": e.day,
            "description": e.description,
            "cost": e.cost,
            "report_id": e.report_id,
            "finding_id": e.finding_id,
        }
        for e in fund.errors
    )
    return _limited(spec, Line(spec.name, "mutual_fund", amount, _with_note(rule, spec.note), formula, values, detail))


# -- base and limits ------------------------------------------------------------------


def base_line(amount: Decimal, prorate: bool, days: Decimal | None, scheduled: Decimal | None, source: str) -> Line:
    if not prorate:
        return Line("基本工资", "base", money(amount), "固定底薪", yuan(money(amount)))
    paid = money(amount * days / scheduled) if days is not None and scheduled else ZERO
    formula = f"{yuan(amount)} × {_num(days)} / {_num(scheduled)} 天 = {yuan(paid)}"
    return Line(
        "基本工资",
        "base",
        paid,
        "底薪按出勤折算：底薪 × 出勤天数 / 应出勤天数",
        formula,
        (used("working_days", days, source), Used("scheduled_days", "应出勤天数", scheduled, _num(scheduled), source)),
    )


def performance_limit(total: Decimal, cap: Decimal | None, floor: Decimal | None) -> Line | None:
    """The line that brings the performance pay (all but the base) within the scheme's cap and floor."""
    if cap is not None and total > cap:
        return Line(
            "绩效封顶调整",
            "limit",
            cap - total,
            f"绩效(底薪以外)封顶 {yuan(cap)}",
            f"{yuan(cap)} − {yuan(total)} = {yuan(cap - total)}",
        )
    if floor is not None and total < floor:
        return Line(
            "绩效保底调整",
            "limit",
            floor - total,
            f"绩效(底薪以外)保底 {yuan(floor)}",
            f"{yuan(floor)} − {yuan(total)} = {yuan(floor - total)}",
        )
    return None


def _limited(spec, line: Line) -> Line:
    """Clamp a component to its own cap and floor, saying so in the formula."""
    amount = line.amount
    if spec.cap is not None and amount > spec.cap:
        amount, why = spec.cap, f"，封顶 {yuan(spec.cap)}"
    elif spec.floor is not None and amount < spec.floor:
        amount, why = spec.floor, f"，保底 {yuan(spec.floor)}"
    else:
        return line
    return Line(line.component, line.kind, money(amount), line.rule, line.formula + why, line.used, line.detail)


def _with_note(rule: str, note: str) -> str:
    return f"{rule}（{note}）" if note else rule


def _num(value: Decimal | None) -> str:
    if value is None:
        return "—"
    rounded = value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    return f"{rounded:f}"
