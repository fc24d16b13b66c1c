"""Chat viewer (聊天记录): a buyer's dialogue with an agent on a day, slow replies highlighted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import (
    Day,
    Name,
    PathDay,
    StoreDep,
    Text,
    VisibleAgent,
    cached_json,
    log,
    parse_day,
    render,
    visible_shops,
)
from kefu.web.permissions import may
from kefu.web.schemas import Chat, ChatBuyer
from kefu.web.store import Store

router = APIRouter()


def chat_data(store: Store, agent: str, day: dt.date, buyer: str) -> dict:
    return store.cached(("chat", agent, day, buyer), lambda: _chat_data(store, agent, day, buyer))


def _chat_data(store: Store, agent: str, day: dt.date, buyer: str) -> dict:
    shop = store.agents()[agent]["shop"]
    frame = store.chat(shop, buyer, day)
    frame = frame[frame["agent"] == agent]
    if frame.empty:
        raise HTTPException(404, f"no chat of {buyer} with {agent} on {day}")
    questions = store.explain(agent, day).sections["questions"]
    mine = questions[questions["buyer"] == buyer]
    replies: dict[Any, tuple[Any, bool]] = {}  # close ts -> (response_s, slow)
    for q in mine.itertuples():
        if q.answered and q.close_ts is not None:
            replies.setdefault(
                q.close_ts.to_pydatetime() if hasattr(q.close_ts, "to_pydatetime") else q.close_ts,
                (q.response_s, bool(q.slow)),
            )
    messages, seen_close = [], set()
    for m in frame.itertuples():
        ts = m.ts.to_pydatetime()
        reply = replies.get(ts) if m.sender == "agent" and ts not in seen_close else None
        if reply:
            seen_close.add(ts)
        messages.append(
            {
                "ts": ts.strftime("%Y-%m-%d %H:%M:%S"),
                "sender": m.sender,
                "text": m.text,
                "response_s": reply[0] if reply else None,
                "slow": bool(reply and reply[1]),
            }
        )
    return {
        "agent": agent,
        "shop": shop,
        "day": day.isoformat(),
        "buyer": buyer,
        "slow_threshold_s": store.params.slow_threshold_s,
        "messages": messages,
        "questions": len(mine),
        "slow_replies": sum(m["slow"] for m in messages),
    }


def buyers_of(store: Store, agent: str, day: dt.date) -> list[dict]:
    return store.cached(("buyers", agent, day), lambda: _buyers_of(store, agent, day))


def _buyers_of(store: Store, agent: str, day: dt.date) -> list[dict]:
    cons = store.explain(agent, day).sections["consultations"]
    return [
        {
            "buyer": r.buyer,
            "first_open": r.first_open.strftime("%H:%M:%S"),
            "answered": bool(r.answered),
            "first_response_s": None if r.first_response_s != r.first_response_s else r.first_response_s,
            "any_slow": bool(r.any_slow),
            "lost": bool(r.lost),
        }
        for r in cons.itertuples()
    ]


# {agent:path} and {buyer:path}: names may contain "/"; {day:day} (YYYY-MM-DD, kefu.web.common) tells them apart.
@router.get(
    "/api/chats/{agent:path}/{day:day}",
    response_model=list[ChatBuyer],
    dependencies=[may("chats")],
    tags=["chats"],
    summary="Buyers an agent talked with on a day",
)
def api_chat_list(request: Request, store: StoreDep, agent: VisibleAgent, day: PathDay) -> Response:
    d = parse_day(day, store)
    return cached_json(request, lambda: buyers_of(store, agent, d))


@router.get(
    "/api/chats/{agent:path}/{day:day}/{buyer:path}",
    response_model=Chat,
    dependencies=[may("chats")],
    tags=["chats"],
    summary="A buyer's chat with an agent on a day",
)
def api_chat(request: Request, store: StoreDep, agent: VisibleAgent, day: PathDay, buyer: Name) -> Response:
    d = parse_day(day, store)
    log(request, "view_chat", f"{agent} {d} {buyer}")
    return cached_json(request, lambda: chat_data(store, agent, d, buyer))


@router.get("/chats", include_in_schema=False, dependencies=[may("chats")])
def chats_page(request: Request, user: CurrentUser, store: StoreDep, agent: Text = None, date: Day = None):
    agents = store.agents()
    visible = sorted(permissions.visible_agents(user, agents))
    if agent is None and visible:
        agent = visible[0]
    if agent is not None:
        permissions.require_agent(user, agent, agents)
    d = parse_day(date, store, [agents[agent]["shop"]] if agent else visible_shops(user, store))
    buyers = buyers_of(store, agent, d) if agent else []
    return render(
        request,
        "chats.html",
        agents=[agents[a] for a in visible],
        agent=agent,
        day=d,
        buyers=buyers,
        days=store.days(),
        page="chats",
    )


@router.get("/chats/{agent:path}/{day:day}/{buyer:path}", include_in_schema=False, dependencies=[may("chats")])
def chat_page(
    request: Request, store: StoreDep, agent: VisibleAgent, day: PathDay, buyer: Name, fragment: bool = False
):
    agents = store.agents()
    d = parse_day(day, store)
    log(request, "view_chat", f"{agent} {d} {buyer}")
    return render(
        request,
        "chat_fragment.html" if fragment else "chat.html",
        cached=True,
        agent=agents[agent],
        data=chat_data(store, agent, d, buyer),
        page="chats",
    )
