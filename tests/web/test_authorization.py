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
    if path.startswith("/api/me") or path.startswith("/api/users") or path.startswith("/api/audit") or path.startswith("/api/targets"):
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
    elif role == "manager_elsewhere" and "manager" in PAGES[path] and path not in ("/targets", "/chats"):
        assert r.status_code in (403, 404)  # no visible shop
    elif role == "manager_elsewhere" and path in ("/targets", "/chats"):
        assert r.status_code == OK  # the page opens, but lists nothing of the shop
        assert "小" not in r.text.split("<main>")[1].split("</main>")[0] or SHOP not in r.text
    else:
        assert r.status_code == (OK if role in PAGES[path] else NO)


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
@pytest.mark.parametrize("kind", ["kpis", "drilldown", "agent_page", "drilldown_page"])
def test_agent_endpoints(clients, world, role, who, kind):
    agent = quote(getattr(world, who))
    path = {"kpis": f"/api/agents/{agent}/kpis", "drilldown": f"/api/agents/{agent}/days/{world.day}",
            "agent_page": f"/agents/{agent}", "drilldown_page": f"/agents/{agent}/days/{world.day}?metric=lost_buyers"}[kind]
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
    path = {"list": f"/api/chats/{agent}/{world.day}", "chat": f"/api/chats/{agent}/{world.day}/{quote(buyers[who])}",
            "chat_page": f"/chats/{agent}/{world.day}/{quote(buyers[who])}"}[kind]
    r = clients[role].get(path)
    if role == "anonymous":
        assert r.status_code == expected_anonymous(path)
    else:
        assert r.status_code == (OK if who in CHAT_SCOPE[role] else NO)


@pytest.mark.parametrize("role", ROLES)
def test_writing_targets(clients, world, role):
    body = [{"month": world.day.strftime("%Y-%m"), "shop": SHOP, "scope": "shop", "subject": SHOP, "metric": "complaints", "value": 5}]
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
    assert admin.post("/users/settings", data={"shop": SHOP, "hide": "true", "csrf_token": admin.cookies.get("kefu_csrf")}).status_code == 303
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
