"""What every router shares: the store dependency, the agent and shop of a request, page rendering, dates, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment
from markupsafe import Markup, escape
from pydantic_core import to_json
from starlette.convertors import Convertor, register_url_convertor

from kefu import api
from kefu.errors import KefuError
from kefu.i18n import LANGS, translator
from kefu.metrics.registry import AGENT_METRICS, BY_KEY, METRICS
from kefu.month import PATTERN as MONTH_PATTERN
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import CurrentUser, csrf_token
from kefu.web.formatting import definition, fmt, fmt_delta, label, tone
from kefu.web.store import Store

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # templates ship with the package: no stat() of every template on every page


@lru_cache(maxsize=8192)
def _quote(s: str) -> str:
    return quote(s, safe="")


templates.env.filters["q"] = lambda s: _quote(str(s))
templates.env.globals["home_page"] = permissions.home_page


def _getattr(obj, attribute):
    """`x.key` on the dicts pages are made of: item first (Jinja's default tries getattr first and pays an exception)."""
    if type(obj) is dict and attribute in obj:
        return obj[attribute]
    return Environment.getattr(templates.env, obj, attribute)


templates.env.getattr = _getattr  # type: ignore[method-assign]  # Jinja reads attributes through this hook

# Cached pages are rendered with these marks in place of the per-request CSRF token, CSP nonce and the user's name.
# Each contains "<", which autoescaping (&lt;) and |tojson (\u003c) always rewrite: data can never form a mark.
_CSRF_MARK, _NAME_MARK, _NONCE_MARK = (Markup(f"<kefu-{k}-mark>") for k in ("csrf", "name", "nonce"))


# -- input validated at the edge: every query parameter has a type and bounds (a bad one is a 422, never a 500) --

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (a NUL reaches no SQL)
Shop = Annotated[str | None, Query(max_length=200, pattern=_PRINTABLE, description="a shop of the workspace")]
Text = Annotated[str | None, Query(max_length=200, pattern=_PRINTABLE)]
Day = Annotated[
    str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="YYYY-MM-DD (default: the latest day with data)")
]
Month = Annotated[  # kefu.month's pattern: a month the query lets through is one Month.parse reads
    str | None, Query(pattern=rf"^({MONTH_PATTERN})?$", description="YYYY-MM (default: the month of the latest day)")
]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Page = Annotated[int, Query(ge=1, le=100_000)]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1)]
#: Path parameters naming an agent or a buyer may contain "/" (routes use {agent:path}, {buyer:path}).
Name = Annotated[str, PathParam(max_length=200, pattern=_PRINTABLE)]
PathDay = Annotated[str, PathParam(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")]


class DayConvertor(Convertor):
    """`{day:day}` in a route: YYYY-MM-DD, so `{agent:path}/{day:day}/{buyer:path}` splits names containing "/"."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("day", DayConvertor())  # before the routers define their routes


def lang_of(request: Request) -> str:
    """The page's language: ?lang=, then the kefu_lang cookie, then Chinese."""
    lang = request.query_params.get("lang") or request.cookies.get("kefu_lang") or "zh"
    return lang if lang in LANGS else "zh"


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def visible_agent(user: CurrentUser, store: StoreDep, agent: Name) -> str:
    """The `{agent}` of the path: 404 when unknown, 403 when the user may not see them."""
    permissions.require_agent(user, agent, store.agents())
    return agent


def visible_shop(user: CurrentUser, store: StoreDep, shop: Shop = None) -> str:
    """The `shop` of the query (403 when not the user's, 404 when it has no data), or the user's first with data."""
    return pick_shop(user, shop, store)


#: Route parameters checked against the user's scope (after the route's `may(action)` dependencies).
VisibleAgent = Annotated[str, Depends(visible_agent)]
VisibleShop = Annotated[str, Depends(visible_shop)]

#: What a form catches to show the problem on the page again: an HTTP error of the edge or a domain error.
FormError = (HTTPException, KefuError)


def problem(exc: HTTPException | KefuError) -> tuple[int, str | list[str]]:
    """The status and detail the app answers an HTTP or a domain error with (kefu.web.app)."""
    return (exc.status, exc.detail()) if isinstance(exc, KefuError) else (exc.status_code, exc.detail)


def unprocessable(exc: HTTPException | KefuError) -> str | list[str]:
    """The detail of a 422 (bad input: an HTTP error of the edge or a domain error) that a form shows on the page
    again; any other error (403, 404, a busy workspace's 503 …) goes on to the app's handlers."""
    status, detail = problem(exc)
    if status != 422:
        raise exc
    return detail


def _context(request: Request, ctx: dict, user: User | None, csrf: str, nonce: str) -> dict:
    lang = lang_of(request)
    return ctx | dict(
        request=request,
        lang=lang,
        t=translator(lang),
        user=user,
        csrf=csrf,
        csp_nonce=nonce,
        fmt=lambda k, v: fmt(k, v, lang),
        fmt_delta=lambda k, v: fmt_delta(k, v, lang),
        tone=tone,
        label=lambda k: label(k, lang),
        definition=lambda k: definition(k, lang),
        can=(lambda action: permissions.allowed(user, action)) if user else (lambda a: False),
        BY_KEY=BY_KEY,
        METRICS=METRICS,
        AGENT_METRICS=AGENT_METRICS,
    )


def render(request: Request, name: str, *, cached: bool = False, **ctx) -> Response:
    """A page. With `cached`, for pages that depend only on the URL, the user's role and scope, the language and
    the store's data: the HTML is kept until the data changes (Store.cached) and reused for everyone with that
    role and scope (the CSRF token, the CSP nonce and the user's name are put in per request).
    Inline scripts carry `nonce="{{ csp_nonce }}"` (the Content-Security-Policy allows no other)."""
    user: User | None = getattr(request.state, "user", None)
    nonce = request.state.csp_nonce = secrets.token_urlsafe(16)
    if not cached:
        return templates.TemplateResponse(request, name, _context(request, ctx, user, csrf_token(request), nonce))
    scope = None if user is None else (user.role, user.shops, user.agent, user.employer)
    key = (
        "page",
        name,
        lang_of(request),
        scope,
        request.url.path,
        request.url.query,
        request.headers.get("hx-request"),
    )
    masked = dataclasses.replace(user, name=_NAME_MARK) if user else None
    html = request.app.state.store.cached(
        key, lambda: templates.get_template(name).render(_context(request, ctx, masked, _CSRF_MARK, _NONCE_MARK))
    )
    marks: dict[str, str] = {
        _CSRF_MARK: csrf_token(request),
        _NONCE_MARK: nonce,
        _NAME_MARK: str(escape(user.name)) if user else "",
    }
    return HTMLResponse(_MARKS.sub(lambda m: marks[m.group(0)], html))


_MARKS = re.compile("|".join(re.escape(m) for m in (_CSRF_MARK, _NAME_MARK, _NONCE_MARK)))


def cached_json(request: Request, compute) -> Response:
    """The JSON of `compute()` for this URL and the user's role and scope, kept as bytes until the data changes
    (Store.cached): a JSON twin of a page costs what its page costs. Checks and audit stay in the endpoint."""
    user: User | None = getattr(request.state, "user", None)
    scope = None if user is None else (user.role, user.shops, user.agent, user.employer)
    key = ("json", request.url.path, request.url.query, scope)
    return Response(request.app.state.store.cached(key, lambda: to_json(compute())), media_type="application/json")


def parse_day(value: str | dt.date | None, store: Store, shops: Iterable[str] | None = None) -> dt.date:
    """A day from the query (YYYY-MM-DD), defaulting to the latest day with data of `shops` (None: of any shop)."""
    if isinstance(value, dt.date):
        return value
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise HTTPException(422, f"date {value!r} is not YYYY-MM-DD") from None
    return latest_day(store, shops) or dt.date.today()


def latest_day(store: Store, shops: Iterable[str] | None = None) -> dt.date | None:
    """The latest day with data of any of `shops` (None: of any shop); a shop whose data ends earlier gets its own."""
    wanted = None if shops is None else tuple(sorted(set(shops)))

    def compute() -> dt.date | None:
        days = [r["day"] for r in store.kpis(("shop", "day")) if wanted is None or r["shop"] in wanted]
        return dt.date.fromisoformat(max(days)) if days else None

    return store.cached(("latest_day", wanted), compute)


def user_day(value: str | None, store: Store, user: User) -> dt.date:
    """A day from the query, defaulting to the latest day of the shops the user may see."""
    return parse_day(value, store, visible_shops(user, store))


def pick_shop(user: User, shop: str | None, store: Store) -> str:
    """The shop asked for (403 when not the user's, 404 when it has no data), or the user's first shop with data."""
    shops = [s for s in store.shops() if permissions.can_see_shop(user, s)]
    if shop:
        permissions.require_shop(user, shop)
        if shop not in store.shops():
            raise HTTPException(404, f"no data of shop {shop!r}")
        return shop
    if not shops:
        raise HTTPException(404, "no shop with data is visible to this user")
    return shops[0]


def visible_shops(user: User, store: Store) -> list[str]:
    return [s for s in store.shops() if permissions.can_see_shop(user, s)]


def data_until(store: Store, shop: str) -> dt.datetime | None:
    """How far the shop's data reaches (kefu.api.data_until: what is still provisional), kept with the snapshot."""
    return store.cached(("data_until", shop), lambda: store.read(lambda ws: api.data_until(ws.con, shop)))


def log(request: Request, action: str, obj: str = "") -> None:
    user = getattr(request.state, "user", None)
    ip = request.client.host if request.client else None
    request.app.state.store.audit(user.name if user else None, action, obj, ip)


def wants_metric(key: str | None) -> str:
    if key is None:
        return "sales_amount"
    if key not in BY_KEY:
        raise HTTPException(422, f"unknown metric {key!r}")
    return key
