"""Daily report (日报): web page, printable page, XLSX with native charts, and JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu import targets as targets_mod
from kefu.qc import day_tally
from kefu.reports.daily import DailyReport, attach_qc, daily_report
from kefu.reports.xlsx import write_daily_xlsx
from kefu.web.auth import CurrentUser
from kefu.web.common import (
    Day,
    StoreDep,
    VisibleShop,
    cached_json,
    data_until,
    lang_of,
    log,
    parse_day,
    render,
    visible_shops,
)
from kefu.web.permissions import may
from kefu.web.schemas import DailyReport as DailyReportAnswer
from kefu.web.store import Store

router = APIRouter()


def report_for(store: Store, shop: str, day: dt.date) -> DailyReport:
    report = store.cached(("daily", shop, day, store.targets_version), lambda: _report(store, shop, day))
    # QC figures change with every review, so they are read afresh (small queries on the QC tables).
    return attach_qc(report, store.read(lambda ws: day_tally(ws, shop, day)))


def _report(store: Store, shop: str, day: dt.date) -> DailyReport:
    goals = store.read(lambda ws: targets_mod.load(ws.con, day.strftime("%Y-%m"), [shop]))
    return daily_report(store.kpis, shop, day, goals, store.agents(), data_until(store, shop))


def as_json(report: DailyReport) -> dict:
    out = dataclasses.asdict(report)
    for k in ("day", "previous_day", "same_day_last_week"):
        out[k] = out[k].isoformat()
    return out


@router.get(
    "/api/reports/daily",
    response_model=DailyReportAnswer,
    dependencies=[may("report")],
    tags=["reports"],
    summary="The daily report of a shop",
)
def api_daily(request: Request, store: StoreDep, shop: VisibleShop, date: Day = None) -> Response:
    day = parse_day(date, store, [shop])
    log(request, "view_report", f"{shop} {day}")
    return cached_json(request, lambda: as_json(report_for(store, shop, day)))


@router.get(
    "/reports/daily.xlsx",
    dependencies=[may("export"), may("report")],
    tags=["reports"],
    summary="The daily report as XLSX with native charts",
)
def daily_xlsx(request: Request, store: StoreDep, shop: VisibleShop, date: Day = None):
    day = parse_day(date, store, [shop])
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


@router.get("/reports/daily", include_in_schema=False, dependencies=[may("report")])
def daily_page(
    request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, date: Day = None, print: bool = False
):
    day = parse_day(date, store, [shop])
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
