"""Hourly heatmap (时段热力图): load and response time per day and hour."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu.web.auth import CurrentUser
from kefu.web.common import Day, StoreDep, VisibleShop, cached_json, parse_day, render, visible_shops
from kefu.web.permissions import may
from kefu.web.schemas import Heatmap
from kefu.web.store import Store

router = APIRouter()


def heatmap_data(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> dict:
    return store.cached(("heatmap", shop, date_from, date_to), lambda: _heatmap_data(store, shop, date_from, date_to))


def _heatmap_data(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> dict:
    rows = [
        r
        for r in store.kpis(("shop", "day", "hour"))
        if r["shop"] == shop and date_from.isoformat() <= r["day"] <= date_to.isoformat()
    ]
    days = sorted({r["day"] for r in rows})
    cells = [
        {
            "day": r["day"],
            "hour": r["hour"],
            "consult_buyers": r["consult_buyers"],
            "questions": r["questions"],
            "avg_response_s": r["avg_response_s"],
            "slow_responses": r["slow_responses"],
        }
        for r in rows
    ]
    return {
        "shop": shop,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "days": days,
        "cells": cells,
    }


def _period(store, date_from, date_to, shop):
    d_to = parse_day(date_to, store, [shop])
    d_from = parse_day(date_from, store) if date_from else d_to - dt.timedelta(days=13)
    return d_from, d_to


@router.get(
    "/api/heatmap",
    response_model=Heatmap,
    dependencies=[may("heatmap")],
    tags=["heatmap"],
    summary="Consultations and response time per day and hour",
)
def api_heatmap(
    request: Request, store: StoreDep, shop: VisibleShop, date_from: Day = None, date_to: Day = None
) -> Response:
    period = _period(store, date_from, date_to, shop)
    return cached_json(request, lambda: heatmap_data(store, shop, *period))


@router.get("/heatmap", include_in_schema=False, dependencies=[may("heatmap")])
def heatmap_page(
    request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, date_from: Day = None, date_to: Day = None
):
    data = heatmap_data(store, shop, *_period(store, date_from, date_to, shop))
    peaks = {field: peak_cell(data["cells"], field) for field in ("consult_buyers", "avg_response_s")}
    return render(
        request, "heatmap.html", cached=True, data=data, peaks=peaks, shops=visible_shops(user, store), page="heatmap"
    )


def peak_cell(cells: list[dict], field: str) -> dict | None:
    """The day and hour with the highest `field` (the charts' text alternative names it); None when no cell has one."""
    return max((c for c in cells if c[field] is not None), key=lambda c: (c[field], c["day"], -c["hour"]), default=None)
