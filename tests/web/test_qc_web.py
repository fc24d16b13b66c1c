"""QC in the web app: the review queue and its JSON twin, reviews (API and HTMX form), agents' feedback, the 互查 ledger,
the rule editor; and in real Chromium the review flow: qc confirms one finding with a comment and dismisses another,
then the agent sees the confirmed one on their own page."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import pytest

from kefu.qc import engine, ledger
from kefu.qc.rules import default_rules_text, parse_rules
from tests.web.conftest import PASSWORD, SHOP, csrf
from tests.web.qc_seed import seed_findings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@pytest.fixture
def seeded(app, world):
    """Two fresh open findings for each of the four agents of the world (re-seeded for every test)."""
    who = {
        "own": world.own,
        "colleague": world.colleague,
        "vendor_agent": world.vendor_agent,
        "other": world.other_vendor_agent,
    }
    return seed_findings(app.state.store, who, world.day)


def audited(admin, wanted) -> bool:
    """Whether the audit log holds a row `wanted` accepts. Rows are buffered and written once a second by a
    background thread, so this looks again (up to 5 s) rather than racing the writer."""
    for _ in range(50):
        if any(wanted(e) for e in admin.get("/api/audit").json()):
            return True
        time.sleep(0.1)
    return False


def review(client, finding_id, **body):
    return client.post(f"/api/qc/findings/{quote(finding_id)}/review", json=body, headers=csrf(client))


# -- the queue ------------------------------------------------------------------------------------


def test_queue_lists_the_shops_findings_open_first(clients, world, seeded):
    qc = clients["qc"]
    assert review(qc, seeded["own"][0], status="dismissed").status_code == 200
    every = {"status": "all", "min_severity": "all"}  # the default queue is open high findings only
    r = qc.get(
        "/api/qc/findings", params={"shop": SHOP, "date_from": str(world.day), "date_to": str(world.day)} | every
    )
    assert r.status_code == 200, r.text
    data = r.json()
    ours = {i for ids in seeded.values() for i in ids}  # other tests may have seeded more findings of the shop
    mine = [f for f in data["findings"] if f["finding_id"] in ours]
    assert {f["finding_id"] for f in mine} == ours
    statuses = [f["status"] for f in mine]
    assert statuses[-1] == "dismissed" and set(statuses[:-1]) == {"open"}  # open ones first
    assert data["counts"]["dismissed"] >= 1 and data["counts"]["open"] >= 7


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"agent": "own"}, {"seed-own-0"}),  # the default queue: open findings of high severity or worse
        ({"agent": "own", "min_severity": "all"}, {"seed-own-0", "seed-own-1"}),
        ({"agent": "own", "min_severity": "medium"}, {"seed-own-0", "seed-own-1"}),
        ({"agent": "own", "severity": "medium"}, {"seed-own-1"}),  # an exact severity replaces the default
        ({"agent": "own", "severity": "high"}, {"seed-own-0"}),
        ({"agent": "colleague", "rule": "r1", "min_severity": "all"}, {"seed-colleague-1"}),
        ({"agent": "own", "status": "confirmed"}, set()),
    ],
)
def test_queue_filters(clients, world, seeded, params, expected):
    params = params | {"agent": getattr(world, params["agent"])}
    found = clients["manager"].get("/api/qc/findings", params=params).json()["findings"]
    assert {f["finding_id"] for f in found if f["finding_id"].startswith("seed-")} == expected


def test_queue_page_shows_each_finding_with_its_chat(clients, world, seeded):
    page = clients["qc"].get("/qc", params={"agent": world.own}).text
    assert 'id="f-seed-own-0"' in page and 'data-status="open"' in page
    assert f"/chats/{quote(world.own, safe='')}/{world.day}/" in page and "hl=" in page
    first = clients["qc"].get("/api/qc/findings", params={"agent": world.own}).json()["findings"][0]
    ts = first["ts"].replace("T", " ")
    chat = clients["qc"].get(f"/chats/{quote(world.own)}/{world.day}/{quote(first['buyer'])}", params={"hl": ts}).text
    assert f'data-ts="{ts}" id=hl' in chat  # the message is highlighted in the chat viewer


def test_queue_of_the_reproducible_sample(clients, world, seeded):
    params = {"source": "sample", "date_from": str(world.day), "date_to": str(world.day), "per_agent": 2, "seed": 3}
    data = clients["qc"].get("/api/qc/findings", params=params).json()
    picked = data["sample"]
    per_agent = {}
    for d in picked:
        per_agent[d["agent"]] = per_agent.get(d["agent"], 0) + 1
    assert picked and max(per_agent.values()) <= 2
    assert {d["stratum"] for d in picked} >= {"high", "clean"}  # the doubtful first, clean ones too
    dialogues = {(d["agent"], d["buyer"], d["day"]) for d in picked}
    assert data["findings"] and all((f["agent"], f["buyer"], f["day"]) in dialogues for f in data["findings"])
    assert "seed-own-0" in {f["finding_id"] for f in data["findings"]}  # the worst dialogue of an agent is always drawn
    assert data["filters"]["min_severity"] is None  # a sample shows every finding of its dialogues
    assert clients["qc"].get("/api/qc/findings", params=params).json()["sample"] == picked  # reproducible
    page = clients["qc"].get("/qc", params=params).text
    assert 'id="sample"' in page and 'data-stratum="clean"' in page
    one_agent = clients["manager"].get("/api/qc/findings", params=params | {"agent": world.own}).json()["sample"]
    assert {d["agent"] for d in one_agent} == {world.own}


@pytest.mark.parametrize(
    "bad",
    [
        {"severity": "awful"},
        {"status": "maybe"},
        {"source": "random"},
        {"day": "11/11"},
        {"source": "sample", "per_agent": 0},
        {"min_severity": "awful"},
        {"team": "没有这个组"},
    ],
)
def test_queue_refuses_bad_filters(clients, bad):
    assert clients["qc"].get("/api/qc/findings", params=bad).status_code == 422


def test_queue_filters_by_team(clients, world, seeded):
    agents = clients["qc"].app.state.store.agents()
    team = agents[world.vendor_agent]["team"]
    members = {a for a, i in agents.items() if i["team"] == team}
    accounts = {
        "own": world.own,
        "colleague": world.colleague,
        "vendor_agent": world.vendor_agent,
        "other": world.other_vendor_agent,
    }
    expected = {i for label, ids in seeded.items() for i in ids if accounts[label] in members}
    found = clients["qc"].get("/api/qc/findings", params={"team": team, "min_severity": "all"}).json()["findings"]
    assert {f["finding_id"] for f in found if f["finding_id"].startswith("seed-")} == expected
    assert len(members) < len(agents) and {f["agent"] for f in found} <= members


def test_the_default_queue_is_open_high_findings_and_says_so(clients, world, seeded):
    """Issue #11: low and medium findings are counted, not queued; reviewed ones leave the queue."""
    qc = clients["qc"]
    review(qc, seeded["colleague"][0], status="confirmed")  # high, now reviewed
    data = qc.get("/api/qc/findings", params={"agent": world.colleague}).json()
    assert [f["finding_id"] for f in data["findings"] if f["finding_id"].startswith("seed-")] == []
    assert data["filters"]["status"] == "open" and data["filters"]["min_severity"] == "high"
    every = qc.get("/api/qc/findings", params={"agent": world.colleague, "status": "all", "min_severity": "all"}).json()
    assert {f["finding_id"] for f in every["findings"]} >= set(seeded["colleague"])
    page = qc.get("/qc", params={"agent": world.colleague}).text
    assert 'id="queue-scope"' in page and 'value="all"' in page


# -- bulk review -------------------------------------------------------------------------------------


def bulk(client, **body):
    return client.post("/api/qc/findings/review", json=body, headers=csrf(client))


def test_bulk_review_of_chosen_findings_is_one_audited_decision_each(clients, world, seeded):
    qc = clients["qc"]
    chosen = [seeded["own"][0], seeded["vendor_agent"][0]]
    r = bulk(qc, status="confirmed", comment="批量确认", finding_ids=chosen)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "confirmed", "reviewed": 2}
    for finding_id in chosen:
        got = qc.get(
            "/api/qc/findings",
            params={"agent": world.own if "own" in finding_id else world.vendor_agent, "status": "confirmed"},
        ).json()["findings"]
        mine = next(f for f in got if f["finding_id"] == finding_id)
        assert (mine["reviewer"], mine["comment"]) == ("质检", "批量确认")
        assert audited(
            clients["admin"],
            lambda e, i=finding_id: e["action"] == "qc_review" and e["object"].startswith(f"{i} confirmed"),
        )
    assert bulk(qc, status="open", finding_ids=chosen).json()["reviewed"] == 2  # and reopened the same way
    assert {
        f["status"]
        for f in qc.get("/api/qc/findings", params={"agent": world.own, "status": "all", "min_severity": "all"}).json()[
            "findings"
        ]
        if f["finding_id"] in chosen
    } == {"open"}


def test_bulk_review_is_all_or_nothing_and_checks_who_may(clients, world, seeded):
    qc = clients["qc"]
    r = bulk(qc, status="dismissed", finding_ids=[seeded["own"][0], "no-such-finding"])
    assert r.status_code == 404 and "no-such-finding" in r.text
    assert (
        qc.get("/api/qc/findings", params={"agent": world.own}).json()["findings"][0]["status"] == "open"
    )  # nothing recorded
    assert bulk(clients["agent"], status="dismissed", finding_ids=[seeded["own"][0]]).status_code == 403
    assert bulk(clients["manager_elsewhere"], status="dismissed", finding_ids=[seeded["own"][0]]).status_code == 403
    assert bulk(qc, status="dismissed").status_code == 422  # neither ids nor filters
    assert (
        qc.post("/api/qc/findings/review", json={"status": "dismissed", "finding_ids": [seeded["own"][0]]}).status_code
        == 403
    )  # CSRF


def test_bulk_review_of_all_matching_the_filter(clients, world, seeded):
    qc = clients["qc"]
    filters = {"agent": world.colleague, "date_from": str(world.day), "date_to": str(world.day), "min_severity": "all"}
    shown = qc.get("/api/qc/findings", params=filters).json()
    assert shown["total"] >= 2
    stale = bulk(qc, status="dismissed", filters=filters, expected=shown["total"] + 1)
    assert stale.status_code == 409  # the filter matches another number than the user saw: nothing done
    r = bulk(qc, status="dismissed", comment="误报", filters=filters, expected=shown["total"])
    assert r.status_code == 200 and r.json()["reviewed"] == shown["total"]
    after = qc.get("/api/qc/findings", params=filters).json()
    assert after["total"] == 0 and after["counts"]["dismissed"] == shown["counts"]["dismissed"] + shown["total"]
    assert audited(
        clients["admin"], lambda e: e["action"] == "qc_review_bulk" and e["object"] == f"{shown['total']} dismissed"
    )
    bulk(qc, status="open", filters=filters | {"status": "dismissed"})


def test_bulk_form_redirects_back_to_the_queue(clients, world, seeded):
    qc = clients["qc"]
    query = f"agent={quote(world.other_vendor_agent)}&min_severity=all"
    r = qc.post(
        "/qc/findings/bulk",
        data={
            "action": "confirm",
            "scope": "selected",
            "finding_id": seeded["other"],
            "filters": query,
            "csrf_token": qc.cookies.get("kefu_csrf"),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/qc?{query}&bulk=2"
    page = qc.get(r.headers["location"]).text
    assert 'id="bulk-done"' in page and not any(f'id="f-{i}"' in page for i in seeded["other"])
    assert (
        qc.post(
            "/qc/findings/bulk",
            data={
                "action": "confirm",
                "scope": "selected",
                "filters": query,
                "csrf_token": qc.cookies.get("kefu_csrf"),
            },
        ).status_code
        == 422
    )


# -- reviewing --------------------------------------------------------------------------------------


def test_confirm_with_comment_then_the_agent_sees_it(clients, app, world, seeded):
    qc, agent = clients["qc"], clients["agent"]
    r = review(qc, seeded["own"][0], status="confirmed", comment="请注意用语")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["reviewer"], r.json()["comment"]) == ("confirmed", "质检", "请注意用语")
    review(qc, seeded["own"][1], status="dismissed")
    shown = agent.get(f"/api/qc/feedback/{quote(world.own)}").json()
    assert [f["finding_id"] for f in shown if f["finding_id"].startswith("seed-")] == [seeded["own"][0]]
    assert shown[0]["comment"] == "请注意用语"
    fragment = agent.get(f"/qc/feedback/{quote(world.own)}", params={"fragment": "true"}).text
    assert 'data-id="seed-own-0"' in fragment and "请注意用语" in fragment and "seed-own-1" not in fragment
    assert audited(
        clients["admin"],
        lambda e: e["user"] == "质检" and e["action"] == "qc_review" and e["object"].startswith("seed-own-0 confirmed"),
    )


def test_comment_only_and_reopen(clients, seeded):
    qc = clients["qc"]
    assert (
        review(qc, seeded["colleague"][0], comment="x").status_code == 422
    )  # an open finding is decided with its comment
    review(qc, seeded["colleague"][0], status="dismissed", comment="误报")
    r = review(qc, seeded["colleague"][0], comment="误报：买家原话")
    assert (r.json()["status"], r.json()["comment"]) == ("dismissed", "误报：买家原话")
    r = review(qc, seeded["colleague"][0], status="open")
    assert (r.json()["status"], r.json()["reviewer"]) == ("open", None)


def test_htmx_form_swaps_the_item(clients, seeded):
    qc = clients["qc"]
    r = qc.post(
        f"/qc/findings/{seeded['vendor_agent'][0]}/review",
        headers={"HX-Request": "true"},
        data={"action": "confirm", "comment": "态度生硬", "csrf_token": qc.cookies.get("kefu_csrf")},
    )
    assert r.status_code == 200 and r.text.lstrip().startswith("<article")
    assert 'data-status="confirmed"' in r.text and 'value="态度生硬"' in r.text and 'value="reopen"' in r.text
    plain = qc.post(
        f"/qc/findings/{seeded['vendor_agent'][1]}/review",
        headers={"referer": "/qc?status=open"},
        data={"action": "dismiss", "csrf_token": qc.cookies.get("kefu_csrf")},
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/qc?status=open"


def test_reviews_need_csrf_the_right_role_and_a_known_finding(clients, seeded):
    qc = clients["qc"]
    assert qc.post(f"/api/qc/findings/{seeded['own'][0]}/review", json={"status": "confirmed"}).status_code == 403
    assert review(clients["agent"], seeded["own"][0], status="dismissed").status_code == 403
    assert review(clients["vendor"], seeded["vendor_agent"][0], status="dismissed").status_code == 403
    assert review(clients["manager_elsewhere"], seeded["own"][0], status="dismissed").status_code == 403
    assert review(qc, "no-such-finding", status="confirmed").status_code == 404
    assert review(qc, seeded["own"][0], status="maybe").status_code == 422
    assert clients["qc"].get("/api/qc/findings").json()["counts"]["confirmed"] >= 0


def test_a_page_shows_a_review_right_after_it(clients, world, seeded):
    qc = clients["qc"]
    assert (
        seeded["other"][0] not in qc.get("/qc", params={"status": "confirmed", "agent": world.other_vendor_agent}).text
    )
    review(qc, seeded["other"][0], status="confirmed")
    assert (
        f'id="f-{seeded["other"][0]}"'
        in qc.get("/qc", params={"status": "confirmed", "agent": world.other_vendor_agent}).text
    )


def test_vendor_reads_the_feedback_of_their_own_agents_only(clients, world, seeded):
    review(clients["qc"], seeded["vendor_agent"][0], status="confirmed")
    vendor = clients["vendor"]
    assert [f["finding_id"] for f in vendor.get(f"/api/qc/feedback/{quote(world.vendor_agent)}").json()] == [
        seeded["vendor_agent"][0]
    ]
    assert vendor.get(f"/api/qc/feedback/{quote(world.other_vendor_agent)}").status_code == 403


# -- 互查 ---------------------------------------------------------------------------------------------


def test_peer_report_decided_then_in_the_ledger_and_the_public_list(clients, app, world):
    agent, qc = clients["agent"], clients["qc"]
    month = world.day.strftime("%Y-%m")
    before = {r["agent"]: r for r in qc.get("/api/qc/ledger", params={"month": month}).json()}
    r = agent.post(
        "/api/qc/reports",
        json={"agent": world.colleague, "day": str(world.day), "description": "漏发优惠券链接"},
        headers=csrf(agent),
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["reporter"], report["agent"], report["status"], report["shop"]) == (
        world.own,
        world.colleague,
        "open",
        SHOP,
    )
    listed = agent.get("/api/qc/reports").json()  # an agent sees their own reports only
    assert report["report_id"] in [x["report_id"] for x in listed] and {x["reporter"] for x in listed} == {world.own}
    d = qc.post(f"/api/qc/reports/{report['report_id']}/decision", json={"status": "confirmed"}, headers=csrf(qc))
    assert d.status_code == 200 and d.json()["decided_by"] == "质检"
    after = {r["agent"]: r for r in qc.get("/api/qc/ledger", params={"month": month}).json()}
    cost = app.state.store.ws.config.mutual.error_cost
    assert after[world.colleague]["costs"] == before.get(world.colleague, {"costs": 0})["costs"] + cost
    assert after[world.colleague]["peer_errors"] == before.get(world.colleague, {"peer_errors": 0})["peer_errors"] + 1
    own_view = agent.get("/api/qc/ledger", params={"month": month}).json()
    assert [r["agent"] for r in own_view] == [world.own]  # an agent sees only their own fund
    public = agent.get("/api/qc/ledger/public", params={"month": month}).json()
    assert any(e["description"] == "漏发优惠券链接" for e in public)
    assert world.colleague not in repr(public) and world.own not in repr(public)
    errors = qc.get("/api/qc/ledger/errors", params={"month": month}).json()
    assert any(e["report_id"] == report["report_id"] and e["agent"] == world.colleague for e in errors)
    assert (
        qc.post(
            f"/api/qc/reports/{report['report_id']}/decision", json={"status": "open"}, headers=csrf(qc)
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"agent": "own", "day": "day", "description": "x"}, "own error"),
        ({"agent": "colleague", "description": "x"}, "day"),
        ({"agent": "colleague", "day": "day", "description": " "}, "description"),
        ({"agent": "nobody", "day": "day", "description": "x"}, "unknown agent"),
    ],
)
def test_bad_peer_reports_are_refused(clients, world, body, problem):
    agent = clients["agent"]
    body = (
        body
        | {"agent": getattr(world, body["agent"], body["agent"])}
        | ({"day": str(world.day)} if "day" in body else {})
    )
    r = agent.post("/api/qc/reports", json=body, headers=csrf(agent))
    assert r.status_code == 422 and problem in r.text


def test_report_form_and_decision_form(clients, world):
    agent, manager = clients["agent"], clients["manager"]
    r = agent.post(
        "/qc/reports",
        data={
            "agent": world.colleague,
            "day": str(world.day),
            "description": "回复错别字",
            "csrf_token": agent.cookies.get("kefu_csrf"),
        },
    )
    assert r.status_code == 303 and "reported=" in r.headers["location"]
    page = agent.get(r.headers["location"]).text
    assert 'id="reported"' in page and "回复错别字" in page and "/decision" not in page  # an agent does not decide
    bad = agent.post(
        "/qc/reports",
        data={"agent": world.colleague, "day": "", "description": "x", "csrf_token": agent.cookies.get("kefu_csrf")},
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    report_id = r.headers["location"].split("reported=")[1]
    d = manager.post(
        f"/qc/reports/{report_id}/decision", data={"status": "rejected", "csrf_token": manager.cookies.get("kefu_csrf")}
    )
    assert d.status_code == 303
    assert f'data-id="{report_id}" data-status="rejected"' in manager.get(d.headers["location"]).text
    assert (
        agent.post(
            f"/api/qc/reports/{report_id}/decision", json={"status": "confirmed"}, headers=csrf(agent)
        ).status_code
        == 403
    )


def test_ledger_page_for_a_supervisor_and_for_an_agent(clients, world):
    month = world.day.strftime("%Y-%m")
    qc_page = clients["qc"].get("/qc/ledger", params={"month": month}).text
    assert 'id="ledger"' in qc_page and qc_page.count("<tr data-agent=") > 1 and 'name="reporter"' in qc_page
    agent_page = clients["agent"].get("/qc/ledger", params={"month": month}).text
    assert agent_page.count("<tr data-agent=") == 1 and f'data-agent="{world.own}"' in agent_page
    assert 'name="reporter"' not in agent_page
    assert clients["qc"].get("/qc/ledger", params={"month": "2026-13"}).status_code == 422


# -- rules ------------------------------------------------------------------------------------------------


def test_rule_editor_validates_and_keeps_the_text(clients):
    manager = clients["manager"]
    shown = manager.get("/api/qc/rules").json()
    assert shown["rules"] and shown["text"] == default_rules_text() and not shown["custom"]
    broken = shown["text"].replace('severity = "critical"', 'severity = "fatal"', 1)
    line = broken.splitlines().index('severity = "fatal"') + 1
    r = manager.put("/api/qc/rules", json={"text": broken}, headers=csrf(manager))
    assert (
        r.status_code == 422 and f"qc-rules.toml:{line}: rule " in r.json()["detail"] and "fatal" in r.json()["detail"]
    )
    page = manager.post("/qc/rules", data={"text": broken, "csrf_token": manager.cookies.get("kefu_csrf")})
    assert (
        page.status_code == 422 and 'id="rules-error"' in page.text and "severity = &#34;fatal&#34;" in page.text
    )  # text kept
    assert manager.get("/api/qc/rules").json()["text"] == shown["text"]  # nothing saved


def test_rule_editor_saves_the_workspace_library(clients, world):
    qc = clients["qc"]
    first = qc.get("/api/qc/rules").json()["rules"][0]
    renamed = default_rules_text().replace(f'name = "{first["name"]}"', 'name = "改过的名字"', 1)
    try:
        r = qc.post("/qc/rules", data={"text": renamed, "csrf_token": qc.cookies.get("kefu_csrf")})
        assert r.status_code == 303 and r.headers["location"] == "/qc/rules?saved=true"
        saved = qc.get("/api/qc/rules").json()
        assert saved["custom"] and saved["rules"][0]["name"] == "改过的名字"
        assert (world.path / "qc-rules.toml").read_text(encoding="utf-8") == renamed
        assert 'id="rules-saved"' in qc.get("/qc/rules?saved=true").text
    finally:
        (world.path / "qc-rules.toml").unlink(missing_ok=True)


def test_one_rule_edited_by_form_writes_the_validated_library(clients, world):
    """Issue #11 "Editing without TOML": the form rewrites that rule in qc-rules.toml, validated as a TOML save."""
    qc = clients["qc"]
    token = qc.cookies.get("kefu_csrf")
    try:
        page = qc.get("/qc/rules", params={"edit": "rude_language"}).text
        assert 'id="rule-form"' in page and 'name="patterns"' in page and "爱买不买" in page
        shipped = parse_rules(default_rules_text()).get("rude_language")
        patterns, exceptions = [*shipped.patterns, "懒得理你"], [*shipped.exceptions, "滚烫"]
        form = {
            "name": "服务禁语",
            "severity": "critical",
            "scope": "agent_text",
            "points": "15",
            "max_points_per_day": "",
            "patterns": "\n".join(patterns),
            "exceptions": "\n".join(exceptions),
            "csrf_token": token,
        }
        r = qc.post("/qc/rules/rude_language/edit", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/qc/rules?saved=true&edit=rude_language"
        rude = next(x for x in qc.get("/api/qc/rules").json()["rules"] if x["id"] == "rude_language")
        assert (rude["name"], rude["severity"], rude["points"], rude["patterns"], rude["exceptions"]) == (
            "服务禁语",
            "critical",
            15.0,
            patterns,
            exceptions,
        )
        text = (world.path / "qc-rules.toml").read_text(encoding="utf-8")
        assert text.count("[[rules]]") == default_rules_text().count("[[rules]]") and 'name = "服务禁语"' in text
        assert audited(clients["admin"], lambda e: e["action"] == "edit_qc_rules")
        # A pattern that no longer flags the rule's own examples is refused, with the typed values kept.
        bad = qc.post("/qc/rules/rude_language/edit", data=form | {"patterns": "绝不会出现的词", "points": "12"})
        assert bad.status_code == 422 and 'id="rules-error"' in bad.text and "rude_language" in bad.text
        assert "绝不会出现的词" in bad.text and 'value="12.0"' in bad.text
        assert (world.path / "qc-rules.toml").read_text(encoding="utf-8") == text  # nothing written
        # The JSON twin; a timing rule has no patterns to edit.
        r = qc.put(
            "/api/qc/rules/slow_reply", json={"severity": "medium", "max_points_per_day": None}, headers=csrf(qc)
        )
        assert (
            r.status_code == 200
            and next(x for x in r.json()["rules"] if x["id"] == "slow_reply")["severity"] == "medium"
        )
        assert qc.put("/api/qc/rules/nope", json={"name": "x"}, headers=csrf(qc)).status_code == 404
        assert (
            clients["agent"]
            .put("/api/qc/rules/slow_reply", json={"name": "x"}, headers=csrf(clients["agent"]))
            .status_code
            == 403
        )
        assert 'name="patterns"' not in qc.get("/qc/rules", params={"edit": "slow_reply"}).text
    finally:
        (world.path / "qc-rules.toml").unlink(missing_ok=True)


# -- the review flow in Chromium -------------------------------------------------------------------------------


def logged_in(browser, server, name):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return context, page


def test_browser_review_flow(browser, server, world, seeded):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    keep, drop = seeded["own"]
    context, page = logged_in(browser, server, "质检")
    try:
        page.goto(
            "/qc?" + f"agent={quote(world.own)}&date_from={world.day}&date_to={world.day}&status=all&min_severity=all"
        )
        assert page.locator(".topbar nav a.on").get_attribute("href") == "/qc"
        item = page.locator(f"#f-{keep}")
        assert item.get_attribute("data-status") == "open"
        item.locator("details.context summary").click()  # the chat around the message, loaded on demand
        page.wait_for_selector(f"#f-{keep} .chatlog .msg.hl")
        item.locator("input.comment").fill("请注意礼貌用语")
        item.locator("button.confirm").click()
        page.wait_for_selector(f"#f-{keep}[data-status='confirmed']")
        page.locator(f"#f-{drop} button.dismiss").click()
        page.wait_for_selector(f"#f-{drop}[data-status='dismissed']")
        page.screenshot(path=str(ARTIFACTS / "qc-queue.png"), full_page=True)
        assert page.locator(f"#f-{keep} input.comment").input_value() == "请注意礼貌用语"
        page.reload()  # stored, not just swapped
        assert page.locator(f"#f-{keep}").get_attribute("data-status") == "confirmed"
        assert page.locator(f"#f-{drop}").get_attribute("data-status") == "dismissed"
    finally:
        context.close()

    context, page = logged_in(browser, server, "agent_user")
    try:
        page.goto(f"/agents/{quote(world.own)}")
        page.wait_for_selector(f"#qc-feedback tr[data-id='{keep}']")
        page.screenshot(path=str(ARTIFACTS / "qc-feedback.png"), full_page=True)
        assert page.locator(f"#qc-feedback tr[data-id='{keep}'] td.comment").inner_text() == "请注意礼貌用语"
        assert page.locator(f"#qc-feedback tr[data-id='{drop}']").count() == 0
        assert page.locator(".topbar nav a[href='/qc']").count() == 0  # agents do not review
        page.click(".topbar nav a[href='/qc/ledger']")
        page.wait_for_selector("#public")
        assert page.locator("#ledger tbody tr").count() == 1  # their own fund only
        page.screenshot(path=str(ARTIFACTS / "qc-ledger-agent.png"), full_page=True)
    finally:
        context.close()


def test_ledger_defaults(app):
    assert app.state.store.ws.config.mutual == ledger.Mutual()  # the world's kefu.toml has no [qc.mutual]: the defaults


def test_run_qc_from_the_page_then_its_findings_are_in_the_queue(clients, app, world):
    """Last in this module: the run replaces the day's findings (the seeded ones too)."""
    qc, day = clients["qc"], str(world.day)
    r = qc.post("/qc/run", data={"date_from": day, "date_to": day, "csrf_token": qc.cookies.get("kefu_csrf")})
    assert r.status_code == 303 and r.headers["location"] == f"/qc?date_from={day}&date_to={day}"
    stored = app.state.store.read(lambda ws: engine.findings(ws, date_from=world.day, date_to=world.day))
    people = app.state.store.agents()
    assert stored and all(f["run_at"] is not None for f in stored)
    data = qc.get(
        "/api/qc/findings", params={"date_from": day, "date_to": day, "status": "all", "min_severity": "all"}
    ).json()
    assert data["total"] == sum(f["agent"] in people for f in stored)  # every finding of a person is in the queue
    assert not any(f["finding_id"].startswith("seed-") for f in data["findings"])
    assert audited(clients["admin"], lambda e: e["action"] == "run_qc" and e["object"] == f"{day} {day}")
