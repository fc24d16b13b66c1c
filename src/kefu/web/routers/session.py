"""Logging in and out (HTML form and JSON), changing one's own password, and the language switch."""

from __future__ import annotations

import math

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from kefu.i18n import LANGS
from kefu.users import PASSWORD_RULE, authenticate, change_own_password, needs_rehash, rehash
from kefu.web import permissions
from kefu.web.auth import SESSION_COOKIE, CurrentUser, session_csrf
from kefu.web.common import FormError, StoreDep, log, render, unprocessable
from kefu.web.schemas import Me, Ok, PasswordChanged

router = APIRouter()


def _login(request: Request, name: str, password: str):
    """The user, or raises 401 / 429 (throttled: too many failures for the name or from the address)."""
    state = request.app.state
    ip = request.client.host if request.client else "?"  # the connection's, or a trusted proxy's X-Forwarded-For
    wait = state.throttle.wait(name, ip)
    if wait:
        raise HTTPException(
            429,
            f"too many failed logins; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = state.store.read(lambda ws: authenticate(ws.con, name, password))
    if user is None:
        throttled = state.throttle.fail(name, ip)
        state.store.audit(name, "login_failed", "", ip)
        for what in throttled:  # admins see these on the Users page (audit log) and in GET /api/login-throttle
            state.store.audit(name, "login_throttled", what, ip)
        raise HTTPException(401, "wrong name or password")
    state.throttle.succeed(name)
    if state.store.read(lambda ws: needs_rehash(ws.con, name)):  # hashed with older Argon2 parameters
        state.store.write(lambda ws: rehash(ws.con, name, password))
    request.state.user = user
    log(request, "login")
    return user


def _set_session(request: Request, response, user, token: str | None = None) -> None:
    """Start a session (or use `token`, started with `_start_session`): its cookie, and its CSRF token as kefu_csrf."""
    token = token or _start_session(request, user)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=request.app.state.secure_cookies, max_age=12 * 3600
    )


def _start_session(request: Request, user) -> str:
    """A new session token; pages rendered from now on in this request carry its CSRF token."""
    token = request.app.state.sessions.create(user.name)
    session_csrf(request, token)
    return token


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/"):
    return render(request, "login.html", next=next, error=None)


@router.post("/login", include_in_schema=False)
def login_form(
    request: Request,
    name: str = Form(..., max_length=200),
    password: str = Form(..., max_length=1024),
    next: str = Form("/", max_length=2000),
):
    try:
        user = _login(request, name, password)
    except HTTPException as e:
        resp = render(
            request, "login.html", next=next, error="login_throttled" if e.status_code == 429 else "login_failed"
        )
        resp.status_code = e.status_code
        return resp
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    if target == "/":
        target = permissions.home_page(user)
    resp = RedirectResponse(target, status_code=303)
    _set_session(request, resp, user)
    return resp


@router.post("/logout", include_in_schema=False)
def logout(request: Request):
    request.app.state.sessions.end(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


class Credentials(BaseModel):
    name: str = Field(max_length=200)
    password: str = Field(max_length=1024)  # hashing is slow on purpose: no megabyte passwords


@router.post("/api/session", response_model=Me, tags=["session"], summary="Log in; sets the session cookie")
def api_login(request: Request, body: Credentials):
    user = _login(request, body.name, body.password)
    resp = JSONResponse(
        {
            "name": user.name,
            "role": user.role,
            "shops": list(user.shops),
            "agent": user.agent,
            "employer": user.employer,
        }
    )
    _set_session(request, resp, user)
    return resp


@router.delete("/api/session", response_model=Ok, tags=["session"], summary="Log out")
def api_logout(request: Request):
    request.app.state.sessions.end(request.cookies.get(SESSION_COOKIE))
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(request: Request, code: str, back: str = "/"):
    resp = RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)
    if code in LANGS:
        resp.set_cookie("kefu_lang", code, samesite="lax", max_age=365 * 86400)
    return resp


class PasswordChange(BaseModel):
    current_password: str
    new_password: str
    new_password_again: str


def _change_password(request: Request, user, store, current: str, new: str, again: str):
    """Change the logged-in user's password (UserError when refused); their other sessions end, this one goes on
    under a new token."""
    store.write(lambda ws: change_own_password(ws.con, user.name, current, new, again))
    log(request, "change_password", user.name)
    sessions = request.app.state.sessions
    sessions.end_user(user.name)
    return user


@router.post(
    "/api/me/password",
    response_model=PasswordChanged,
    tags=["session"],
    summary="Change one's own password (current + new twice); other sessions end",
)
def api_change_password(request: Request, user: CurrentUser, store: StoreDep, body: PasswordChange):
    _change_password(request, user, store, body.current_password, body.new_password, body.new_password_again)
    resp = JSONResponse({"ok": True, "rule": PASSWORD_RULE})
    _set_session(request, resp, user)
    return resp


@router.get("/account/password", include_in_schema=False)
def password_page(request: Request, user: CurrentUser):
    return render(request, "password.html", errors=[], done=False, rule=PASSWORD_RULE, page="password")


@router.post("/account/password", include_in_schema=False)
def password_form(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    current_password: str = Form(...),
    new_password: str = Form(...),
    new_password_again: str = Form(...),
):
    try:
        _change_password(request, user, store, current_password, new_password, new_password_again)
    except FormError as e:
        resp = render(
            request,
            "password.html",
            errors=str(unprocessable(e)).split("; "),
            done=False,
            rule=PASSWORD_RULE,
            page="password",
        )
        resp.status_code = 422
        return resp
    token = _start_session(request, user)  # before rendering: the page's forms carry the new session's CSRF token
    resp = render(request, "password.html", errors=[], done=True, rule=PASSWORD_RULE, page="password")
    _set_session(request, resp, user, token)
    return resp
