"""User management (admin): list, create, change role and shops, reset passwords, disable / enable; the audit log;
the shop setting that hides names in agents' ranking. Every change is validated against the workspace and audited."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from kefu.users import (
    PASSWORD_RULE,
    ROLES,
    User,
    UserError,
    add_user,
    audit_log,
    find_user,
    hide_names,
    list_users,
    scope_problems,
    set_disabled,
    set_hide_names,
    set_password,
    update_user,
)
from kefu.web.auth import CurrentUser
from kefu.web.common import Limit, Name, StoreDep, log, render
from kefu.web.permissions import may
from kefu.web.schemas import AuditRow, Me, NewPassword, Throttled, UserRow
from kefu.web.store import Store
from kefu.workspace import Workspace

router = APIRouter()
# User names may contain "/": routes take {name:path} (the action, when there is one, is the last segment).


class UserIn(BaseModel):
    name: str
    role: str
    shops: list[str] = []
    agent: str | None = None
    employer: str | None = None
    password: str | None = None


class UserChange(BaseModel):
    role: str | None = None
    shops: list[str] | None = None
    agent: str | None = None
    employer: str | None = None
    disabled: bool | None = None


# -- the operations, shared by the JSON API and the page's forms --------------------------------


def _check_scope(store: Store, user: User | UserIn) -> None:
    agent = user.agent
    if agent and ":" not in agent and user.shops:
        agent = f"{user.shops[0]}:{agent}"
    problems = scope_problems(
        role=user.role, shops=list(user.shops), agent=agent, employer=user.employer, roster=store.agents()
    )
    if problems:
        raise UserError("; ".join(problems))


def create(request: Request, store: Store, body: UserIn) -> str:
    if body.role in ROLES:
        _check_scope(store, body)
    password = store.write(lambda ws: add_user(ws.con, **body.model_dump(), replace=False))
    log(request, "add_user", f"{body.name} ({body.role})")
    return password


def change(request: Request, store: Store, admin: User, name: str, body: UserChange) -> User:
    """Apply a change to a user after checking it against the workspace; the user's sessions end when disabled."""
    current = store.read(lambda ws: find_user(ws.con, name))
    if current is None:
        raise HTTPException(404, f"no user {name!r}")
    if body.disabled and name == admin.name:
        raise UserError("you cannot disable yourself")
    scope = body.model_dump(include={"role", "shops", "agent", "employer"}, exclude_none=True)
    if scope:
        role = body.role or current.role
        proposed = UserIn(
            name=name,
            role=role,
            shops=current.shops if body.shops is None else body.shops,
            agent=body.agent if body.agent is not None else (current.agent if role == "agent" else None),
            employer=body.employer if body.employer is not None else (current.employer if role == "vendor" else None),
        )
        if role in ROLES:
            _check_scope(store, proposed)

    def apply(ws: Workspace) -> User:
        con = ws.con
        if scope:
            update_user(con, name, **scope)
        if body.disabled is not None:
            set_disabled(con, name, body.disabled)
        updated = find_user(con, name)
        assert updated is not None  # it exists (checked above) and is never deleted
        return updated

    found = store.write(apply)
    if found.disabled:
        request.app.state.sessions.end_user(name)
    actions: dict[bool | None, str] = {True: "disable_user", False: "enable_user"}
    action = actions.get(body.disabled, "edit_user")
    log(request, action, f"{name}: " + ", ".join(f"{k}={v}" for k, v in body.model_dump(exclude_none=True).items()))
    return found


def reset(request: Request, store: Store, name: str) -> str:
    if store.read(lambda ws: find_user(ws.con, name)) is None:
        raise HTTPException(404, f"no user {name!r}")
    password = store.write(lambda ws: set_password(ws.con, name))
    request.app.state.sessions.end_user(name)
    log(request, "reset_password", name)
    return password


# -- JSON ----------------------------------------------------------------------------------


@router.get("/api/me", response_model=Me, tags=["users"], summary="The logged-in user")
def api_me(user: CurrentUser) -> dict:
    return {
        "name": user.name,
        "role": user.role,
        "shops": list(user.shops),
        "agent": user.agent,
        "employer": user.employer,
    }


@router.get(
    "/api/users",
    response_model=list[UserRow],
    dependencies=[may("users")],
    tags=["users"],
    summary="Every user, enabled or not (admin)",
)
def api_users(store: StoreDep) -> list[dict]:
    return [u.as_json() for u in store.read(lambda ws: list_users(ws.con, include_disabled=True))]


@router.post(
    "/api/users",
    response_model=NewPassword,
    dependencies=[may("users")],
    tags=["users"],
    summary="Create a user (admin); returns the password, shown this once",
)
def api_add_user(request: Request, store: StoreDep, body: UserIn) -> dict:
    if store.read(lambda ws: find_user(ws.con, body.name)):
        raise HTTPException(409, f"user {body.name!r} exists already: change it with PATCH /api/users/{body.name}")
    return {"name": body.name, "password": create(request, store, body)}


@router.patch(
    "/api/users/{name:path}",
    response_model=UserRow,
    dependencies=[may("users")],
    tags=["users"],
    summary="Change a user's role, shops, agent, employer, or disable / enable (admin)",
)
def api_change_user(request: Request, user: CurrentUser, store: StoreDep, name: Name, body: UserChange) -> dict:
    return change(request, store, user, name, body).as_json()


@router.post(
    "/api/users/{name:path}/password",
    response_model=NewPassword,
    dependencies=[may("users")],
    tags=["users"],
    summary="Reset a user's password (admin): a new generated one, shown this once",
)
def api_reset_password(request: Request, store: StoreDep, name: Name) -> dict:
    return {"name": name, "password": reset(request, store, name)}


@router.get(
    "/api/audit",
    response_model=list[AuditRow],
    dependencies=[may("audit")],
    tags=["users"],
    summary="Who viewed or exported what (admin)",
)
def api_audit(store: StoreDep, limit: Limit = 200) -> list[dict]:
    _flush(store)
    return store.read(lambda ws: audit_log(ws.con, limit))


@router.get(
    "/api/login-throttle",
    response_model=list[Throttled],
    dependencies=[may("audit")],
    tags=["users"],
    summary="Account names and client addresses whose logins are slowed down now (admin)",
)
def api_login_throttle(request: Request) -> list[dict]:
    return request.app.state.throttle.delayed()


def _flush(store: Store) -> None:
    with contextlib.suppress(Exception):  # the file is busy: the rows are kept and show up a moment later
        store.flush_audit()


# -- the page ---------------------------------------------------------------------------------


def _page(
    request: Request,
    store: Store,
    *,
    errors: Sequence[str] = (),
    shown: tuple[str, str] | None = None,
    status: int = 200,
):
    shops = store.shops()
    _flush(store)
    agents = store.agents()
    employers = sorted({a["employer"] for a in agents.values() if a["employer"] != "in_house"})
    resp = render(
        request,
        "users.html",
        users=store.read(lambda ws: list_users(ws.con, include_disabled=True)),
        audit=store.read(lambda ws: audit_log(ws.con, 100)),
        shops=shops,
        settings=store.read(lambda ws: {s: hide_names(ws.con, s) for s in shops}),
        roles=list(ROLES),
        agents=[agents[a] for a in sorted(agents)],
        employers=employers,
        errors=list(errors),
        shown=shown,
        rule=PASSWORD_RULE,
        page="users",
    )
    resp.status_code = status
    return resp


@router.get("/users", include_in_schema=False, dependencies=[may("users")])
def users_page(request: Request, store: StoreDep):
    return _page(request, store)


Shops = Annotated[list[str], Form()]


def _form_scope(role: str, shops: list[str], agent: str, employer: str) -> dict:
    """The form shows every field; keep the ones the chosen role uses."""
    return {
        "role": role,
        "shops": [] if role == "admin" else shops,
        "agent": (agent or None) if role == "agent" else "",
        "employer": (employer or None) if role == "vendor" else "",
    }


@router.post("/users", include_in_schema=False, dependencies=[may("users")])
def users_create(
    request: Request,
    store: StoreDep,
    name: str = Form(...),
    role: str = Form(...),
    shops: Shops = [],  # noqa: B006 (FastAPI hands each request a copy of the default)
    agent: str = Form(""),
    employer: str = Form(""),
):
    body = UserIn(name=name.strip(), **_form_scope(role, shops, agent, employer))
    if store.read(lambda ws: find_user(ws.con, body.name)):
        return _page(request, store, errors=[f"user {body.name!r} exists already"], status=409)
    try:
        password = create(request, store, body)
    except UserError as e:
        return _page(request, store, errors=str(e).split("; "), status=422)
    return _page(request, store, shown=(body.name, password))


@router.post("/users/{name:path}/edit", include_in_schema=False, dependencies=[may("users")])
def users_edit(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    name: Name,
    role: str = Form(...),
    shops: Shops = [],  # noqa: B006 (FastAPI hands each request a copy of the default)
    agent: str = Form(""),
    employer: str = Form(""),
):
    try:
        change(request, store, user, name, UserChange(**_form_scope(role, shops, agent, employer)))
    except UserError as e:
        return _page(request, store, errors=str(e).split("; "), status=422)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name:path}/password", include_in_schema=False, dependencies=[may("users")])
def users_reset(request: Request, store: StoreDep, name: Name):
    return _page(request, store, shown=(name, reset(request, store, name)))


@router.post("/users/{name:path}/disable", include_in_schema=False, dependencies=[may("users")])
def users_disable(request: Request, user: CurrentUser, store: StoreDep, name: Name):
    return _toggle(request, user, store, name, True)


@router.post("/users/{name:path}/enable", include_in_schema=False, dependencies=[may("users")])
def users_enable(request: Request, user: CurrentUser, store: StoreDep, name: Name):
    return _toggle(request, user, store, name, False)


def _toggle(request: Request, user: User, store: Store, name: str, disabled: bool):
    try:
        change(request, store, user, name, UserChange(disabled=disabled))
    except UserError as e:
        return _page(request, store, errors=[str(e)], status=422)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/settings", include_in_schema=False, dependencies=[may("users")])
def users_settings(request: Request, store: StoreDep, shop: str = Form(...), hide: bool = Form(False)):
    store.write(lambda ws: set_hide_names(ws.con, shop, hide))
    log(request, "shop_setting", f"{shop} hide_names={hide}")
    return RedirectResponse("/users", status_code=303)
