"""Issue #12, "no leak, no silent loss, no crash": each item against the two-shop workspace of tests/web/two_shops.py."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape

from kefu.users import add_user
from kefu.workspace import Workspace
from tests.web.conftest import csrf, login
from tests.web.two_shops import (
    ANN,
    BOB,
    MARKED_BUYER,
    MARKED_TEXT,
    PASSWORD,
    SCHEME,
    SLASHED,
    SLASHED_BUYER,
    A,
    B,
    build,
)

DAY = "2026-11-11"
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "kefu" / "web" / "templates"


def q(text: str) -> str:
    return quote(text, safe="")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kefu.web.app import create_app

    application = create_app(build(tmp_path_factory.mktemp("two")))
    yield application
    application.state.store.close()


@pytest.fixture(scope="module")
def c(app):
    return {name: login(app, name) for name in ("root", "manager_a", "manager_b", "agent_ann")}


# -- 1. pay schemes are scoped like the KPIs ------------------------------------------------------------------------


def test_a_manager_reads_only_the_schemes_of_their_shops(c):
    assert [f["file"] for f in c["manager_b"].get("/api/pay/schemes").json()] == ["b.toml"]
    assert [f["file"] for f in c["root"].get("/api/pay/schemes").json()] == ["a.toml", "b.toml"]
    page = c["manager_b"].get("/pay/schemes", params={"file": "a.toml"}).text
    assert "甲店方案" not in page and "乙店方案" in page


def test_preview_problems_name_no_agent_of_another_shop(c):
    # a scheme for every shop pays 甲店's agents too, whom a.toml pays already: "paid by two schemes", naming them
    text = 'name = "全店"\neffective_from = "2026-01"\n\n[applies_to]\nroles = ["presales"]\n\n[base]\namount = 1\n'
    body = {"file": "all.toml", "text": text, "month": "2026-11"}
    admin = c["root"].post("/api/pay/schemes/preview", json=body, headers=csrf(c["root"])).json()
    assert not admin["ok"] and any(SLASHED in p for p in admin["problems"])  # the admin sees every problem
    seen = c["manager_b"].post("/api/pay/schemes/preview", json=body, headers=csrf(c["manager_b"])).json()
    assert not seen["ok"] and not any(A in p or "一组" in p or "外包甲" in p for p in seen["problems"]), seen[
        "problems"
    ]
    assert "other shops" in seen["problems"][-1]
    hidden = c["manager_b"].post(
        "/api/pay/schemes/preview",
        headers=csrf(c["manager_b"]),
        json={"file": "a.toml", "text": SCHEME.format(name="x", shop=B, amount=1)},
    )
    assert hidden.status_code == 404  # another shop's file is not theirs to preview either


# -- 2. cached pages never substitute into data ----------------------------------------------------------------------


def test_text_that_looks_like_a_cache_mark_is_shown_as_typed(c):
    for name in ("manager_a", "root"):  # the second viewer gets the cached page
        page = c[name].get(f"/chats/{q(ANN)}/{DAY}/b2").text
        token = c[name].cookies.get("kefu_csrf")
        assert str(escape(MARKED_TEXT)) in page
        assert page.count(token) == len(re.findall(r'name="csrf_token"|csrf-token|X-CSRF-Token', page))
        drill = c[name].get(f"/agents/{q(ANN)}/days/{DAY}").text
        assert str(escape(MARKED_BUYER)) in drill


# -- 4. login throttling ------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def throttled(tmp_path):
    """An app of one admin whose login throttle runs on a clock the test moves."""
    from kefu.web.app import create_app
    from kefu.web.auth import LoginThrottle

    ws = Workspace.open(tmp_path / "ws", create=True)
    add_user(ws.con, name="admin", role="admin", password=PASSWORD)
    ws.close()
    application = create_app(tmp_path / "ws", warm=False, secure_cookies=False)  # the live server test speaks http
    clock = Clock()
    application.state.throttle = LoginThrottle(clock=clock)
    yield application, clock
    application.state.store.close()


def _try(client, name: str, password: str = "wrong-pass-1"):
    return client.post("/api/session", json={"name": name, "password": password}, headers=csrf(client))


def test_guessing_at_the_admin_delays_the_admin_seconds_not_minutes(throttled):
    app, clock = throttled
    client = login(app, None)
    for _ in range(5):
        assert _try(client, "admin").status_code == 401
    refused = _try(client, "admin", PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    clock.now += 1.5
    assert _try(client, "admin", PASSWORD).status_code == 200  # was 300 s of lockout


def test_each_further_failure_doubles_the_wait(throttled):
    app, clock = throttled
    client = login(app, None)
    waits = []
    for _ in range(8):
        assert _try(client, "admin").status_code == 401
        waits.append(app.state.throttle.wait("admin", "testclient"))
        clock.now += waits[-1]
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8]


def test_one_address_guessing_many_names_is_slowed_and_admins_see_it(throttled):
    from kefu.web.auth import LoginThrottle

    app, clock = throttled
    app.state.throttle = LoginThrottle(clock=clock, address_free=4)  # 4 free, not 20: each failure costs a hash
    client = login(app, None)
    for i in range(4):  # 4 names, one failure each: no account is throttled, the address is
        assert _try(client, f"name{i}").status_code == 401
    assert _try(client, "admin", PASSWORD).status_code == 429
    clock.now += 1.5
    admin = login(app, "admin")
    app.state.store.flush_audit()
    audit = admin.get("/api/audit").json()
    assert any(e["action"] == "login_throttled" and "address testclient: 4 failures" in e["object"] for e in audit)
    assert admin.get("/api/login-throttle").json() == []  # the 1 s has passed
    clock.now -= 1.0
    assert [d["key"] for d in admin.get("/api/login-throttle").json()] == ["testclient"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app, trusted: tuple[str, ...]):
    import uvicorn

    from kefu.cli.web import uvicorn_config

    config = uvicorn_config(app, "127.0.0.1", _free_port(), trusted)
    config.lifespan = "off"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{config.port}"


@pytest.mark.parametrize("trusted", [(), ("127.0.0.1",)])
def test_forwarded_for_is_believed_only_from_a_configured_proxy(throttled, trusted):
    from kefu.web.auth import LoginThrottle

    app, _ = throttled
    app.state.throttle = LoginThrottle(address_free=4)
    server, thread, base = _serve(app, trusted)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            client.get("/login")
            token = {"X-CSRF-Token": client.cookies.get("kefu_csrf")}
            for i in range(4):  # a new forged address and name every time
                r = client.post(
                    "/api/session",
                    json={"name": f"n{i}", "password": "wrong-pass-1"},
                    headers=token | {"X-Forwarded-For": f"10.0.0.{i}"},
                )
                assert r.status_code == 401
            last = client.post(
                "/api/session",
                json={"name": "n99", "password": "wrong-pass-1"},
                headers=token | {"X-Forwarded-For": "10.0.0.99"},
            )
    finally:
        server.should_exit = True
        thread.join(10)
    # no proxy configured: all 4 came from 127.0.0.1, which is now slowed down; behind a trusted proxy, each is its own
    assert last.status_code == (401 if trusted else 429)
    assert {d["key"] for d in app.state.throttle.delayed()} == (set() if trusted else {"127.0.0.1"})


# -- 5. CSRF bound to the session, CSP, health, API docs ----------------------------------------------------------------


def test_a_csrf_token_of_the_attackers_choosing_is_refused(c, app):
    client = login(app, "manager_a")
    body = [{"month": "2026-11", "shop": A, "scope": "shop", "subject": A, "metric": "complaints", "value": 5}]
    client.cookies.set("kefu_csrf", "chosen-by-attacker", domain="testserver.local")
    forged = client.post("/api/targets", json=body, headers={"X-CSRF-Token": "chosen-by-attacker"})
    assert forged.status_code == 403
    real = client.get("/targets").text.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/api/targets", json=body, headers={"X-CSRF-Token": real}).status_code == 200


def test_pages_run_only_scripts_from_static_or_with_their_nonce(c):
    r = c["manager_a"].get("/reports/daily", params={"print": "true", "shop": A})
    policy = r.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in policy
    nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
    assert f'<script nonce="{nonce}">' in r.text
    assert nonce != re.search(
        r"'nonce-([^']+)'",
        c["manager_a"].get("/reports/daily", params={"print": "true", "shop": A}).headers["content-security-policy"],
    ).group(1)  # a cached page, a new nonce
    handlers = {p.name for p in TEMPLATES.glob("*.html") if re.search(r"\son[a-z]+=", p.read_text(encoding="utf-8"))}
    assert handlers <= {"pay_slip_print.html"}  # that standalone page sends its own policy (the print button's hash)


def test_health_tells_anonymous_callers_nothing_else(app, c):
    assert login(app, None).get("/api/health").json() == {"status": "ok"}
    assert c["manager_a"].get("/api/health").json()["imports"]["files"] >= 3


@pytest.mark.parametrize(
    "setting, anonymous, signed_in", [("", 401, 200), ('api_docs = "off"', 404, 404), ('api_docs = "public"', 200, 200)]
)
def test_api_docs_follow_the_setting(tmp_path, setting, anonymous, signed_in):
    from kefu.web.app import create_app

    ws = Workspace.open(tmp_path / "ws", create=True)
    add_user(ws.con, name="admin", role="admin", password=PASSWORD)
    ws.close()
    (tmp_path / "ws" / "kefu.toml").write_text(f"[web]\n{setting}\n", encoding="utf-8")
    application = create_app(tmp_path / "ws", warm=False)
    try:
        assert login(application, None).get("/openapi.json").status_code == anonymous
        assert login(application, "admin").get("/openapi.json").status_code == signed_in
        assert login(application, None).get("/docs").status_code == {401: 303}.get(anonymous, anonymous)
    finally:
        application.state.store.close()


def test_web_settings_are_checked(tmp_path):
    from kefu.config import ConfigError, load_config

    (tmp_path / "kefu.toml").write_text(
        '[web]\ntrusted_proxies = ["10.0.0.0/8", "nope"]\napi_docs = "maybe"\n', encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=r"trusted_proxies must be a list of IP addresses.*api_docs must be one of off"
    ):
        load_config(tmp_path / "kefu.toml")
    (tmp_path / "kefu.toml").write_text('[web]\ntrusted_proxies = ["10.0.0.0/8"]\n', encoding="utf-8")
    assert load_config(tmp_path / "kefu.toml").web.trusted_proxies == ("10.0.0.0/8",)


# -- 6. hidden names hide what would name the person ----------------------------------------------------------------------


def test_hidden_names_hide_team_employer_and_the_report_forms_colleagues(c):
    root, agent = c["root"], c["agent_ann"]
    assert 'value="' + SLASHED + '"' in agent.get("/qc/ledger").text  # names shown: the colleague can be picked
    assert (
        root.post(
            "/users/settings", data={"shop": A, "hide": "true", "csrf_token": root.cookies.get("kefu_csrf")}
        ).status_code
        == 303
    )
    try:
        board = agent.get("/api/leaderboard", params={"shop": A, "date_from": DAY, "date_to": DAY}).json()
        others = [r for r in board["rows"] if not r["me"]]
        assert board["names_hidden"] and others
        assert all(r["agent"] is None and r["team"] is None and r["employer"] is None for r in others)
        assert next(r for r in board["rows"] if r["me"])["team"] == "二组"  # their own row keeps it
        filtered = agent.get(
            "/api/leaderboard", params={"shop": A, "date_from": DAY, "date_to": DAY, "team": "一组"}
        ).json()
        assert len(filtered["rows"]) == len(board["rows"])  # a team filter cannot single out a colleague
        assert 'value="' + SLASHED + '"' not in agent.get("/qc/ledger").text
    finally:
        root.post("/users/settings", data={"shop": A, "csrf_token": root.cookies.get("kefu_csrf")})


# -- 14. bad query input is a 4xx ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/overview?shop=%00",
        "/api/leaderboard?shop=%00",
        "/api/audit?limit=-1",
        "/api/audit?limit=99999999999999999999",
        "/api/qc/findings?page=99999999999999999999",
        "/api/qc/findings?page=0",
        f"/api/qc/reports?shop={q(A)}&status=",
        "/api/overview?shop=no-such-shop",
        "/api/overview?date=2026-02-30",
    ],
)
def test_bad_input_is_a_client_error(c, path):
    r = c["root"].get(path)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])


def test_a_domain_error_becomes_a_422_with_its_words(c):
    r = c["root"].get("/api/qc/reports", params={"shop": A, "status": ""})
    assert r.status_code == 422 and r.json()["detail"]


# -- 15. names with "/" and each shop's own latest day -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/agents/{q(SLASHED)}",
        f"/api/agents/{q(SLASHED)}/kpis",
        f"/api/agents/{q(SLASHED)}/days/{DAY}",
        f"/agents/{q(SLASHED)}/days/{DAY}",
        f"/api/chats/{q(SLASHED)}/{DAY}",
        f"/api/chats/{q(SLASHED)}/{DAY}/{q(SLASHED_BUYER)}",
        f"/chats/{q(SLASHED)}/{DAY}/{q(SLASHED_BUYER)}",
        f"/api/pay/agents/{q(SLASHED)}?month=2026-11",
        f"/pay/agents/{q(SLASHED)}/print?month=2026-11",
        f"/api/qc/feedback/{q(SLASHED)}",
    ],
)
def test_pages_keyed_by_a_name_with_a_slash_open(c, path):
    assert c["manager_a"].get(path).status_code == 200


def test_the_chat_of_a_buyer_with_a_slash_is_theirs(c):
    chat = c["manager_a"].get(f"/api/chats/{q(SLASHED)}/{DAY}/{q(SLASHED_BUYER)}").json()
    assert chat["agent"] == SLASHED and chat["buyer"] == SLASHED_BUYER and len(chat["messages"]) == 2


def test_the_default_day_is_the_latest_of_the_users_shops(c):
    assert c["manager_b"].get("/api/overview").json()["day"] == "2026-11-05"
    assert c["manager_a"].get("/api/overview").json()["day"] == DAY
    assert c["root"].get("/api/overview", params={"shop": B}).json()["day"] == "2026-11-05"
    board = c["manager_b"].get("/api/leaderboard").json()
    assert board["date_to"] == "2026-11-05" and [r["agent"] for r in board["rows"]] == [BOB]
    assert ANN not in str(board)


def test_the_web_settings_are_documented():
    from kefu import docgen

    docs = Path(__file__).resolve().parents[2] / "docs"
    assert docgen.settings_markdown("web") in (docs / "config.md").read_text(encoding="utf-8")
    assert "trusted_proxies" in (docs / "security.md").read_text(encoding="utf-8")


# -- 16. routing errors: a translated page for browsers, JSON for the API --------------------------------------------------

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    "lang, heading, text", [("zh", "404 · 未找到", "没有找到这一页或它的数据"), ("en", "404 · Not found", "Not Found")]
)
def test_an_unknown_url_is_the_error_page_in_the_users_language(c, lang, heading, text):
    client = c["manager_a"]
    client.cookies.set("kefu_lang", lang)
    try:
        r = client.get("/no-such-page", headers=BROWSER)
    finally:
        client.cookies.delete("kefu_lang")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert heading in r.text and f'id="error-detail">{text}<' in r.text
    assert 'id="back-home" href="/"' in r.text and 'id="topnav"' in r.text  # the signed-in user's header and way back


def test_a_wrong_method_is_the_error_page_for_a_browser(c):
    r = c["manager_a"].get("/logout", headers=BROWSER)  # /logout only takes POST
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert "405 · 不支持这种请求方式" in r.text and 'id="error-detail">这个地址不能这样打开' in r.text


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/api/agents"])
def test_api_errors_stay_json_for_a_browser(c, path):
    method = (
        "DELETE" if path == "/api/agents" else "GET"
    )  # an unknown path (404), a known one with a wrong method (405)
    r = c["manager_a"].request(method, path, headers=BROWSER | csrf(c["manager_a"]))
    assert r.status_code in (404, 405) and r.headers["content-type"] == "application/json"
    assert r.json()["detail"] in ("Not Found", "Method Not Allowed")


def test_an_anonymous_visitor_gets_the_page_without_a_header(app):
    r = login(app, None).get("/no-such-page", headers=BROWSER)
    assert r.status_code == 404 and "没有找到这一页或它的数据" in r.text and 'id="topnav"' not in r.text


# -- 17. users whose names contain "/" -------------------------------------------------------------------------------------


def test_a_user_named_with_a_slash_can_be_changed(c):
    root, name = c["root"], "外包/小李"
    assert (
        root.post("/api/users", json={"name": name, "role": "qc", "shops": [A]}, headers=csrf(root)).status_code == 200
    )
    changed = root.patch(f"/api/users/{q(name)}", json={"role": "manager"}, headers=csrf(root))
    assert changed.status_code == 200 and changed.json()["name"] == name and changed.json()["role"] == "manager"
    assert root.post(f"/api/users/{q(name)}/password", headers=csrf(root)).json()["name"] == name
    token = {"csrf_token": root.cookies.get("kefu_csrf")}
    assert root.post(f"/users/{q(name)}/disable", data=token).status_code == 303
    assert next(u for u in root.get("/api/users").json() if u["name"] == name)["disabled"] is True
    assert root.post(f"/users/{q(name)}/enable", data=token).status_code == 303
    assert root.post(f"/users/{q(name)}/edit", data=token | {"role": "qc", "shops": [A]}).status_code == 303
    assert root.post(f"/users/{q(name)}/password", data=token).status_code == 200
    user = next(u for u in root.get("/api/users").json() if u["name"] == name)
    assert (user["role"], user["disabled"]) == ("qc", False)


def test_bad_input_on_a_page_names_the_reason_for_a_browser(c):
    r = c["manager_a"].get(f"/agents/{q(ANN)}", params={"metric": "bogus"}, headers=BROWSER)
    assert r.status_code == 422 and "422 · 请求未完成" in r.text
    assert str(escape("unknown agent metric 'bogus'")) in r.text.split('id="error-reason" data-verbatim>')[1]
    assert c["manager_a"].get(f"/agents/{q(ANN)}", params={"metric": "bogus"}).json()["detail"]  # fetch / htmx: JSON


def test_a_missing_static_file_is_no_page(c):
    r = c["manager_a"].get("/static/no-such.css", headers={"Accept": "text/css,*/*;q=0.1"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
