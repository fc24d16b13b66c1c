"""Users and the audit log (admin only), and the shop setting that hides names in agents' ranking."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from kefu.users import UserError, add_user, audit_log, hide_names, list_users, set_hide_names
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import StoreDep, log, render

router = APIRouter()


class UserIn(BaseModel):
    name: str
    role: str
    shops: list[str] = []
    agent: str | None = None
    employer: str | None = None
    password: str | None = None


@router.get("/api/me", tags=["users"], summary="The logged-in user")
def api_me(user: CurrentUser) -> dict:
    return {"name": user.name, "role": user.role, "shops": list(user.shops), "agent": user.agent, "employer": user.employer}


@router.get("/api/users", tags=["users"], summary="Every user (admin)")
def api_users(user: CurrentUser, store: StoreDep) -> list[dict]:
    permissions.require(user, "users")
    return [u.__dict__ | {"shops": list(u.shops)} for u in store.con_read(list_users)]


@router.post("/api/users", tags=["users"], summary="Create or replace a user (admin); returns the password")
def api_add_user(request: Request, user: CurrentUser, store: StoreDep, body: UserIn) -> dict:
    permissions.require(user, "users")
    try:
        password = store.write(lambda con: add_user(con, **body.model_dump()))
        store.forget_users()
    except UserError as e:
        raise HTTPException(422, str(e)) from None
    log(request, "add_user", f"{body.name} ({body.role})")
    return {"name": body.name, "password": password}


@router.get("/api/audit", tags=["users"], summary="Who viewed or exported what (admin)")
def api_audit(user: CurrentUser, store: StoreDep, limit: int = 200) -> list[dict]:
    permissions.require(user, "audit")
    store.flush_audit()
    return store.con_read(lambda c: audit_log(c, limit))


@router.get("/users", include_in_schema=False)
def users_page(request: Request, user: CurrentUser, store: StoreDep):
    permissions.require(user, "users")
    shops = store.shops()
    store.flush_audit()
    settings = {s: store.con_read(lambda c: hide_names(c, s)) for s in shops}
    return render(request, "users.html", users=store.con_read(list_users), audit=store.con_read(lambda c: audit_log(c, 100)),
                  shops=shops, settings=settings, page="users")


@router.post("/users/settings", include_in_schema=False)
def users_settings(request: Request, user: CurrentUser, store: StoreDep, shop: str = Form(...), hide: bool = Form(False)):
    permissions.require(user, "users")
    store.write(lambda con: set_hide_names(con, shop, hide))
    log(request, "shop_setting", f"{shop} hide_names={hide}")
    return RedirectResponse("/users", status_code=303)
