"""Quality inspection (质检) in the web app: the review queue, the rule editor, agents' feedback and the 互查 ledger.

Who may do what is decided in kefu.web.permissions (qc_review, qc_rules, qc_ledger, qc_feedback, qc_public,
qc_report); docs/qc-review.md explains it. Findings are read from the store's snapshot on every request
(never cached), and every change goes through `store.write`, so the next page shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from kefu.month import is_month
from kefu.qc import ledger, peer_chat, review
from kefu.users import User, hide_names
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import (
    Day,
    FormError,
    Month,
    Page,
    Seed,
    Shop,
    StoreDep,
    Text,
    VisibleAgent,
    VisibleShop,
    log,
    parse_day,
    pick_shop,
    render,
    unprocessable,
    visible_shops,
)
from kefu.web.permissions import may
from kefu.web.schemas import (
    BulkReviewed,
    Finding,
    LedgerError,
    LedgerRow,
    PeerReport,
    PublicError,
    Queue,
    Rules,
    RunSummary,
)
from kefu.web.store import Store

router = APIRouter()

PAGE_SIZE = 50
SEVERITIES = review.SEVERITY_ORDER


# -- the review queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    shop: str | None = None
    agent: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    rule: str | None = None
    severity: str | None = None  # exactly this severity
    status: str | None = "open"  # None: every status
    source: str = "all"  # "all" findings, or only those in the dialogues of the reproducible "sample"
    page: int = 1
    per_agent: int = 10  # the sample's size per agent and its seed (kefu.qc.sample)
    seed: int = 7
    team: str | None = None
    min_severity: str | None = "high"  # this severity or worse; None: every severity


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"date {value!r} is not YYYY-MM-DD") from None


def require_workspace_shop(user: CurrentUser, store: StoreDep) -> None:
    """Workspace-wide QC pages are for users who see at least one shop of the workspace (a route dependency)."""
    if not visible_shops(user, store):
        raise HTTPException(404, "no shop with data is visible to this user")


SeesAShop = Depends(require_workspace_shop)


class QueueParams(BaseModel):
    """The queue's filters, as the page, its JSON twin and a bulk review's `filters` give them."""

    shop: Shop = None
    agent: Text = None
    day: Day = None
    date_from: Day = None
    date_to: Day = None
    rule: Text = None
    severity: Text = None
    status: Text = None
    source: Text = None
    page: Page = 1
    per_agent: Annotated[int, Query(ge=1, le=200)] = 10
    seed: Seed = 7
    team: Text = None
    min_severity: Text = None


def queue_filter(user: User, store: Store, p: QueueParams) -> QueueFilter:
    """The queue's filters checked. Left out, status is open and min_severity high (review.DEFAULT_QUEUE; a
    sample: every severity): low and medium findings are counted, not queued; `all` lifts either. An exact
    `severity` replaces min_severity."""
    if p.shop:
        permissions.require_shop(user, p.shop)
    require_workspace_shop(user, store)
    if p.agent:
        permissions.require_agent(user, p.agent, store.agents())
    if p.severity and p.severity not in SEVERITIES:
        raise HTTPException(422, f"severity is one of {', '.join(SEVERITIES)}")
    status = review.DEFAULT_QUEUE["status"] if p.status is None or p.status == "" else p.status
    if status not in (*review.QUEUE_STATUSES, "all"):
        raise HTTPException(422, f"status is one of {', '.join(review.QUEUE_STATUSES)} or all")
    # A sample is read dialogue by dialogue: all its findings, unless a severity is asked for.
    default_severity = None if p.source == "sample" else review.DEFAULT_QUEUE["min_severity"]
    min_severity = None if p.severity else p.min_severity or default_severity
    if min_severity not in (None, *SEVERITIES, "all"):
        raise HTTPException(422, f"min_severity is one of {', '.join(SEVERITIES)} or all")
    if p.team and p.team not in {a["team"] for a in store.agents().values()}:
        raise HTTPException(422, f"no team {p.team!r}")
    if p.source not in (None, "", "all", "sample"):
        raise HTTPException(422, "source is all or sample")
    first, last = (_date(p.day), _date(p.day)) if p.day else (_date(p.date_from), _date(p.date_to))
    if p.source == "sample":  # a sample is of a period: the latest week with data unless one is given
        days = store.days()
        last = last or (days[-1] if days else dt.date.today())
        first = first or last - dt.timedelta(days=6)
        if not 1 <= p.per_agent <= 200:
            raise HTTPException(422, "per_agent is 1 to 200")
    return QueueFilter(
        p.shop or None,
        p.agent or None,
        first,
        last,
        p.rule or None,
        p.severity or None,
        None if status == "all" else status,
        p.source or "all",
        max(p.page, 1),
        p.per_agent,
        p.seed,
        p.team or None,
        None if min_severity == "all" else min_severity,
    )


def queue_query(user: CurrentUser, store: StoreDep, p: Annotated[QueueParams, Query()]) -> QueueFilter:
    return queue_filter(user, store, p)


QueueDep = Annotated[QueueFilter, Depends(queue_query)]


def scope_agents(user: User, store: Store, shop: str | None, team: str | None = None) -> list[str]:
    """The accounts whose findings the user may see, in one shop (and team) or in all their shops."""
    agents = store.agents()
    return sorted(
        a
        for a in permissions.visible_agents(user, agents)
        if (shop is None or agents[a]["shop"] == shop) and (team is None or agents[a]["team"] == team)
    )


def review_filters(user: User, store: Store, f: QueueFilter) -> tuple[dict[str, Any], list[dict] | None]:
    """The arguments of review.queue / counts for the filter (status aside), and the sample when it is one."""
    filters: dict[str, Any] = {
        "agents": scope_agents(user, store, f.shop, f.team),
        "agent": f.agent,
        "date_from": f.date_from,
        "date_to": f.date_to,
        "rule": f.rule,
        "severity": f.severity,
        "min_severity": f.min_severity,
    }
    picked = sampled_dialogues(store, f, set(filters["agents"])) if f.source == "sample" else None
    if picked is not None:
        filters["dialogues"] = [(d["agent"], d["buyer"], d["day"]) for d in picked]
    return filters, picked


def queue_data(user: User, store: Store, f: QueueFilter) -> dict:
    filters, picked = review_filters(user, store, f)
    found = store.read(
        lambda ws: review.queue(ws.con, **filters, status=f.status, limit=PAGE_SIZE, offset=(f.page - 1) * PAGE_SIZE)
    )
    counts = store.read(lambda ws: review.counts(ws.con, **filters))
    total = counts[f.status] if f.status else sum(counts.values())
    return {
        "filters": asdict(f),
        "counts": counts,
        "total": total,
        "page": f.page,
        "page_size": PAGE_SIZE,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "findings": found,
        "sample": picked,
    }


def sampled_dialogues(store: Store, f: QueueFilter, visible: set[str]) -> list[dict]:
    """The reproducible stratified sample of the period (kefu.qc.sample): dialogues with findings and clean ones."""
    from kefu.qc import sample

    picked = store.read(
        lambda ws: sample.sample(ws, f.date_from, f.date_to, f.per_agent, f.seed, agent=f.agent, shop=f.shop)
    )
    return [d for d in picked if d["agent"] in visible]


@router.get(
    "/api/qc/findings",
    response_model=Queue,
    dependencies=[may("qc_review")],
    tags=["qc"],
    summary="The review queue: findings of the user's shops with their review, open first",
)
def api_findings(user: CurrentUser, store: StoreDep, f: QueueDep) -> dict:
    return queue_data(user, store, f)


@router.get("/qc", include_in_schema=False, dependencies=[may("qc_review")])
def queue_page(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    f: QueueDep,
    part: Text = None,
    bulk: Annotated[int | None, Query(ge=0)] = None,
):
    data = queue_data(user, store, f)
    agents = store.agents()
    query = urlencode({k: v for k, v in request.query_params.items() if k not in ("page", "part", "bulk")})
    if part == "counts":  # the header's counts, refreshed after a review
        return render(request, "qc_counts.html", data=data, query=query)
    log(request, "view_qc_queue", " ".join(f"{k}={v}" for k, v in asdict(f).items() if v not in (None, "all", 1)))
    visible = scope_agents(user, store, f.shop)
    return render(
        request,
        "qc_queue.html",
        data=data,
        f=f,
        shops=visible_shops(user, store),
        agents=agents,
        choices=[agents[a] for a in scope_agents(user, store, f.shop, f.team)],
        severities=SEVERITIES,
        teams=sorted({agents[a]["team"] for a in visible if agents[a]["team"]}),
        rules=store.read(lambda ws: review.rules_found(ws.con)),
        statuses=review.QUEUE_STATUSES,
        days=store.days(),
        query=query,
        bulk=bulk,
        page="qc",
    )


# -- reviewing ------------------------------------------------------------------------------------


class ReviewIn(BaseModel):
    status: Literal["confirmed", "dismissed", "open"] | None = None  # None: change only the comment
    comment: str | None = None


def visible_finding(user: User, store: Store, finding_id: str) -> dict:
    found = store.read(lambda ws: review.get_finding(ws.con, finding_id))
    if found is None:
        raise HTTPException(404, f"no QC finding {finding_id!r}")
    agents = store.agents()
    if user.role != "admin" or found["agent"] in agents:
        permissions.require_agent(user, found["agent"], agents)
    return found


def apply_review(
    request: Request, user: User, store: Store, finding_id: str, status: str | None, comment: str | None
) -> dict:
    """Record a review (audited; ReviewError when it cannot be) and return the finding as the next page shows it."""
    found = visible_finding(user, store, finding_id)
    reviews = ("qc_reviews",)  # all a review changes: the snapshot need not copy the findings again
    if status == "open":
        store.write(lambda ws: review.clear_status(ws.con, finding_id), tables=reviews)
    elif status is None:
        store.write(lambda ws: review.set_comment(ws.con, finding_id, user.name, comment or ""), tables=reviews)
    else:
        store.write(lambda ws: review.set_status(ws.con, finding_id, status, user.name, comment or ""), tables=reviews)
    log(
        request,
        "qc_review",
        f"{finding_id} {status or 'comment'} {found['agent']}" + (f": {comment}" if comment else ""),
    )
    return visible_finding(user, store, finding_id)  # as the next page shows it


@router.post(
    "/api/qc/findings/{finding_id}/review",
    response_model=Finding,
    dependencies=[may("qc_review")],
    tags=["qc"],
    summary="Confirm or dismiss a finding, reopen it (status open), or change only its comment (no status)",
)
def api_review(request: Request, user: CurrentUser, store: StoreDep, finding_id: str, body: ReviewIn) -> dict:
    return apply_review(request, user, store, finding_id, body.status, body.comment)


ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "open", "comment": None}


@router.post("/qc/findings/{finding_id}/review", include_in_schema=False, dependencies=[may("qc_review")])
def review_form(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    finding_id: str,
    action: str = Form(...),
    comment: str = Form(""),
):
    if action not in ACTIONS:
        raise HTTPException(422, f"action is one of {', '.join(ACTIONS)}")
    try:
        found = apply_review(request, user, store, finding_id, ACTIONS[action], comment.strip())
        error = None
    except FormError as e:
        if not request.headers.get("HX-Request"):
            raise
        found, error = visible_finding(user, store, finding_id), unprocessable(e)
    if request.headers.get("HX-Request"):
        response = render(request, "qc_finding.html", x=found, error=error, agents=store.agents())
        response.headers["HX-Trigger"] = "qc-reviewed"  # the queue's counts reload
        return response
    return RedirectResponse(request.headers.get("referer") or "/qc", status_code=303)


# -- bulk review: several findings, or every finding the filter matches, in one transaction -------------------


class BulkReviewIn(BaseModel):
    status: Literal["confirmed", "dismissed", "open"]
    comment: str | None = None
    finding_ids: list[str] | None = None  # these findings …
    filters: dict[str, str] | None = (
        None  # … or every one the queue's filters match (the parameters of /api/qc/findings)
    )
    expected: int | None = (
        None  # with filters: how many the user was shown; refused if the filter now matches more or fewer
    )


def apply_bulk_review(request: Request, user: User, store: Store, body: BulkReviewIn) -> dict:
    """Review many findings at once (one transaction), audited finding by finding as single reviews are."""
    if (body.finding_ids is None) == (body.filters is None):
        raise HTTPException(422, "give either finding_ids or filters")
    if body.filters is not None:
        ids = matching_ids(user, store, body.filters)
        if body.expected is not None and body.expected != len(ids):
            raise HTTPException(
                409, f"the filter now matches {len(ids)} findings, not {body.expected}: reload and check again"
            )
    else:
        assert body.finding_ids is not None  # checked above: finding_ids or filters
        ids = sorted(set(body.finding_ids))
    found = store.read(lambda ws: review.queue(ws.con, finding_ids=ids, limit=None))
    agents = store.agents()
    if missing := sorted(set(ids) - {x["finding_id"] for x in found}):
        raise HTTPException(404, f"no QC finding {missing[0]!r}")
    for agent in sorted({x["agent"] for x in found}):
        if user.role != "admin" or agent in agents:
            permissions.require_agent(user, agent, agents)
    n = store.write(
        lambda ws: review.set_many(ws.con, ids, body.status, user.name, body.comment or ""), tables=("qc_reviews",)
    )
    for x in found:
        log(
            request,
            "qc_review",
            f"{x['finding_id']} {body.status} {x['agent']}" + (f": {body.comment}" if body.comment else ""),
        )
    log(request, "qc_review_bulk", f"{n} {body.status}")
    return {"status": body.status, "reviewed": n}


def matching_ids(user: User, store: Store, params: dict[str, str]) -> list[str]:
    """Every finding (all pages) the queue would list for these parameters (the queue's, strings), within what
    the user may see."""
    known = set(QueueParams.model_fields) - {"page"}
    if unknown := sorted(set(params) - known):
        raise HTTPException(422, f"unknown filter {unknown[0]!r}")
    try:
        numbers = {k: int(params[k]) for k in ("per_agent", "seed") if params.get(k)}
    except ValueError:
        raise HTTPException(422, "per_agent and seed are whole numbers") from None
    given: dict[str, Any] = {k: params.get(k) or None for k in known - {"per_agent", "seed"}} | numbers
    # checked as the queue checks them (queue_filter), not as the query (the bounds: queue_filter's own)
    f = queue_filter(user, store, QueueParams.model_construct(**given))
    filters, _picked = review_filters(user, store, f)
    return store.read(lambda ws: review.matching_ids(ws.con, **filters, status=f.status))


@router.post(
    "/api/qc/findings/review",
    response_model=BulkReviewed,
    dependencies=[may("qc_review")],
    tags=["qc"],
    summary="Review many findings in one transaction: the given finding_ids, or all the filters match (expected: their count)",
)
def api_bulk_review(request: Request, user: CurrentUser, store: StoreDep, body: BulkReviewIn) -> dict:
    return apply_bulk_review(request, user, store, body)


BULK_ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "open"}


@router.post("/qc/findings/bulk", include_in_schema=False, dependencies=[may("qc_review")])
def bulk_form(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    action: str = Form(...),
    scope: str = Form("selected"),
    finding_id: list[str] = Form([]),
    filters: str = Form(""),
    expected: int | None = Form(None),
    comment: str = Form(""),
):
    """The queue's bulk bar: the checked findings (scope selected) or all the filter matches (scope all)."""
    from urllib.parse import parse_qsl

    if action not in BULK_ACTIONS or scope not in ("selected", "all"):
        raise HTTPException(422, "action is confirm, dismiss or reopen; scope selected or all")
    params = dict(parse_qsl(filters))
    body = BulkReviewIn(
        status=BULK_ACTIONS[action],
        comment=comment.strip() or None,
        finding_ids=finding_id if scope == "selected" else None,
        filters=params if scope == "all" else None,
        expected=expected if scope == "all" else None,
    )
    if scope == "selected" and not finding_id:
        raise HTTPException(422, "select at least one finding")
    done = apply_bulk_review(request, user, store, body)
    back = urlencode({k: v for k, v in params.items() if k != "page"} | {"bulk": done["reviewed"]})
    return RedirectResponse(f"/qc?{back}", status_code=303)


# -- feedback: an agent's confirmed findings ----------------------------------------------------


def feedback_of(store: Store, agent: str, date_from: str | None, date_to: str | None) -> list[dict]:
    return store.read(lambda ws: review.feedback(ws.con, agent, _date(date_from), _date(date_to)))


@router.get(
    "/api/qc/feedback/{agent:path}",
    response_model=list[Finding],
    dependencies=[may("qc_feedback")],
    tags=["qc"],
    summary="An agent's confirmed findings (质检反馈), newest first",
)
def api_feedback(
    request: Request, store: StoreDep, agent: VisibleAgent, date_from: Day = None, date_to: Day = None
) -> list[dict]:
    found = feedback_of(store, agent, date_from, date_to)
    log(request, "view_qc_feedback", agent)
    return found


@router.get("/qc/feedback/{agent:path}", include_in_schema=False, dependencies=[may("qc_feedback")])
def feedback_page(
    request: Request,
    store: StoreDep,
    agent: VisibleAgent,
    fragment: bool = False,
    date_from: Day = None,
    date_to: Day = None,
):
    found = feedback_of(store, agent, date_from, date_to)
    log(request, "view_qc_feedback", agent)
    return render(
        request,
        "qc_feedback_list.html" if fragment else "qc_feedback.html",
        agent=store.agents()[agent],
        feedback=found,
        page="qc",
    )


# -- the rule library ---------------------------------------------------------------------------------


class RulesIn(BaseModel):
    text: str


def rules_data(store: Store) -> dict:
    from kefu.qc import rules

    ws = store.ws
    path = store.path / "qc-rules.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else rules.default_rules_text()
    parsed = rules.load_rules(ws)
    return {"custom": path.exists(), "text": text, "rules": [_rule_dict(r) for r in parsed.rules]}


def _rule_dict(rule: Any) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(rule).items()}


def save_rules(request: Request, store: Store, text: str) -> dict:
    from kefu.qc import examples, rules

    try:
        saved = examples.save_rules(store.ws, text)
    except rules.RuleError as e:  # the editor shows the problems as one text, a line each
        raise HTTPException(422, str(e)) from None
    log(request, "edit_qc_rules", f"{len(saved.rules)} rules")
    return rules_data(store)


RULES = [may("qc_rules"), SeesAShop]


@router.get(
    "/api/qc/rules",
    response_model=Rules,
    dependencies=RULES,
    tags=["qc"],
    summary="The workspace's QC rule library (TOML text and the parsed rules)",
)
def api_rules(store: StoreDep) -> dict:
    return rules_data(store)


@router.put(
    "/api/qc/rules",
    response_model=Rules,
    dependencies=RULES,
    tags=["qc"],
    summary="Replace the rule library (validated first; 422 names the line and rule)",
)
def api_save_rules(request: Request, store: StoreDep, body: RulesIn) -> dict:
    return save_rules(request, store, body.text)


@router.get("/qc/rules", include_in_schema=False, dependencies=RULES)
def rules_page(request: Request, store: StoreDep, saved: bool = False, edit: Text = None):
    data = rules_data(store)
    editing = next((r for r in data["rules"] if r["id"] == edit), None)
    if edit and editing is None:
        raise HTTPException(404, f"no rule {edit!r}")
    return render(
        request,
        "qc_rules.html",
        data=data,
        error=None,
        saved=saved,
        days=store.days(),
        editing=editing,
        severities=SEVERITIES,
        page="qc",
    )


class RuleEditIn(BaseModel):
    """The fields of one rule the form edits (kefu.qc.rule_form.EDITABLE); the others stay as they are."""

    name: str | None = None
    severity: str | None = None
    scope: str | None = None
    points: float | None = None
    max_points_per_day: float | None = None  # null: no cap (only when given)
    patterns: list[str] | None = None
    exceptions: list[str] | None = None


def edit_rule(request: Request, store: Store, rule_id: str, changes: dict[str, Any]) -> dict:
    """Rewrite one rule's table of the library and save it like the TOML editor (validated, audited)."""
    from kefu.qc import rule_form, rules

    try:
        text = rule_form.edit_rule(rules_data(store)["text"], rule_id, changes, rules.RULES_FILE)
    except rules.RuleError as e:  # an unknown rule is a 404, a wrong value 422
        raise HTTPException(404 if "no rule" in str(e) else 422, str(e)) from None
    return save_rules(request, store, text)


@router.put(
    "/api/qc/rules/{rule_id}",
    response_model=Rules,
    dependencies=RULES,
    tags=["qc"],
    summary="Edit one rule (name, severity, scope, points, cap, patterns, exceptions) without TOML; validated as a save",
)
def api_edit_rule(request: Request, store: StoreDep, rule_id: str, body: RuleEditIn) -> dict:
    return edit_rule(request, store, rule_id, body.model_dump(exclude_unset=True))


@router.post("/qc/rules/{rule_id}/edit", include_in_schema=False, dependencies=RULES)
async def rule_edit_form(request: Request, store: StoreDep, rule_id: str):
    from kefu.qc import rule_form

    posted = (await request.form()).items()
    form = {k: v for k, v in posted if k in rule_form.EDITABLE and isinstance(v, str)}  # text fields, as the pay form
    try:
        edit_rule(request, store, rule_id, rule_form.form_changes(form))
    except HTTPException as e:
        if e.status_code != 422:
            raise
        data = rules_data(store)
        # keep what was typed
        editing = next(r for r in data["rules"] if r["id"] == rule_id) | rule_form.form_changes(form)
        response = render(
            request,
            "qc_rules.html",
            data=data,
            error=e.detail,
            saved=False,
            days=store.days(),
            editing=editing,
            severities=SEVERITIES,
            page="qc",
        )
        response.status_code = 422
        return response
    return RedirectResponse(f"/qc/rules?saved=true&edit={rule_id}", status_code=303)


@router.post("/qc/rules", include_in_schema=False, dependencies=RULES)
def rules_form(request: Request, store: StoreDep, text: str = Form(...)):
    try:
        save_rules(request, store, text)
    except HTTPException as e:
        if e.status_code != 422:
            raise
        data = rules_data(store) | {"text": text}  # keep what the user typed
        response = render(
            request,
            "qc_rules.html",
            data=data,
            error=e.detail,
            saved=False,
            days=store.days(),
            editing=None,
            severities=SEVERITIES,
            page="qc",
        )
        response.status_code = 422
        return response
    return RedirectResponse("/qc/rules?saved=true", status_code=303)


# -- running QC from the page ---------------------------------------------------------------------------


class RunIn(BaseModel):
    date_from: dt.date
    date_to: dt.date


MAX_RUN_DAYS = 31


def run_qc(request: Request, store: Store, date_from: dt.date, date_to: dt.date) -> dict:
    from kefu.qc import engine

    if date_to < date_from or (date_to - date_from).days >= MAX_RUN_DAYS:
        raise HTTPException(422, f"choose a period of 1 to {MAX_RUN_DAYS} days (longer: `kefu qc run`)")
    summary = store.write(lambda ws: engine.run(ws, date_from, date_to))
    log(request, "run_qc", f"{date_from} {date_to}")
    return asdict(summary)


RUN = [may("qc_review"), SeesAShop]


@router.post(
    "/api/qc/run",
    response_model=RunSummary,
    dependencies=RUN,
    tags=["qc"],
    summary="Run QC over a period (replaces its findings; reviews stay attached)",
)
def api_run(request: Request, store: StoreDep, body: RunIn) -> dict:
    return run_qc(request, store, body.date_from, body.date_to)


@router.post("/qc/run", include_in_schema=False, dependencies=RUN)
def run_form(request: Request, store: StoreDep, date_from: str = Form(...), date_to: str = Form(...)):
    first, last = _date(date_from), _date(date_to)
    if first is None or last is None:  # FastAPI refuses an empty required field first; this is for the type
        raise HTTPException(422, "give both dates of the period (YYYY-MM-DD)")
    run_qc(request, store, first, last)
    return RedirectResponse("/qc?" + urlencode({"date_from": first, "date_to": last}), status_code=303)


# -- the 互查 ledger ---------------------------------------------------------------------------------------


class ReportIn(BaseModel):
    description: str
    finding_id: str | None = None
    agent: str | None = None
    day: dt.date | None = None
    buyer: str | None = None
    ts: dt.datetime | None = None
    reporter: str | None = None  # supervisors recording a peer's report; an agent always reports as themself
    chat: str | None = None  # an agent's own chat link naming the colleague, instead of `agent` (kefu.qc.peer_chat)


class DecisionIn(BaseModel):
    status: Literal["confirmed", "rejected", "open"]


def month_of(month: str | None, store: Store, shops: list[str] | None = None) -> str:
    month = month or parse_day(None, store, shops).strftime("%Y-%m")  # default: the month of the shops' latest day
    if not is_month(month):
        raise HTTPException(422, f"month {month!r} is not YYYY-MM")
    return month


def ledger_rows(user: User, store: Store, month: str, shop: str) -> list[dict]:
    """Supervisors see every agent's fund; an agent only their own."""
    rows = store.read(lambda ws: ledger.month_ledger(ws, month, shop))
    if permissions.allowed(user, "qc_ledger"):
        return rows
    return [r for r in rows if r["agent"] == user.agent]


def reports_of(user: User, store: Store, month: str | None, shop: str, status: str | None) -> list[dict]:
    """Supervisors see the shop's reports; an agent the reports they filed."""
    found = store.read(lambda ws: ledger.reports(ws.con, month=month, shops=[shop], status=status))
    if permissions.allowed(user, "qc_ledger"):
        return found
    return _as_seen_by(user, store, shop, [r for r in found if r["reporter"] == user.agent])


def _as_seen_by(user: User, store: Store, shop: str, reports: list[dict]) -> list[dict]:
    """An agent of a shop that hides names is not shown whom their reports name (they may have named them by a chat)."""
    if user.role == "agent" and store.read(lambda ws: hide_names(ws.con, shop)):
        return [r | {"agent": None} for r in reports]
    return reports


@router.get(
    "/api/qc/ledger",
    response_model=list[LedgerRow],
    dependencies=[may("qc_public")],
    tags=["qc"],
    summary="互查: each agent's fund for a month (an agent: their own row)",
)
def api_ledger(
    request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, month: Month = None
) -> list[dict]:
    month = month_of(month, store, [shop])
    log(request, "view_qc_ledger", f"{shop} {month}")
    return ledger_rows(user, store, month, shop)


@router.get(
    "/api/qc/ledger/errors",
    response_model=list[LedgerError],
    dependencies=[may("qc_ledger")],
    tags=["qc"],
    summary="互查: the errors behind a month's deductions, each with its report or finding",
)
def api_ledger_errors(store: StoreDep, shop: VisibleShop, month: Month = None) -> list[dict]:
    month = month_of(month, store, [shop])
    return store.read(lambda ws: ledger.month_errors(ws, month, shop))


@router.get(
    "/api/qc/ledger/public",
    response_model=list[PublicError],
    dependencies=[may("qc_public")],
    tags=["qc"],
    summary="互查: the month's errors of a shop with who made them hidden (匿名)",
)
def api_ledger_public(store: StoreDep, shop: VisibleShop, month: Month = None) -> list[dict]:
    month = month_of(month, store, [shop])
    return store.read(lambda ws: ledger.public_list(ws, month, shop))


@router.get(
    "/api/qc/reports",
    response_model=list[PeerReport],
    dependencies=[may("qc_report")],
    tags=["qc"],
    summary="互查 reports of a shop (an agent: the ones they filed)",
)
def api_reports(
    user: CurrentUser, store: StoreDep, shop: VisibleShop, month: Month = None, status: Text = None
) -> list[dict]:
    if status and status not in ledger.STATUSES:
        raise HTTPException(422, f"status is one of {', '.join(ledger.STATUSES)}")
    return reports_of(user, store, month_of(month, store) if month else None, shop, status)


def _by_chat(store: Store, user: User, body: ReportIn) -> ReportIn:
    """The report with the colleague, day and buyer found from a chat of the reporting agent's own."""
    reporter = user.agent
    assert reporter is not None  # called for agent users, who have their account
    agent, day, buyer = store.read(  # ReportError when the chat names no colleague
        lambda ws: peer_chat.colleague_of_chat(
            ws.con,
            shop=store.agents()[reporter]["shop"],
            reporter=reporter,
            chat=body.chat,
            buyer=body.buyer,
            day=body.day,
            ts=body.ts,
        )
    )
    return body.model_copy(update={"agent": agent, "day": day, "buyer": buyer})


def file_report(request: Request, user: User, store: Store, body: ReportIn) -> dict:
    """File a peer report (ReportError when it cannot be) and return it as the reporter sees it."""
    agents = store.agents()
    if finding_id := body.finding_id:
        finding = store.read(lambda ws: review.get_finding(ws.con, finding_id))
        if finding is None:
            raise HTTPException(422, f"no QC finding {finding_id!r}")
        agent = finding["agent"]
    else:
        if body.agent is None and user.role == "agent" and user.agent in agents:
            body = _by_chat(store, user, body)  # the shop may hide names: a chat of theirs names the colleague
        agent = body.agent
    if not agent or agent not in agents:
        raise HTTPException(422, f"unknown agent {agent!r}")
    shop = agents[agent]["shop"]
    permissions.require_shop(user, shop)  # an agent reports colleagues of their own shop, whoever they are
    reporter = user.agent if user.role == "agent" else body.reporter
    if user.role != "agent" and (not reporter or reporter not in agents or agents[reporter]["shop"] != shop):
        raise HTTPException(422, "name the reporting agent (an account of the same shop)")
    assert reporter is not None  # an agent user has their account; anyone else named one above
    report_id = store.write(
        lambda ws: ledger.file_report(
            ws.con,
            reporter=reporter,
            description=body.description,
            finding_id=body.finding_id,
            shop=shop,
            agent=agent,
            day=body.day,
            buyer=body.buyer or None,
            ts=body.ts,
        ),
        tables=("qc_peer_reports",),
    )
    log(request, "qc_peer_report", f"{report_id} {reporter} -> {agent}")
    filed = store.read(lambda ws: ledger.get_report(ws.con, report_id))
    assert filed is not None  # filed just now
    return _as_seen_by(user, store, shop, [filed])[0]


@router.post(
    "/api/qc/reports",
    response_model=PeerReport,
    dependencies=[may("qc_report")],
    tags=["qc"],
    summary="File a 互查 report of a colleague's error (open until a supervisor decides)",
)
def api_file_report(request: Request, user: CurrentUser, store: StoreDep, body: ReportIn) -> dict:
    return file_report(request, user, store, body)


def decide(request: Request, user: User, store: Store, report_id: str, status: str) -> dict:
    """Decide a peer report of the user's shops (ReportError when it cannot be)."""
    found = store.read(lambda ws: ledger.get_report(ws.con, report_id))
    if found is None:
        raise HTTPException(404, f"no peer report {report_id!r}")
    permissions.require_shop(user, found["shop"])
    decided = store.write(lambda ws: ledger.decide(ws.con, report_id, status, user.name), tables=("qc_peer_reports",))
    log(request, "qc_peer_decision", f"{report_id} {status} {found['agent']}")
    return decided


@router.post(
    "/api/qc/reports/{report_id}/decision",
    response_model=PeerReport,
    dependencies=[may("qc_ledger")],
    tags=["qc"],
    summary="Confirm or reject a 互查 report (open undoes the decision)",
)
def api_decide(request: Request, user: CurrentUser, store: StoreDep, report_id: str, body: DecisionIn) -> dict:
    return decide(request, user, store, report_id, body.status)


@router.get("/qc/ledger", include_in_schema=False, dependencies=[may("qc_public")])
def ledger_page(
    request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, month: Month = None, error: Text = None
):
    month = month_of(month, store, [shop])
    log(request, "view_qc_ledger", f"{shop} {month}")
    return _ledger_page(request, user, store, month, shop, [])


def _ledger_page(
    request: Request, user: User, store: Store, month: str, shop: str, errors: list[str], form: dict | None = None
):
    agents = store.agents()
    colleagues = sorted(
        (a for a, i in agents.items() if i["shop"] == shop and a != user.agent), key=lambda a: agents[a]["name"]
    )
    if user.role == "agent" and store.read(lambda ws: hide_names(ws.con, shop)):
        colleagues = []  # the shop hides colleagues' names from agents (as in the ranking): the form lists none
    settings = store.config.mutual
    public = store.read(lambda ws: ledger.public_list(ws, month, shop))
    return render(
        request,
        "qc_ledger.html",
        month=month,
        shop=shop,
        shops=visible_shops(user, store),
        agents=agents,
        colleagues=colleagues,
        rows=ledger_rows(user, store, month, shop),
        public=public,
        reports=reports_of(user, store, month, shop, None),
        settings=settings,
        warning_only=month in settings.warning_only_months,
        errors=errors,
        form=form or {},
        page="qc_ledger",
    )


@router.post("/qc/reports", include_in_schema=False, dependencies=[may("qc_report")])
def report_form(
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    description: str = Form(...),
    agent: str = Form(""),
    day: str = Form(""),
    buyer: str = Form(""),
    time: str = Form(""),
    reporter: str = Form(""),
    finding_id: str = Form(""),
    month: str = Form(""),
    chat: str = Form(""),
):
    form = {
        "description": description,
        "agent": agent,
        "day": day,
        "buyer": buyer,
        "time": time,
        "reporter": reporter,
        "chat": chat,
    }
    try:
        when = dt.datetime.fromisoformat(f"{day} {time}") if day and time else None
    except ValueError:
        when = None
    try:
        body = ReportIn(
            description=description,
            agent=agent or None,
            day=_date(day) if day else None,
            buyer=buyer or None,
            ts=when,
            reporter=reporter or None,
            finding_id=finding_id or None,
            chat=chat or None,
        )
        report = file_report(request, user, store, body)
    except FormError as e:
        problem = unprocessable(e)
        shop = pick_shop(
            user, None if not agent or agent not in store.agents() else store.agents()[agent]["shop"], store
        )
        response = _ledger_page(request, user, store, month_of(month or None, store), shop, [str(problem)], form)
        response.status_code = 422
        return response
    return RedirectResponse(
        "/qc/ledger?"
        + urlencode(
            {"shop": report["shop"], "month": report["day"].strftime("%Y-%m"), "reported": report["report_id"]}
        ),
        status_code=303,
    )


@router.post("/qc/reports/{report_id}/decision", include_in_schema=False, dependencies=[may("qc_ledger")])
def decision_form(request: Request, user: CurrentUser, store: StoreDep, report_id: str, status: str = Form(...)):
    if status not in ledger.DECISIONS:
        raise HTTPException(422, f"status is one of {', '.join(ledger.DECISIONS)}")
    decided = decide(request, user, store, report_id, status)
    return RedirectResponse(
        "/qc/ledger?" + urlencode({"shop": decided["shop"], "month": decided["day"].strftime("%Y-%m")}), status_code=303
    )
