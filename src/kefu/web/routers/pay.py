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
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from kefu import month as months
from kefu.errors import KefuError
from kefu.i18n import translator
from kefu.pay import api as pay_api
from kefu.pay import compare as compare_mod
from kefu.pay.model import MonthData, Payroll
from kefu.pay.output import money_number, slip_summary
from kefu.pay.payroll import PayrollError, compute
from kefu.pay.scheme import SCHEMES_DIR, Scheme, SchemeError, parse_scheme, workspace_schemes
from kefu.pay.settlement import settlements
from kefu.pay.slip import render_slip, rmb_upper, yuan
from kefu.pay.sources import gather
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import (
    FormError,
    Month,
    Shop,
    StoreDep,
    Text,
    VisibleAgent,
    VisibleShop,
    lang_of,
    log,
    pick_shop,
    problem,
    render,
    templates,
    user_day,
    visible_shop,
    visible_shops,
)
from kefu.web.permissions import may
from kefu.web.schemas import Payroll as PayrollAnswer
from kefu.web.schemas import Payslip, Preview, SchemeFile, Settlement
from kefu.web.store import Store

router = APIRouter()
FILE_RE = re.compile(r"[\w\-.\u4e00-\u9fff]+\.toml")
#: The standalone payslip: its own <style>, and one inline handler (the print button's onclick="window.print()").
PRINT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "script-src 'unsafe-hashes' 'sha256-MguIPR6qNR8D3B+eAlK+bIRTZe8t3wkOY4B/56Me9FU='"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the payslip partial is shared with the standalone page (kefu.pay.slip), which registers the same two
templates.env.filters["yuan"] = yuan
templates.env.globals["rmb_upper"] = rmb_upper


# -- what every page needs ----------------------------------------------------------------------------


def _month(value: str | None, store: Store, user: User) -> str:
    """The month asked for, or the month of the latest day of the user's shops."""
    if value:
        if not months.is_month(value):
            raise HTTPException(422, f"month {value!r} is not YYYY-MM")
        return value
    return user_day(None, store, user).strftime("%Y-%m")


def _schemes(store: Store, user: User) -> list[Scheme]:
    try:
        return workspace_schemes(store.path, relative=True)
    except SchemeError as exc:
        raise HTTPException(422, scoped_problems(user, store, exc.problems)) from None


# -- who reads which scheme, and which problems: scoped like the KPIs ----------------------------------------


def scheme_shops(text: str) -> list[str] | None:
    """The shops a scheme file's `applies_to.shops` names ([] = every shop), None when the file is not even TOML."""
    try:
        shops = tomllib.loads(text).get("applies_to", {}).get("shops", [])
    except (tomllib.TOMLDecodeError, AttributeError):
        return None
    return shops if isinstance(shops, list) and all(isinstance(s, str) for s in shops) else None


def may_read_scheme(user: User, text: str) -> bool:
    """An admin reads every scheme; others those that apply to every shop or only to shops of theirs (the rule for
    saving, kefu.web.routers.pay.save_scheme); a file that is not TOML tells no shops: only admins read it."""
    if user.role == "admin":
        return True
    shops = scheme_shops(text)
    return shops is not None and set(shops) <= set(user.shops)


def hidden_scheme_files(user: User, store: Store) -> set[str]:
    folder = Path(store.path) / SCHEMES_DIR
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    return {p.name for p in files if not may_read_scheme(user, p.read_text(encoding="utf-8"))}


def scoped_problems(user: User, store: Store, problems: list[str]) -> list[str]:
    """The problems the user may read: none naming an agent they may not see or a scheme file they may not read
    (those say the agent's role, team and employer); how many were held back is said in one line."""
    if user.role == "admin":
        return list(problems)
    agents = store.agents()
    unseen = set(agents) - permissions.visible_agents(user, agents)
    files = {f"{SCHEMES_DIR}/{name}" for name in hidden_scheme_files(user, store)}
    shown = [p for p in problems if not any(a in p for a in unseen) and not any(f in p for f in files)]
    if len(shown) < len(problems):
        shown.append(
            f"{len(problems) - len(shown)} more problem(s) concern other shops' agents or schemes: an admin sees them"
        )
    return shown


def month_data(store: Store, month: str) -> MonthData:
    """What the month's pay reads (MonthError, a 404, when the month has no data)."""
    return store.cached(
        ("pay_data", month), lambda: store.read(lambda ws: gather(ws, month, ws.config.params, kpis=store.kpis))
    )


def _digest(schemes: list[Scheme]) -> tuple:
    return tuple(sorted((s.source, s.digest) for s in schemes))


def payroll_of(store: Store, user: User, month: str, schemes: list[Scheme] | None = None) -> Payroll:
    """The month's payroll of every agent (the caller keeps the slips the user may see); problems scoped to the user."""
    schemes = _schemes(store, user) if schemes is None else schemes
    data = month_data(store, month)
    try:
        return store.cached(("payroll", month, _digest(schemes)), lambda: compute(data, schemes))
    except (SchemeError, PayrollError) as exc:
        raise HTTPException(422, scoped_problems(user, store, exc.problems)) from None


def _visible(user: User, store: Store, payroll: Payroll, shop: Shop = None) -> Payroll:
    """The slips of the agents the user may see (of one shop, when given)."""
    seen = permissions.visible_agents(user, store.agents())

    def shown(a) -> bool:
        return a.agent in seen and (shop is None or a.shop == shop)

    return Payroll(
        payroll.month,
        tuple(s for s in payroll.slips if shown(s.agent)),
        tuple(a for a in payroll.unassigned if shown(a)),
        payroll.coverage,
        payroll.days_from_chats,
    )


def payroll_json(payroll: Payroll, shop: str) -> dict[str, Any]:
    return {
        "month": payroll.month,
        "shop": shop,
        "coverage": [d.isoformat() for d in payroll.coverage] if payroll.coverage else None,
        "days_from_chats": payroll.days_from_chats,
        "rows": [slip_summary(s) for s in payroll.slips],
        "total": money_number(payroll.total),
        "unassigned": [a.agent for a in payroll.unassigned],
    }


def explanation(store: Store, user: User, month: str, agent: str) -> dict[str, Any]:
    schemes = _schemes(store, user)
    data = month_data(store, month)
    first, last = (m := months.Month.parse(month)).first, m.last

    def run():
        try:
            return store.read(
                lambda ws: pay_api.explain(
                    ws,
                    month,
                    agent,
                    schemes,
                    data=data,
                    params=store.params,
                    day_kpis=store.kpis(("agent", "day"), first, last),
                )
            )
        except KeyError as exc:
            raise HTTPException(404, str(exc).strip("'\"")) from None
        except (SchemeError, PayrollError) as exc:
            raise HTTPException(422, scoped_problems(user, store, exc.problems)) from None

    return store.cached(("pay_explain", month, agent, _digest(schemes)), run)


def _page_error(request: Request, exc: HTTPException | KefuError, **ctx):
    """The page with the problems of a 404 or 422 (a month without data, a broken scheme); other errors go on."""
    status, detail = problem(exc)
    if status not in (404, 422):
        raise exc
    problems = detail if isinstance(detail, list) else [detail]
    response = render(request, "pay_payroll.html", payroll=None, problems=problems, page="pay", **ctx)
    response.status_code = status
    return response


# -- payroll ------------------------------------------------------------------------------------------


@router.get(
    "/api/pay/payroll",
    response_model=PayrollAnswer,
    dependencies=[may("pay_payroll")],
    tags=["pay"],
    summary="The month's payroll of a shop (the agents the user may see)",
)
def api_payroll(request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, month: Month = None) -> dict:
    month = _month(month, store, user)
    log(request, "view_payroll", f"{shop} {month}")
    return payroll_json(_visible(user, store, payroll_of(store, user, month), shop), shop)


@router.get("/pay", include_in_schema=False, dependencies=[may("pay")])
def payroll_page(request: Request, user: CurrentUser, store: StoreDep, month: Month = None, shop: Shop = None):
    month = _month(month, store, user)
    if user.role == "agent":
        return RedirectResponse(f"/pay/agents/{quote(user.agent or '', safe='')}?month={month}", status_code=303)
    if user.role == "vendor":
        return RedirectResponse(f"/pay/settlement?month={month}", status_code=303)
    permissions.require(user, "pay_payroll")
    shop = pick_shop(user, shop, store)
    try:
        payroll = _visible(user, store, payroll_of(store, user, month), shop)
    except FormError as exc:
        return _page_error(request, exc, month=month, shop=shop, shops=visible_shops(user, store))
    log(request, "view_payroll", f"{shop} {month}")
    names = list(dict.fromkeys(line.component for s in payroll.slips for line in s.lines if line.kind != "base"))
    chart = [
        {"agent": s.agent.name, **{line.component: money_number(line.amount) for line in s.lines}}
        for s in payroll.slips
    ]
    return render(
        request,
        "pay_payroll.html",
        payroll=payroll,
        names=names,
        month=month,
        chart=chart,
        problems=[],
        shop=shop,
        shops=visible_shops(user, store),
        vendors=sorted({s.agent.employer for s in payroll.slips if s.agent.employer != "in_house"}),
        page="pay",
    )


@router.get(
    "/pay/payroll.xlsx",
    dependencies=[may("pay_payroll"), may("export")],
    tags=["pay"],
    summary="The payroll workbook (工资表, 明细, 方案, 图表)",
)
def payroll_xlsx(request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, month: Month = None):
    from kefu.pay.xlsx import write_payroll_xlsx

    month = _month(month, store, user)
    buf = io.BytesIO()
    write_payroll_xlsx(_visible(user, store, payroll_of(store, user, month), shop), buf, lang_of(request))
    log(request, "export_payroll", f"{shop} {month}")
    return _download(buf, f"payroll-{month}.xlsx", f"%E5%B7%A5%E8%B5%84%E8%A1%A8-{month}.xlsx")


def _download(buf: io.BytesIO, ascii_name: str, utf8_name: str) -> Response:
    return Response(
        buf.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{utf8_name}"},
    )


# -- payslips -----------------------------------------------------------------------------------------


@router.get(
    "/api/pay/agents/{agent:path}",
    response_model=Payslip,
    dependencies=[may("pay")],
    tags=["pay"],
    summary="An agent's payslip: every line's rule, values, formula, "
    "the rows behind it, and which KPI would raise the pay most",
)
def api_slip(request: Request, user: CurrentUser, store: StoreDep, agent: VisibleAgent, month: Month = None) -> dict:
    month = _month(month, store, user)
    log(request, "view_payslip", f"{agent} {month}")
    return explanation(store, user, month, agent)


@router.get("/pay/agents/{agent:path}/print", include_in_schema=False, dependencies=[may("pay")])
def slip_print(request: Request, user: CurrentUser, store: StoreDep, agent: VisibleAgent, month: Month = None):
    month = _month(month, store, user)
    e = explanation(store, user, month, agent)
    log(request, "print_payslip", f"{agent} {month}")
    return HTMLResponse(render_slip(e, lang_of(request)), headers={"Content-Security-Policy": PRINT_CSP})


@router.get("/pay/agents/{agent:path}", include_in_schema=False, dependencies=[may("pay")])
def slip_page(request: Request, user: CurrentUser, store: StoreDep, agent: VisibleAgent, month: Month = None):
    month = _month(month, store, user)
    try:
        e = explanation(store, user, month, agent)
    except FormError as exc:
        if problem(exc)[0] == 404:  # no slip: kefu.pay's words are English, the page speaks the user's language
            exc = HTTPException(404, translator(lang_of(request))("pay_no_slip").format(agent=agent, month=month))
        return _page_error(request, exc, month=month)
    log(request, "view_payslip", f"{agent} {month}")
    return render(request, "pay_slip.html", e=e, month=month, page="pay")


# -- vendor settlements -------------------------------------------------------------------------------


def _settlements(user: User, store: Store, month: str, employer: str | None, shop: str | None) -> list[dict]:
    shop = pick_shop(user, shop, store)
    if user.role == "vendor":
        if employer not in (None, user.employer):
            raise HTTPException(403, f"vendor {employer} is not visible to {user.name}")
        employer = user.employer
    return settlements(_visible(user, store, payroll_of(store, user, month), shop), employer)


@router.get(
    "/api/pay/settlement",
    response_model=list[Settlement],
    dependencies=[may("pay_settlement")],
    tags=["pay"],
    summary="Settlement per outsourcing vendor (外包结算单)",
)
def api_settlement(
    request: Request, user: CurrentUser, store: StoreDep, month: Month = None, employer: Text = None, shop: Shop = None
) -> list[dict]:
    month = _month(month, store, user)
    found = _settlements(user, store, month, employer, shop)
    log(request, "view_settlement", f"{employer or ''} {month}".strip())
    return found


@router.get("/pay/settlement", include_in_schema=False, dependencies=[may("pay_settlement")])
def settlement_page(
    request: Request, user: CurrentUser, store: StoreDep, month: Month = None, employer: Text = None, shop: Shop = None
):
    month = _month(month, store, user)
    try:
        found = _settlements(user, store, month, employer, shop)
    except FormError as exc:
        return _page_error(request, exc, month=month)
    log(request, "view_settlement", f"{employer or ''} {month}".strip())
    return render(request, "pay_settlement.html", found=found, month=month, employer=employer, page="pay")


@router.get(
    "/pay/settlement.xlsx",
    dependencies=[may("export"), may("pay_settlement")],
    tags=["pay"],
    summary="Vendor settlements as XLSX (汇总 and one sheet per vendor)",
)
def settlement_xlsx(
    request: Request, user: CurrentUser, store: StoreDep, month: Month = None, employer: Text = None, shop: Shop = None
):
    from kefu.pay.xlsx import write_settlement_xlsx

    month = _month(month, store, user)
    buf = io.BytesIO()
    write_settlement_xlsx(_settlements(user, store, month, employer, shop), buf)
    log(request, "export_settlement", f"{employer or ''} {month}".strip())
    return _download(buf, f"settlement-{month}.xlsx", f"%E5%A4%96%E5%8C%85%E7%BB%93%E7%AE%97-{month}.xlsx")


# -- schemes: list, edit with a what-if preview, save ----------------------------------------------------


class SchemeIn(BaseModel):
    file: str = Field(max_length=200)
    text: str = Field(max_length=200_000)
    month: str | None = Field(None, pattern=rf"^({months.PATTERN})?$")


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


def scheme_files(store: Store, user: User) -> list[dict[str, Any]]:
    """The scheme files the user may read (may_read_scheme), with their text and problems."""
    folder = Path(store.path) / SCHEMES_DIR
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        if not may_read_scheme(user, text):
            continue
        try:
            s = parse_scheme(text, f"{SCHEMES_DIR}/{path.name}")
            out.append(
                {
                    "file": path.name,
                    "name": s.name,
                    "effective_from": s.effective_from,
                    "text": text,
                    "problems": [],
                    "components": [c.name for c in s.components],
                }
            )
        except SchemeError as exc:
            out.append(
                {
                    "file": path.name,
                    "name": None,
                    "effective_from": None,
                    "text": text,
                    "problems": exc.problems,
                    "components": [],
                }
            )
    return out


def preview(store: Store, user: User, body: SchemeIn) -> dict[str, Any]:
    """The month under the saved schemes (A) and with this file's text replaced by the edited one (B); nothing saved."""
    pick_shop(user, None, store)
    file, month = _file(body.file), _month(body.month, store, user)
    if file in hidden_scheme_files(user, store):
        raise HTTPException(404, f"no scheme file {file!r} among the schemes of {', '.join(user.shops)}")
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
        return {"ok": False, "problems": scoped_problems(user, store, exc.problems), "file": file, "month": month}
    try:  # the saved set may itself be broken (the file being fixed): then compare with nothing
        saved = [s for s in parsed.values() if s is not None]
        a = compute(data, saved) if parsed and len(saved) == len(parsed) else None
    except (SchemeError, PayrollError):
        a = None
    a = _visible(user, store, a) if a else Payroll(month, ())
    b = _visible(user, store, b)
    rows = compare_mod.compare(a, b)
    return {
        "ok": True,
        "problems": [],
        "file": file,
        "month": month,
        "rows": rows,
        "summary": compare_mod.summary(rows),
        "scheme": {"name": edited.name, "effective_from": edited.effective_from},
    }


def _failed(exc: HTTPException | KefuError) -> dict[str, Any]:
    """A preview that could not be made (a month without data, a bad file name …): its problems, to show."""
    detail = problem(exc)[1]
    return {"ok": False, "problems": detail if isinstance(detail, list) else [detail]}


def save_scheme(store: Store, user: User, body: SchemeIn) -> dict[str, Any]:
    result = preview(store, user, body)
    if not result["ok"]:
        raise HTTPException(422, result["problems"])
    file = result["file"]
    folder = Path(store.path) / SCHEMES_DIR
    edited = parse_scheme(body.text, f"{SCHEMES_DIR}/{file}")
    if user.role != "admin":
        old = _parsed(store).get(file)
        for scheme in (edited, old):
            if scheme is not None and (
                not scheme.applies_to.shops or not set(scheme.applies_to.shops) <= set(user.shops)
            ):
                raise HTTPException(
                    403,
                    f"a manager saves schemes whose applies_to.shops lists only their shops ({', '.join(user.shops)})",
                )
    folder.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body.text)
    os.replace(tmp, folder / file)
    return result


#: A manager of no shop with data has nothing to pay (visible_shop: 404).
SCHEMES = [may("pay_schemes"), Depends(visible_shop)]


@router.get(
    "/api/pay/schemes",
    response_model=list[SchemeFile],
    dependencies=SCHEMES,
    tags=["pay"],
    summary="The scheme files of the workspace, with their text and problems",
)
def api_schemes(user: CurrentUser, store: StoreDep) -> list[dict]:
    return scheme_files(store, user)


@router.post(
    "/api/pay/schemes/preview",
    response_model=Preview,
    response_model_exclude_unset=True,
    dependencies=[may("pay_schemes")],
    tags=["pay"],
    summary="What-if: the month under an edited scheme vs the saved ones (nothing saved)",
)
def api_preview(request: Request, user: CurrentUser, store: StoreDep, body: SchemeIn) -> dict:
    log(request, "preview_scheme", body.file)
    return preview(store, user, body)


@router.post(
    "/api/pay/schemes",
    response_model=Preview,
    response_model_exclude_unset=True,
    dependencies=[may("pay_schemes_edit")],
    tags=["pay"],
    summary="Validate and save a scheme file (refused with every problem when wrong)",
)
def api_save(request: Request, user: CurrentUser, store: StoreDep, body: SchemeIn) -> dict:
    result = save_scheme(store, user, body)
    log(request, "edit_scheme", result["file"])
    return result


# the form fields of the editor, bounded like SchemeIn
FormFile = Annotated[str, Form(max_length=200)]
FormText = Annotated[str, Form(max_length=200_000)]
FormMonth = Annotated[str, Form(pattern=rf"^({months.PATTERN})?$")]


@router.get("/pay/schemes", include_in_schema=False, dependencies=SCHEMES)
def schemes_page(request: Request, user: CurrentUser, store: StoreDep, file: Text = None, month: Month = None):
    files = scheme_files(store, user)
    current = next((f for f in files if f["file"] == file), files[0] if files else None)
    return render(
        request,
        "pay_schemes.html",
        files=files,
        current=current,
        month=_month(month, store, user),
        page="pay",
        saved=request.query_params.get("saved"),
    )


@router.post("/pay/schemes/preview", include_in_schema=False, dependencies=[may("pay_schemes")])
def preview_fragment(
    request: Request, user: CurrentUser, store: StoreDep, file: FormFile, text: FormText, month: FormMonth = ""
):
    log(request, "preview_scheme", file)
    try:
        result = preview(store, user, SchemeIn(file=file, text=text, month=month or None))
    except FormError as exc:
        result = _failed(exc)
    return render(request, "pay_preview.html", r=result)


@router.post("/pay/schemes", include_in_schema=False, dependencies=[may("pay_schemes_edit")])
def save_form(
    request: Request, user: CurrentUser, store: StoreDep, file: FormFile, text: FormText, month: FormMonth = ""
):
    try:
        result = save_scheme(store, user, SchemeIn(file=file, text=text, month=month or None))
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        files = scheme_files(store, user)
        resp = render(
            request,
            "pay_schemes.html",
            files=files,
            current={"file": file, "text": text, "problems": exc.detail},
            month=_month(month or None, store, user),
            page="pay",
            saved=None,
        )
        resp.status_code = 422
        return resp
    log(request, "edit_scheme", result["file"])
    return RedirectResponse(f"/pay/schemes?file={result['file']}&month={result['month']}&saved=1", status_code=303)


# -- schemes by form (kefu.pay.scheme_form): the TOML the form writes goes through the same preview and save ----------


def _form_items(form) -> list[tuple[str, str]]:
    """The posted fields that are keys of the scheme (not the file, the month or the CSRF token)."""
    from kefu.pay.scheme_form import specs

    keys = {s.key for s in specs(Scheme)}
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k.split(".")[0] in keys]


def _choices(store: Store, user: User) -> dict[str, list[str]]:
    """Values offered as boxes to tick: agent roles, and the shops, teams and employers of the agents the user sees."""
    from kefu.schema import ROLES

    agents = store.agents()
    seen = [agents[a] for a in sorted(permissions.visible_agents(user, agents))]
    return {
        "applies_to.roles": [r for r in ROLES if r != "bot"],
        "applies_to.shops": visible_shops(user, store) if user.role != "admin" else sorted(set(store.shops())),
        "applies_to.teams": sorted({a["team"] for a in seen if a.get("team")}),
        "applies_to.employers": sorted({"in_house", *(a["employer"] for a in seen if a.get("employer"))}),
    }


def _header(store: Store, user: User, *files: str) -> str:
    """The comments at the top of the first of these files that exists and the user may read (kept on saving)."""
    from kefu.pay.scheme_form import leading_comments

    for name in files:
        path = Path(store.path) / SCHEMES_DIR / name if name and FILE_RE.fullmatch(name) else None
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8")
            return leading_comments(text) if may_read_scheme(user, text) else ""
    return ""


def _form_page(
    request: Request,
    store: Store,
    user: User,
    values: dict,
    *,
    file: str,
    month: str,
    problems=(),
    result=None,
    status: int = 200,
    saved: bool = False,
    from_file: str = "",
    toml_only=(),
):
    from kefu.pay.measures import MEASURES
    from kefu.pay.scheme_form import build_form

    form = build_form(values, problems, _choices(store, user))
    measures = [(m.key, m.zh, m.en) for m in MEASURES.values()]
    partial = request.headers.get("hx-request") == "true"
    resp = render(
        request,
        "pay_scheme_fields.html" if partial else "pay_scheme_form.html",
        form=form,
        file=file,
        from_file=from_file or file,
        month=month,
        r=result,
        measures=measures,
        saved=saved,
        page="pay",
        toml_only=list(toml_only),
    )
    resp.status_code = status
    return resp


@router.get("/pay/schemes/form", include_in_schema=False, dependencies=[may("pay_schemes")])
def scheme_form_page(request: Request, user: CurrentUser, store: StoreDep, file: Text = None, month: Month = None):
    """A scheme as a form; without `file`, a new scheme."""
    from kefu.pay.scheme_form import not_by_form, scheme_values

    pick_shop(user, None, store)
    month = _month(month, store, user)
    if not file:
        shops = ", ".join(user.shops) if user.role != "admin" else ""
        return _form_page(
            request, store, user, {"effective_from": month, "applies_to": {"shops": shops}}, file="", month=month
        )
    name = _file(file)
    path = Path(store.path) / SCHEMES_DIR / name
    if not path.is_file() or name in hidden_scheme_files(user, store):
        raise HTTPException(404, f"no scheme file {name!r} among the schemes of {', '.join(user.shops) or 'this user'}")
    try:
        scheme = parse_scheme(path.read_text(encoding="utf-8"), f"{SCHEMES_DIR}/{name}")
    except SchemeError as exc:  # the TOML editor shows and fixes it
        return _form_page(request, store, user, {}, file=name, month=month, toml_only=exc.problems)
    return _form_page(
        request,
        store,
        user,
        scheme_values(scheme),
        file=name,
        month=month,
        toml_only=not_by_form(scheme),
        saved=request.query_params.get("saved") == "1",
    )


async def _posted(request: Request, store: Store, user: User) -> tuple[SchemeIn, list[tuple[str, str]], str]:
    from kefu.pay.scheme_form import form_toml

    form = await request.form()
    file, month, from_file = (str(form.get(k) or "").strip() for k in ("file", "month", "from_file"))
    items = _form_items(form)
    text = form_toml(items, _header(store, user, file if file.endswith(".toml") else f"{file}.toml", from_file))
    try:
        body = SchemeIn(file=file, text=text, month=month if months.is_month(month) else None)
    except ValidationError as exc:  # a file name or a scheme too long
        raise HTTPException(422, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from None
    return body, items, from_file


@router.post("/pay/schemes/form/preview", include_in_schema=False, dependencies=[may("pay_schemes")])
async def scheme_form_preview(request: Request, user: CurrentUser, store: StoreDep):
    """The form again with each problem next to its input, or with the payroll preview (nothing saved)."""
    from kefu.pay.scheme_form import unflatten

    body, items, from_file = await _posted(request, store, user)
    log(request, "preview_scheme", body.file)
    try:
        result = preview(store, user, body)
    except FormError as exc:
        result = _failed(exc)
    month = body.month or _month(None, store, user)
    return _form_page(
        request,
        store,
        user,
        unflatten(items),
        file=body.file,
        month=month,
        from_file=from_file,
        problems=[] if result["ok"] else result["problems"],
        result=result if result["ok"] else None,
    )


@router.post("/pay/schemes/form", include_in_schema=False, dependencies=[may("pay_schemes_edit")])
async def scheme_form_save(request: Request, user: CurrentUser, store: StoreDep):
    """Save the form as the TOML editor saves (the same validation and permissions); 422 shows the form with its problems."""
    from kefu.pay.scheme_form import unflatten

    body, items, from_file = await _posted(request, store, user)
    try:
        result = save_scheme(store, user, body)
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        return _form_page(
            request,
            store,
            user,
            unflatten(items),
            file=body.file,
            month=body.month or _month(None, store, user),
            from_file=from_file,
            problems=exc.detail if isinstance(exc.detail, list) else [exc.detail],
            status=422,
        )
    log(request, "edit_scheme", result["file"])
    return RedirectResponse(
        f"/pay/schemes/form?file={quote(result['file'])}&month={result['month']}&saved=1", status_code=303
    )
