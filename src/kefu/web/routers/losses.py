"""Inquiry-loss list (询单流失明细): each lost buyer of a day with their chat, exportable for follow-up."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import StoreDep, cached_json, log, parse_day, pick_shop, render, visible_shops
from kefu.web.store import Store

router = APIRouter()


def losses_data(store: Store, user: User, shop: str, day: dt.date) -> dict:
    visible = permissions.visible_agents(user, store.agents())
    every = store.cached(("losses", shop, day), lambda: _all_losses(store, shop, day))
    return {"shop": shop, "day": day.isoformat(), "lost": [r for r in every if r["agent"] in visible]}


def _all_losses(store: Store, shop: str, day: dt.date) -> list[dict]:
    agents, with_chats = store.agents(), True
    visible = set(agents)
    frame = store.lost(shop, day)
    frame = frame[frame["agent"].isin(visible)]
    chats = store.chats(shop, sorted(set(frame["buyer"])), day) if with_chats else None
    by_pair = {key: g for key, g in chats.groupby(["buyer", "agent"])} if chats is not None and len(chats) else {}
    rows = []
    for r in frame.itertuples():
        row = {"agent": r.agent, "name": agents[r.agent]["name"], "buyer": r.buyer, "first_question": r.first_open.strftime("%H:%M:%S"),
               "answered": bool(r.answered), "first_response_s": None if r.first_response_s != r.first_response_s else float(r.first_response_s)}
        if with_chats:
            chat = by_pair.get((r.buyer, r.agent), chats.iloc[0:0])
            row["chat"] = [{"ts": m.ts.strftime("%H:%M:%S"), "sender": m.sender, "text": m.text} for m in chat.itertuples()]
        rows.append(row)
    return rows


@router.get("/api/losses", tags=["losses"], summary="Lost inquiries of a shop and day, with each buyer's chat")
def api_losses(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None, date: str | None = None) -> dict:
    permissions.require(user, "losses")
    shop, day = pick_shop(user, shop, store), parse_day(date, store)
    log(request, "view_losses", f"{shop} {day}")
    return cached_json(request, lambda: losses_data(store, user, shop, day))


@router.get("/losses.csv", tags=["losses"], summary="Lost inquiries as CSV for follow-up (UTF-8 with BOM, opens in Excel)")
def export_losses(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None, date: str | None = None):
    permissions.require(user, "export")
    shop, day = pick_shop(user, shop, store), parse_day(date, store)
    data = losses_data(store, user, shop, day)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["shop", "day", "agent", "buyer", "first_question", "answered", "first_response_s", "chat"])
    for r in data["lost"]:
        chat = "\n".join(f"{m['ts']} {m['sender']}: {m['text']}" for m in r["chat"])
        w.writerow([shop, data["day"], r["agent"], r["buyer"], r["first_question"], r["answered"], r["first_response_s"], chat])
    log(request, "export_losses", f"{shop} {day} ({len(data['lost'])} rows)")
    name = f"lost-{day.isoformat()}.csv"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/losses", include_in_schema=False)
def losses_page(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None, date: str | None = None):
    permissions.require(user, "losses")
    shop, day = pick_shop(user, shop, store), parse_day(date, store)
    log(request, "view_losses", f"{shop} {day}")
    return render(request, "losses.html", cached=True, data=losses_data(store, user, shop, day), shops=visible_shops(user, store),
                  days=store.days(), page="losses")
