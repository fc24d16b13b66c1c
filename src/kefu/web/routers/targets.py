"""Monthly targets (月度目标): list, edit in the UI, import CSV/XLSX; every row validated."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from kefu import targets as targets_mod
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import Month, StoreDep, Text, log, render, user_day, visible_shops

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
    try:  # shops, teams and accounts are checked against the workspace's roster
        found = targets_mod.parse_rows([{k: str(v) for k, v in r.items()} for r in rows], source, store.agents())
    except targets_mod.TargetError as e:
        raise HTTPException(422, e.problems) from None
    _check_shops(user, found)
    store.write(lambda con: targets_mod.save(con, found))
    store.targets_version += 1
    log(request, "edit_targets", f"{len(found)} from {source}")
    return found


@router.get("/api/targets", tags=["targets"], summary="Monthly targets of the user's shops")
def api_targets(user: CurrentUser, store: StoreDep, month: Month = None) -> list[dict]:
    permissions.require(user, "targets")
    shops = None if user.role == "admin" else list(user.shops)
    return [t.__dict__ for t in store.con_read(lambda c: targets_mod.load(c, month, shops))]


@router.post(
    "/api/targets", tags=["targets"], summary="Create or replace targets (validated; none saved if one is wrong)"
)
def api_set_targets(request: Request, user: CurrentUser, body: list[TargetIn]) -> dict:
    permissions.require(user, "targets_edit")
    found = _save(request, user, [b.model_dump() for b in body], "request")
    return {"saved": len(found)}


@router.get("/targets", include_in_schema=False)
def targets_page(request: Request, user: CurrentUser, store: StoreDep, month: Month = None, error: Text = None):
    permissions.require(user, "targets")
    month = month or user_day(None, store, user).strftime("%Y-%m")
    shops = None if user.role == "admin" else list(user.shops)
    rows = store.con_read(lambda c: targets_mod.load(c, month, shops))
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


@router.post("/targets", include_in_schema=False)
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
    permissions.require(user, "targets_edit")
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
    except HTTPException as e:
        if e.status_code != 422:
            raise
        return _page_with_errors(request, user, store, month, e.detail)
    return RedirectResponse(f"/targets?month={month}", status_code=303)


@router.post("/targets/import", include_in_schema=False)
async def targets_import(request: Request, user: CurrentUser, store: StoreDep, file: UploadFile = File(...)):
    permissions.require(user, "targets_edit")
    suffix = Path(file.filename or "targets.csv").suffix or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(await file.read())
        try:
            rows = targets_mod.read_rows(path)
            found = _save(request, user, rows, file.filename or "upload")
        except HTTPException as e:
            if e.status_code != 422:
                raise
            return _page_with_errors(request, user, store, user_day(None, store, user).strftime("%Y-%m"), e.detail)
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
        rows=store.con_read(lambda c: targets_mod.load(c, month, shops)),
        shops=visible_shops(user, store),
        agents=_agents(user, store),
        errors=problems if isinstance(problems, list) else [problems],
        page="targets",
    )
    resp.status_code = 422
    return resp
