"""The daily report (日报): pure functions from KPI records to report tables.

For one shop and day: the team's figures and each agent's, with the change
against the previous day and the same day last week, the month to date
against the monthly targets, each team's (组别) month to date against its
team targets, and the peak-to-valley spread between agents.
`collect` fetches the records it needs through any `kpis(by, date_from,
date_to)` function (kefu.api.kpis bound to a workspace, or the web cache);
`build` does the arithmetic and touches no data source.
Figures that rows after `data_until` can still change (the conversion
window of the day is still open, kefu.metrics.provisional) are listed in
`provisional` with the day they become final: every rendering marks them
未定 and never colours their change as a rise or a drop.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kefu.metrics.provisional import provisional
from kefu.metrics.registry import BY_KEY, applies
from kefu.targets import Target, progress

#: The figures of the report, in order (keys of kefu.metrics.registry).
REPORT_METRICS = (
    "consult_buyers",
    "received_buyers",
    "reply_rate",
    "answer_ratio",
    "avg_first_response_s",
    "avg_response_s",
    "rate_3min",
    "slow_responses",
    "slow_response_buyers",
    "inquiry_buyers",
    "converted_buyers",
    "inquiry_conversion",
    "lost_buyers",
    "attributed_orders",
    "sales_amount",
    "avg_order_value",
    "satisfaction_rate",
    "complaints",
)
#: Per-agent columns (a narrower set so the table fits a printed page).
AGENT_METRICS = (
    "consult_buyers",
    "reply_rate",
    "answer_ratio",
    "avg_first_response_s",
    "avg_response_s",
    "rate_3min",
    "slow_response_buyers",
    "inquiry_conversion",
    "lost_buyers",
    "sales_amount",
    "satisfaction_rate",
)

ORDER = {key: i for i, key in enumerate(BY_KEY)}  # targets are listed in the registry's order
#: What each team's row shows besides its targets.
TEAM_METRICS = ("consult_buyers", "inquiry_conversion", "sales_amount", "avg_response_s")

KpiFetch = Callable[[tuple[str, ...], dt.date | None, dt.date | None], list[dict]]


@dataclass
class DailyReport:
    shop: str
    day: dt.date
    previous_day: dt.date
    same_day_last_week: dt.date
    month: str
    elapsed_share: float  # share of the month's days up to and including `day`
    team: list[dict]  # one row per metric
    agents: list[dict]  # one row per agent
    spread: list[dict]  # one row per agent metric: peak, valley, gap
    targets: list[dict] = field(default_factory=list)
    teams: list[dict] = field(default_factory=list)  # one row per team: month to date, and progress on each team target
    qc: bool = False  # QC figures attached (attach_qc): each agent row then has "qc"
    data_until: dt.datetime | None = None  # the shop's newest row (kefu.api.data_until)
    provisional: dict[str, dt.date] = field(default_factory=dict)  # metric -> the day its figure of `day` becomes final


def delta(a, b):
    return None if a is None or b is None else a - b


def collect(kpis: KpiFetch, shop: str, day: dt.date) -> dict:
    prev, week = day - dt.timedelta(days=1), day - dt.timedelta(days=7)
    first = day.replace(day=1)

    def shop_day(d):
        return next(
            (r for r in kpis(("shop", "day"), None, None) if r["shop"] == shop and r["day"] == d.isoformat()), {}
        )

    def agents_day(d):
        return {
            r["agent"]: r for r in kpis(("agent", "day"), None, None) if r["shop"] == shop and r["day"] == d.isoformat()
        }

    return {
        "team": (shop_day(day), shop_day(prev), shop_day(week)),
        "agents": (agents_day(day), agents_day(prev), agents_day(week)),
        "team_mtd": next((r for r in kpis(("shop",), first, day) if r["shop"] == shop), {}),
        "agents_mtd": {r["agent"]: r for r in kpis(("agent",), first, day) if r["shop"] == shop},
        "teams_mtd": {r["team"]: r for r in kpis(("team",), first, day) if r["shop"] == shop},
    }


def build(
    shop: str,
    day: dt.date,
    data: dict,
    targets: list[Target],
    names: dict[str, dict],
    data_until: dt.datetime | None = None,
) -> DailyReport:
    month = day.strftime("%Y-%m")
    elapsed = day.day / calendar.monthrange(day.year, day.month)[1]
    t_day, t_prev, t_week = data["team"]
    shop_targets = {t.metric: t.value for t in targets if t.month == month and t.shop == shop and t.scope == "shop"}
    team = []
    for key in REPORT_METRICS:
        v, p, w = t_day.get(key), t_prev.get(key), t_week.get(key)
        mtd = data["team_mtd"].get(key)
        row = {
            "metric": key,
            "value": v,
            "previous": p,
            "last_week": w,
            "vs_previous": delta(v, p),
            "vs_last_week": delta(v, w),
            "mtd": mtd,
            "target": shop_targets.get(key),
        }
        row.update(_target_cols(key, mtd, shop_targets.get(key), elapsed))
        team.append(row)

    a_day, a_prev, a_week = data["agents"]
    agent_targets = {
        (t.subject, t.metric): t.value for t in targets if t.month == month and t.shop == shop and t.scope == "agent"
    }
    agents = []
    for agent in sorted(a_day, key=lambda a: -(a_day[a].get("sales_amount") or 0)):
        info = names.get(agent, {})
        row = {
            "agent": agent,
            "name": info.get("name") or agent.split(":", 1)[-1],
            "team": info.get("team"),
            "employer": info.get("employer") or "in_house",
            "figures": {},
        }
        for key in AGENT_METRICS:
            v = a_day[agent].get(key)
            row["figures"][key] = {
                "value": v,
                "vs_previous": delta(v, a_prev.get(agent, {}).get(key)),
                "vs_last_week": delta(v, a_week.get(agent, {}).get(key)),
            }
        mtd_sales = data["agents_mtd"].get(agent, {}).get("sales_amount")
        target = agent_targets.get((agent, "sales_amount"))
        row["mtd_sales"] = mtd_sales
        row["target_sales"] = target
        row.update({f"target_{k}": v for k, v in _target_cols("sales_amount", mtd_sales, target, elapsed).items()})
        agents.append(row)

    spread = [
        peak_to_valley(key, {a: a_day[a].get(key) for a in a_day if applies(key, names.get(a, {}).get("role"))})
        for key in AGENT_METRICS
    ]
    teams = team_progress(data.get("teams_mtd", {}), targets, shop, month, elapsed)
    pending = provisional(BY_KEY, day, day, data_until)  # every metric: targets can be on any
    return DailyReport(
        shop,
        day,
        day - dt.timedelta(days=1),
        day - dt.timedelta(days=7),
        month,
        elapsed,
        team,
        agents,
        spread,
        teams=teams,
        data_until=data_until,
        provisional=pending,
    )


def team_progress(
    mtd_by_team: dict[str | None, dict], targets: list[Target], shop: str, month: str, elapsed: float
) -> list[dict]:
    """Each team's month to date (the engine's team grouping, D7) and its progress on every team target of the month.

    Teams with figures or with a target are listed, by name; agents without a team
    form the row with team None (it can have no target). `gap` is month to date
    minus the monthly target, as for the shop's targets.
    """
    goals: dict[str | None, dict[str, float]] = {}  # None: agents without a team (no target)
    for t in targets:
        if t.month == month and t.shop == shop and t.scope == "team":
            goals.setdefault(t.subject, {})[t.metric] = t.value
    rows = []
    for name in sorted(set(mtd_by_team) | set(goals), key=lambda n: (n is None, n or "")):
        mtd = mtd_by_team.get(name, {})
        progress_rows = []
        for metric, value in sorted(goals.get(name, {}).items(), key=lambda kv: ORDER[kv[0]]):
            p = progress(mtd.get(metric), value, metric, elapsed_share=elapsed)
            progress_rows.append(
                {
                    "metric": metric,
                    "mtd": mtd.get(metric),
                    "target": value,
                    "expected_to_date": p["expected_to_date"],
                    "completion": p["completion"],
                    "gap": p["gap"],
                    "on_track": p["on_track"],
                    "additive": p["additive"],
                }
            )
        rows.append({"team": name, "figures": {k: mtd.get(k) for k in TEAM_METRICS}, "targets": progress_rows})
    return rows


def _target_cols(key: str, actual, target, elapsed: float) -> dict:
    if target is None:
        return {"completion": None, "gap": None, "on_track": None}
    p = progress(actual, target, key, elapsed_share=elapsed)
    return {"completion": p["completion"], "gap": p["gap"], "on_track": p["on_track"]}


def peak_to_valley(key: str, values: dict[str, float | None]) -> dict:
    """Best and worst agent on a metric (by its direction) and the gap between them; undefined values are left out."""
    defined = {a: v for a, v in values.items() if v is not None}
    if not defined:
        return {"metric": key, "peak": None, "peak_agent": None, "valley": None, "valley_agent": None, "gap": None}
    hi = max(defined, key=lambda a: (defined[a], a))
    lo = min(defined, key=lambda a: (defined[a], a))
    if BY_KEY[key].higher_is_better is False:
        hi, lo = lo, hi
    return {
        "metric": key,
        "peak": defined[hi],
        "peak_agent": hi,
        "valley": defined[lo],
        "valley_agent": lo,
        "gap": abs(defined[hi] - defined[lo]),
    }


def daily_report(
    kpis: KpiFetch,
    shop: str,
    day: dt.date,
    targets: list[Target],
    names: dict[str, dict],
    data_until: dt.datetime | None = None,
) -> DailyReport:
    return build(shop, day, collect(kpis, shop, day), targets, names, data_until)


def attach_qc(report: DailyReport, tally: dict[str, dict] | None) -> DailyReport:
    """The report with each agent's QC figures of the day (质检): qc_score, findings, confirmed, open.

    `tally` is kefu.qc.day_tally (per agent with findings; None when no QC run covered the
    day, and the report is returned as it is). An agent without findings scores 100.
    """
    if tally is None:
        return report
    from kefu.qc import score

    empty = {"findings": 0, "confirmed": 0, "open": 0, "points_deducted": 0.0}
    agents = []
    for row in report.agents:
        counts = tally.get(row["agent"], empty)
        agents.append({**row, "qc": {**counts, "qc_score": score(counts["points_deducted"])}})
    return replace(report, agents=agents, qc=True)
