"""User management (admin) and changing one's own password: validated against the workspace, audited, sessions ended."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from argon2 import PasswordHasher

from kefu.users import generate_password, needs_rehash, password_problems, scope_problems
from tests.web.conftest import PASSWORD, SHOP, csrf, login


@pytest.fixture(scope="module")
def admin(app):
    return login(app, "boss")


def create(admin, **body):
    return admin.post("/api/users", json=body, headers=csrf(admin))


def test_a_user_must_name_what_exists(admin, world):
    cases = [
        ({"name": "u1", "role": "manager", "shops": ["没有这家店"]}, "no shop '没有这家店'"),
        ({"name": "u2", "role": "agent", "shops": [SHOP], "agent": f"{SHOP}:nobody"}, "no agent account"),
        (
            {"name": "u3", "role": "vendor", "shops": [SHOP], "employer": "不存在外包"},
            "no outsourcing company '不存在外包'",
        ),
        ({"name": "u4", "role": "vendor", "shops": [SHOP]}, "needs the outsourcing company"),
        ({"name": "u5", "role": "manager", "shops": [SHOP], "agent": world.own}, "--agent only applies to role agent"),
        ({"name": "u6", "role": "boss", "shops": [SHOP]}, "unknown role 'boss'"),
        ({"name": "u7", "role": "qc", "shops": [SHOP], "password": "short1"}, "at least 10 characters"),
        ({"name": "u8", "role": "qc", "shops": [SHOP], "password": "onlyletterslong"}, "at least two of"),
    ]
    for body, message in cases:
        r = create(admin, **body)
        assert r.status_code == 422 and message in r.json()["detail"], (body, r.text)
    names = {u["name"] for u in admin.get("/api/users").json()}
    assert not names & {"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}  # nothing half-made


def test_scope_is_checked_against_the_roster():
    roster = {
        "a:小王": {"shop": "a", "employer": "in_house"},
        "b:小李": {"shop": "b", "employer": "外包乙"},
        "a:小赵": {"shop": "a", "employer": "外包甲"},
    }
    check = lambda **kw: scope_problems(roster=roster, **{"agent": None, "employer": None, **kw})  # noqa: E731
    assert check(role="agent", shops=["a"], agent="a:小王") == []
    assert check(role="agent", shops=["a"], agent="b:小李") == [
        "agent account 'b:小李' belongs to shop 'b', which is not among the user's shops"
    ]
    assert check(role="vendor", shops=["a"], employer="外包甲") == []
    assert (
        "companies: 外包甲" in check(role="vendor", shops=["a"], employer="外包乙")[0]
    )  # 外包乙 works for shop b only
    assert check(role="manager", shops=["a", "c"]) == ["no shop 'c' in this workspace (shops: a, b)"]
    assert check(role="manager", shops=["a"]) == [] and check(role="admin", shops=[]) == []


def test_create_reset_disable_enable(admin, app, world):
    r = create(admin, name="新客服", role="agent", shops=[SHOP], agent=world.colleague)
    assert r.status_code == 200
    first = r.json()["password"]
    assert not password_problems(first)
    assert create(admin, name="新客服", role="qc", shops=[SHOP]).status_code == 409  # no silent replacement
    user = login(app, "新客服", first)
    assert user.get("/api/me").json()["agent"] == world.colleague
    assert user.get(f"/api/agents/{quote(world.colleague)}/kpis").status_code == 200
    assert user.get(f"/api/agents/{quote(world.own)}/kpis").status_code == 403

    reset = admin.post(f"/api/users/{quote('新客服')}/password", headers=csrf(admin))
    second = reset.json()["password"]
    assert reset.status_code == 200 and second != first
    assert user.get("/api/me").status_code == 401  # the old session ended
    c = login(app, None)
    assert c.post("/api/session", json={"name": "新客服", "password": first}, headers=csrf(c)).status_code == 401
    user = login(app, "新客服", second)

    off = admin.patch(f"/api/users/{quote('新客服')}", json={"disabled": True}, headers=csrf(admin))
    assert off.status_code == 200 and off.json()["disabled"] is True
    assert user.get("/api/me").status_code == 401
    assert c.post("/api/session", json={"name": "新客服", "password": second}, headers=csrf(c)).status_code == 401
    listed = {u["name"]: u for u in admin.get("/api/users").json()}
    assert listed["新客服"]["disabled"] is True
    assert (
        admin.patch(f"/api/users/{quote('新客服')}", json={"disabled": False}, headers=csrf(admin)).status_code == 200
    )
    assert login(app, "新客服", second).get("/api/me").status_code == 200

    actions = [(e["action"], e["object"].split(":")[0].split(" ")[0]) for e in admin.get("/api/audit").json()]
    for action in ("add_user", "reset_password", "disable_user", "enable_user"):
        assert (action, "新客服") in actions, action


def test_changing_role_and_shops_takes_effect_at_once(admin, app):
    assert create(admin, name="换角色", role="manager", shops=[SHOP]).status_code == 200
    password = admin.post(f"/api/users/{quote('换角色')}/password", headers=csrf(admin)).json()["password"]
    client = login(app, "换角色", password)
    assert client.get("/api/overview").status_code == 200
    r = admin.patch(f"/api/users/{quote('换角色')}", json={"role": "qc"}, headers=csrf(admin))
    assert r.status_code == 200 and r.json()["role"] == "qc"
    assert client.get("/api/overview").status_code == 403 and client.get("/chats").status_code == 200
    bad = admin.patch(f"/api/users/{quote('换角色')}", json={"role": "vendor"}, headers=csrf(admin))
    assert bad.status_code == 422 and "outsourcing company" in bad.json()["detail"]
    assert admin.patch("/api/users/nobody", json={"role": "qc"}, headers=csrf(admin)).status_code == 404


def test_the_last_admin_and_oneself_are_protected(admin):
    r = admin.patch("/api/users/boss", json={"disabled": True}, headers=csrf(admin))
    assert r.status_code == 422 and "yourself" in r.json()["detail"]
    r = admin.patch("/api/users/boss", json={"role": "manager", "shops": [SHOP]}, headers=csrf(admin))
    assert r.status_code == 422 and "last admin" in r.json()["detail"]


def test_changing_ones_own_password(app):
    admin = login(app, "boss")
    assert create(admin, name="改密码", role="qc", shops=[SHOP], password=PASSWORD).status_code == 200
    me, other_device = login(app, "改密码"), login(app, "改密码")

    def change(current: str, new: str, again: str):
        return me.post(
            "/api/me/password",
            headers=csrf(me),
            json={"current_password": current, "new_password": new, "new_password_again": again},
        )

    assert "current password is wrong" in change("wrong-password-1", "N3w-password!", "N3w-password!").json()["detail"]
    assert "differ" in change(PASSWORD, "N3w-password!", "N3w-password?").json()["detail"]
    weak = change(PASSWORD, "abcdefghij", "abcdefghij")
    assert weak.status_code == 422 and "at least two of" in weak.json()["detail"]
    assert "user name" in change(PASSWORD, "改密码-2026-ok", "改密码-2026-ok").json()["detail"]
    assert change(PASSWORD, "N3w-password!", "N3w-password!").status_code == 200
    assert me.get("/api/me").status_code == 200  # this session goes on (under a new token)
    assert other_device.get("/api/me").status_code == 401  # the other one ended
    assert login(app, "改密码", "N3w-password!").get("/api/me").status_code == 200
    c = login(app, None)
    assert c.post("/api/session", json={"name": "改密码", "password": PASSWORD}, headers=csrf(c)).status_code == 401
    assert ("change_password", "改密码") in [(e["action"], e["object"]) for e in admin.get("/api/audit").json()]


def test_the_password_page(app):
    admin = login(app, "boss")
    create(admin, name="页面改密", role="qc", shops=[SHOP], password=PASSWORD)
    me = login(app, "页面改密")
    page = me.get("/account/password")
    assert page.status_code == 200 and 'id="change-password"' in page.text
    form = {
        "current_password": PASSWORD,
        "new_password": "short",
        "new_password_again": "short",
        "csrf_token": me.cookies.get("kefu_csrf"),
    }
    bad = me.post("/account/password", data=form)
    assert bad.status_code == 422 and "at least 10 characters" in bad.text
    form |= {"new_password": "Pag3-password", "new_password_again": "Pag3-password"}
    ok = me.post("/account/password", data=form)
    assert ok.status_code == 200 and 'id="password-changed"' in ok.text
    assert me.get("/api/me").status_code == 200


def test_the_users_page_creates_shows_the_password_once_and_toggles(app, world):
    admin = login(app, "boss")
    token = admin.cookies.get("kefu_csrf")
    page = admin.post(
        "/users",
        data={
            "name": "页面用户",
            "role": "vendor",
            "shops": [SHOP],
            "employer": world.vendor,
            "agent": world.own,
            "csrf_token": token,
        },
    )  # the form sends every field: agent is ignored for a vendor
    assert page.status_code == 200 and 'id="new-password"' in page.text
    password = page.text.split('class="secret">')[1].split("<")[0]
    assert login(app, "页面用户", password).get("/api/me").json()["employer"] == world.vendor
    assert password not in admin.get("/users").text  # shown once only
    bad = admin.post("/users", data={"name": "页面用户2", "role": "agent", "shops": [SHOP], "csrf_token": token})
    assert bad.status_code == 422 and "needs the account" in bad.text
    assert admin.post(f"/users/{quote('页面用户')}/disable", data={"csrf_token": token}).status_code == 303
    assert 'data-user="页面用户" class="off"' in admin.get("/users").text
    assert admin.post(f"/users/{quote('页面用户')}/enable", data={"csrf_token": token}).status_code == 303
    edit = admin.post(
        f"/users/{quote('页面用户')}/edit",
        data={"role": "manager", "shops": [SHOP], "employer": world.vendor, "csrf_token": token},
    )
    assert edit.status_code == 303
    assert {u["name"]: u for u in admin.get("/api/users").json()}["页面用户"]["role"] == "manager"
    reset = admin.post(f"/users/{quote('页面用户')}/password", data={"csrf_token": token})
    assert reset.status_code == 200 and 'id="new-password"' in reset.text


def test_weaker_argon2_hashes_are_upgraded_at_login(app):
    store = app.state.store
    admin = login(app, "boss")
    create(admin, name="老哈希", role="qc", shops=[SHOP], password=PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    store.write(lambda ws: ws.con.execute("UPDATE web_users SET password_hash = ? WHERE name = '老哈希'", [weak]))
    assert store.read(lambda ws: needs_rehash(ws.con, "老哈希"))
    assert login(app, "老哈希").get("/api/me").status_code == 200
    assert not store.read(lambda ws: needs_rehash(ws.con, "老哈希"))
    assert login(app, "老哈希").get("/api/me").status_code == 200  # the new hash verifies the same password


def test_generated_passwords_meet_the_rule():
    assert all(not password_problems(generate_password()) for _ in range(200))
