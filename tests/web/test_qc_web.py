"""QC in the web app: the review queue and its JSON twin, reviews (API and HTMX form), agents' feedback, the 互查 ledger,
the rule editor; and in real Chromium the review flow: qc confirms one finding with a comment and dismisses another,
then the agent sees the confirmed one on their own page."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import pytest

from kefu.qc import engine, ledger
from kefu.qc.rules import default_rules_text
from tests.web.conftest import PASSWORD, SHOP, csrf
from tests.web.live import chromium, serving
from tests.web.qc_seed import seed_findings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@pytest.fixture
def seeded(app, world):
    """Two fresh open findings for each of the four agents of the world (re-seeded for every test)."""
    who = {"own": world.own, "colleague": world.colleague, "vendor_agent": world.vendor_agent, "other": world.other_vendor_agent}
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
    data = qc.get("/api/qc/findings", params={"shop": SHOP, "date_from": str(world.day), "date_to": str(world.day)}).json()
    ours = {i for ids in seeded.values() for i in ids}  # other tests may have seeded more findings of the shop
    mine = [f for f in data["findings"] if f["finding_id"] in ours]
    assert {f["finding_id"] for f in mine} == ours
    statuses = [f["status"] for f in mine]
    assert statuses[-1] == "dismissed" and set(statuses[:-1]) == {"open"}  # open ones first
    assert data["counts"]["dismissed"] >= 1 and data["counts"]["open"] >= 7


@pytest.mark.parametrize("params, expected", [
    ({"agent": "own"}, {"seed-own-0", "seed-own-1"}),
    ({"agent": "own", "severity": "high"}, {"seed-own-0"}),
    ({"agent": "colleague", "rule": "r1"}, {"seed-colleague-1"}),
    ({"agent": "own", "status": "confirmed"}, set()),
])
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
    assert clients["qc"].get("/api/qc/findings", params=params).json()["sample"] == picked  # reproducible
    page = clients["qc"].get("/qc", params=params).text
    assert 'id="sample"' in page and 'data-stratum="clean"' in page
    one_agent = clients["manager"].get("/api/qc/findings", params=params | {"agent": world.own}).json()["sample"]
    assert {d["agent"] for d in one_agent} == {world.own}


@pytest.mark.parametrize("bad", [{"severity": "awful"}, {"status": "maybe"}, {"source": "random"}, {"day": "11/11"},
                                 {"source": "sample", "per_agent": 0}])
def test_queue_refuses_bad_filters(clients, bad):
    assert clients["qc"].get("/api/qc/findings", params=bad).status_code == 422


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
    assert audited(clients["admin"], lambda e: e["user"] == "质检" and e["action"] == "qc_review"
                   and e["object"].startswith("seed-own-0 confirmed"))


def test_comment_only_and_reopen(clients, seeded):
    qc = clients["qc"]
    assert review(qc, seeded["colleague"][0], comment="x").status_code == 422  # an open finding is decided with its comment
    review(qc, seeded["colleague"][0], status="dismissed", comment="误报")
    r = review(qc, seeded["colleague"][0], comment="误报：买家原话")
    assert (r.json()["status"], r.json()["comment"]) == ("dismissed", "误报：买家原话")
    r = review(qc, seeded["colleague"][0], status="open")
    assert (r.json()["status"], r.json()["reviewer"]) == ("open", None)


def test_htmx_form_swaps_the_item(clients, seeded):
    qc = clients["qc"]
    r = qc.post(f"/qc/findings/{seeded['vendor_agent'][0]}/review", headers={"HX-Request": "true"},
                data={"action": "confirm", "comment": "态度生硬", "csrf_token": qc.cookies.get("kefu_csrf")})
    assert r.status_code == 200 and r.text.lstrip().startswith("<article")
    assert 'data-status="confirmed"' in r.text and 'value="态度生硬"' in r.text and 'value="reopen"' in r.text
    plain = qc.post(f"/qc/findings/{seeded['vendor_agent'][1]}/review", headers={"referer": "/qc?status=open"},
                    data={"action": "dismiss", "csrf_token": qc.cookies.get("kefu_csrf")})
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
    assert seeded["other"][0] not in qc.get("/qc", params={"status": "confirmed", "agent": world.other_vendor_agent}).text
    review(qc, seeded["other"][0], status="confirmed")
    assert f'id="f-{seeded["other"][0]}"' in qc.get("/qc", params={"status": "confirmed", "agent": world.other_vendor_agent}).text


def test_vendor_reads_the_feedback_of_their_own_agents_only(clients, world, seeded):
    review(clients["qc"], seeded["vendor_agent"][0], status="confirmed")
    vendor = clients["vendor"]
    assert [f["finding_id"] for f in vendor.get(f"/api/qc/feedback/{quote(world.vendor_agent)}").json()] == [seeded["vendor_agent"][0]]
    assert vendor.get(f"/api/qc/feedback/{quote(world.other_vendor_agent)}").status_code == 403


# -- 互查 ---------------------------------------------------------------------------------------------


def test_peer_report_decided_then_in_the_ledger_and_the_public_list(clients, app, world):
    agent, qc = clients["agent"], clients["qc"]
    month = world.day.strftime("%Y-%m")
    before = {r["agent"]: r for r in qc.get("/api/qc/ledger", params={"month": month}).json()}
    r = agent.post("/api/qc/reports", json={"agent": world.colleague, "day": str(world.day), "description": "漏发优惠券链接"},
                   headers=csrf(agent))
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["reporter"], report["agent"], report["status"], report["shop"]) == (world.own, world.colleague, "open", SHOP)
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
    assert qc.post(f"/api/qc/reports/{report['report_id']}/decision", json={"status": "open"}, headers=csrf(qc)).status_code == 200


@pytest.mark.parametrize("body, problem", [
    ({"agent": "own", "day": "day", "description": "x"}, "own error"),
    ({"agent": "colleague", "description": "x"}, "day"),
    ({"agent": "colleague", "day": "day", "description": " "}, "description"),
    ({"agent": "nobody", "day": "day", "description": "x"}, "unknown agent"),
])
def test_bad_peer_reports_are_refused(clients, world, body, problem):
    agent = clients["agent"]
    body = body | {"agent": getattr(world, body["agent"], body["agent"])} | ({"day": str(world.day)} if "day" in body else {})
    r = agent.post("/api/qc/reports", json=body, headers=csrf(agent))
    assert r.status_code == 422 and problem in r.text


def test_report_form_and_decision_form(clients, world):
    agent, manager = clients["agent"], clients["manager"]
    r = agent.post("/qc/reports", data={"agent": world.colleague, "day": str(world.day), "description": "回复错别字",
                                        "csrf_token": agent.cookies.get("kefu_csrf")})
    assert r.status_code == 303 and "reported=" in r.headers["location"]
    page = agent.get(r.headers["location"]).text
    assert 'id="reported"' in page and "回复错别字" in page and "/decision" not in page  # an agent does not decide
    bad = agent.post("/qc/reports", data={"agent": world.colleague, "day": "", "description": "x", "csrf_token": agent.cookies.get("kefu_csrf")})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    report_id = r.headers["location"].split("reported=")[1]
    d = manager.post(f"/qc/reports/{report_id}/decision", data={"status": "rejected", "csrf_token": manager.cookies.get("kefu_csrf")})
    assert d.status_code == 303
    assert f'data-id="{report_id}" data-status="rejected"' in manager.get(d.headers["location"]).text
    assert agent.post(f"/api/qc/reports/{report_id}/decision", json={"status": "confirmed"}, headers=csrf(agent)).status_code == 403


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
    assert r.status_code == 422 and f"qc-rules.toml:{line}: rule " in r.json()["detail"] and "fatal" in r.json()["detail"]
    page = manager.post("/qc/rules", data={"text": broken, "csrf_token": manager.cookies.get("kefu_csrf")})
    assert page.status_code == 422 and 'id="rules-error"' in page.text and "severity = &#34;fatal&#34;" in page.text  # text kept
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


# -- the review flow in Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(app):
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


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
        page.goto("/qc?" + f"agent={quote(world.own)}&date_from={world.day}&date_to={world.day}")
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
    stored = app.state.store.con_read(lambda c: engine.findings(c, date_from=world.day, date_to=world.day))
    people = app.state.store.agents()
    assert stored and all(f["run_at"] is not None for f in stored)
    data = qc.get("/api/qc/findings", params={"date_from": day, "date_to": day}).json()
    assert data["total"] == sum(f["agent"] in people for f in stored)  # every finding of a person is in the queue
    assert not any(f["finding_id"].startswith("seed-") for f in data["findings"])
    assert audited(clients["admin"], lambda e: e["action"] == "run_qc" and e["object"] == f"{day} {day}")

