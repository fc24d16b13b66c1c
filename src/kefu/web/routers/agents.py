"""Agent page (客服详情): trends, daily figures, and the drill-down from every number to the rows behind it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
from fastapi import APIRouter, HTTPException, Request

from kefu.metrics.explain import measures_of
from kefu.metrics.registry import AGENT_METRICS, BY_KEY
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import StoreDep, cached_json, log, parse_day, render
from kefu.web.store import Store

router = APIRouter()

#: For these metrics the drill-down shows only the rows that make up the number, not every row of the section.
FOCUS = {
    "unreplied_buyers": ("consultations", lambda f: ~f["answered"].astype(bool)),
    "slow_response_buyers": ("consultations", lambda f: f["any_slow"].astype(bool)),
    "inquiry_buyers": ("consultations", lambda f: f["inquiry"].astype(bool)),
    "converted_buyers": ("consultations", lambda f: f["converted"].astype(bool)),
    "next_day_paid_buyers": ("consultations", lambda f: f["next_day_paid"].astype(bool)),
    "lost_buyers": ("consultations", lambda f: f["lost"].astype(bool)),
    "slow_responses": ("questions", lambda f: f["slow"].astype(bool)),
    "unanswered_questions": ("questions", lambda f: ~f["answered"].astype(bool)),
    "answered_questions": ("questions", lambda f: f["answered"].astype(bool)),
}


def jsonable(frame: pd.DataFrame) -> list[dict]:
    frame = frame.copy()
    for col in frame.columns:
        first = frame[col].dropna().head(1).tolist()
        if first and isinstance(first[0], Decimal):
            frame[col] = frame[col].astype(float)
    return json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False))


def agent_days(store: Store, agent: str, date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict]:
    rows = [r for r in store.kpis(("agent", "day")) if r["agent"] == agent]
    return [r for r in rows if (date_from is None or r["day"] >= date_from.isoformat()) and (date_to is None or r["day"] <= date_to.isoformat())]


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
        if metric in FOCUS and FOCUS[metric][0] == name and len(frame):
            frame = frame[FOCUS[metric][1](frame)]
        sections[name] = jsonable(frame)
    record = next((r for r in agent_days(store, agent, day, day)), {})
    return {"agent": agent, "day": day.isoformat(), "metric": metric, "value": record.get(metric) if metric else None,
            "figures": {m.key: record.get(m.key) for m in AGENT_METRICS}, "sections": sections,
            "lost_chats": {b: jsonable(f) for b, f in ex.lost_chats.items()} if (metric in (None, "lost_buyers")) else {}}


@router.get("/api/agents", tags=["agents"], summary="Agents visible to the user")
def api_agents(user: CurrentUser, store: StoreDep) -> list[dict]:
    agents = store.agents()
    if user.role == "qc" or permissions.allowed(user, "agent"):
        return [agents[a] for a in sorted(permissions.visible_agents(user, agents))]
    raise HTTPException(403, "not allowed")


@router.get("/api/agents/{agent}/kpis", tags=["agents"], summary="An agent's KPIs per day")
def api_agent_kpis(request: Request, user: CurrentUser, store: StoreDep, agent: str, date_from: str | None = None,
                   date_to: str | None = None) -> list[dict]:
    permissions.require(user, "agent")
    permissions.require_agent(user, agent, store.agents())
    d_from, d_to = parse_day(date_from, store) if date_from else None, parse_day(date_to, store) if date_to else None
    return cached_json(request, lambda: agent_days(store, agent, d_from, d_to))


@router.get("/api/agents/{agent}/days/{day}", tags=["agents"], summary="The rows behind an agent's figures on a day")
def api_drilldown(request: Request, user: CurrentUser, store: StoreDep, agent: str, day: str, metric: str | None = None) -> dict:
    permissions.require(user, "agent")
    permissions.require_agent(user, agent, store.agents())
    d = parse_day(day, store)
    log(request, "view_drilldown", f"{agent} {d} {metric or ''}".strip())
    return cached_json(request, lambda: drilldown(store, agent, d, metric))


@router.get("/agents/{agent}", include_in_schema=False)
def agent_page(request: Request, user: CurrentUser, store: StoreDep, agent: str, metric: str = "sales_amount"):
    permissions.require(user, "agent")
    agents = store.agents()
    permissions.require_agent(user, agent, agents)
    if metric not in BY_KEY or BY_KEY[metric].shop_level:
        raise HTTPException(422, f"unknown agent metric {metric!r}")
    days = agent_days(store, agent)
    shown = ("consult_buyers", "reply_rate", "avg_first_response_s", "avg_response_s", "slow_responses", "rate_3min",
             "inquiry_buyers", "inquiry_conversion", "lost_buyers", "attributed_orders", "sales_amount", "satisfaction_rate", "complaints")
    log(request, "view_agent", agent)
    return render(request, "agent.html", cached=True, agent=agents[agent], days=days, shown=shown, metric=metric, page="agent")


@router.get("/agents/{agent}/days/{day}", include_in_schema=False)
def drilldown_page(request: Request, user: CurrentUser, store: StoreDep, agent: str, day: str, metric: str | None = None):
    permissions.require(user, "agent")
    agents = store.agents()
    permissions.require_agent(user, agent, agents)
    d = parse_day(day, store)
    log(request, "view_drilldown", f"{agent} {d} {metric or ''}".strip())
    return render(request, "drilldown.html", cached=True, agent=agents[agent], data=drilldown(store, agent, d, metric), page="agent")
