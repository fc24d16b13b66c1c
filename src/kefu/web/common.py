"""What every router shares: the store dependency, page rendering, dates, audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from kefu.metrics.registry import AGENT_METRICS, BY_KEY, METRICS
from kefu.users import User
from kefu.web import permissions
from kefu.web.auth import csrf_token
from kefu.web.formatting import fmt, fmt_delta, label, tone
from kefu.web.i18n import lang_of, translator
from kefu.web.store import Store

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["q"] = lambda s: quote(str(s), safe="")


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def render(request: Request, name: str, **ctx) -> object:
    lang = lang_of(request)
    user: User | None = getattr(request.state, "user", None)
    ctx.update(
        request=request, lang=lang, t=translator(lang), user=user, csrf=csrf_token(request),
        fmt=lambda k, v: fmt(k, v, lang), fmt_delta=lambda k, v: fmt_delta(k, v, lang), tone=tone,
        label=lambda k: label(k, lang), can=(lambda action: permissions.allowed(user, action)) if user else (lambda a: False),
        BY_KEY=BY_KEY, METRICS=METRICS, AGENT_METRICS=AGENT_METRICS,
    )
    return templates.TemplateResponse(request, name, ctx)


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
