"""Inquiry-loss list (询单流失明细): each lost buyer with their chat, a page at a time, filtered by agent, team and
dates; exportable for follow-up (every matching row)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kefu.exports import csv_row
from kefu.i18n import translator
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import Day, Shop, StoreDep, cached_json, lang_of, log, parse_day, pick_shop, render, visible_shops
from kefu.web.permissions import may
from kefu.web.schemas import Losses
from kefu.web.store import Store

router = APIRouter()

PAGE_SIZES = (20, 50, 100, 200)
PageNo = Annotated[int, Query(ge=1, le=100_000, description="page number, from 1")]
PageSize = Annotated[int, Query(ge=1, le=PAGE_SIZES[-1], description=f"rows per page (1 to {PAGE_SIZES[-1]})")]
#: Longest date range one request may ask for: a year of lost buyers is already more than anyone follows up.
MAX_DAYS = 366


@dataclass(frozen=True)
class LossQuery:
    """What the list shows: a shop, a date range, optionally one agent or one team, and which page."""

    shop: str
    date_from: dt.date
    date_to: dt.date
    agent: str | None = None
    team: str | None = None
    page: int = 1
    page_size: int = 50


def loss_query(
    user: User,
    store: Store,
    *,
    shop: str | None,
    date: str | None,
    date_from: str | None,
    date_to: str | None,
    agent: str | None,
    team: str | None,
    page: int = 1,
    page_size: int = 50,
) -> LossQuery:
    """The request's filters, checked: `date` is one day (both ends); a missing end defaults to the other, or the latest day."""
    shop = pick_shop(user, shop, store)
    first = parse_day(date_from or date, store) if (date_from or date) else None
    last = parse_day(date_to or date, store) if (date_to or date) else None
    first, last = first or last or parse_day(None, store, [shop]), last or first or parse_day(None, store, [shop])
    if first > last:
        raise HTTPException(422, f"date_from {first} is after date_to {last}")
    if (last - first).days >= MAX_DAYS:
        raise HTTPException(422, f"date range {first} to {last} is longer than {MAX_DAYS} days")
    agents = store.agents()
    if agent:
        permissions.require_agent(user, agent, agents)
        if agents[agent]["shop"] != shop:
            raise HTTPException(422, f"agent {agent} is not of shop {shop}")
    if team and team not in loss_teams(user, store, shop):
        raise HTTPException(422, f"no team {team!r} in shop {shop}")
    return LossQuery(shop, first, last, agent or None, team or None, page, page_size)


def loss_agents(user: User, store: Store, shop: str) -> list[dict]:
    """The agents of `shop` the user may see (the agent filter's choices)."""
    agents = store.agents()
    return sorted(
        (agents[a] for a in permissions.visible_agents(user, agents) if agents[a]["shop"] == shop),
        key=lambda a: a["agent"],
    )


def loss_teams(user: User, store: Store, shop: str) -> list[str]:
    return sorted({a["team"] for a in loss_agents(user, store, shop) if a["team"]})


def matching_losses(store: Store, user: User, q: LossQuery) -> list[dict]:
    """Every lost inquiry the filters select (without chats), in the engine's order (agent, first question)."""
    visible = permissions.visible_agents(user, store.agents())
    every = store.cached(
        ("losses", q.shop, q.date_from, q.date_to), lambda: _all_losses(store, q.shop, q.date_from, q.date_to)
    )
    return [
        r
        for r in every
        if r["agent"] in visible
        and (q.agent is None or r["agent"] == q.agent)
        and (q.team is None or r["team"] == q.team)
    ]


def losses_data(store: Store, user: User, q: LossQuery) -> dict:
    """One page of the list with each buyer's chat; `total` rows match the filters, on `pages` pages."""
    rows = matching_losses(store, user, q)
    pages = max(1, -(-len(rows) // q.page_size))
    shown = rows[(q.page - 1) * q.page_size : q.page * q.page_size]
    return {
        "shop": q.shop,
        "day": q.date_to.isoformat(),
        "date_from": q.date_from.isoformat(),
        "date_to": q.date_to.isoformat(),
        "agent": q.agent,
        "team": q.team,
        "total": len(rows),
        "page": q.page,
        "pages": pages,
        "page_size": q.page_size,
        "lost": with_chats(store, q.shop, shown),
    }


def _all_losses(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> list[dict]:
    agents = store.agents()
    frame = store.lost(shop, date_from, date_to)
    frame = frame[frame["agent"].isin(set(agents))]
    return [
        {
            "agent": r.agent,
            "name": agents[r.agent]["name"],
            "team": agents[r.agent]["team"],
            "buyer": r.buyer,
            "day": r.first_open.date().isoformat(),
            "first_question": r.first_open.strftime("%H:%M:%S"),
            "answered": bool(r.answered),
            "first_response_s": None if r.first_response_s != r.first_response_s else float(r.first_response_s),
        }
        for r in frame.itertuples()
    ]


def with_chats(store: Store, shop: str, rows: list[dict]) -> list[dict]:
    """The rows, each with the buyer's messages with that agent on that day (one query per day shown)."""
    by_pair: dict[tuple, list[dict]] = {}
    for day in sorted({r["day"] for r in rows}):
        chats = store.chats(shop, sorted({r["buyer"] for r in rows if r["day"] == day}), dt.date.fromisoformat(day))
        for m in chats.itertuples():
            by_pair.setdefault((day, m.buyer, m.agent), []).append(
                {"ts": m.ts.strftime("%H:%M:%S"), "sender": m.sender, "text": m.text}
            )
    return [r | {"chat": by_pair.get((r["day"], r["buyer"], r["agent"]), [])} for r in rows]


Agent = Annotated[str | None, Query(max_length=200, description="only this agent (店铺:名字)")]
Team = Annotated[str | None, Query(max_length=200, description="only this team (组别)")]


class LossFilters(BaseModel):
    """Which lost inquiries: a shop, one day (`date`) or a range, optionally one agent or one team."""

    shop: Shop = None
    date: Day = None
    date_from: Day = None
    date_to: Day = None
    agent: Agent = None
    team: Team = None


class LossPageParams(LossFilters):
    page: PageNo = 1
    page_size: PageSize = 50


def every_loss(user: CurrentUser, store: StoreDep, p: Annotated[LossFilters, Query()]) -> LossQuery:
    return loss_query(user, store, **p.model_dump())


def page_of_losses(user: CurrentUser, store: StoreDep, p: Annotated[LossPageParams, Query()]) -> LossQuery:
    return loss_query(user, store, **p.model_dump())


@router.get(
    "/api/losses",
    response_model=Losses,
    dependencies=[may("losses")],
    tags=["losses"],
    summary="Lost inquiries, a page at a time, with each buyer's chat",
)
def api_losses(
    request: Request, user: CurrentUser, store: StoreDep, q: Annotated[LossQuery, Depends(page_of_losses)]
) -> Response:
    log(request, "view_losses", _described(q))
    return cached_json(request, lambda: losses_data(store, user, q))


@router.get(
    "/losses.csv",
    dependencies=[may("export")],
    tags=["losses"],
    summary="Every lost inquiry the filters select, as CSV for follow-up (UTF-8 with BOM)",
)
def export_losses(
    request: Request, user: CurrentUser, store: StoreDep, q: Annotated[LossQuery, Depends(every_loss)]
) -> Response:
    rows = with_chats(store, q.shop, matching_losses(store, user, q))
    t = translator(lang_of(request))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            t(k)
            for k in (
                "csv_shop",
                "csv_day",
                "csv_agent",
                "csv_buyer",
                "csv_first_question",
                "csv_answered",
                "csv_first_response_s",
                "csv_chat",
            )
        ]
    )
    for r in rows:
        chat = "\n".join(f"{m['ts']} {t('sender_' + m['sender'])}: {m['text']}" for m in r["chat"])
        w.writerow(
            csv_row(
                [
                    q.shop,
                    r["day"],
                    r["agent"],
                    r["buyer"],
                    r["first_question"],
                    t("yes" if r["answered"] else "no"),
                    r["first_response_s"],
                    chat,
                ]
            )
        )
    log(request, "export_losses", f"{_described(q)} ({len(rows)} rows)")
    name = (
        f"lost-{q.date_from.isoformat()}" + ("" if q.date_from == q.date_to else f"-{q.date_to.isoformat()}") + ".csv"
    )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/losses", include_in_schema=False, dependencies=[may("losses")])
def losses_page(request: Request, user: CurrentUser, store: StoreDep, q: Annotated[LossQuery, Depends(page_of_losses)]):
    log(request, "view_losses", _described(q))
    return render(
        request,
        "losses.html",
        cached=True,
        data=losses_data(store, user, q),
        shops=visible_shops(user, store),
        days=store.days(),
        agents=loss_agents(user, store, q.shop),
        teams=loss_teams(user, store, q.shop),
        page_sizes=PAGE_SIZES,
        page="losses",
    )


def _described(q: LossQuery) -> str:
    """The audit log's object: shop, dates and filters."""
    days = str(q.date_from) if q.date_from == q.date_to else f"{q.date_from}..{q.date_to}"
    return " ".join(x for x in (q.shop, days, q.agent, q.team) if x)
