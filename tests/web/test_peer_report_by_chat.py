"""互查 in a shop that hides names (issue #12.6): an agent names the colleague through a chat of their own (the buyer
and the day, or the chat's link); the server finds the colleague, and the agent never sees who it was.

The two-shop workspace (tests/web/two_shops.py) plus chats in which 甲店:安 (the `agent_ann` user) and colleagues
wrote to the same buyer on 2026-11-11."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace
from tests.web.conftest import csrf, login
from tests.web.two_shops import ANN, SLASHED, A, _csv, build

DING = f"{A}:丁"
SHARED = [  # b9: 王/小 then 安; b8: 王/小, 丁 and 安; b7: 王/小 only
    ("2026-11-11 15:00:00", A, "b9", SLASHED, "buyer", "这件多少钱"),
    ("2026-11-11 15:00:40", A, "b9", SLASHED, "agent", "99元哦"),
    ("2026-11-11 15:10:00", A, "b9", ANN, "transfer", ""),
    ("2026-11-11 15:10:30", A, "b9", ANN, "agent", "亲，我来为您服务"),
    ("2026-11-11 16:00:00", A, "b8", SLASHED, "buyer", "在吗"),
    ("2026-11-11 16:00:10", A, "b8", SLASHED, "agent", "在的"),
    ("2026-11-11 16:05:00", A, "b8", DING, "agent", "满300包邮"),
    ("2026-11-11 16:10:00", A, "b8", ANN, "agent", "还有问题吗"),
    ("2026-11-11 17:00:00", A, "b7", SLASHED, "buyer", "发什么快递"),
    ("2026-11-11 17:00:20", A, "b7", SLASHED, "agent", "中通"),
]
DAY = "2026-11-11"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kefu.web.app import create_app

    root = tmp_path_factory.mktemp("peer")
    path = build(root)
    extra = root / "extra"
    extra.mkdir()
    (extra / "messages.csv").write_text(_csv("ts,shop,buyer,agent,sender,text", SHARED), encoding="utf-8")
    (extra / "agents.csv").write_text(
        _csv("agent,name,shop,team,role,employer,active", [(DING, "丁", A, "一组", "presales", "in_house", "true")]),
        encoding="utf-8",
    )
    ws = Workspace.open(path)
    import_paths(ws, [extra])
    ws.close()
    application = create_app(path)
    root_client = login(application, "root")
    hide = root_client.post(
        "/users/settings", data={"shop": A, "hide": "true", "csrf_token": root_client.cookies.get("kefu_csrf")}
    )
    assert hide.status_code == 303
    yield application
    application.state.store.close()


@pytest.fixture(scope="module")
def ann(app):
    return login(app, "agent_ann")


def stored(app, report_id: str) -> dict:
    """The report as a supervisor sees it (with the colleague it names)."""
    return next(
        r for r in login(app, "root").get("/api/qc/reports", params={"shop": A}).json() if r["report_id"] == report_id
    )


def test_the_form_asks_for_a_chat_when_names_are_hidden(ann):
    page = ann.get("/qc/ledger").text
    form = page.split('id="report-form"')[1].split("</form>")[0]
    assert 'name="agent"' not in form and 'name="chat"' in form and 'id="report-by-chat"' in form


def test_the_buyer_and_day_of_a_chat_name_the_colleague_unseen(app, ann):
    r = ann.post(
        "/qc/reports",
        data={"day": DAY, "buyer": "b9", "description": "报错价格", "csrf_token": ann.cookies.get("kefu_csrf")},
    )
    assert r.status_code == 303, r.text[:500]
    report_id = r.headers["location"].split("reported=")[1]
    assert (stored(app, report_id)["agent"], stored(app, report_id)["reporter"], stored(app, report_id)["buyer"]) == (
        SLASHED,
        ANN,
        "b9",
    )
    mine = next(x for x in ann.get("/api/qc/reports", params={"shop": A}).json() if x["report_id"] == report_id)
    assert mine["agent"] is None  # the reporter's own list does not say who it was
    page = ann.get("/qc/ledger", params={"month": "2026-11"}).text
    assert f'data-id="{report_id}"' in page and "王/小" not in page and "小王" not in page


def test_a_chat_link_names_the_colleague(app, ann):
    link = f"https://testserver/chats/{quote(ANN, safe='')}/{DAY}/b9"
    r = ann.post("/api/qc/reports", json={"chat": link, "description": "说错了尺码"}, headers=csrf(ann))
    assert r.status_code == 200, r.text
    assert r.json()["agent"] is None and stored(app, r.json()["report_id"])["agent"] == SLASHED


def test_several_colleagues_need_the_time_of_the_message(app, ann):
    r = ann.post("/api/qc/reports", json={"day": DAY, "buyer": "b8", "description": "包邮说错"}, headers=csrf(ann))
    assert (
        r.status_code == 422
        and r.json()["detail"] == f"2 colleagues wrote to b8 on {DAY}: give the time of the message with the error"
    )
    r = ann.post(
        "/api/qc/reports", json={"buyer": "b8", "ts": f"{DAY}T16:05:00", "description": "包邮说错"}, headers=csrf(ann)
    )
    assert r.status_code == 200, r.text
    assert r.json()["agent"] is None and stored(app, r.json()["report_id"])["agent"] == DING


@pytest.mark.parametrize(
    "body, detail",
    [
        (
            {"day": DAY, "buyer": "b7"},
            f"you have no chat with b7 on {DAY}",
        ),  # not a chat of theirs: nothing learnt about it
        ({"day": DAY, "buyer": "b2"}, f"no colleague wrote to b2 on {DAY}"),  # only 安 served b2
        (
            {"chat": f"/chats/{quote(SLASHED, safe='')}/{DAY}/b9"},
            "the link is not of a chat of yours: open the chat from your own chat list",
        ),
        ({"chat": "/leaderboard"}, "'/leaderboard' is not the link of a chat (/chats/<agent>/<day>/<buyer>)"),
        ({"buyer": "b9"}, "name the chat: the buyer and the day, or the chat's link"),
    ],
)
def test_a_chat_that_names_no_one_colleague_is_refused(ann, body, detail):
    r = ann.post("/api/qc/reports", json=body | {"description": "错误"}, headers=csrf(ann))
    assert r.status_code == 422 and r.json()["detail"] == detail


def test_the_form_shows_why_a_chat_names_no_colleague(ann):
    r = ann.post(
        "/qc/reports",
        data={"day": DAY, "buyer": "b7", "description": "错误", "csrf_token": ann.cookies.get("kefu_csrf")},
    )
    assert r.status_code == 422 and f"you have no chat with b7 on {DAY}" in r.text
