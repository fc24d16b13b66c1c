"""Agent leaderboard (客服排行): sortable by any KPI, rank, peak-to-valley gap, in-house vs vendor; for managers
also the teams (组别). The page's data is kefu.reports.leaderboard's; this router parses, authorises, fetches."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kefu import targets as targets_mod
from kefu.metrics.registry import AGENT_METRICS
from kefu.reports import leaderboard as lb
from kefu.users import User, hide_names
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import (
    Day,
    Shop,
    StoreDep,
    Text,
    cached_json,
    data_until,
    parse_day,
    pick_shop,
    render,
    visible_shops,
    wants_metric,
)
from kefu.web.permissions import may
from kefu.web.schemas import Leaderboard
from kefu.web.store import Store

router = APIRouter()


class BoardParams(BaseModel):
    """The leaderboard's query, as the page and its JSON twin take it."""

    shop: Shop = None
    date_from: Day = None
    date_to: Day = None
    sort: Text = None
    desc: bool | None = None
    employer: Text = None
    role: Text = None
    team: Text = None


def board_query(user: CurrentUser, store: StoreDep, p: Annotated[BoardParams, Query()]) -> lb.BoardQuery:
    """The query checked: the user's shop (their first by default), the period (default: the shop's latest day),
    an agent metric, the employer and role filters."""
    shop = pick_shop(user, p.shop, store)
    d_to = parse_day(p.date_to, store, [shop])
    d_from = parse_day(p.date_from, store) if p.date_from else d_to
    if d_from > d_to:
        raise HTTPException(422, "date_from is after date_to")
    sort = wants_metric(p.sort)
    if sort not in {m.key for m in AGENT_METRICS}:
        raise HTTPException(422, f"{sort} is not an agent metric")
    if p.employer not in (None, "", "in_house", "vendor"):
        raise HTTPException(422, "employer is in_house or vendor")
    if p.role and p.role not in lb.ROLE_ORDER:
        raise HTTPException(422, f"role {p.role!r} is one of {', '.join(lb.ROLE_ORDER)}")
    return lb.BoardQuery(shop, d_from, d_to, sort, p.desc, p.employer or None, p.role or None, p.team or None)


BoardDep = Annotated[lb.BoardQuery, Depends(board_query)]


def leaderboard_data(store: Store, user: User, q: lb.BoardQuery) -> dict:
    roster = store.agents()
    peers = permissions.ranking_peers(user, q.shop, roster)
    goals = store.read(lambda ws: targets_mod.load(ws.con, q.date_to.strftime("%Y-%m"), [q.shop]))
    return lb.page(
        q,
        lb.collect(store.kpis, peers, q.date_from, q.date_to),
        roster,
        peers,
        goals,
        viewer=user.agent if user.role == "agent" else None,
        names_hidden=user.role == "agent" and names_hidden(store, q.shop),
        data_until=data_until(store, q.shop),
        # agents and vendors get no team totals: they include other agents
        teams=teams_data(store, q.shop, q.date_from, q.date_to) if permissions.allowed(user, "overview") else None,
    )


def names_hidden(store: Store, shop: str) -> bool:
    """Whether the shop hides other agents' names from agents (Users page → the shop's setting)."""
    return store.cached(("hide_names", shop), lambda: store.read(lambda ws: hide_names(ws.con, shop)))


def teams_data(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> dict:
    def compute() -> dict:
        goals = store.read(lambda ws: targets_mod.load(ws.con, date_to.strftime("%Y-%m"), [shop]))
        return lb.teams_table(lb.collect_teams(store.kpis, shop, date_from, date_to), goals, shop, date_to)

    return store.cached(("leaderboard-teams", shop, date_from, date_to), compute)


@router.get(
    "/api/leaderboard",
    response_model=Leaderboard,
    dependencies=[may("leaderboard")],
    tags=["leaderboard"],
    summary="Agents ranked by a KPI over a period",
)
def api_leaderboard(request: Request, user: CurrentUser, store: StoreDep, q: BoardDep) -> Response:
    return cached_json(request, lambda: leaderboard_data(store, user, q))


@router.get("/leaderboard", include_in_schema=False, dependencies=[may("leaderboard")])
def leaderboard_page(request: Request, user: CurrentUser, store: StoreDep, q: BoardDep):
    data = leaderboard_data(store, user, q)
    template = "leaderboard_table.html" if request.headers.get("hx-request") else "leaderboard.html"
    return render(request, template, cached=True, data=data, shops=visible_shops(user, store), page="leaderboard")
