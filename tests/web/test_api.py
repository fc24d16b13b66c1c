"""The JSON API on a hand-made shop whose numbers are worked out by hand (spec §6 and two more days)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter

from kefu.ingest.pipeline import import_paths
from kefu.users import add_user
from kefu.web import schemas
from kefu.workspace import Workspace
from tests.web.conftest import PASSWORD, csrf, login

MESSAGES = """\
ts,shop,buyer,agent,sender,text
2026-11-11 10:00:00,s,b1,s:ann,buyer,在吗
2026-11-11 10:00:05,s,b1,s:ann,buyer,这款有XL吗
2026-11-11 10:00:20,s,b1,s:ann,agent,"亲,在的"
2026-11-11 10:00:30,s,b1,s:ann,agent,XL有货哦
2026-11-11 10:05:00,s,b1,s:ann,buyer,那我拍了
2026-11-11 10:06:40,s,b1,s:ann,agent,好的亲
2026-11-11 14:00:00,s,b2,s:bob,buyer,发货了吗
2026-11-11 14:00:30,s,b2,s:bob,agent,今天发
2026-11-10 09:00:00,s,b3,s:ann,buyer,有优惠吗
2026-11-10 09:02:00,s,b3,s:ann,agent,满200减20
2026-11-04 09:00:00,s,b4,s:ann,buyer,包邮吗
2026-11-04 09:00:10,s,b4,s:ann,agent,包邮的
"""
ORDERS = """\
order_id,shop,buyer,created_at,paid_at,amount,status
o1,s,b1,2026-11-11 10:07:00,2026-11-11 10:08:00,199.00,paid
o9,s,b9,2026-11-11 20:00:00,2026-11-11 20:01:00,50.00,paid
"""
AGENTS = """\
agent,name,shop,team,role,employer,active
s:ann,安,s,售前,presales,in_house,true
s:bob,波,s,售前,presales,外包甲,true
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    root = tmp_path_factory.mktemp("hand")
    data = root / "data"
    data.mkdir()
    for name, text in (("messages", MESSAGES), ("orders", ORDERS), ("agents", AGENTS)):
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    ws = Workspace.open(root / "ws", create=True)
    import_paths(ws, [data])
    add_user(ws.con, name="m", role="manager", password=PASSWORD, shops=["s"])
    ws.close()
    from kefu.web.app import create_app

    app = create_app(root / "ws")
    yield login(app, "m")
    app.state.store.close()


def figure(overview: dict, key: str) -> dict:
    return next(f for f in overview["figures"] if f["metric"] == key)


def test_overview_shows_the_worked_example(client):
    o = client.get("/api/overview", params={"date": "2026-11-11"}).json()
    assert o["shop"] == "s" and o["previous_day"] == "2026-11-10" and o["same_day_last_week"] == "2026-11-04"
    # ann: 2 questions (20 s, 100 s) + bob: 1 question (30 s) -> mean 50 s
    assert figure(o, "avg_response_s")["day"] == pytest.approx(50.0)
    assert figure(o, "consult_buyers") == {
        "metric": "consult_buyers",
        "day": 2,
        "previous": 1,
        "last_week": 1,
        "vs_previous": 1,
        "vs_last_week": 1,
    }
    assert figure(o, "sales_amount")["day"] == 199.0
    # o9 was paid with no chat: silent; share of consulted sales = 199 / 249
    assert o["silent"]["silent_orders"] == 1 and o["silent"]["silent_sales"] == 50.0
    assert o["silent"]["silent_sales_share"] == pytest.approx(50 / 249)


def test_leaderboard_sorts_by_any_kpi_and_reports_the_gap(client):
    asc = client.get(
        "/api/leaderboard", params={"date_from": "2026-11-11", "date_to": "2026-11-11", "sort": "avg_response_s"}
    ).json()
    # lower response time is better: ascending by default, bob (30 s) before ann (60 s)
    assert [r["agent"] for r in asc["rows"]] == ["s:bob", "s:ann"] and asc["desc"] is False
    assert [r["rank"] for r in asc["rows"]] == [1, 2]
    assert asc["spread"]["avg_response_s"]["gap"] == pytest.approx(30.0)
    assert asc["spread"]["avg_response_s"]["peak_agent"] == "s:bob"
    desc = client.get(
        "/api/leaderboard", params={"date_from": "2026-11-11", "date_to": "2026-11-11", "sort": "sales_amount"}
    ).json()
    assert [(r["agent"], r["sales_amount"]) for r in desc["rows"]] == [("s:ann", 199.0), ("s:bob", 0.0)]
    vendor = client.get(
        "/api/leaderboard", params={"date_from": "2026-11-11", "date_to": "2026-11-11", "employer": "vendor"}
    ).json()
    assert [r["agent"] for r in vendor["rows"]] == ["s:bob"]
    week = client.get(
        "/api/leaderboard", params={"date_from": "2026-11-04", "date_to": "2026-11-11", "sort": "consult_buyers"}
    ).json()
    assert (
        week["rows"][0]["agent"] == "s:ann" and week["rows"][0]["consult_buyers"] == 3
    )  # b4, b3, b1: three consultations


def test_unknown_metric_and_bad_dates_are_422(client):
    assert client.get("/api/leaderboard", params={"sort": "nope"}).status_code == 422
    assert client.get("/api/overview", params={"date": "11/11/2026"}).status_code == 422


def test_drilldown_shows_the_rows_behind_a_number(client):
    d = client.get("/api/agents/s:ann/days/2026-11-11", params={"metric": "slow_responses"}).json()
    assert d["value"] == 1
    assert set(d["sections"]) == {"questions"}
    slow = d["sections"]["questions"]
    assert len(slow) == 1 and slow[0]["response_s"] == 100 and slow[0]["open_ts"].startswith("2026-11-11T10:05:00")
    orders = client.get("/api/agents/s:ann/days/2026-11-11", params={"metric": "sales_amount"}).json()["sections"][
        "credited_orders"
    ]
    assert [(o["order_id"], o["amount"]) for o in orders] == [("o1", 199.0)]


def test_chat_highlights_the_slow_reply(client):
    chat = client.get("/api/chats/s:ann/2026-11-11/b1").json()
    assert [m["text"] for m in chat["messages"]][:2] == ["在吗", "这款有XL吗"]
    replies = [(m["text"], m["response_s"], m["slow"]) for m in chat["messages"] if m["response_s"] is not None]
    assert replies == [("亲,在的", 20, False), ("好的亲", 100, True)]
    assert chat["slow_replies"] == 1


def test_heatmap_puts_load_in_the_hour_of_the_question(client):
    h = client.get("/api/heatmap", params={"date_from": "2026-11-11", "date_to": "2026-11-11"}).json()
    cells = {(c["day"], c["hour"]): c for c in h["cells"]}
    assert cells[("2026-11-11", 10)]["questions"] == 2 and cells[("2026-11-11", 14)]["consult_buyers"] == 1
    assert cells[("2026-11-11", 10)]["avg_response_s"] == pytest.approx(60.0)


def test_targets_are_validated_and_shown_against_month_to_date(client):
    bad = client.post(
        "/api/targets",
        headers=csrf(client),
        json=[
            {"month": "2026-13", "shop": "s", "scope": "shop", "subject": "s", "metric": "sales_amount", "value": "x"},
            {"month": "2026-11", "shop": "s", "scope": "shop", "subject": "s", "metric": "reply_rate", "value": "120%"},
        ],
    )
    assert bad.status_code == 422
    problems = bad.json()["detail"]
    assert (
        any("2026-13" in p for p in problems)
        and any("not a number" in p for p in problems)
        and any("above 100%" in p for p in problems)
    )
    assert client.get("/api/targets").json() == []  # nothing saved when one row is wrong
    ok = client.post(
        "/api/targets",
        headers=csrf(client),
        json=[
            {"month": "2026-11", "shop": "s", "scope": "shop", "subject": "s", "metric": "sales_amount", "value": 1000},
            {"month": "2026-11", "shop": "s", "scope": "shop", "subject": "s", "metric": "reply_rate", "value": "95%"},
        ],
    )
    assert ok.json() == {"saved": 2}
    o = client.get("/api/overview", params={"date": "2026-11-11"}).json()
    sales = next(r for r in o["month_to_date"] if r["metric"] == "sales_amount")
    assert sales["mtd"] == 199.0 and sales["target"] == 1000 and sales["completion"] == pytest.approx(0.199)
    assert sales["expected_to_date"] == pytest.approx(1000 * 11 / 30) and sales["on_track"] is False
    rate = next(r for r in o["month_to_date"] if r["metric"] == "reply_rate")
    assert rate["target"] == 0.95 and rate["on_track"] is True  # 4 of 4 buyers received


def test_daily_report_json(client):
    r = client.get("/api/reports/daily", params={"date": "2026-11-11"}).json()
    team = {row["metric"]: row for row in r["team"]}
    assert team["consult_buyers"]["value"] == 2 and team["consult_buyers"]["vs_previous"] == 1
    assert team["sales_amount"]["mtd"] == 199.0
    agents = {a["agent"]: a for a in r["agents"]}
    assert agents["s:ann"]["figures"]["avg_response_s"]["value"] == 60.0
    assert agents["s:ann"]["figures"]["avg_response_s"]["vs_previous"] == pytest.approx(60.0 - 120.0)


def test_loss_list_and_export(client):
    # b3 asked on 11-10 and never ordered: lost
    lost = client.get("/api/losses", params={"date": "2026-11-10"}).json()["lost"]
    assert [(r["agent"], r["buyer"]) for r in lost] == [("s:ann", "b3")]
    assert [m["text"] for m in lost[0]["chat"]] == ["有优惠吗", "满200减20"]
    csv_text = client.get("/losses.csv", params={"date": "2026-11-10"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith("s,2026-11-10,s:ann,b3,09:00:00")


def test_every_api_route_is_in_the_openapi_description(client):
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for route in client.app.routes:
        if getattr(route, "path", "").startswith("/api/"):
            assert route.path in paths


def test_every_json_route_declares_its_answer(client):
    """Each /api route's 200 answer is a model in the schema, not an untyped object (kefu.web.schemas)."""
    spec = client.get("/openapi.json").json()
    untyped = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if not path.startswith("/api/"):
                continue
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            if not (schema.get("$ref") or schema.get("items", {}).get("$ref")):
                untyped.append(f"{method.upper()} {path}: {schema}")
    assert not untyped, "\n".join(untyped)


def undeclared(model: BaseModel) -> list[str]:
    """Keys of an answer that its model does not declare, anywhere in it."""
    found = [f"{type(model).__name__}.{k}" for k in model.model_extra or {}]
    for name in type(model).model_fields:
        value = getattr(model, name)
        values = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        found += [k for v in values if isinstance(v, BaseModel) for k in undeclared(v)]
    return found


@pytest.mark.parametrize(
    ("path", "params", "model"),
    [
        ("/api/overview", {"date": "2026-11-11"}, schemas.Overview),
        ("/api/leaderboard", {"date_from": "2026-11-10", "date_to": "2026-11-11"}, schemas.Leaderboard),
        ("/api/heatmap", {"date_from": "2026-11-11", "date_to": "2026-11-11"}, schemas.Heatmap),
        ("/api/losses", {"date": "2026-11-10"}, schemas.Losses),
        ("/api/reports/daily", {"date": "2026-11-11"}, schemas.DailyReport),
        ("/api/agents/s:ann/days/2026-11-11", {}, schemas.Drilldown),
        ("/api/chats/s:ann/2026-11-11/b1", {}, schemas.Chat),
        ("/api/chats/s:ann/2026-11-11", {}, list[schemas.ChatBuyer]),
        ("/api/agents", {}, list[schemas.Agent]),
        ("/api/me", {}, schemas.Me),
        ("/api/health", {}, schemas.Health),
    ],
)
def test_answers_are_what_their_models_say(client, path, params, model):
    """The answers (pages' JSON twins are cached bytes, never validated on the way out) fit their declared model
    and carry no key it does not declare."""
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    found = TypeAdapter(model).validate_python(answer.json())
    assert not [k for m in (found if isinstance(found, list) else [found]) for k in undeclared(m)]


def test_login_is_throttled_after_five_failures(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    add_user(ws.con, name="x", role="admin", password=PASSWORD)
    ws.close()
    from kefu.web.app import create_app

    app = create_app(tmp_path / "ws", warm=False)
    try:
        c = login(app, None)
        for _ in range(5):
            assert (
                c.post("/api/session", json={"name": "x", "password": "wrong-pass"}, headers=csrf(c)).status_code == 401
            )
        r = c.post("/api/session", json={"name": "x", "password": PASSWORD}, headers=csrf(c))
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    finally:
        app.state.store.close()


def test_session_cookie_is_httponly_secure_and_csrf_is_required(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    add_user(ws.con, name="x", role="admin", password=PASSWORD)
    ws.close()
    from kefu.web.app import create_app

    app = create_app(tmp_path / "ws", warm=False)
    try:
        c = TestClient(app, base_url="https://testserver")
        c.get("/login")
        assert c.post("/api/session", json={"name": "x", "password": PASSWORD}).status_code == 403  # no CSRF header
        r = c.post("/api/session", json={"name": "x", "password": PASSWORD}, headers=csrf(c))
        cookie = r.headers["set-cookie"].lower()
        assert "kefu_session=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
        form = c.post(
            "/login", data={"name": "x", "password": PASSWORD, "csrf_token": "forged"}, follow_redirects=False
        )
        assert form.status_code == 403
    finally:
        app.state.store.close()
