"""Monthly targets (月度目标): list, edit in the UI, import CSV/XLSX; every row validated."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from kefu import targets as targets_mod
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import FormError, Month, StoreDep, Text, log, render, unprocessable, user_day, visible_shops
from kefu.web.permissions import may
from kefu.web.schemas import Saved, TargetRow

router = APIRouter()


class TargetIn(BaseModel):
    month: str
    shop: str
    scope: str
    subject: str
    metric: str
    value: str | float


def _agents(user: User, store) -> list[dict]:
    agents = store.agents()
    return [agents[a] for a in sorted(permissions.visible_agents(user, agents))]


def _check_shops(user: User, found: list[targets_mod.Target]) -> None:
    for t in found:
        permissions.require_shop(user, t.shop)


def _save(request: Request, user: User, rows: list[dict], source: str) -> list[targets_mod.Target]:
    store = request.app.state.store
    # shops, teams and accounts are checked against the workspace's roster (TargetError: 422 with every problem)
    found = targets_mod.parse_rows([{k: str(v) for k, v in r.items()} for r in rows], source, store.agents())
    _check_shops(user, found)
    store.write(lambda ws: targets_mod.save(ws.con, found))
    store.targets_version += 1
    log(request, "edit_targets", f"{len(found)} from {source}")
    return found


@router.get(
    "/api/targets",
    response_model=list[TargetRow],
    dependencies=[may("targets")],
    tags=["targets"],
    summary="Monthly targets of the user's shops",
)
def api_targets(user: CurrentUser, store: StoreDep, month: Month = None) -> list[dict]:
    shops = None if user.role == "admin" else list(user.shops)
    return [t.__dict__ for t in store.read(lambda ws: targets_mod.load(ws.con, month, shops))]


@router.post(
    "/api/targets",
    response_model=Saved,
    dependencies=[may("targets_edit")],
    tags=["targets"],
    summary="Create or replace targets (validated; none saved if one is wrong)",
)
def api_set_targets(request: Request, user: CurrentUser, body: list[TargetIn]) -> dict:
    found = _save(request, user, [b.model_dump() for b in body], "request")
    return {"saved": len(found)}


@router.get("/targets", include_in_schema=False, dependencies=[may("targets")])
def targets_page(request: Request, user: CurrentUser, store: StoreDep, month: Month = None, error: Text = None):
    month = month or user_day(None, store, user).strftime("%Y-%m")
    shops = None if user.role == "admin" else list(user.shops)
    rows = store.read(lambda ws: targets_mod.load(ws.con, month, shops))
    return render(
        request,
        "targets.html",
        month=month,
        rows=rows,
        shops=visible_shops(user, store),
        agents=_agents(user, store),
        errors=[],
        page="targets",
    )


@router.post("/targets", include_in_schema=False, dependencies=[may("targets_edit")])
async def targets_form(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    month: str = Form(...),
    shop: str = Form(...),
    scope: str = Form(...),
    subject: str = Form(""),
    metric: str = Form(...),
    value: str = Form(...),
):
    try:
        _save(
            request,
            user,
            [
                {
                    "month": month,
                    "shop": shop,
                    "scope": scope,
                    "subject": subject or shop,
                    "metric": metric,
                    "value": value,
                }
            ],
            "form",
        )
    except FormError as e:
        return _page_with_errors(request, user, store, month, unprocessable(e))
    return RedirectResponse(f"/targets?month={month}", status_code=303)


@router.post("/targets/import", include_in_schema=False, dependencies=[may("targets_edit")])
async def targets_import(request: Request, user: CurrentUser, store: StoreDep, file: UploadFile = File(...)):
    suffix = Path(file.filename or "targets.csv").suffix or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(await file.read())
        try:
            rows = targets_mod.read_rows(path)
            found = _save(request, user, rows, file.filename or "upload")
        except FormError as e:
            problems = unprocessable(e)
            return _page_with_errors(request, user, store, user_day(None, store, user).strftime("%Y-%m"), problems)
        except Exception as e:  # unreadable file
            return _page_with_errors(
                request, user, store, user_day(None, store, user).strftime("%Y-%m"), [f"{file.filename}: {e}"]
            )
    month = found[0].month if found else dt.date.today().strftime("%Y-%m")
    return RedirectResponse(f"/targets?month={month}", status_code=303)


def _page_with_errors(request, user, store, month, problems):
    shops = None if user.role == "admin" else list(user.shops)
    resp = render(
        request,
        "targets.html",
        month=month,
        rows=store.read(lambda ws: targets_mod.load(ws.con, month, shops)),
        shops=visible_shops(user, store),
        agents=_agents(user, store),
        errors=problems if isinstance(problems, list) else [problems],
        page="targets",
    )
    resp.status_code = 422
    return resp
