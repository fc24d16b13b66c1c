"""Daily report (日报): web page, printable page, XLSX with native charts, and JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu import api
from kefu import targets as targets_mod
from kefu.qc import day_tally
from kefu.reports.daily import DailyReport, attach_qc, daily_report
from kefu.reports.xlsx import write_daily_xlsx
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import Day, Shop, StoreDep, cached_json, lang_of, log, parse_day, pick_shop, render, visible_shops
from kefu.web.store import Store

router = APIRouter()


def report_for(store: Store, shop: str, day: dt.date) -> DailyReport:
    report = store.cached(("daily", shop, day, store.targets_version), lambda: _report(store, shop, day))
    # QC figures change with every review, so they are read afresh (small queries on the QC tables).
    return attach_qc(report, store.con_read(lambda cur: day_tally(cur, shop, day)))


def _report(store: Store, shop: str, day: dt.date) -> DailyReport:
    goals = store.con_read(lambda c: targets_mod.load(c, day.strftime("%Y-%m"), [shop]))
    until = store.con_read(lambda c: api.data_until(c, shop))  # what is still provisional (kefu.metrics.provisional)
    return daily_report(lambda by, f, t: store.kpis(by, f, t), shop, day, goals, store.agents(), until)


def as_json(report: DailyReport) -> dict:
    out = dataclasses.asdict(report)
    for k in ("day", "previous_day", "same_day_last_week"):
        out[k] = out[k].isoformat()
    return out


def _args(user, store, shop, date):
    permissions.require(user, "report")
    shop = pick_shop(user, shop, store)
    return shop, parse_day(date, store, [shop])


@router.get("/api/reports/daily", response_model=dict, tags=["reports"], summary="The daily report of a shop")
def api_daily(request: Request, user: CurrentUser, store: StoreDep, shop: Shop = None, date: Day = None) -> Response:
    shop, day = _args(user, store, shop, date)
    log(request, "view_report", f"{shop} {day}")
    return cached_json(request, lambda: as_json(report_for(store, shop, day)))


@router.get("/reports/daily.xlsx", tags=["reports"], summary="The daily report as XLSX with native charts")
def daily_xlsx(request: Request, user: CurrentUser, store: StoreDep, shop: Shop = None, date: Day = None):
    permissions.require(user, "export")
    shop, day = _args(user, store, shop, date)
    buf = io.BytesIO()
    write_daily_xlsx(report_for(store, shop, day), buf, lang_of(request))
    log(request, "export_report", f"{shop} {day}")
    name = f"daily-{day.isoformat()}.xlsx"
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''%E6%97%A5%E6%8A%A5-{day.strftime('%m%d')}.xlsx"
        },
    )


@router.get("/reports/daily", include_in_schema=False)
def daily_page(
    request: Request, user: CurrentUser, store: StoreDep, shop: Shop = None, date: Day = None, print: bool = False
):
    shop, day = _args(user, store, shop, date)
    log(request, "view_report", f"{shop} {day}")
    return render(
        request,
        "daily_print.html" if print else "daily.html",
        cached=True,
        report=report_for(store, shop, day),
        shops=visible_shops(user, store),
        days=store.days(),
        page="report",
    )
