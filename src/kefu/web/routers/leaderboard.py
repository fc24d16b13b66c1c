"""Agent leaderboard (客服排行): sortable by any KPI, rank, peak-to-valley gap, in-house vs vendor;
for managers also the teams (组别): their figures over the period and their month to date against team targets."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from kefu import api
from kefu import targets as targets_mod
from kefu.metrics.provisional import provisional
from kefu.metrics.registry import AGENT_METRICS
from kefu.reports import leaderboard as lb
from kefu.reports.daily import peak_to_valley, team_progress
from kefu.users import User, hide_names
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import (
    Day,
    Shop,
    StoreDep,
    Text,
    cached_json,
    parse_day,
    pick_shop,
    render,
    visible_shops,
    wants_metric,
)
from kefu.web.store import Store

router = APIRouter()

COLUMNS = (
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
    "inquiry_conversion",
    "lost_buyers",
    "attributed_orders",
    "sales_amount",
    "avg_order_value",
    "satisfaction_rate",
    "complaints",
)


def data_until(store: Store, shop: str) -> dt.datetime | None:
    """How far the shop's data reaches (kefu.api.data_until), kept with the snapshot."""
    return store.cached(("data_until", shop), lambda: store.con_read(lambda c: api.data_until(c, shop)))


def provisional_of(store: Store, shop: str, keys, date_from: dt.date, date_to: dt.date) -> dict[str, str]:
    """{metric: the day it becomes final} for the figures over the period that later rows can still change."""
    found = provisional(keys, date_from, date_to, data_until(store, shop))
    return {k: d.isoformat() for k, d in found.items()}


def _period(store: Store, peers: set[str], date_from: dt.date, date_to: dt.date) -> list[dict]:
    if date_from == date_to:  # one day: the cached agent × day table already has it
        day = date_from.isoformat()
        return [r for r in store.kpis(("agent", "day")) if r["day"] == day and r["agent"] in peers]
    return [r for r in store.kpis(("agent",), date_from, date_to) if r["agent"] in peers]


def leaderboard_data(
    store: Store,
    user: User,
    shop: str,
    date_from: dt.date,
    date_to: dt.date,
    sort: str,
    desc: bool | None,
    employer: str | None,
    role: str | None = None,
    team: str | None = None,
) -> dict:
    agents = store.agents()
    peers = permissions.ranking_peers(user, shop, agents)
    team_names = sorted({agents[a]["team"] for a in peers} - {None})
    if team is not None and team not in team_names:
        raise HTTPException(422, f"no team {team!r} in {shop} (teams: {', '.join(team_names) or 'none'})")
    columns = COLUMNS if sort in COLUMNS else (*COLUMNS, sort)  # the ranked metric is always shown
    hide = user.role == "agent" and store.cached(
        ("hide_names", shop), lambda: store.con_read(lambda c: hide_names(c, shop))
    )
    if hide:  # names hidden: a team or employer filter would single out the few agents of a small team
        team = employer = None
    records = lb.select(_period(store, peers, date_from, date_to), agents, role=role, team=team, employer=employer)
    compare = {
        name: {r["agent"]: r for r in _period(store, peers, *span)}
        for name, span in lb.comparison_periods(date_from, date_to).items()
    }
    first, month = date_to.replace(day=1), date_to.strftime("%Y-%m")
    mtd = {r["agent"]: r for r in store.kpis(("agent",), first, date_to) if r["agent"] in peers}
    goals = store.con_read(lambda c: targets_mod.load(c, month, [shop]))
    groups = lb.board(
        records,
        agents,
        columns,
        sort,
        desc,
        compare=compare,
        mtd=mtd,
        targets=goals,
        month=month,
        elapsed=lb.month_elapsed(date_to),
        shown={a: a == user.agent for a in peers} if hide else None,
        viewer=user.agent if user.role == "agent" else None,
    )
    if hide:  # a hidden row's team and employer would name the person in a small team: only the viewer's own keep them
        for row in (r for g in groups for r in g["rows"] if not r["me"]):
            row["team"] = row["employer"] = None
    first_group = groups[0]["spread"] if groups else {}
    return {
        "shop": shop,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "sort": sort,
        "desc": lb.default_desc(sort) if desc is None else desc,
        "employer": employer,
        "role": role,
        "team": team,
        "names_hidden": bool(hide),
        "columns": list(columns),
        "rows": [r for g in groups for r in g["rows"]],
        # kept for the API's readers: the first role's gap (per role in `groups`)
        "spread": {k: first_group.get(k) or peak_to_valley(k, {}) for k in columns},
        "groups": groups,
        "roles": lb.roles_of(peers, agents),
        "team_names": team_names,
        "comparison": {
            name: [d.isoformat() for d in span] for name, span in lb.comparison_periods(date_from, date_to).items()
        },
        "month": month,
        "provisional": provisional_of(store, shop, columns, date_from, date_to),
        "teams": teams_data(store, shop, date_from, date_to) if permissions.allowed(user, "overview") else None,
    }


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
        elapsed = lb.month_elapsed(date_to)
        rows = [
            {"team": r["team"], **{k: r.get(k) for k in COLUMNS}}
            for r in sorted(period, key=lambda r: (r["team"] is None, r["team"] or ""))
        ]
        return {
            "month": month,
            "elapsed_share": elapsed,
            "columns": list(COLUMNS),
            "rows": rows,
            "targets": team_progress(mtd, goals, shop, month, elapsed),
        }

    return store.cached(("leaderboard-teams", shop, date_from, date_to), compute)


def _args(user, store, shop, date_from, date_to, sort, employer, role=None, team=None):
    permissions.require(user, "leaderboard")
    shop = pick_shop(user, shop, store)
    d_to = parse_day(date_to, store, [shop])
    d_from = parse_day(date_from, store) if date_from else d_to
    if d_from > d_to:
        raise HTTPException(422, "date_from is after date_to")
    sort = wants_metric(sort)
    if sort not in {m.key for m in AGENT_METRICS}:
        raise HTTPException(422, f"{sort} is not an agent metric")
    if employer not in (None, "", "in_house", "vendor"):
        raise HTTPException(422, "employer is in_house or vendor")
    if role and role not in lb.ROLE_ORDER:
        raise HTTPException(422, f"role {role!r} is one of {', '.join(lb.ROLE_ORDER)}")
    return shop, d_from, d_to, sort, employer or None, role or None, team or None


@router.get(
    "/api/leaderboard", response_model=dict, tags=["leaderboard"], summary="Agents ranked by a KPI over a period"
)
def api_leaderboard(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    shop: Shop = None,
    date_from: Day = None,
    date_to: Day = None,
    sort: Text = None,
    desc: bool | None = None,
    employer: Text = None,
    role: Text = None,
    team: Text = None,
) -> Response:
    shop, d_from, d_to, sort, employer, role, team = _args(
        user, store, shop, date_from, date_to, sort, employer, role, team
    )
    return cached_json(
        request, lambda: leaderboard_data(store, user, shop, d_from, d_to, sort, desc, employer, role, team)
    )


@router.get("/leaderboard", include_in_schema=False)
def leaderboard_page(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    shop: Shop = None,
    date_from: Day = None,
    date_to: Day = None,
    sort: Text = None,
    desc: bool | None = None,
    employer: Text = None,
    role: Text = None,
    team: Text = None,
):
    shop, d_from, d_to, sort, employer, role, team = _args(
        user, store, shop, date_from, date_to, sort, employer, role, team
    )
    data = leaderboard_data(store, user, shop, d_from, d_to, sort, desc, employer, role, team)
    template = "leaderboard_table.html" if request.headers.get("hx-request") else "leaderboard.html"
    return render(request, template, cached=True, data=data, shops=visible_shops(user, store), page="leaderboard")
