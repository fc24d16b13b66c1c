"""The application factory: `create_app(workspace)` wires the store, sessions and routers."""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from kefu.web.auth import CSRF_COOKIE, NotAuthenticated, Sessions, Throttle, csrf_protect
from kefu.web.routers import agents, chats, heatmap, leaderboard, losses, overview, reports, session, targets, users
from kefu.web.store import Store

STATIC = Path(__file__).parent / "static"
VENDOR_FILES = ("htmx.min.js", "echarts.min.js")


def missing_assets() -> list[str]:
    """Front-end libraries not yet copied into static/vendor (`make assets` does it)."""
    return [f for f in VENDOR_FILES if not (STATIC / "vendor" / f).exists()]


def create_app(workspace: Path, *, secure_cookies: bool = True, warm: bool = True) -> FastAPI:
    store = Store(Path(workspace))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        store.close()

    app = FastAPI(title="kefu 客服绩效", version="0.1.0", lifespan=lifespan, dependencies=[Depends(csrf_protect)],
                  description="JSON API of kefu's web app. Every page has a JSON twin under /api; "
                              "log in with POST /api/session, send the kefu_csrf cookie's value as X-CSRF-Token on writes.")
    app.state.store = store
    app.state.sessions = Sessions()
    app.state.throttle = Throttle()
    app.state.secure_cookies = secure_cookies
    if warm:
        store.warm()
        threading.Thread(target=store.warm_details, name="kefu-warm", daemon=True).start()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (session, overview, leaderboard, agents, chats, heatmap, losses, reports, targets, users):
        app.include_router(module.router)

    @app.get("/api/health", tags=["session"], summary="Liveness, and whether the start-up warm-up of the latest day is done")
    def health() -> dict:
        return {"ok": True, "warm": store.ready.is_set()}

    @app.middleware("http")
    async def set_csrf_cookie(request: Request, call_next):
        response = await call_next(request)
        new = getattr(request.state, "new_csrf", None)
        if new and not request.cookies.get(CSRF_COOKIE):
            response.set_cookie(CSRF_COOKIE, new, samesite="lax", secure=secure_cookies, httponly=False)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first (POST /api/session)"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/") or exc.status_code not in (403, 404):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        from kefu.web.common import render

        response = render(request, "error.html", status=exc.status_code, detail=exc.detail)
        response.status_code = exc.status_code
        return response

    return app
