"""Agent page (客服详情): trends, daily figures, and the drill-down from every number to the rows behind it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from kefu import api
from kefu.metrics.explain import focus, measures_of
from kefu.metrics.registry import AGENT_METRICS, BY_KEY
from kefu.reports import leaderboard as lb
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import Day, PathDay, StoreDep, Text, VisibleAgent, cached_json, log, parse_day, render
from kefu.web.permissions import may
from kefu.web.schemas import Agent, AgentDay, Drilldown
from kefu.web.store import Store

router = APIRouter()

#: The daily table of the agent page (the metrics that apply to the agent's role: kefu.reports.leaderboard.applies).
SHOWN = (
    "consult_buyers",
    "reply_rate",
    "answer_ratio",
    "avg_first_response_s",
    "avg_response_s",
    "slow_responses",
    "slow_response_buyers",
    "rate_3min",
    "inquiry_buyers",
    "inquiry_conversion",
    "lost_buyers",
    "attributed_orders",
    "sales_amount",
    "satisfaction_rate",
    "complaints",
)


def jsonable(frame: pd.DataFrame) -> list[dict]:
    frame = frame.copy()
    for col in frame.columns:
        first = frame[col].dropna().head(1).tolist()
        if first and isinstance(first[0], Decimal):
            frame[col] = frame[col].astype(float)
    return json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False))


def agent_days(
    store: Store, agent: str, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict]:
    rows = [r for r in store.kpis(("agent", "day")) if r["agent"] == agent]
    return [
        r
        for r in rows
        if (date_from is None or r["day"] >= date_from.isoformat())
        and (date_to is None or r["day"] <= date_to.isoformat())
    ]


def with_provisional(store: Store, days: list[dict]) -> list[dict]:
    """Each day's record with `provisional`: {metric: the day it becomes final} for figures later rows can still change."""
    return store.read(lambda ws: api.with_provisional(ws.con, days))


def drilldown(store: Store, agent: str, day: dt.date, metric: str | None) -> dict:
    if metric is not None and (metric not in BY_KEY or BY_KEY[metric].shop_level):
        raise HTTPException(422, f"unknown agent metric {metric!r}")
    return store.cached(("drilldown", agent, day, metric), lambda: _drilldown(store, agent, day, metric))


def _drilldown(store: Store, agent: str, day: dt.date, metric: str | None) -> dict:
    if metric is not None and (metric not in BY_KEY or BY_KEY[metric].shop_level):
        raise HTTPException(422, f"unknown agent metric {metric!r}")
    ex = store.explain(agent, day)
    wanted = set(measures_of(metric)) if metric else None
    measures = store.section_measures()
    sections = {}
    for name, frame in ex.sections.items():
        if wanted is not None and not wanted & measures.get(name, set()):
            continue
        frame = focus(metric, name, frame)  # only the rows that make up the number (kefu.metrics.explain.FOCUS)
        sections[name] = jsonable(frame)
    record = next((r for r in agent_days(store, agent, day, day)), {})
    return {
        "agent": agent,
        "day": day.isoformat(),
        "metric": metric,
        "value": record.get(metric) if metric else None,
        "figures": {m.key: record.get(m.key) for m in AGENT_METRICS},
        "sections": sections,
        "lost_chats": {b: jsonable(f) for b, f in ex.lost_chats.items()} if (metric in (None, "lost_buyers")) else {},
    }


@router.get("/api/agents", response_model=list[Agent], tags=["agents"], summary="Agents visible to the user")
def api_agents(user: CurrentUser, store: StoreDep) -> list[dict]:
    agents = store.agents()
    if user.role == "qc" or permissions.allowed(user, "agent"):
        return [agents[a] for a in sorted(permissions.visible_agents(user, agents))]
    raise HTTPException(403, "not allowed")


# {agent:path}: an account name may contain "/" ({day:day} is YYYY-MM-DD; the drill-down page comes before the agent page)
@router.get(
    "/api/agents/{agent:path}/kpis",
    response_model=list[AgentDay],
    dependencies=[may("agent")],
    tags=["agents"],
    summary="An agent's KPIs per day",
)
def api_agent_kpis(
    request: Request, store: StoreDep, agent: VisibleAgent, date_from: Day = None, date_to: Day = None
) -> Response:
    d_from, d_to = parse_day(date_from, store) if date_from else None, parse_day(date_to, store) if date_to else None
    return cached_json(request, lambda: with_provisional(store, agent_days(store, agent, d_from, d_to)))


@router.get(
    "/api/agents/{agent:path}/days/{day:day}",
    response_model=Drilldown,
    dependencies=[may("agent")],
    tags=["agents"],
    summary="The rows behind an agent's figures on a day",
)
def api_drilldown(
    request: Request, store: StoreDep, agent: VisibleAgent, day: PathDay, metric: Text = None
) -> Response:
    d = parse_day(day, store)
    log(request, "view_drilldown", f"{agent} {d} {metric or ''}".strip())
    return cached_json(request, lambda: drilldown(store, agent, d, metric))


@router.get("/agents/{agent:path}/days/{day:day}", include_in_schema=False, dependencies=[may("agent")])
def drilldown_page(request: Request, store: StoreDep, agent: VisibleAgent, day: PathDay, metric: Text = None):
    agents = store.agents()
    d = parse_day(day, store)
    log(request, "view_drilldown", f"{agent} {d} {metric or ''}".strip())
    return render(
        request,
        "drilldown.html",
        cached=True,
        agent=agents[agent],
        data=drilldown(store, agent, d, metric),
        page="agent",
    )


@router.get("/agents/{agent:path}", include_in_schema=False, dependencies=[may("agent")])
def agent_page(request: Request, store: StoreDep, agent: VisibleAgent, metric: Text = None):
    agents = store.agents()
    role = agents[agent]["role"]
    metric = metric or ("sales_amount" if lb.applies("sales_amount", role) else lb.FALLBACK_SORT)
    if metric not in BY_KEY or BY_KEY[metric].shop_level:
        raise HTTPException(422, f"unknown agent metric {metric!r}")
    days = with_provisional(store, agent_days(store, agent))
    log(request, "view_agent", agent)
    return render(
        request,
        "agent.html",
        cached=True,
        agent=agents[agent],
        days=days,
        shown=lb.role_columns(SHOWN, role),
        metrics=[m.key for m in AGENT_METRICS if lb.applies(m.key, role)],
        metric=metric,
        page="agent",
    )
