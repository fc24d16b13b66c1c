"""Every role × every endpoint, including another agent's chats and another vendor's agents.

The expected table is written out here, independently of kefu.web.permissions,
so a change in the rules has to be made in both places.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.web.conftest import SHOP, csrf

ROLES = ("admin", "manager", "manager_elsewhere", "qc", "agent", "vendor", "anonymous")
OK, NO = 200, 403

# endpoint -> roles that get 200 (every other logged-in role gets 403, anonymous 401 / a redirect to /login)
SHOP_WIDE = {
    "/api/overview": {"admin", "manager"},
    "/api/leaderboard": {"admin", "manager", "agent", "vendor"},
    "/api/heatmap": {"admin", "manager"},
    "/api/losses": {"admin", "manager", "vendor"},
    "/losses.csv": {"admin", "manager", "vendor"},
    "/api/reports/daily": {"admin", "manager"},
    "/reports/daily.xlsx": {"admin", "manager"},
    "/api/targets": {"admin", "manager"},
    "/api/users": {"admin"},
    "/api/audit": {"admin"},
    "/api/me": {"admin", "manager", "manager_elsewhere", "qc", "agent", "vendor"},
    "/api/qc/findings": {"admin", "manager", "qc"},
    "/api/qc/ledger": {"admin", "manager", "qc", "agent"},  # an agent: their own row
    "/api/qc/ledger/errors": {"admin", "manager", "qc"},
    "/api/qc/ledger/public": {"admin", "manager", "qc", "agent"},
    "/api/qc/reports": {"admin", "manager", "qc", "agent"},  # an agent: the reports they filed
    "/api/pay/payroll": {"admin", "manager"},
    "/pay/payroll.xlsx": {"admin", "manager"},
    "/api/pay/settlement": {"admin", "manager", "vendor"},  # a vendor: their own company's
    "/pay/settlement.xlsx": {"admin", "manager", "vendor"},
    "/api/pay/schemes": {"admin", "manager"},
}
PAGES = {
    "/": {"admin", "manager"},
    "/leaderboard": {"admin", "manager", "agent", "vendor"},
    "/heatmap": {"admin", "manager"},
    "/losses": {"admin", "manager", "vendor"},
    "/reports/daily": {"admin", "manager"},
    "/reports/daily?print=true": {"admin", "manager"},
    "/targets": {"admin", "manager"},
    "/users": {"admin"},
    "/chats": {"admin", "manager", "qc", "agent", "vendor"},
    "/qc": {"admin", "manager", "qc"},
    "/qc/rules": {"admin", "manager", "qc"},
    "/qc/ledger": {"admin", "manager", "qc", "agent"},
    "/account/password": {"admin", "manager", "manager_elsewhere", "qc", "agent", "vendor"},
    "/pay/settlement": {"admin", "manager", "vendor"},
    "/pay/schemes": {"admin", "manager"},
}
# per-agent endpoints: which of the four agents each role may open
AGENT_SCOPE = {
    "admin": {"own", "colleague", "vendor_agent", "other_vendor_agent"},
    "manager": {"own", "colleague", "vendor_agent", "other_vendor_agent"},
    "manager_elsewhere": set(),
    "agent": {"own"},
    "vendor": {"vendor_agent"},
}
CHAT_SCOPE = AGENT_SCOPE | {"qc": {"own", "colleague", "vendor_agent", "other_vendor_agent"}}
KPI_SCOPE = AGENT_SCOPE | {"qc": set()}
WHO = ("own", "colleague", "vendor_agent", "other_vendor_agent")


def with_shop(path: str) -> str:
    if path.startswith(("/api/me", "/api/users", "/api/audit", "/api/targets")):
        return path
    return path + ("&" if "?" in path else "?") + "shop=" + quote(SHOP)


def expected_anonymous(path: str) -> int:
    return 401 if path.startswith("/api/") else 303


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(SHOP_WIDE))
def test_shop_wide_endpoints(clients, role, path):
    r = clients[role].get(with_shop(path))
    if role == "anonymous":
        assert r.status_code == expected_anonymous(path)
    elif role == "manager_elsewhere" and path == "/api/targets":
        assert r.status_code == OK and all(t["shop"] != SHOP for t in r.json())  # lists only their own shops
    elif role == "manager_elsewhere" and "manager" in SHOP_WIDE[path] and path != "/api/me":
        assert r.status_code == NO  # right role, wrong shop
    else:
        assert r.status_code == (OK if role in SHOP_WIDE[path] else NO), r.text[:200]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(PAGES))
def test_pages(clients, role, path):
    r = clients[role].get(path)
    if role == "anonymous":
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    elif (
        role == "manager_elsewhere"
        and "manager" in PAGES[path]
        and path not in ("/targets", "/chats", "/account/password")
    ):
        assert r.status_code in (403, 404)  # no visible shop
    elif role == "manager_elsewhere" and path in ("/targets", "/chats"):
        assert r.status_code == OK  # the page opens, but lists nothing of the shop
        assert "小" not in r.text.split("<main>")[1].split("</main>")[0] or SHOP not in r.text
    else:
        assert r.status_code == (OK if role in PAGES[path] else NO)


@pytest.fixture(scope="module")
def pay_schemes(world):
    """The example pay schemes (examples/schemes/), which pay every human agent of the simulated shop."""
    import shutil
    from pathlib import Path

    folder = world.path / "schemes"
    folder.mkdir(exist_ok=True)
    for f in (Path(__file__).resolve().parents[2] / "examples" / "schemes").glob("*.toml"):
        shutil.copy(f, folder / f.name)
    return folder


@pytest.mark.parametrize("role", ROLES)
def test_pay_sends_each_role_to_its_own_view(clients, world, pay_schemes, role):
    r = clients[role].get("/pay")
    expected = {"admin": 200, "manager": 200, "manager_elsewhere": 404, "qc": 403, "anonymous": 303}
    if role == "agent":
        assert r.status_code == 303 and r.headers["location"].startswith(f"/pay/agents/{quote(world.own, safe='')}?")
    elif role == "vendor":
        assert r.status_code == 303 and r.headers["location"].startswith("/pay/settlement?")
    else:
        assert r.status_code == expected[role]


def test_vendor_settles_only_their_company(clients, world, pay_schemes):
    found = clients["vendor"].get("/api/pay/settlement", params={"shop": SHOP}).json()
    assert [v["employer"] for v in found] == [world.vendor] and world.vendor_agent in {
        a["agent"] for v in found for a in v["agents"]
    }
    other = clients["admin"].get(f"/api/agents/{quote(world.other_vendor_agent)}/kpis")  # exists, but not theirs
    assert other.status_code == 200
    assert clients["vendor"].get("/api/pay/settlement", params={"shop": SHOP, "employer": "别家外包"}).status_code == NO


@pytest.fixture(scope="module")
def buyers(clients, world):
    """A buyer of each of the four agents on the test day (found as admin)."""
    found = {}
    for who in WHO:
        agent = getattr(world, who)
        rows = clients["admin"].get(f"/api/chats/{quote(agent)}/{world.day}").json()
        assert rows, f"{agent} has no chats on {world.day}"
        found[who] = rows[0]["buyer"]
    return found


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    "kind", ["kpis", "drilldown", "agent_page", "drilldown_page", "payslip", "payslip_page", "payslip_print"]
)
def test_agent_endpoints(clients, world, pay_schemes, role, who, kind):
    agent = quote(getattr(world, who))
    path = {
        "kpis": f"/api/agents/{agent}/kpis",
        "drilldown": f"/api/agents/{agent}/days/{world.day}",
        "agent_page": f"/agents/{agent}",
        "drilldown_page": f"/agents/{agent}/days/{world.day}?metric=lost_buyers",
        "payslip": f"/api/pay/agents/{agent}",
        "payslip_page": f"/pay/agents/{agent}",
        "payslip_print": f"/pay/agents/{agent}/print",
    }[kind]
    r = clients[role].get(path)
    if role == "anonymous":
        assert r.status_code == expected_anonymous(path)
    else:
        assert r.status_code == (OK if who in KPI_SCOPE[role] else NO)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("kind", ["list", "chat", "chat_page"])
def test_chats_of_each_agent(clients, world, buyers, role, who, kind):
    agent = quote(getattr(world, who))
    path = {
        "list": f"/api/chats/{agent}/{world.day}",
        "chat": f"/api/chats/{agent}/{world.day}/{quote(buyers[who])}",
        "chat_page": f"/chats/{agent}/{world.day}/{quote(buyers[who])}",
    }[kind]
    r = clients[role].get(path)
    if role == "anonymous":
        assert r.status_code == expected_anonymous(path)
    else:
        assert r.status_code == (OK if who in CHAT_SCOPE[role] else NO)


@pytest.mark.parametrize("role", ROLES)
def test_writing_targets(clients, world, role):
    body = [
        {
            "month": world.day.strftime("%Y-%m"),
            "shop": SHOP,
            "scope": "shop",
            "subject": SHOP,
            "metric": "complaints",
            "value": 5,
        }
    ]
    client = clients[role]
    assert client.post("/api/targets", json=body).status_code in (401, 403)  # no CSRF token: refused whoever asks
    r = client.post("/api/targets", json=body, headers=csrf(client))
    expected = {"admin": 200, "manager": 200, "anonymous": 401}.get(role, 403)
    assert r.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_adding_users(clients, role):
    client = clients[role]
    r = client.post("/api/users", json={"name": f"new-{role}", "role": "qc", "shops": [SHOP]}, headers=csrf(client))
    assert r.status_code == {"admin": 200, "anonymous": 401}.get(role, 403)


def test_vendor_sees_only_their_company_in_lists(clients, world):
    board = clients["vendor"].get("/api/leaderboard", params={"shop": SHOP}).json()
    assert {r["employer"] for r in board["rows"]} == {world.vendor}
    agents = clients["vendor"].get("/api/agents").json()
    assert {a["employer"] for a in agents} == {world.vendor}
    lost = clients["vendor"].get("/api/losses", params={"shop": SHOP, "date": str(world.day)}).json()["lost"]
    assert all(r["agent"] in {a["agent"] for a in agents} for r in lost)


def test_agent_ranking_hides_other_names_when_the_shop_chooses(clients, world):
    admin = clients["admin"]
    shown = clients["agent"].get("/api/leaderboard", params={"shop": SHOP}).json()
    assert not shown["names_hidden"] and all(r["agent"] for r in shown["rows"])
    assert (
        admin.post(
            "/users/settings", data={"shop": SHOP, "hide": "true", "csrf_token": admin.cookies.get("kefu_csrf")}
        ).status_code
        == 303
    )
    try:
        hidden = clients["agent"].get("/api/leaderboard", params={"shop": SHOP}).json()
        assert hidden["names_hidden"]
        named = [r["agent"] for r in hidden["rows"] if r["agent"]]
        assert named == [world.own]  # only their own row keeps a name
        assert len(hidden["rows"]) == len(shown["rows"])  # but the whole team is ranked
        assert clients["manager"].get("/api/leaderboard", params={"shop": SHOP}).json()["names_hidden"] is False
    finally:
        admin.post("/users/settings", data={"shop": SHOP, "csrf_token": admin.cookies.get("kefu_csrf")})


def test_views_and_exports_are_audited(clients, world):
    clients["manager"].get("/losses.csv", params={"shop": SHOP, "date": str(world.day)})
    clients["agent"].get(f"/api/chats/{quote(world.own)}/{world.day}/x-no-such-buyer")
    log = clients["admin"].get("/api/audit").json()
    actions = [(e["user"], e["action"]) for e in log]
    assert ("小萍", "export_losses") in actions
    assert ("agent_user", "view_chat") in actions


# user management: (method, path, body) -> only admin may; each role's attempt on a user made for the purpose
USER_ADMIN = {
    "create": ("post", "/api/users", lambda role: {"name": f"made-by-{role}", "role": "qc", "shops": [SHOP]}),
    "change": ("patch", "/api/users/target-{role}", lambda role: {"role": "manager", "shops": [SHOP]}),
    "disable": ("patch", "/api/users/target-{role}", lambda role: {"disabled": True}),
    "reset_password": ("post", "/api/users/target-{role}/password", lambda role: None),
    "page_create": ("post", "/users", lambda role: {"name": f"page-made-by-{role}", "role": "qc", "shops": [SHOP]}),
    "page_edit": ("post", "/users/target-{role}/edit", lambda role: {"role": "manager", "shops": [SHOP]}),
    "page_reset": ("post", "/users/target-{role}/password", lambda role: {}),
    "page_disable": ("post", "/users/target-{role}/disable", lambda role: {}),
    "page_enable": ("post", "/users/target-{role}/enable", lambda role: {}),
    "page_settings": ("post", "/users/settings", lambda role: {"shop": SHOP}),
}


@pytest.fixture(scope="module")
def targets_of_roles(clients):
    """A qc user per role for that role's attempts to change (made by the admin)."""
    admin = clients["admin"]
    for role in ROLES:
        r = admin.post(
            "/api/users", json={"name": f"target-{role}", "role": "qc", "shops": [SHOP]}, headers=csrf(admin)
        )
        assert r.status_code in (200, 409), r.text
    return True


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(USER_ADMIN))
def test_managing_users(clients, targets_of_roles, role, action):
    method, path, body = USER_ADMIN[action]
    path, body, client = path.format(role=role), body(role), clients[role]
    form = action.startswith("page_")
    if form:
        r = client.post(path, data={**body, "csrf_token": client.cookies.get("kefu_csrf") or ""})
    else:
        r = (
            getattr(client, method)(path, json=body, headers=csrf(client))
            if body is not None
            else getattr(client, method)(path, headers=csrf(client))
        )
    if role == "anonymous":
        assert r.status_code == (303 if form else 401)
    elif role == "admin":
        assert r.status_code in (200, 303), r.text[:300]
    else:
        assert r.status_code == NO, r.text[:200]


@pytest.mark.parametrize("role", ROLES)
def test_changing_ones_own_password_is_for_everyone_logged_in(clients, role):
    client = clients[role]
    # a wrong current password: every logged-in role reaches the check (422); nobody changes anything
    r = client.post(
        "/api/me/password",
        headers=csrf(client),
        json={
            "current_password": "not-the-password-1",
            "new_password": "Another-pass-1",
            "new_password_again": "Another-pass-1",
        },
    )
    assert r.status_code == (401 if role == "anonymous" else 422)


# -- quality inspection (docs/qc-review.md) --------------------------------------------------------------

QC_SUPERVISORS = {"admin", "manager", "qc"}
FEEDBACK_SCOPE = AGENT_SCOPE | {"qc": set(WHO)}  # confirmed findings: whoever may see the agent
REVIEW_SCOPE = {role: set(WHO) if role in QC_SUPERVISORS else set() for role in ROLES}


@pytest.fixture(scope="module")
def findings(app, world):
    from tests.web.qc_seed import seed_findings

    return seed_findings(app.state.store, {who: getattr(world, who) for who in WHO}, world.day, per_agent=1)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("kind", ["api", "page", "fragment"])
def test_qc_feedback_of_each_agent(clients, world, role, who, kind):
    agent = quote(getattr(world, who))
    path = {
        "api": f"/api/qc/feedback/{agent}",
        "page": f"/qc/feedback/{agent}",
        "fragment": f"/qc/feedback/{agent}?fragment=true",
    }[kind]
    r = clients[role].get(path)
    if role == "anonymous":
        assert r.status_code == expected_anonymous(path)
    else:
        assert r.status_code == (OK if who in FEEDBACK_SCOPE[role] else NO)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("who", WHO)
def test_reviewing_each_agents_finding(clients, findings, role, who):
    client = clients[role]
    path = f"/api/qc/findings/{findings[who][0]}/review"
    assert client.post(path, json={"status": "open"}).status_code in (401, 403)  # no CSRF token: refused whoever asks
    r = client.post(path, json={"status": "open"}, headers=csrf(client))  # reopen: changes nothing
    expected = 401 if role == "anonymous" else OK if who in REVIEW_SCOPE[role] else NO
    assert r.status_code == expected, r.text[:200]


@pytest.mark.parametrize("role", ROLES)
def test_qc_writes(clients, world, role):
    client = clients[role]
    supervisor = role in QC_SUPERVISORS
    refused = 401 if role == "anonymous" else NO
    # the rule library and a QC run: a wrong request tells who may ask (422) from who may not (403);
    # they are workspace-wide, and a manager of a shop that is not in the workspace has nothing there (404)
    wide = 404 if role == "manager_elsewhere" else 422 if supervisor else refused
    assert client.put("/api/qc/rules", json={"text": "not = [toml"}, headers=csrf(client)).status_code == wide
    run = {"date_from": str(world.day), "date_to": "2000-01-01"}
    assert client.post("/api/qc/run", json=run, headers=csrf(client)).status_code == wide
    report = {"agent": world.colleague, "day": str(world.day), "description": f"authz {role}", "reporter": world.own}
    r = client.post("/api/qc/reports", json=report, headers=csrf(client))
    assert r.status_code == (OK if role in {"admin", "manager", "qc", "agent"} else refused), r.text[
        :200
    ]  # manager_elsewhere: 403
    if r.status_code == OK:
        assert r.json()["reporter"] == world.own
        decided = client.post(
            f"/api/qc/reports/{r.json()['report_id']}/decision", json={"status": "rejected"}, headers=csrf(client)
        )
        assert decided.status_code == (OK if supervisor else NO)


@pytest.mark.parametrize("role", ROLES)
def test_qc_rules_api(clients, role):
    r = clients[role].get("/api/qc/rules")
    expected = {"admin": OK, "manager": OK, "qc": OK, "anonymous": 401, "manager_elsewhere": 404}.get(role, NO)
    assert r.status_code == expected


@pytest.mark.parametrize(
    ("role", "path", "action"),
    [
        ("agent", "/api/overview?date=11/11/2026", "overview"),
        ("qc", "/api/leaderboard?date_to=yesterday", "leaderboard"),
        ("vendor", "/api/qc/ledger?month=2026-13", "qc_public"),
        ("agent", "/api/pay/payroll?month=2026-13", "pay_payroll"),
    ],
)
def test_the_role_is_checked_before_the_parameters(clients, role, path, action):
    """Permissions are route dependencies: a role that may not use a route gets its 403 however it asks, and the
    answer says only that (not what is wrong with the parameters, a 422 for those who may)."""
    r = clients[role].get(path)
    assert r.status_code == NO and r.json() == {"detail": f"role {role} may not use {action}"}
    assert clients["admin"].get(path).status_code == 422
