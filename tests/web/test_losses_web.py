"""The loss list (询单流失明细) a page at a time, filtered by agent, team and dates, in the page, its JSON twin and
the CSV, on a hand-made shop whose lost buyers are listed by hand below."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from kefu.ingest.pipeline import import_paths
from kefu.users import add_user
from kefu.workspace import Workspace
from tests.web.conftest import PASSWORD, login

# Lost inquiries (a question, no order): buyer, agent, day, first question, reply after (s) — None: never answered.
#   11-10  ann b01 09:00 (30 s), ann b02 10:00 (60 s), cat b03 11:00 (10 s)
#   11-11  ann b04 09:00 (20 s), bob b05 09:30 (40 s), bob b06 13:00 (never), cat b07 15:00 (90 s)
#   11-12  bob b08 10:00 (5 s)
# b09 asked ann on 11-11 and paid: converted, not lost.
# The engine lists them by agent, then first question: ann b01 b02 b04 · bob b05 b06 b08 · cat b03 b07 (8 rows).
LOST = [
    ("b01", "s:ann", "2026-11-10 09:00:00", 30),
    ("b02", "s:ann", "2026-11-10 10:00:00", 60),
    ("b03", "s:cat", "2026-11-10 11:00:00", 10),
    ("b04", "s:ann", "2026-11-11 09:00:00", 20),
    ("b05", "s:bob", "2026-11-11 09:30:00", 40),
    ("b06", "s:bob", "2026-11-11 13:00:00", None),
    ("b07", "s:cat", "2026-11-11 15:00:00", 90),
    ("b08", "s:bob", "2026-11-12 10:00:00", 5),
]
ORDER = ["b01", "b02", "b04", "b05", "b06", "b08", "b03", "b07"]
AGENTS = """\
agent,name,shop,team,role,employer,active
s:ann,安,s,甲组,presales,in_house,true
s:bob,波,s,甲组,presales,in_house,true
s:cat,猫,s,乙组,presales,外包甲,true
t:tom,汤,t,甲组,presales,in_house,true
"""


def messages() -> str:
    import datetime as dt

    rows = ["ts,shop,buyer,agent,sender,text"]
    for buyer, agent, ts, reply in LOST:
        rows.append(f"{ts},s,{buyer},{agent},buyer,有优惠吗")
        if reply is not None:
            rows.append(
                f"{dt.datetime.fromisoformat(ts) + dt.timedelta(seconds=reply)},s,{buyer},{agent},agent,满200减20"
            )
    rows += [
        "2026-11-11 11:00:00,s,b09,s:ann,buyer,有货吗",
        "2026-11-11 11:00:15,s,b09,s:ann,agent,有的亲",
        "2026-11-11 12:00:00,t,c01,t:tom,buyer,在吗",
    ]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    root = tmp_path_factory.mktemp("losses")
    data = root / "data"
    data.mkdir()
    orders = "order_id,shop,buyer,created_at,paid_at,amount,status\no1,s,b09,2026-11-11 11:05:00,2026-11-11 11:06:00,99.00,paid\n"
    for name, text in (("messages", messages()), ("orders", orders), ("agents", AGENTS)):
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    ws = Workspace.open(root / "ws", create=True)
    import_paths(ws, [data])
    add_user(ws.con, name="m", role="manager", password=PASSWORD, shops=["s"])
    add_user(ws.con, name="v", role="vendor", password=PASSWORD, shops=["s"], employer="外包甲")
    ws.close()
    from kefu.web.app import create_app

    app = create_app(Path(root / "ws"))
    yield {"manager": login(app, "m"), "vendor": login(app, "v")}
    app.state.store.close()


def losses(client, **params) -> dict:
    r = client.get("/api/losses", params={"shop": "s"} | params)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_range_is_paginated_on_the_server(clients):
    every = losses(clients["manager"], date_from="2026-11-10", date_to="2026-11-12", page_size=3)
    assert (every["total"], every["page"], every["pages"]) == (8, 1, 3)  # 8 rows, 3 a page: 3 + 3 + 2
    assert [r["buyer"] for r in every["lost"]] == ORDER[:3]
    second = losses(clients["manager"], date_from="2026-11-10", date_to="2026-11-12", page_size=3, page=2)
    assert [r["buyer"] for r in second["lost"]] == ORDER[3:6]
    last = losses(clients["manager"], date_from="2026-11-10", date_to="2026-11-12", page_size=3, page=3)
    assert [r["buyer"] for r in last["lost"]] == ORDER[6:]
    beyond = losses(clients["manager"], date_from="2026-11-10", date_to="2026-11-12", page_size=3, page=4)
    assert beyond["lost"] == [] and beyond["total"] == 8 and beyond["pages"] == 3


def test_rows_keep_their_keys_and_chats(clients):
    page = losses(clients["manager"], date="2026-11-11", agent="s:bob")
    assert {"shop", "day", "lost", "total", "page", "pages"} <= set(page) and page["day"] == "2026-11-11"
    b05, b06 = page["lost"]
    assert {"agent", "name", "buyer", "first_question", "answered", "first_response_s", "chat"} <= set(b05)
    assert (b05["buyer"], b05["name"], b05["first_question"], b05["answered"], b05["first_response_s"]) == (
        "b05",
        "波",
        "09:30:00",
        True,
        40.0,
    )
    assert [(m["sender"], m["text"]) for m in b05["chat"]] == [("buyer", "有优惠吗"), ("agent", "满200减20")]
    assert (b06["buyer"], b06["answered"], b06["first_response_s"]) == ("b06", False, None)


@pytest.mark.parametrize(
    ("params", "buyers"),
    [
        (
            {"date_from": "2026-11-10", "date_to": "2026-11-12", "team": "甲组"},
            ["b01", "b02", "b04", "b05", "b06", "b08"],
        ),
        ({"date_from": "2026-11-10", "date_to": "2026-11-12", "team": "乙组"}, ["b03", "b07"]),
        ({"date_from": "2026-11-11", "date_to": "2026-11-12"}, ["b04", "b05", "b06", "b08", "b07"]),
        ({"date_from": "2026-11-10", "date_to": "2026-11-12", "agent": "s:ann"}, ["b01", "b02", "b04"]),
        ({"date": "2026-11-10"}, ["b01", "b02", "b03"]),
        ({}, ["b08"]),  # no dates: the shop's latest day, 11-12
    ],
)
def test_filters(clients, params, buyers):
    page = losses(clients["manager"], **params)
    assert [r["buyer"] for r in page["lost"]] == buyers and page["total"] == len(buyers)


def test_a_vendor_sees_only_their_company_whatever_the_filters(clients):
    page = losses(clients["vendor"], date_from="2026-11-10", date_to="2026-11-12")
    assert [r["buyer"] for r in page["lost"]] == ["b03", "b07"] and page["total"] == 2
    assert clients["vendor"].get("/api/losses", params={"shop": "s", "agent": "s:ann"}).status_code == 403


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page_size": 0}, 422),
        ({"page_size": 201}, 422),
        ({"page": 0}, 422),
        ({"date_from": "2026-11-12", "date_to": "2026-11-10"}, 422),
        ({"date_from": "2025-01-01", "date_to": "2026-11-12"}, 422),
        ({"team": "没有这组"}, 422),
        ({"agent": "s:nobody"}, 404),
        ({"agent": "t:tom"}, 403),
    ],
)
def test_bad_filters_are_refused(clients, params, status):
    assert clients["manager"].get("/api/losses", params={"shop": "s"} | params).status_code == status


def test_csv_has_every_matching_row_with_chinese_headers(clients):
    r = clients["manager"].get(
        "/losses.csv", params={"shop": "s", "date_from": "2026-11-10", "date_to": "2026-11-12", "team": "甲组"}
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["店铺", "日期", "客服", "买家", "首次提问时间", "是否回复", "首次响应时长(秒)", "聊天记录"]
    assert [row[3] for row in rows[1:]] == ["b01", "b02", "b04", "b05", "b06", "b08"]  # all six, not a page
    b06 = next(row for row in rows if row[3] == "b06")
    assert (
        b06[:6] == ["s", "2026-11-11", "s:bob", "b06", "13:00:00", "否"]
        and b06[6] == ""
        and b06[7] == "13:00:00 买家: 有优惠吗"
    )
    assert next(row for row in rows if row[3] == "b05")[5:7] == ["是", "40.0"]
    assert 'filename="lost-2026-11-10-2026-11-12.csv"' in r.headers["content-disposition"]
    en = (
        clients["manager"]
        .get("/losses.csv", params={"shop": "s", "date": "2026-11-12", "lang": "en"})
        .content.decode("utf-8-sig")
    )
    assert list(csv.reader(io.StringIO(en))) == [
        ["shop", "day", "agent", "buyer", "first_question", "answered", "first_response_s", "chat"],
        [
            "s",
            "2026-11-12",
            "s:bob",
            "b08",
            "10:00:00",
            "Yes",
            "5.0",
            "10:00:00 Buyer: 有优惠吗\n10:00:05 Agent: 满200减20",
        ],
    ]


def test_the_page_shows_one_page_and_links_the_next_with_the_filters(clients):
    html = (
        clients["manager"]
        .get(
            "/losses",
            params={"shop": "s", "date_from": "2026-11-10", "date_to": "2026-11-12", "team": "甲组", "page_size": 20},
        )
        .text
    )
    assert html.count("<tr data-agent=") == 6 and '<span id="loss-total">6</span>' in html and "第 1 / 1 页" in html
    html = (
        clients["manager"]
        .get(
            "/losses",
            params={"shop": "s", "date_from": "2026-11-10", "date_to": "2026-11-12", "page_size": 3, "page": 2},
        )
        .text
    )
    assert [b for b in ORDER if f">{b}</a>" in html] == ORDER[3:6] and "第 2 / 3 页" in html
    assert 'href="/losses?shop=s&amp;date_from=2026-11-10&amp;date_to=2026-11-12&amp;page=3&amp;page_size=3"' in html
    assert 'href="/losses?shop=s&amp;date_from=2026-11-10&amp;date_to=2026-11-12&amp;page=1&amp;page_size=3"' in html
    assert 'href="/losses.csv?shop=s&amp;date_from=2026-11-10&amp;date_to=2026-11-12"' in html
