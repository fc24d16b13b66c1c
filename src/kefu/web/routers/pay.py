"""Performance pay (绩效工资) in the web app: payroll, payslips with drill-down and "which KPI would raise
my pay", vendor settlements, and the scheme editor with a what-if preview (docs/pay.md).

Who sees what (kefu.web.permissions): managers and admins the payroll of their shops and every payslip in
it; agents only their own payslip; vendors their agents' payslips and their settlement. Schemes are files
in `<workspace>/schemes/`; everything else is read from the store's snapshot through its public methods.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from kefu.config import Config
from kefu.pay import api as pay_api
from kefu.pay import compare as compare_mod
from kefu.pay.model import MonthData, Payroll
from kefu.pay.output import money_number, slip_summary
from kefu.pay.payroll import PayrollError, compute
from kefu.pay.scheme import MONTH_RE, SCHEMES_DIR, Scheme, SchemeError, parse_scheme, workspace_schemes
from kefu.pay.settlement import settlements
from kefu.pay.slip import render_slip, rmb_upper, yuan
from kefu.pay.sources import MonthError, gather, month_range
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import StoreDep, log, parse_day, pick_shop, render, templates, visible_shops
from kefu.web.i18n import lang_of
from kefu.web.store import Store
from kefu.workspace import Workspace

router = APIRouter()
FILE_RE = re.compile(r"[\w\-.\u4e00-\u9fff]+\.toml")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the payslip partial is shared with the standalone page (kefu.pay.slip), which registers the same two
templates.env.filters["yuan"] = yuan
templates.env.globals["rmb_upper"] = rmb_upper


# -- what every page needs ----------------------------------------------------------------------------


def _month(value: str | None, store: Store) -> str:
    if value:
        if not MONTH_RE.fullmatch(value):
            raise HTTPException(422, f"month {value!r} is not YYYY-MM")
        return value
    return parse_day(None, store).strftime("%Y-%m")


def _schemes(store: Store) -> list[Scheme]:
    try:
        return workspace_schemes(store.path, relative=True)
    except SchemeError as exc:
        raise HTTPException(422, exc.problems) from None


def _workspace(cur, store: Store) -> Workspace:
    """The snapshot seen through one cursor, as the engine-edge functions of kefu.pay expect it
    (with kefu.toml's `[qc.mutual]`, which the 互查 fund reads)."""
    return Workspace(cur, Config(params=store.params, mutual=store.ws.config.mutual), store.path)


def month_data(store: Store, month: str) -> MonthData:
    def compute_data():
        try:
            return store.con_read(lambda cur: gather(_workspace(cur, store), month, store.params,
                                                     kpis=lambda by, f, t: store.kpis(tuple(by), f, t)))
        except MonthError as exc:
            raise HTTPException(404, str(exc)) from None
    return store.cached(("pay_data", month), compute_data)


def _digest(schemes: list[Scheme]) -> tuple:
    return tuple(sorted((s.source, s.digest) for s in schemes))


def payroll_of(store: Store, month: str, schemes: list[Scheme] | None = None) -> Payroll:
    schemes = _schemes(store) if schemes is None else schemes
    data = month_data(store, month)

    def run():
        try:
            return compute(data, schemes)
        except (SchemeError, PayrollError) as exc:
            raise HTTPException(422, exc.problems) from None
    return store.cached(("payroll", month, _digest(schemes)), run)


def _visible(user: User, store: Store, payroll: Payroll, shop: str | None = None) -> Payroll:
    """The slips of the agents the user may see (of one shop, when given)."""
    seen = permissions.visible_agents(user, store.agents())

    def shown(a) -> bool:
        return a.agent in seen and (shop is None or a.shop == shop)
    return Payroll(payroll.month, tuple(s for s in payroll.slips if shown(s.agent)),
                   tuple(a for a in payroll.unassigned if shown(a)), payroll.coverage, payroll.days_from_chats)


def payroll_json(payroll: Payroll, shop: str) -> dict[str, Any]:
    return {"month": payroll.month, "shop": shop, "coverage": [d.isoformat() for d in payroll.coverage] if payroll.coverage else None,
            "days_from_chats": payroll.days_from_chats, "rows": [slip_summary(s) for s in payroll.slips],
            "total": money_number(payroll.total), "unassigned": [a.agent for a in payroll.unassigned]}


def explanation(store: Store, month: str, agent: str) -> dict[str, Any]:
    schemes = _schemes(store)
    data = month_data(store, month)
    first, last = month_range(month)

    def run():
        try:
            return store.con_read(lambda cur: pay_api.explain(
                _workspace(cur, store), month, agent, schemes, data=data, params=store.params,
                day_kpis=store.kpis(("agent", "day"), first, last)))
        except KeyError as exc:
            raise HTTPException(404, str(exc).strip("'\"")) from None
        except (SchemeError, PayrollError) as exc:
            raise HTTPException(422, exc.problems) from None
    return store.cached(("pay_explain", month, agent, _digest(schemes)), run)


def _page_error(request: Request, exc: HTTPException, **ctx):
    problems = exc.detail if isinstance(exc.detail, list) else [exc.detail]
    response = render(request, "pay_payroll.html", payroll=None, problems=problems, page="pay", **ctx)
    response.status_code = exc.status_code
    return response


# -- payroll ------------------------------------------------------------------------------------------


@router.get("/api/pay/payroll", tags=["pay"], summary="The month's payroll of a shop (the agents the user may see)")
def api_payroll(request: Request, user: CurrentUser, store: StoreDep, month: str | None = None, shop: str | None = None) -> dict:
    permissions.require(user, "pay_payroll")
    shop, month = pick_shop(user, shop, store), _month(month, store)
    log(request, "view_payroll", f"{shop} {month}")
    return payroll_json(_visible(user, store, payroll_of(store, month), shop), shop)


@router.get("/pay", include_in_schema=False)
def payroll_page(request: Request, user: CurrentUser, store: StoreDep, month: str | None = None, shop: str | None = None):
    permissions.require(user, "pay")
    month = _month(month, store)
    if user.role == "agent":
        return RedirectResponse(f"/pay/agents/{quote(user.agent or '', safe='')}?month={month}", status_code=303)
    if user.role == "vendor":
        return RedirectResponse(f"/pay/settlement?month={month}", status_code=303)
    permissions.require(user, "pay_payroll")
    shop = pick_shop(user, shop, store)
    try:
        payroll = _visible(user, store, payroll_of(store, month), shop)
    except HTTPException as exc:
        if exc.status_code not in (404, 422):
            raise
        return _page_error(request, exc, month=month, shop=shop, shops=visible_shops(user, store))
    log(request, "view_payroll", f"{shop} {month}")
    names = list(dict.fromkeys(line.component for s in payroll.slips for line in s.lines if line.kind != "base"))
    chart = [{"agent": s.agent.name, **{line.component: money_number(line.amount) for line in s.lines}} for s in payroll.slips]
    return render(request, "pay_payroll.html", payroll=payroll, names=names, month=month, chart=chart, problems=[],
                  shop=shop, shops=visible_shops(user, store),
                  vendors=sorted({s.agent.employer for s in payroll.slips if s.agent.employer != "in_house"}), page="pay")


@router.get("/pay/payroll.xlsx", tags=["pay"], summary="The payroll workbook (工资表, 明细, 方案, 图表)")
def payroll_xlsx(request: Request, user: CurrentUser, store: StoreDep, month: str | None = None, shop: str | None = None):
    permissions.require(user, "pay_payroll")
    permissions.require(user, "export")
    from kefu.pay.xlsx import write_payroll_xlsx

    shop, month = pick_shop(user, shop, store), _month(month, store)
    buf = io.BytesIO()
    write_payroll_xlsx(_visible(user, store, payroll_of(store, month), shop), buf, lang_of(request))
    log(request, "export_payroll", f"{shop} {month}")
    return _download(buf, f"payroll-{month}.xlsx", f"%E5%B7%A5%E8%B5%84%E8%A1%A8-{month}.xlsx")


def _download(buf: io.BytesIO, ascii_name: str, utf8_name: str) -> Response:
    return Response(buf.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{utf8_name}"})


# -- payslips -----------------------------------------------------------------------------------------


def _slip_args(user: User, store: Store, agent: str, month: str | None) -> str:
    permissions.require(user, "pay")
    permissions.require_agent(user, agent, store.agents())
    return _month(month, store)


@router.get("/api/pay/agents/{agent}", tags=["pay"], summary="An agent's payslip: every line's rule, values, formula, "
            "the rows behind it, and which KPI would raise the pay most")
def api_slip(request: Request, user: CurrentUser, store: StoreDep, agent: str, month: str | None = None) -> dict:
    month = _slip_args(user, store, agent, month)
    log(request, "view_payslip", f"{agent} {month}")
    return explanation(store, month, agent)


@router.get("/pay/agents/{agent}", include_in_schema=False)
def slip_page(request: Request, user: CurrentUser, store: StoreDep, agent: str, month: str | None = None):
    month = _slip_args(user, store, agent, month)
    try:
        e = explanation(store, month, agent)
    except HTTPException as exc:
        if exc.status_code not in (404, 422):
            raise
        return _page_error(request, exc, month=month)
    log(request, "view_payslip", f"{agent} {month}")
    return render(request, "pay_slip.html", e=e, month=month, page="pay")


@router.get("/pay/agents/{agent}/print", include_in_schema=False)
def slip_print(request: Request, user: CurrentUser, store: StoreDep, agent: str, month: str | None = None):
    month = _slip_args(user, store, agent, month)
    e = explanation(store, month, agent)
    log(request, "print_payslip", f"{agent} {month}")
    return HTMLResponse(render_slip(e, lang_of(request)))


# -- vendor settlements -------------------------------------------------------------------------------


def _settlements(user: User, store: Store, month: str, employer: str | None, shop: str | None) -> list[dict]:
    permissions.require(user, "pay_settlement")
    shop = pick_shop(user, shop, store)
    if user.role == "vendor":
        if employer not in (None, user.employer):
            raise HTTPException(403, f"vendor {employer} is not visible to {user.name}")
        employer = user.employer
    return settlements(_visible(user, store, payroll_of(store, month), shop), employer)


@router.get("/api/pay/settlement", tags=["pay"], summary="Settlement per outsourcing vendor (外包结算单)")
def api_settlement(request: Request, user: CurrentUser, store: StoreDep, month: str | None = None, employer: str | None = None,
                   shop: str | None = None) -> list[dict]:
    month = _month(month, store)
    found = _settlements(user, store, month, employer, shop)
    log(request, "view_settlement", f"{employer or ''} {month}".strip())
    return found


@router.get("/pay/settlement", include_in_schema=False)
def settlement_page(request: Request, user: CurrentUser, store: StoreDep, month: str | None = None, employer: str | None = None,
                    shop: str | None = None):
    month = _month(month, store)
    try:
        found = _settlements(user, store, month, employer, shop)
    except HTTPException as exc:
        if exc.status_code not in (404, 422):
            raise
        return _page_error(request, exc, month=month)
    log(request, "view_settlement", f"{employer or ''} {month}".strip())
    return render(request, "pay_settlement.html", found=found, month=month, employer=employer, page="pay")


@router.get("/pay/settlement.xlsx", tags=["pay"], summary="Vendor settlements as XLSX (汇总 and one sheet per vendor)")
def settlement_xlsx(request: Request, user: CurrentUser, store: StoreDep, month: str | None = None, employer: str | None = None,
                    shop: str | None = None):
    permissions.require(user, "export")
    from kefu.pay.xlsx import write_settlement_xlsx

    month = _month(month, store)
    buf = io.BytesIO()
    write_settlement_xlsx(_settlements(user, store, month, employer, shop), buf)
    log(request, "export_settlement", f"{employer or ''} {month}".strip())
    return _download(buf, f"settlement-{month}.xlsx", f"%E5%A4%96%E5%8C%85%E7%BB%93%E7%AE%97-{month}.xlsx")


# -- schemes: list, edit with a what-if preview, save ----------------------------------------------------


class SchemeIn(BaseModel):
    file: str
    text: str
    month: str | None = None


def _file(name: str) -> str:
    name = name.strip()
    if not name.endswith(".toml"):
        name += ".toml"
    if not FILE_RE.fullmatch(name) or name.startswith("."):
        raise HTTPException(422, [f"file name {name!r}: letters, digits, -, _ and . only, ending in .toml"])
    return name


def _parsed(store: Store) -> dict[str, Scheme | None]:
    """Each saved file's scheme, None where the file has problems."""
    out: dict[str, Scheme | None] = {}
    folder = Path(store.path) / SCHEMES_DIR
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            out[path.name] = parse_scheme(path.read_text(encoding="utf-8"), f"{SCHEMES_DIR}/{path.name}")
        except SchemeError:
            out[path.name] = None
    return out


def scheme_files(store: Store) -> list[dict[str, Any]]:
    folder = Path(store.path) / SCHEMES_DIR
    out = []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        try:
            s = parse_scheme(text, f"{SCHEMES_DIR}/{path.name}")
            out.append({"file": path.name, "name": s.name, "effective_from": s.effective_from, "text": text, "problems": [],
                        "components": [c.name for c in s.components]})
        except SchemeError as exc:
            out.append({"file": path.name, "name": None, "effective_from": None, "text": text, "problems": exc.problems, "components": []})
    return out


def preview(store: Store, user: User, body: SchemeIn) -> dict[str, Any]:
    """The month under the saved schemes (A) and with this file's text replaced by the edited one (B); nothing saved."""
    pick_shop(user, None, store)
    file, month = _file(body.file), _month(body.month, store)
    try:
        edited = parse_scheme(body.text, f"{SCHEMES_DIR}/{file}")
    except SchemeError as exc:
        return {"ok": False, "problems": exc.problems, "file": file, "month": month}
    parsed = _parsed(store)
    others = [s for name, s in parsed.items() if name != file and s is not None]
    data = month_data(store, month)
    try:
        b = compute(data, others + [edited])
    except (SchemeError, PayrollError) as exc:
        return {"ok": False, "problems": exc.problems, "file": file, "month": month}
    try:  # the saved set may itself be broken (the file being fixed): then compare with nothing
        a = compute(data, list(parsed.values())) if parsed and None not in parsed.values() else None
    except (SchemeError, PayrollError):
        a = None
    a = _visible(user, store, a) if a else Payroll(month, ())
    b = _visible(user, store, b)
    rows = compare_mod.compare(a, b)
    return {"ok": True, "problems": [], "file": file, "month": month, "rows": rows, "summary": compare_mod.summary(rows),
            "scheme": {"name": edited.name, "effective_from": edited.effective_from}}


def save_scheme(store: Store, user: User, body: SchemeIn) -> dict[str, Any]:
    permissions.require(user, "pay_schemes_edit")
    result = preview(store, user, body)
    if not result["ok"]:
        raise HTTPException(422, result["problems"])
    file = result["file"]
    folder = Path(store.path) / SCHEMES_DIR
    edited = parse_scheme(body.text, f"{SCHEMES_DIR}/{file}")
    if user.role != "admin":
        old = _parsed(store).get(file)
        for scheme in (edited, old):
            if scheme is not None and (not scheme.applies_to.shops or not set(scheme.applies_to.shops) <= set(user.shops)):
                raise HTTPException(403, f"a manager saves schemes whose applies_to.shops lists only their shops ({', '.join(user.shops)})")
    folder.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body.text)
    os.replace(tmp, folder / file)
    return result


@router.get("/api/pay/schemes", tags=["pay"], summary="The scheme files of the workspace, with their text and problems")
def api_schemes(user: CurrentUser, store: StoreDep, shop: str | None = None) -> list[dict]:
    permissions.require(user, "pay_schemes")
    pick_shop(user, shop, store)  # a manager of no shop with data has nothing to pay
    return scheme_files(store)


@router.post("/api/pay/schemes/preview", tags=["pay"], summary="What-if: the month under an edited scheme vs the saved ones (nothing saved)")
def api_preview(request: Request, user: CurrentUser, store: StoreDep, body: SchemeIn) -> dict:
    permissions.require(user, "pay_schemes")
    log(request, "preview_scheme", body.file)
    return preview(store, user, body)


@router.post("/api/pay/schemes", tags=["pay"], summary="Validate and save a scheme file (refused with every problem when wrong)")
def api_save(request: Request, user: CurrentUser, store: StoreDep, body: SchemeIn) -> dict:
    result = save_scheme(store, user, body)
    log(request, "edit_scheme", result["file"])
    return result


@router.get("/pay/schemes", include_in_schema=False)
def schemes_page(request: Request, user: CurrentUser, store: StoreDep, file: str | None = None, month: str | None = None,
                 shop: str | None = None):
    permissions.require(user, "pay_schemes")
    pick_shop(user, shop, store)
    files = scheme_files(store)
    current = next((f for f in files if f["file"] == file), files[0] if files else None)
    return render(request, "pay_schemes.html", files=files, current=current, month=_month(month, store), page="pay",
                  saved=request.query_params.get("saved"))


@router.post("/pay/schemes/preview", include_in_schema=False)
def preview_fragment(request: Request, user: CurrentUser, store: StoreDep, file: str = Form(...), text: str = Form(...),
                     month: str = Form("")):
    permissions.require(user, "pay_schemes")
    log(request, "preview_scheme", file)
    try:
        result = preview(store, user, SchemeIn(file=file, text=text, month=month or None))
    except HTTPException as exc:
        result = {"ok": False, "problems": exc.detail if isinstance(exc.detail, list) else [exc.detail]}
    return render(request, "pay_preview.html", r=result)


@router.post("/pay/schemes", include_in_schema=False)
def save_form(request: Request, user: CurrentUser, store: StoreDep, file: str = Form(...), text: str = Form(...), month: str = Form("")):
    try:
        result = save_scheme(store, user, SchemeIn(file=file, text=text, month=month or None))
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        files = scheme_files(store)
        resp = render(request, "pay_schemes.html", files=files, current={"file": file, "text": text, "problems": exc.detail},
                      month=_month(month or None, store), page="pay", saved=None)
        resp.status_code = 422
        return resp
    log(request, "edit_scheme", result["file"])
    return RedirectResponse(f"/pay/schemes?file={result['file']}&month={result['month']}&saved=1", status_code=303)

