"""Agent leaderboard (客服排行): sortable by any KPI, rank, peak-to-valley gap, in-house vs vendor;
for managers also the teams (组别): their figures over the period and their month to date against team targets."""

from __future__ import annotations

import calendar
import datetime as dt

from fastapi import APIRouter, HTTPException, Request

from kefu.metrics.registry import AGENT_METRICS, BY_KEY
from kefu import targets as targets_mod
from kefu.reports.daily import peak_to_valley, team_progress
from kefu.users import User, hide_names
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import StoreDep, cached_json, parse_day, pick_shop, render, visible_shops, wants_metric
from kefu.web.store import Store

router = APIRouter()

COLUMNS = ("consult_buyers", "received_buyers", "reply_rate", "avg_first_response_s", "avg_response_s", "rate_3min",
           "slow_responses", "inquiry_buyers", "inquiry_conversion", "lost_buyers", "attributed_orders", "sales_amount",
           "avg_order_value", "satisfaction_rate", "complaints")


def leaderboard_data(store: Store, user: User, shop: str, date_from: dt.date, date_to: dt.date, sort: str,
                     desc: bool | None, employer: str | None) -> dict:
    agents = store.agents()
    peers = permissions.ranking_peers(user, shop, agents)
    if date_from == date_to:  # one day: the cached agent × day table already has it
        day = date_from.isoformat()
        records = [r for r in store.kpis(("agent", "day")) if r["day"] == day and r["agent"] in peers]
    else:
        records = [r for r in store.kpis(("agent",), date_from, date_to) if r["agent"] in peers]
    if employer == "in_house":
        records = [r for r in records if agents[r["agent"]]["employer"] == "in_house"]
    elif employer == "vendor":
        records = [r for r in records if agents[r["agent"]]["employer"] != "in_house"]
    better = BY_KEY[sort].higher_is_better
    if desc is None:
        desc = better is not False
    defined = sorted((r for r in records if r.get(sort) is not None), key=lambda r: (r[sort], r["agent"]), reverse=desc)
    undefined = [r for r in records if r.get(sort) is None]
    hide = user.role == "agent" and store.cached(("hide_names", shop), lambda: store.con_read(lambda c: hide_names(c, shop)))
    rows = []
    for rank, r in enumerate(defined + undefined, start=1):
        info = agents[r["agent"]]
        mine = user.role != "agent" or r["agent"] == user.agent
        rows.append({
            "rank": rank if r.get(sort) is not None else None,
            "agent": r["agent"] if (mine or not hide) else None,
            "name": info["name"] if (mine or not hide) else None,
            "team": info["team"], "employer": info["employer"], "me": user.role == "agent" and r["agent"] == user.agent,
            **{k: r.get(k) for k in COLUMNS},
        })
    spread = {k: peak_to_valley(k, {r["agent"]: r.get(k) for r in records}) for k in COLUMNS}
    if hide:
        for s in spread.values():
            s["peak_agent"] = s["valley_agent"] = None
    return {"shop": shop, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "sort": sort, "desc": desc,
            "employer": employer, "names_hidden": bool(hide), "columns": list(COLUMNS), "rows": rows, "spread": spread,
            "teams": teams_data(store, shop, date_from, date_to) if permissions.allowed(user, "overview") else None}


def teams_data(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> dict:
    """Whole teams (every agent of the team, whatever the employer filter): figures over the period, ranked by the
    team grouping of the engine; and month to date up to `date_to` against the month's team targets."""
    def compute() -> dict:
        if date_from == date_to:
            day = date_from.isoformat()
            period = [r for r in store.kpis(("team", "day")) if r["day"] == day and r["shop"] == shop]
        else:
            period = [r for r in store.kpis(("team",), date_from, date_to) if r["shop"] == shop]
        first, month = date_to.replace(day=1), date_to.strftime("%Y-%m")
        mtd = {r["team"]: r for r in store.kpis(("team",), first, date_to) if r["shop"] == shop}
        goals = store.con_read(lambda c: targets_mod.load(c, month, [shop]))
        elapsed = date_to.day / calendar.monthrange(date_to.year, date_to.month)[1]
        rows = [{"team": r["team"], **{k: r.get(k) for k in COLUMNS}} for r in sorted(period, key=lambda r: (r["team"] is None, r["team"] or ""))]
        return {"month": month, "elapsed_share": elapsed, "rows": rows, "targets": team_progress(mtd, goals, shop, month, elapsed)}
    return store.cached(("leaderboard-teams", shop, date_from, date_to), compute)


def _args(user, store, shop, date_from, date_to, sort, employer):
    permissions.require(user, "leaderboard")
    shop = pick_shop(user, shop, store)
    d_to = parse_day(date_to, store)
    d_from = parse_day(date_from, store) if date_from else d_to
    if d_from > d_to:
        raise HTTPException(422, "date_from is after date_to")
    sort = wants_metric(sort)
    if sort not in {m.key for m in AGENT_METRICS}:
        raise HTTPException(422, f"{sort} is not an agent metric")
    if employer not in (None, "", "in_house", "vendor"):
        raise HTTPException(422, "employer is in_house or vendor")
    return shop, d_from, d_to, sort, employer or None


@router.get("/api/leaderboard", tags=["leaderboard"], summary="Agents ranked by a KPI over a period")
def api_leaderboard(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None, date_from: str | None = None,
                    date_to: str | None = None, sort: str | None = None, desc: bool | None = None, employer: str | None = None) -> dict:
    shop, d_from, d_to, sort, employer = _args(user, store, shop, date_from, date_to, sort, employer)
    return cached_json(request, lambda: leaderboard_data(store, user, shop, d_from, d_to, sort, desc, employer))


@router.get("/leaderboard", include_in_schema=False)
def leaderboard_page(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None, date_from: str | None = None,
                     date_to: str | None = None, sort: str | None = None, desc: bool | None = None, employer: str | None = None):
    shop, d_from, d_to, sort, employer = _args(user, store, shop, date_from, date_to, sort, employer)
    data = leaderboard_data(store, user, shop, d_from, d_to, sort, desc, employer)
    template = "leaderboard_table.html" if request.headers.get("hx-request") else "leaderboard.html"
    return render(request, template, cached=True, data=data, shops=visible_shops(user, store), page="leaderboard")
