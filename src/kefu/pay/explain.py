"""Why an agent got what they got (`kefu pay explain`, the payslip drill-down).

For each line: the rule, the KPI values used (with their 中文名), the formula
with the numbers substituted; then the rows behind them: the credited orders
and their amounts, the refunds subtracted, the complaints, the confirmed QC
findings, the imported attendance, test scores and prizes, the 互查 errors behind
the fund (when the scheme pays it), and the agent's daily values of every KPI
the scheme uses (each day opens in `kefu explain`).
"""

from __future__ import annotations

from typing import Any

from ibis import _

from kefu.config import Params
from kefu.pay import inputs, sources
from kefu.pay.components import SOURCES_ZH
from kefu.pay.measures import KPI_KEYS
from kefu.pay.model import MonthData, Slip
from kefu.pay.output import plain, slip_record
from kefu.pay.scheme import Commission, KpiScore, MutualFund, Pool, Ranking, Scheme, Threshold
from kefu.workspace import Workspace

SECTIONS = {
    "credited_orders": "落实订单(客服销售额)",
    "refunds": "退款扣回",
    "complaints": "投诉",
    "qc_findings": "质检确认差错",
    "attendance": "出勤",
    "test_scores": "产品知识考试",
    "prizes": "奖励",
    "mutual_errors": "互查差错",
    "kpi_days": "每日 KPI",
}


def used_kpis(scheme: Scheme) -> list[str]:
    """KPI and input keys a scheme reads, in the order it declares them."""
    keys: list[str] = []
    for comp in scheme.components:
        if isinstance(comp, KpiScore):
            keys += [k.kpi for k in comp.kpis]
        if isinstance(comp, Threshold | Ranking):
            keys += [c.kpi for c in comp.when]
        if isinstance(comp, Ranking):
            keys.append(comp.kpi)
        if isinstance(comp, Commission):
            keys.append("sales_amount")
        if isinstance(comp, Pool):
            keys += ["working_days", "complaints", "qc_errors"]
    return list(dict.fromkeys(keys))


def rows_behind(
    ws: Workspace, data: MonthData, slip: Slip, scheme: Scheme, params: Params, day_kpis: list[dict] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every row the slip's numbers come from, by section (see SECTIONS)."""
    agent, first, last = slip.agent.agent, data.first_day, data.last_day
    orders = sources.in_month(sources.credited_orders(ws, params), "paid_at", first, last).filter(_.agent == agent)
    out = {"credited_orders": _records(orders.order_by(["paid_at", "order_id"]).execute())}
    refunds = sources.in_month(sources.counted_refunds(ws, params), "finished_at", first, last).filter(_.agent == agent)
    out["refunds"] = _records(refunds.order_by(["finished_at", "refund_id"]).execute())
    complaints = sources.in_month(ws.table("complaints"), "ts", first, last).filter(_.agent == agent)
    out["complaints"] = _records(
        complaints.select("ts", "buyer", "kind", "detail", "src_file", "src_line").order_by("ts").execute()
    )
    out["qc_findings"] = [
        plain(
            {
                k: r.get(k)
                for k in (
                    "finding_id",
                    "day",
                    "ts",
                    "buyer",
                    "rule",
                    "rule_name",
                    "severity",
                    "points",
                    "match",
                    "reviewer",
                    "comment",
                )
            }
        )
        for r in sources.confirmed_findings(ws, agent, first, last)
    ]
    found = data.attendance.get(agent)
    out["attendance"] = (
        [
            plain(
                {
                    "working_days": found.working_days,
                    "leave_days": found.leave_days,
                    "scheduled_days": found.scheduled_days,
                    "source": found.source,
                }
            )
        ]
        if found
        else []
    )
    out["test_scores"] = [
        plain({"score": s, "test": t, "source": w}) for s, t, w in inputs.test_scores(ws.con, data.month).get(agent, [])
    ]
    out["prizes"] = [
        plain({"amount": p.amount, "reason": p.reason, "source": p.source}) for p in data.prizes.get(agent, ())
    ]
    fund = data.mutual.get(agent)  # the 互查 ledger is the shop's internal fund: shown only where the scheme pays it
    pays_fund = any(isinstance(comp, MutualFund) for comp in scheme.components)
    out["mutual_errors"] = [
        plain(
            {
                "day": e.day,
                "source": SOURCES_ZH[e.source],
                "description": e.description,
                "cost": e.cost,
                "report_id": e.report_id,
                "finding_id": e.finding_id,
            }
        )
        for e in (fund.errors if fund and pays_fund else ())
    ]
    keys = [k for k in used_kpis(scheme) if k in KPI_KEYS]
    if day_kpis is None:
        from kefu import api

        day_kpis = api.kpis(ws, ["agent", "day"], params, first, last)
    out["kpi_days"] = [{"day": r["day"], **{k: r.get(k) for k in keys}} for r in day_kpis if r["agent"] == agent]
    return out


def explanation(
    ws: Workspace, data: MonthData, slip: Slip, scheme: Scheme, params: Params, day_kpis: list[dict] | None = None
) -> dict[str, Any]:
    """The slip with every line explained, and the rows behind it (JSON-ready)."""
    return slip_record(slip) | {
        "coverage": [d.isoformat() for d in data.coverage] if data.coverage else None,
        "days_from_chats": data.days_from_chats,
        "credit_rule": data.credit_rule,
        "rows": rows_behind(ws, data, slip, scheme, params, day_kpis),
    }


def _records(frame) -> list[dict[str, Any]]:
    return [plain({k: (None if _missing(v) else v) for k, v in row.items()}) for row in frame.to_dict("records")]


def _missing(value) -> bool:
    try:
        return value is None or value != value  # NaN / NaT
    except (TypeError, ValueError):
        return False


__all__ = ["SECTIONS", "explanation", "rows_behind", "used_kpis"]
