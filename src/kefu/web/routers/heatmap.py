"""Hourly heatmap (时段热力图): load and response time per day and hour."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import StoreDep, cached_json, parse_day, pick_shop, render, visible_shops
from kefu.web.store import Store

router = APIRouter()


def heatmap_data(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> dict:
    return store.cached(("heatmap", shop, date_from, date_to), lambda: _heatmap_data(store, shop, date_from, date_to))


def _heatmap_data(store: Store, shop: str, date_from: dt.date, date_to: dt.date) -> dict:
    rows = [r for r in store.kpis(("shop", "day", "hour")) if r["shop"] == shop and date_from.isoformat() <= r["day"] <= date_to.isoformat()]
    days = sorted({r["day"] for r in rows})
    cells = [{"day": r["day"], "hour": r["hour"], "consult_buyers": r["consult_buyers"], "questions": r["questions"],
              "avg_response_s": r["avg_response_s"], "slow_responses": r["slow_responses"]} for r in rows]
    return {"shop": shop, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "days": days, "cells": cells}


def _period(store, date_from, date_to):
    d_to = parse_day(date_to, store)
    d_from = parse_day(date_from, store) if date_from else d_to - dt.timedelta(days=13)
    return d_from, d_to


@router.get("/api/heatmap", tags=["heatmap"], summary="Consultations and response time per day and hour")
def api_heatmap(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None, date_from: str | None = None,
                date_to: str | None = None) -> dict:
    permissions.require(user, "heatmap")
    shop, period = pick_shop(user, shop, store), _period(store, date_from, date_to)
    return cached_json(request, lambda: heatmap_data(store, shop, *period))


@router.get("/heatmap", include_in_schema=False)
def heatmap_page(request: Request, user: CurrentUser, store: StoreDep, shop: str | None = None,
                 date_from: str | None = None, date_to: str | None = None):
    permissions.require(user, "heatmap")
    data = heatmap_data(store, pick_shop(user, shop, store), *_period(store, date_from, date_to))
    return render(request, "heatmap.html", cached=True, data=data, shops=visible_shops(user, store), page="heatmap")
