"""The application factory: `create_app(workspace)` wires the store, sessions and routers."""

from __future__ import annotations

import contextlib
import secrets
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from kefu.errors import KefuError
from kefu.web.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    NotAuthenticated,
    Sessions,
    csrf_protect,
    current_user,
)
from kefu.web.routers import agents, chats, heatmap, leaderboard, losses, overview, reports, session, targets, users
from kefu.web.routers import pay as pay_router
from kefu.web.routers import qc as qc_router
from kefu.web.schemas import Health
from kefu.web.store import Store
from kefu.workspace import WorkspaceBusy

STATIC = Path(__file__).parent / "static"
VENDOR_FILES = ("htmx.min.js", "echarts.min.js")

#: Scripts only from /static (and inline ones carrying the page's nonce); inline style attributes are allowed
#: (the bars and chart heights are set that way, and htmx adds its indicator style).
CSP = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: /docs and /redoc load Swagger UI and ReDoc from their CDN (FastAPI's pages) with an inline start-up script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; object-src 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def missing_assets() -> list[str]:
    """Front-end libraries not yet copied into static/vendor (`make assets` does it)."""
    return [f for f in VENDOR_FILES if not (STATIC / "vendor" / f).exists()]


class CsrfCookieAndHeaders:
    """Sets the CSRF cookie when the request's token differs from the cookie's (a new visitor, a new session),
    and the security headers.

    Plain ASGI: `@app.middleware("http")` wraps every response in a stream and a task, which cost more than
    many of the pages themselves under load.
    """

    def __init__(self, app, *, secure: bool) -> None:
        self.app, self.secure = app, secure

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                state = scope.get("state", {})
                new = state.get("new_csrf")
                if new and Request(scope).cookies.get(CSRF_COOKIE) != new:
                    cookie = Response()
                    cookie.set_cookie(CSRF_COOKIE, new, samesite="lax", secure=self.secure, httponly=False)
                    headers.append("set-cookie", cookie.headers["set-cookie"])
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                nonce = state.get("csp_nonce")
                policy = (
                    DOCS_CSP if scope["path"] in DOCS_PATHS else CSP.format(nonce=f" 'nonce-{nonce}'" if nonce else "")
                )
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    workspace: Path,
    *,
    secure_cookies: bool = True,
    warm: bool = True,
    check_every: float = 2.0,
    write_wait: float = 15.0,
) -> FastAPI:
    """The app over an in-memory snapshot of `workspace` (kefu.web.store): re-read when the file changes
    (checked every `check_every` seconds); writes wait up to `write_wait` seconds for the file, then answer 503.
    `[web] api_docs` of kefu.toml (read once, here) decides who may read /docs, /redoc and /openapi.json."""
    store = Store(Path(workspace), check_every=check_every, write_wait=write_wait)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        store.close()

    app = FastAPI(
        title="kefu 客服绩效",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        description="JSON API of kefu's web app. Every page has a JSON twin under /api; "
        "log in with POST /api/session, send the kefu_csrf cookie's value as X-CSRF-Token on writes.",
    )
    app.state.store = store
    app.state.sessions = Sessions()
    app.state.throttle = LoginThrottle()
    app.state.csrf_secret = secrets.token_bytes(32)  # binds CSRF tokens to sessions; both end with the process
    app.state.secure_cookies = secure_cookies
    if warm:
        store.warm()
        threading.Thread(target=store.warm_details, name="kefu-warm", daemon=True).start()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        session,
        overview,
        leaderboard,
        agents,
        chats,
        heatmap,
        losses,
        reports,
        targets,
        users,
        qc_router,
        pay_router,
    ):
        app.include_router(module.router)
    _api_docs(app, store.config.web.api_docs)

    @app.get(
        "/api/health",
        response_model=Health,
        response_model_exclude_unset=True,
        tags=["session"],
        summary="Liveness; signed-in users also see the warm-up, reloads and imports",
    )
    def health(request: Request) -> dict:
        found = app.state.sessions.find(request.cookies.get(SESSION_COOKIE))
        if not found or store.user(found[0]) is None:
            return {"status": "ok"}  # anonymous callers learn nothing about the data
        imports, last_id, last_at = store.snapshot_ledger
        return {
            "status": "ok",
            "warm": store.ready.is_set(),
            "reloads": store.reloads,
            "imports": {
                "files": imports,
                "last_import_id": last_id,
                "last_imported_at": last_at.isoformat() if last_at else None,
            },
        }

    @app.exception_handler(WorkspaceBusy)
    async def workspace_busy(request: Request, exc: WorkspaceBusy):
        # An import holds kefu.duckdb longer than the server waits: nothing was saved; the user may retry.
        detail = f"not saved: the workspace is busy (an import is running?); try again in a moment ({exc})"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})

    app.add_middleware(CsrfCookieAndHeaders, secure=secure_cookies)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated):
        if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
            return JSONResponse({"detail": "log in first (POST /api/session)"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    # Starlette's class: the routing's own 404 / 405 are raised as it, FastAPI's HTTPException is a subclass.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not _wants_page(request, exc.status_code):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        from kefu.web.common import render

        _find_user(request)
        response = render(request, "error.html", status=exc.status_code, detail=exc.detail)
        response.status_code = exc.status_code
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(KefuError)
    async def domain_error(request: Request, exc: KefuError):
        # A domain error no router turned into an answer (bad input the edge let through): its own words, a 4xx.
        return await http_error(request, HTTPException(exc.status, exc.detail()))

    return app


def _wants_page(request: Request, status: int) -> bool:
    """An error is a page for browsers (they ask for text/html) and, as always, for 403 / 404 of the pages;
    the API and its schema answer JSON, a missing static file a bare 404."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path == "/openapi.json":
        return False
    return status in (403, 404) or "text/html" in request.headers.get("accept", "")


def _find_user(request: Request) -> None:
    """The signed-in user, for the page's header, when no route looked them up (an unknown URL, a wrong method)."""
    if getattr(request.state, "user", None) is None:
        with contextlib.suppress(NotAuthenticated):
            current_user(request)


def _api_docs(app: FastAPI, who: str) -> None:
    """/openapi.json, /docs and /redoc for `who`: nobody ("off"), signed-in users ("signed_in") or everyone ("public")."""
    if who == "off":
        return
    guard = [] if who == "public" else [Depends(current_user)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=guard)
    def swagger():
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} — API")

    @app.get("/redoc", include_in_schema=False, dependencies=guard)
    def redoc():
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} — API")
