"""What every router shares: the store dependency, page rendering, dates, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic_core import to_json
from fastapi.templating import Jinja2Templates
from jinja2 import Environment
from markupsafe import escape

from kefu.metrics.registry import AGENT_METRICS, BY_KEY, METRICS
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import csrf_token
from kefu.web.formatting import fmt, fmt_delta, label, tone
from kefu.web.i18n import lang_of, translator
from kefu.web.store import Store

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # templates ship with the package: no stat() of every template on every page


@lru_cache(maxsize=8192)
def _quote(s: str) -> str:
    return quote(s, safe="")


templates.env.filters["q"] = lambda s: _quote(str(s))


def _getattr(obj, attribute):
    """`x.key` on the dicts pages are made of: item first (Jinja's default tries getattr first and pays an exception)."""
    if type(obj) is dict and attribute in obj:
        return obj[attribute]
    return Environment.getattr(templates.env, obj, attribute)


templates.env.getattr = _getattr

# Cached pages are rendered with these marks in place of the per-request CSRF token and the user's name.
_CSRF_MARK, _NAME_MARK = "kefuCsrfMark0x5f3759df", "kefuNameMark0x5f3759df"


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def _context(request: Request, ctx: dict, user: User | None, csrf: str) -> dict:
    lang = lang_of(request)
    return ctx | dict(
        request=request, lang=lang, t=translator(lang), user=user, csrf=csrf,
        fmt=lambda k, v: fmt(k, v, lang), fmt_delta=lambda k, v: fmt_delta(k, v, lang), tone=tone,
        label=lambda k: label(k, lang), can=(lambda action: permissions.allowed(user, action)) if user else (lambda a: False),
        BY_KEY=BY_KEY, METRICS=METRICS, AGENT_METRICS=AGENT_METRICS,
    )


def render(request: Request, name: str, *, cached: bool = False, **ctx) -> object:
    """A page. With `cached`, for pages that depend only on the URL, the user's role and scope, the language and
    the store's data: the HTML is kept until the data changes (Store.cached) and reused for everyone with that
    role and scope (the CSRF token and the user's name are put in per request)."""
    user: User | None = getattr(request.state, "user", None)
    if not cached:
        return templates.TemplateResponse(request, name, _context(request, ctx, user, csrf_token(request)))
    scope = None if user is None else (user.role, user.shops, user.agent, user.employer)
    key = ("page", name, lang_of(request), scope, request.url.path, request.url.query, request.headers.get("hx-request"))
    masked = dataclasses.replace(user, name=_NAME_MARK) if user else None
    html = request.app.state.store.cached(key, lambda: templates.get_template(name).render(_context(request, ctx, masked, _CSRF_MARK)))
    html = html.replace(_CSRF_MARK, csrf_token(request))
    if user is not None:
        html = html.replace(_NAME_MARK, str(escape(user.name)))
    return HTMLResponse(html)


def cached_json(request: Request, compute) -> Response:
    """The JSON of `compute()` for this URL and the user's role and scope, kept as bytes until the data changes
    (Store.cached): a JSON twin of a page costs what its page costs. Checks and audit stay in the endpoint."""
    user: User | None = getattr(request.state, "user", None)
    scope = None if user is None else (user.role, user.shops, user.agent, user.employer)
    key = ("json", request.url.path, request.url.query, scope)
    return Response(request.app.state.store.cached(key, lambda: to_json(compute())), media_type="application/json")


def parse_day(value: str | None, store: Store) -> dt.date:
    """A day from the query (YYYY-MM-DD), defaulting to the latest day with data."""
    days = store.days()
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise HTTPException(422, f"date {value!r} is not YYYY-MM-DD") from None
    return days[-1] if days else dt.date.today()


def pick_shop(user: User, shop: str | None, store: Store) -> str:
    shops = [s for s in store.shops() if permissions.can_see_shop(user, s)]
    if shop:
        permissions.require_shop(user, shop)
        return shop
    if not shops:
        raise HTTPException(404, "no shop with data is visible to this user")
    return shops[0]


def visible_shops(user: User, store: Store) -> list[str]:
    return [s for s in store.shops() if permissions.can_see_shop(user, s)]


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
