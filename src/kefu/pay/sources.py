"""What a month's pay reads from a workspace: the edge between the KPI engine and the pure pay code.

- KPIs per agent and month, and the shop's own month figures, from the engine's
  month grouping (`kefu.api.kpis`): computed from the month's rows, never from
  daily averages.
- Credited sales (客服销售额) and counted refunds from the credited orders
  (kefu.metrics.kpis.facts), in Ibis, as exact decimals.
- Complaints (the KPI), confirmed QC errors (kefu.qc.confirmed_errors), imported inputs, targets.
- Each agent's 互查 fund of the month and the errors behind it (kefu.qc.ledger, docs/qc-review.md).

Decision P3 (docs/pay.md): a refund is subtracted from the commission base of
the agent the refunded order is credited to, in the month the refund
*finished*, when its status is a finished refund (REFUNDED_STATUSES) — a sale
paid in October and refunded in November lowers November's commission, so no
month that was already paid is ever reopened. Refunds of one order never count
above the order's amount (cumulatively, in order of finishing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import ibis
from ibis import _

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.metrics.kpis import facts
from kefu.month import Month, MonthError
from kefu.pay import inputs
from kefu.pay.measures import KPI_KEYS, MEASURES
from kefu.pay.model import AgentInfo, MonthData, MutualAccount, MutualMistake
from kefu.workspace import Workspace, fetch_one

#: refund statuses that mean money went back to the buyer (simulator/canonical `success`, 淘宝 `退款成功`)
REFUNDED_STATUSES = ("success", "退款成功", "refunded", "已退款")

KpiFn = Callable[[tuple[str, ...], dt.date | None, dt.date | None], list[dict]]


class EmptyMonth(MonthError):
    """A month without chat messages: there is nothing to pay."""

    status = 404


# -- engine queries (Ibis) -------------------------------------------------------------------


def credited_orders(ws: Workspace, params: Params) -> ibis.Table:
    """Every paid order credited to an agent (落实客服), exactly as the KPIs count them."""
    rows = facts(workspace_sources(ws), params)["credited_orders"].rows
    return rows.select(
        "order_id", "shop", "agent", "buyer", "created_at", "paid_at", "amount", "credit_moment", "credit_ts"
    )


def counted_refunds(ws: Workspace, params: Params) -> ibis.Table:
    """Finished refunds of credited orders with `counted`: the amount subtracted (never above what is left of the order)."""
    orders = credited_orders(ws, params).select(
        o_shop=_.shop, o_id=_.order_id, credited_to=_.agent, order_amount=_.amount, order_paid_at=_.paid_at
    )
    refunds = (
        ws.table("refunds")
        .filter(_.finished_at.notnull() & _.status.isin(REFUNDED_STATUSES))
        .rename(handled_by="agent")
    )
    joined = refunds.join(orders, (refunds.shop == orders.o_shop) & (refunds.order_id == orders.o_id)).drop(
        "o_shop", "o_id"
    )
    joined = joined.rename(agent="credited_to")
    before = ibis.window(
        group_by=["shop", "order_id"], order_by=["finished_at", "refund_id"], preceding=None, following=0
    )
    joined = joined.mutate(so_far=joined.amount.sum().over(before))
    left = joined.order_amount - (joined.so_far - joined.amount)
    counted = ibis.greatest(ibis.least(joined.amount, left), 0).cast("decimal(18, 2)")
    return joined.mutate(counted=counted).select(
        "refund_id",
        "order_id",
        "shop",
        "agent",
        "order_paid_at",
        "order_amount",
        "applied_at",
        "finished_at",
        "status",
        "reason",
        "handled_by",
        "amount",
        "counted",
    )


def in_month(table: ibis.Table, column: str, first: dt.date, last: dt.date) -> ibis.Table:
    return table.filter((table[column] >= first) & (table[column] < last + dt.timedelta(days=1)))


def _sums(table: ibis.Table, value: str) -> dict[str, Decimal]:
    frame = table.group_by("agent").aggregate(total=table[value].sum()).execute()
    return {r.agent: Decimal(r.total).quantize(Decimal("0.01")) for r in frame.itertuples()}


# -- QC (the contract of docs/qc.md) -----------------------------------------------------------


def confirmed_errors(ws: Workspace, first: dt.date, last: dt.date) -> list[dict]:
    """Confirmed QC findings per shop, agent and day (kefu.qc.confirmed_errors)."""
    from kefu import qc

    return qc.confirmed_errors(ws, first, last)


def confirmed_findings(ws: Workspace, agent: str, first: dt.date, last: dt.date) -> list[dict]:
    """The confirmed QC findings behind an agent's month (for explain)."""
    from kefu.qc.engine import findings

    return findings(ws, agent=agent, date_from=first, date_to=last, status="confirmed")


def mutual_funds(ws: Workspace, month: str) -> dict[str, MutualAccount]:
    """Each agent's 互查 fund of the month, as kefu.qc.ledger works it out with kefu.toml's `[qc.mutual]`,
    and the errors behind it. Reads only: a workspace without QC or peer-report tables has no errors."""
    from kefu.qc import ledger

    errors: dict[str, list[MutualMistake]] = {}
    for e in ledger.month_errors(ws, month):
        errors.setdefault(e["agent"], []).append(
            MutualMistake(e["source"], e["day"], e["description"], _cents(e["cost"]), e["report_id"], e["finding_id"])
        )
    costs = ledger.error_costs(ws.config.mutual)
    return {
        r["agent"]: MutualAccount(
            _cents(r["fund_start"]),
            _cents(r["costs"]),
            _cents(r["deductions"]),
            _cents(r["balance"]),
            bool(r["warning_only"]),
            tuple(errors.get(r["agent"], ())),
            costs["peer"],
            costs["supervisor"],
        )
        for r in ledger.month_ledger(ws, month)
    }


def _cents(value: float) -> Decimal:
    """The ledger's yuan (floats of whole cents) as exact decimals."""
    return Decimal(repr(value)).quantize(Decimal("0.01"))


# -- the month ------------------------------------------------------------------------------


def roster(ws: Workspace) -> dict[str, AgentInfo]:
    """Human accounts of the agents table (bots left out)."""
    rows = ws.con.execute(
        "SELECT agent, shop, name, team, role, employer, active FROM agents WHERE coalesce(role, '') <> 'bot'"
    ).fetchall()
    return {
        a: AgentInfo(
            a, shop, name or a.split(":", 1)[-1], team, role or "presales", employer or "in_house", active is not False
        )
        for a, shop, name, team, role, employer, active in rows
    }


def known_agents(ws: Workspace) -> dict[str, AgentInfo]:
    """The roster plus accounts that only appear in messages (presales, in-house, spec §1): who an input file may name."""
    found = roster(ws)
    for agent, shop in ws.con.execute("SELECT DISTINCT agent, shop FROM messages WHERE sender = 'agent'").fetchall():
        found.setdefault(agent, AgentInfo(agent, shop, agent.split(":", 1)[-1]))
    return found


def gather(ws: Workspace, month: str | Month, params: Params | None = None, kpis: KpiFn | None = None) -> MonthData:
    """Everything a scheme can use for the month. `kpis` lets the web app pass its cached engine results."""
    from kefu import api

    params = params or ws.config.params
    kpis = kpis or (lambda by, f, t: api.kpis(ws, list(by), params, f, t))
    parsed = Month.parse(month)
    month, first, last = str(parsed), parsed.first, parsed.last
    coverage = fetch_one(
        ws.con, "SELECT min(ts)::DATE, max(ts)::DATE FROM messages WHERE ts >= ? AND ts < ?", [first, parsed.after]
    )
    if coverage[0] is None:
        span = fetch_one(ws.con, "SELECT min(ts)::DATE, max(ts)::DATE FROM messages")
        have = f"the data covers {span[0]} … {span[1]}" if span[0] else "the workspace has no messages"
        raise EmptyMonth(f"no chat messages in {month}; {have}")

    by_agent = {r["agent"]: r for r in kpis(("agent", "month"), first, last)}
    by_shop = {r["shop"]: r for r in kpis(("shop", "month"), first, last)}
    agents = _paid_agents(roster(ws), by_agent)
    present = inputs.attendance(ws.con, month)
    days = {a: d.working_days for a, d in present.items()} if present else days_with_messages(ws, first, last)
    per_agent = {
        "sales_amount": _sums(in_month(credited_orders(ws, params), "paid_at", first, last), "amount"),
        "refund_amount": _sums(in_month(counted_refunds(ws, params), "finished_at", first, last), "counted"),
        **_qc_totals(confirmed_errors(ws, first, last)),
        "test_score": {
            a: sum((s for s, _t, _w in found), Decimal(0)) / len(found)
            for a, found in inputs.test_scores(ws.con, month).items()
        },
        "leave_days": {a: d.leave_days for a, d in present.items()},
    }
    values = {a: _values(by_agent.get(a, {}), per_agent, a, days, bool(present)) for a in agents}
    shop_values = {s: {k: _decimal(r.get(k), k) for k in KPI_KEYS if k in r} for s, r in by_shop.items()}
    return MonthData(
        month,
        first,
        last,
        agents,
        values,
        shop_values,
        _targets(ws, month),
        inputs.prizes(ws.con, month),
        present,
        mutual=mutual_funds(ws, month),
        days_from_chats=not present,
        coverage=(coverage[0], coverage[1]),
        credit_rule=params.credit_rule,
    )


def _paid_agents(listed: dict[str, AgentInfo], by_agent: dict[str, dict]) -> dict[str, AgentInfo]:
    """Active accounts of the roster, plus every account with figures in the month (decision P8)."""
    found = {a: i for a, i in listed.items() if i.active or a in by_agent}
    for a, r in by_agent.items():
        found.setdefault(a, AgentInfo(a, r["shop"], a.split(":", 1)[-1]))
    return found


def _values(
    kpi_row: dict, per_agent: dict[str, dict], agent: str, days: dict, attendance: bool
) -> dict[str, Decimal | None]:
    """One agent's measures (kefu.pay.measures): the KPIs of the month, then the pay inputs."""
    v = {k: _decimal(kpi_row.get(k), k) for k in KPI_KEYS}
    sales = per_agent["sales_amount"].get(agent, Decimal("0.00"))  # exact, from the credited orders
    refunds = per_agent["refund_amount"].get(agent, Decimal("0.00"))
    v["sales_amount"], v["refund_amount"], v["net_sales"] = sales, refunds, sales - refunds
    v["qc_errors"] = per_agent["qc_errors"].get(agent, Decimal(0))
    v["qc_points"] = per_agent["qc_points"].get(agent, Decimal(0))
    v["test_score"] = per_agent["test_score"].get(agent)
    # with an attendance import, an agent missing from it has no working days (an error where a scheme needs them)
    v["working_days"] = days.get(agent) if attendance else Decimal(days.get(agent, 0))
    v["leave_days"] = per_agent["leave_days"].get(agent, Decimal(0))
    return v


def _qc_totals(rows: list[dict]) -> dict[str, dict[str, Decimal]]:
    errors: dict[str, Decimal] = {}
    points: dict[str, Decimal] = {}
    for r in rows:
        errors[r["agent"]] = errors.get(r["agent"], Decimal(0)) + int(r["confirmed_errors"])
        points[r["agent"]] = points.get(r["agent"], Decimal(0)) + Decimal(str(r["points"] or 0))
    return {"qc_errors": errors, "qc_points": points}


def days_with_messages(ws: Workspace, first: dt.date, last: dt.date) -> dict[str, int]:
    """Days on which each account sent a message (agent_msgs > 0): working days when no attendance was imported."""
    sent = in_month(ws.table("messages"), "ts", first, last).filter(_.sender == "agent")
    frame = sent.group_by("agent").aggregate(days=sent.ts.date().nunique()).execute()
    return {r.agent: int(r.days) for r in frame.itertuples()}


def _decimal(value, key: str) -> Decimal | None:
    if value is None:
        return Decimal(0) if MEASURES[key].zero_when_missing else None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _targets(ws: Workspace, month: str) -> dict[tuple[str, str, str, str], Decimal]:
    if not ws.has_table("web_targets"):
        return {}
    rows = ws.con.execute(
        "SELECT shop, scope, subject, metric, value FROM web_targets WHERE month = ?", [month]
    ).fetchall()
    return {(shop, scope, subject, metric): Decimal(repr(value)) for shop, scope, subject, metric, value in rows}
