"""The QC engine on a hand-made shop: every finding worked out by hand (rule, time, match, position).

Chats of shop `s` on 2026-11-11 (s:bot is a bot account; the default rule library):

b1 ↔ s:ann  10:00:00 在吗 / 10:00:05 这款有XL吗 / 10:02:00 agent XL有货哦 (120 s: slow; no greeting)
            10:03:00 能便宜点吗 / 10:03:10 agent 不支持微信支付哦,有事加我微信kefu123 (off-platform at 11;
            微信支付 is an exception; last agent message: no closing) / 10:03:30 好的 (never answered, but an
            acknowledgement: exempt)
b2 ↔ s:ann  11:00:00 你好 / 11:00:10 agent 亲,在的 + XL有货 (same second: greeted; no closing, shown
            text the first by text: XL有货) / 11:00:20 发什么快递 (never answered)
b3 ↔ s:bob  12:00:00 我要投诉你们 (complaint intent at 2) / 12:00:30 agent 您好…感谢 / 12:20:00 怎么还不发货
            (anger at 0) / 12:31:00 agent …感谢耐心等待 (660 s: slow and long silence)
b6 ↔ s:bot  13:00:00 人呢??? (anger, kept on the bot's dialogue: a buyer signal) / bot 加我微信 / agent 滚
            (a bot account: no agent-text findings)
b4 ↔ s:ann  14:00:00 订单号多少 / agents 14:00:10 亲,您的订单号是6222021234567890128,… (a Luhn-valid
            number, but the buyer's own order id) / 14:00:20 身份证号码110105194912310021不对,正确的是
            11010519491231002X吧 (the first number fails GB 11643 and is skipped; the second at 32)
            / 14:00:30 退款打到卡 6214 8301 2345 6789 02 上了 (bank card at 6; no closing)
b5 ↔ s:bob  15:00:00 agent 滚 + 滚吧 (two rude findings with the same rule, second and position: both kept,
            with different ids; no greeting, no closing)
"""

from __future__ import annotations

import datetime as dt

import pytest
from shops import kpis, msg, order, shop

from kefu.qc import confirmed_errors, engine, store
from kefu.qc.rules import default_rules_text, load_rules, parse_rules

DAY = dt.date(2026, 11, 11)


def chats() -> list[dict]:
    return [
        msg("10:00:00", "buyer", text="在吗"),
        msg("10:00:05", "buyer", text="这款有XL吗"),
        msg("10:02:00", "agent", text="XL有货哦"),
        msg("10:03:00", "buyer", text="能便宜点吗"),
        msg("10:03:10", "agent", text="不支持微信支付哦,有事加我微信kefu123"),
        msg("10:03:30", "buyer", text="好的"),
        msg("11:00:00", "buyer", buyer="b2", text="你好"),
        msg("11:00:10", "agent", buyer="b2", text="亲,在的"),
        msg("11:00:10", "agent", buyer="b2", text="XL有货"),
        msg("11:00:20", "buyer", buyer="b2", text="发什么快递"),
        msg("12:00:00", "buyer", agent="s:bob", buyer="b3", text="我要投诉你们"),
        msg("12:00:30", "agent", agent="s:bob", buyer="b3", text="您好,非常抱歉,请问有什么可以帮您?感谢"),
        msg("12:20:00", "buyer", agent="s:bob", buyer="b3", text="怎么还不发货"),
        msg("12:31:00", "agent", agent="s:bob", buyer="b3", text="亲,已经帮您催了,感谢耐心等待"),
        msg("13:00:00", "buyer", agent="s:bot", buyer="b6", text="人呢???"),
        msg("13:00:01", "bot", agent="s:bot", buyer="b6", text="加我微信"),
        msg("13:00:02", "agent", agent="s:bot", buyer="b6", text="滚"),
        msg("14:00:00", "buyer", buyer="b4", text="订单号多少"),
        msg("14:00:10", "agent", buyer="b4", text="亲,您的订单号是6222021234567890128,已经为您备注"),
        msg("14:00:20", "agent", buyer="b4", text="您的身份证号码110105194912310021不对,正确的是11010519491231002X吧"),
        msg("14:00:30", "agent", buyer="b4", text="退款打到卡 6214 8301 2345 6789 02 上了"),
        msg("15:00:00", "agent", agent="s:bob", buyer="b5", text="滚"),
        msg("15:00:00", "agent", agent="s:bob", buyer="b5", text="滚吧"),
    ]


EXPECTED = {  # (agent, buyer, time, rule) -> (match, match_start, text)
    ("s:ann", "b1", "10:00:00", "slow_reply"): ("120s", 0, "在吗"),
    ("s:ann", "b1", "10:02:00", "missing_greeting"): ("", 0, "XL有货哦"),
    ("s:ann", "b1", "10:03:10", "off_platform_contact"): ("加我微信", 11, "不支持微信支付哦,有事加我微信kefu123"),
    ("s:ann", "b1", "10:03:10", "missing_closing"): ("", 0, "不支持微信支付哦,有事加我微信kefu123"),
    ("s:ann", "b2", "11:00:20", "unanswered"): ("", 0, "发什么快递"),
    ("s:ann", "b2", "11:00:10", "missing_closing"): ("", 0, "XL有货"),
    ("s:bob", "b3", "12:00:00", "buyer_complaint_intent"): ("投诉", 2, "我要投诉你们"),
    ("s:bob", "b3", "12:20:00", "buyer_anger"): ("怎么还不发货", 0, "怎么还不发货"),
    ("s:bob", "b3", "12:20:00", "slow_reply"): ("660s", 0, "怎么还不发货"),
    ("s:bob", "b3", "12:20:00", "long_silence"): ("660s", 0, "怎么还不发货"),
    ("s:bot", "b6", "13:00:00", "buyer_anger"): ("人呢???", 0, "人呢???"),
    ("s:ann", "b4", "14:00:20", "personal_id_card"): (
        "11010519491231002X",
        32,
        "您的身份证号码110105194912310021不对,正确的是11010519491231002X吧",
    ),
    ("s:ann", "b4", "14:00:30", "personal_bank_card"): (
        "6214 8301 2345 6789 02",
        6,
        "退款打到卡 6214 8301 2345 6789 02 上了",
    ),
    ("s:ann", "b4", "14:00:30", "missing_closing"): ("", 0, "退款打到卡 6214 8301 2345 6789 02 上了"),
    ("s:bob", "b5", "15:00:00", "missing_greeting"): ("", 0, "滚"),
    ("s:bob", "b5", "15:00:00", "missing_closing"): ("", 0, "滚"),
}
RUDE_TWICE = [("滚", 0, "滚"), ("滚", 0, "滚吧")]


def hand_made_shop(folder):
    return shop(
        folder,
        chats(),
        [order("6222021234567890128", "14:05:00", "14:06:00", buyer="b4")],
        agents=[
            {"agent": "s:bot", "shop": "s", "role": "bot"},
            {"agent": "s:ann", "shop": "s"},
            {"agent": "s:bob", "shop": "s"},
        ],
    )


@pytest.fixture
def ws(tmp_path):
    w = hand_made_shop(tmp_path)
    yield w
    w.close()


@pytest.fixture(scope="module")
def inspected(tmp_path_factory):
    """The shop after one QC run of DAY (for tests that only read), and the run's summary."""
    w = hand_made_shop(tmp_path_factory.mktemp("inspected"))
    summary = engine.run(w, DAY, DAY)
    yield w, summary
    w.close()


def found(w) -> dict:
    out = {}
    for f in engine.findings(w):
        key = (f["agent"], f["buyer"], f["ts"].strftime("%H:%M:%S"), f["rule"])
        out.setdefault(key, []).append((f["match"], f["match_start"], f["text"]))
    return out


def test_every_finding_as_worked_out_by_hand(inspected):
    ws, summary = inspected
    got = found(ws)
    assert got.pop(("s:bob", "b5", "15:00:00", "rude_language")) == RUDE_TWICE
    assert {k: v[0] for k, v in got.items()} == EXPECTED
    assert all(len(v) == 1 for v in got.values())
    assert summary.findings == len(EXPECTED) + 2
    assert summary.by_rule["rude_language"] == 2


def test_findings_carry_the_rule_declaration(inspected):
    ws, _summary = inspected
    rules = load_rules(ws)
    for f in engine.findings(ws):
        rule = rules.get(f["rule"])
        assert (f["rule_name"], f["severity"], f["points"], f["scope"]) == (
            rule.name,
            rule.severity,
            rule.points,
            rule.scope,
        )
        assert f["day"] == DAY and f["status"] == "open" and f["reviewer"] is None


def test_finding_ids_are_unique_and_survive_a_rerun(ws):
    engine.run(ws)
    first = {f["finding_id"]: f for f in engine.findings(ws)}
    assert len(first) == len(EXPECTED) + 2
    rude = sorted(f["finding_id"] for f in first.values() if f["rule"] == "rude_language")
    assert len(set(rude)) == 2
    engine.run(ws)
    assert {f["finding_id"] for f in engine.findings(ws)} == set(first)


def test_timing_findings_are_the_engines_questions(inspected):
    """slow_reply occurrences equal the KPI 慢响应次数; unanswered equals 未回复 questions minus exempt acknowledgements."""
    ws, _summary = inspected
    by_agent = {}
    for f in engine.findings(ws):
        by_agent.setdefault((f["agent"], f["rule"]), 0)
        by_agent[(f["agent"], f["rule"])] += f["occurrences"]
    k = kpis(ws)
    for agent in ("s:ann", "s:bob"):
        figures = k[("s", agent, "2026-11-11")]
        assert by_agent.get((agent, "slow_reply"), 0) == figures["slow_responses"]
    assert k[("s", "s:ann", "2026-11-11")]["unanswered_questions"] == 2  # 发什么快递 and the exempt 好的
    assert by_agent[("s:ann", "unanswered")] == 1


def test_threshold_of_slow_reply_follows_kefu_toml(ws):
    from dataclasses import replace

    ws.config = replace(ws.config, params=ws.config.params.override(slow_threshold_s=5))
    engine.run(ws)
    slow = engine.findings(ws, rule="slow_reply")
    # Six slow questions (b1: 120 s, 10 s; b2: 10 s; b3: 30 s, 660 s; b4: 10 s), one finding per dialogue.
    assert (
        sum(f["occurrences"] for f in slow)
        == 6
        == kpis(ws, slow_threshold_s=5)[("s", "s:ann", "2026-11-11")]["slow_responses"]
        + kpis(ws, slow_threshold_s=5)[("s", "s:bob", "2026-11-11")]["slow_responses"]
    )
    assert sorted(f["match"] for f in slow) == ["10s", "10s", "120s", "660s"]


def test_timing_rules_give_one_finding_per_dialogue_with_the_count_worst_and_evidence(ws):
    """Issue #11: a slow dialogue is one finding — its worst wait shown, every slow question counted and listed."""
    from dataclasses import replace

    ws.config = replace(ws.config, params=ws.config.params.override(slow_threshold_s=5))
    engine.run(ws)
    slow = {f["buyer"]: f for f in engine.findings(ws, rule="slow_reply")}
    shown = {
        b: (f["ts"].strftime("%H:%M:%S"), f["text"], f["match"], f["occurrences"], f["evidence"])
        for b, f in slow.items()
    }
    assert shown == {
        "b1": ("10:00:00", "在吗", "120s", 2, "10:00:00 120s, 10:03:00 10s"),
        "b2": ("11:00:00", "你好", "10s", 1, "11:00:00 10s"),
        "b3": ("12:20:00", "怎么还不发货", "660s", 2, "12:00:00 30s, 12:20:00 660s"),  # the worst wait, not the first
        "b4": ("14:00:00", "订单号多少", "10s", 1, "14:00:00 10s"),
    }
    assert all(f["points"] == 0.5 for f in slow.values())  # the rule's points once per dialogue, whatever the count
    unanswered = engine.findings(ws, rule="unanswered")
    assert [(f["buyer"], f["match"], f["occurrences"], f["evidence"]) for f in unanswered] == [
        ("b2", "", 1, "11:00:20")
    ]
    assert {f["occurrences"] for f in engine.findings(ws) if f["scope"] != "timing"} == {1}


def test_a_run_replaces_only_its_period_and_keeps_reviews(ws):
    ws.con.execute(
        "INSERT INTO messages (ts, shop, buyer, agent, sender, text) VALUES "
        "('2026-11-12 09:00:00', 's', 'b9', 's:ann', 'agent', '爱买不买')"
    )
    engine.run(ws)
    next_day = engine.findings(ws, day=DAY + dt.timedelta(days=1))
    assert {f["rule"] for f in next_day} == {"rude_language", "missing_greeting", "missing_closing"}
    target = next(f for f in engine.findings(ws, day=DAY) if f["rule"] == "off_platform_contact")
    ws.con.execute("INSERT INTO qc_reviews VALUES (?, 'confirmed', '质检', '确实', now())", [target["finding_id"]])
    summary = engine.run(ws, DAY, DAY)
    assert summary.replaced == summary.findings == len(EXPECTED) + 2
    assert engine.findings(ws, day=DAY + dt.timedelta(days=1)) == next_day
    again = next(f for f in engine.findings(ws, day=DAY) if f["finding_id"] == target["finding_id"])
    assert (again["status"], again["reviewer"], again["comment"]) == ("confirmed", "质检", "确实")


def test_scores_deduct_points_of_findings_not_dismissed(ws):
    engine.run(ws)
    rules = load_rules(ws)
    ann = [f for f in engine.findings(ws) if f["agent"] == "s:ann"]
    dismissed = next(f for f in ann if f["rule"] == "personal_bank_card")
    confirmed = next(f for f in ann if f["rule"] == "off_platform_contact")
    ws.con.execute(
        "INSERT INTO qc_reviews VALUES (?, 'dismissed', 'q', '', now()), (?, 'confirmed', 'q', '', now())",
        [dismissed["finding_id"], confirmed["finding_id"]],
    )
    scores = {(r["agent"], r["day"]): r for r in engine.agent_day_scores(ws)}
    assert set(scores) == {("s:ann", DAY), ("s:bob", DAY)}  # the bot has no score
    points = sum(rules.get(f["rule"]).points for f in ann) - rules.get("personal_bank_card").points
    row = scores[("s:ann", DAY)]
    assert (row["findings"], row["confirmed"], row["dismissed"], row["open"]) == (len(ann), 1, 1, len(ann) - 2)
    assert (row["points"], row["dialogues"]) == (pytest.approx(points), 3)  # b1, b2, b4 (b6 is the bot's)
    assert row["points_deducted"] == min(100.0, round(100 * points / (3 * store.STAKE), 1))
    assert row["qc_score"] == max(0.0, round(100 - row["points_deducted"], 1))


def test_a_day_with_messages_and_no_findings_scores_100(ws):
    ws.con.execute(
        "INSERT INTO messages (ts, shop, buyer, agent, sender, text) VALUES "
        "('2026-11-13 09:00:00', 's', 'b9', 's:cat', 'buyer', '在吗'),"
        "('2026-11-13 09:00:05', 's', 'b9', 's:cat', 'agent', '亲,在的,欢迎光临,感谢关注')"
    )
    engine.run(ws)
    scores = {(r["agent"], r["day"]): r for r in engine.agent_day_scores(ws)}
    cat = scores[("s:cat", dt.date(2026, 11, 13))]
    assert (cat["findings"], cat["points_deducted"], cat["qc_score"]) == (0, 0.0, 100.0)


def test_the_score_is_floored_at_zero(ws):
    rows = ", ".join(f"('2026-11-13 09:{m:02d}:00', 's', 'b{m}', 's:dan', 'agent', '加我微信吧')" for m in range(6))
    ws.con.execute(f"INSERT INTO messages (ts, shop, buyer, agent, sender, text) VALUES {rows}")
    engine.run(ws)
    dan = next(r for r in engine.agent_day_scores(ws) if r["agent"] == "s:dan")
    # 6 dialogues × (20 off-platform + 0.5 greeting + 0.5 closing) = 126 points > 6 × 5 at stake
    assert (dan["dialogues"], dan["points"], dan["points_deducted"], dan["qc_score"]) == (6, 126.0, 100.0, 0.0)


def capped_rules():
    """The default library with the greeting and closing rules capped at 5 points per agent-day."""
    text = default_rules_text()
    for kind in ("missing_at_start", "missing_at_end"):
        text = text.replace(
            f'kind = "{kind}"\npoints = 0.5\n', f'kind = "{kind}"\npoints = 0.5\nmax_points_per_day = 5\n'
        )
    return parse_rules(text)


def test_each_rule_deducts_at_most_its_daily_cap(ws):
    # dan answers 25 buyers with a bare 好的: 25 missing greetings and 25 missing closings, 0.5 points each,
    # at most 5 per rule and day: 12.5 + 12.5 capped to 5 + 5 = 10 points of 25 × 5 at stake → 92.
    rows = ", ".join(f"('2026-11-13 09:{m:02d}:00', 's', 'b{m}', 's:dan', 'agent', '好的')" for m in range(25))
    ws.con.execute(f"INSERT INTO messages (ts, shop, buyer, agent, sender, text) VALUES {rows}")
    engine.run(ws, rules=capped_rules())
    day = dt.date(2026, 11, 13)
    dans = [f for f in engine.findings(ws, day=day) if f["agent"] == "s:dan"]
    assert sorted({(f["rule"], f["points"], f["max_points_per_day"]) for f in dans}) == [
        ("missing_closing", 0.5, 5.0),
        ("missing_greeting", 0.5, 5.0),
    ]
    assert len(dans) == 50

    def dan() -> dict:
        return next(r for r in engine.agent_day_scores(ws, day, day) if r["agent"] == "s:dan")

    assert (dan()["findings"], dan()["points"], dan()["points_deducted"], dan()["qc_score"]) == (50, 10.0, 8.0, 92.0)
    # Dismissing 20 greetings leaves 5 × 0.5 = 2.5 of them, under the cap: 2.5 + 5 = 7.5 of 125 → 94.
    greetings = [f["finding_id"] for f in dans if f["rule"] == "missing_greeting"][:20]
    ws.con.executemany("INSERT INTO qc_reviews VALUES (?, 'dismissed', 'q', '', now())", [[g] for g in greetings])
    assert (dan()["dismissed"], dan()["points"], dan()["points_deducted"], dan()["qc_score"]) == (20, 7.5, 6.0, 94.0)


def test_the_default_library_caps_no_rule_per_day():
    """Per-dialogue findings and scores replace the daily caps of the volume rules (docs/qc.md QC-D10)."""
    assert [r.id for r in parse_rules(default_rules_text()).rules if r.max_points_per_day is not None] == []


def test_findings_stored_before_caps_existed_are_not_capped(ws):
    engine.run(ws)
    ws.con.execute("ALTER TABLE qc_findings DROP COLUMN max_points_per_day")  # a workspace from before
    ann = next(r for r in engine.agent_day_scores(ws) if r["agent"] == "s:ann")
    assert ann["points"] == sum(f["points"] for f in engine.findings(ws) if f["agent"] == "s:ann")
    engine.run(ws)  # the next run adds the column again
    assert {"max_points_per_day"} <= set(engine.findings(ws)[0])


def test_confirmed_errors_are_confirmed_findings_only(ws):
    engine.run(ws)
    ann = [f for f in engine.findings(ws) if f["agent"] == "s:ann"]
    a, b, c = (
        next(f for f in ann if f["rule"] == r) for r in ("off_platform_contact", "personal_id_card", "slow_reply")
    )
    ws.con.execute(
        "INSERT INTO qc_reviews VALUES (?, 'confirmed', 'q', '', now()), (?, 'confirmed', 'q', '', now()),"
        " (?, 'dismissed', 'q', '', now())",
        [a["finding_id"], b["finding_id"], c["finding_id"]],
    )
    assert confirmed_errors(ws, DAY, DAY) == [
        {"shop": "s", "agent": "s:ann", "day": DAY, "confirmed_errors": 2, "points": a["points"] + b["points"]}
    ]
    assert confirmed_errors(ws, DAY + dt.timedelta(days=1), None) == []


def test_nothing_stored_yet_means_no_findings_and_full_scores(tmp_path):
    w = shop(tmp_path, [msg("10:00:00", "buyer"), msg("10:00:05", "agent", text="亲,在的,感谢")])
    assert engine.findings(w) == [] and confirmed_errors(w, None, None) == []
    assert [r["qc_score"] for r in engine.agent_day_scores(w)] == [100.0]
    assert store.has_tables(w.con) is False
