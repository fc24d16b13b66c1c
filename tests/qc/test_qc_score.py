"""The QC score per dialogue inspected (docs/qc.md QC-D10), worked out by hand.

Agent s:eve on 2026-11-12 (default rule library, slow_threshold_s 60), four dialogues:

b1  09:00:00 在吗 / 09:00:10 亲,在的,请问有什么可以帮您 / 09:01:00 有XL吗 / 09:03:00 有的亲 (120 s)
    / 09:04:00 发什么快递 / 09:06:30 中通哦,感谢支持 (150 s): two slow replies, ONE slow_reply finding
    (occurrences 2, worst 150s): 0.5 points
b2  10:00:00 你好 / 10:00:05 您好,在的 / 10:00:30 能便宜点吗 (never answered): unanswered 2 points;
    the last agent message has no closing: missing_closing 0.5 points
b3, b4  在吗 / 亲,在的,感谢: nothing

points = 0.5 + 2 + 0.5 = 3;  at stake = 4 dialogues × 5 = 20;  score = 100 × (1 − 3 / 20) = 85.0
(the former rule, 100 minus the points with one finding per slow message: 100 − 3.5 = 96.5).
"""

from __future__ import annotations

import datetime as dt

from shops import shop

from kefu.qc import day_tally, engine, score, store
from kefu.reports.daily import attach_qc

DAY = "2026-11-12"


def dialogues(agent: str, buyers: list[str]) -> list[dict]:
    """The four dialogues of the docstring, for each group of four buyer ids."""
    rows = []
    for b1, b2, b3, b4 in (buyers[i : i + 4] for i in range(0, len(buyers), 4)):

        def say(clock, sender, buyer, text):
            rows.append(
                {"ts": f"{DAY} {clock}", "shop": "s", "buyer": buyer, "agent": agent, "sender": sender, "text": text}
            )

        say("09:00:00", "buyer", b1, "在吗"), say("09:00:10", "agent", b1, "亲,在的,请问有什么可以帮您")
        say("09:01:00", "buyer", b1, "有XL吗"), say("09:03:00", "agent", b1, "有的亲")
        say("09:04:00", "buyer", b1, "发什么快递"), say("09:06:30", "agent", b1, "中通哦,感谢支持")
        (
            say("10:00:00", "buyer", b2, "你好"),
            say("10:00:05", "agent", b2, "您好,在的"),
            say("10:00:30", "buyer", b2, "能便宜点吗"),
        )
        for b in (b3, b4):
            say("11:00:00", "buyer", b, "在吗"), say("11:00:05", "agent", b, "亲,在的,感谢")
    return sorted(rows, key=lambda r: r["ts"])


def test_the_worked_example_of_docs_qc_md(tmp_path):
    ws = shop(tmp_path, dialogues("s:eve", ["b1", "b2", "b3", "b4"]))
    engine.run(ws)
    found = sorted((f["rule"], f["buyer"], f["occurrences"], f["match"], f["points"]) for f in engine.findings(ws))
    assert found == [
        ("missing_closing", "b2", 1, "", 0.5),
        ("slow_reply", "b1", 2, "150s", 0.5),
        ("unanswered", "b2", 1, "", 2.0),
    ]
    [eve] = engine.agent_day_scores(ws)
    assert (eve["dialogues"], eve["points"], eve["points_deducted"], eve["qc_score"]) == (4, 3.0, 15.0, 85.0)
    # The daily report reads the same figures (kefu.qc.day_tally → attach_qc's score(points_deducted)).
    tally = day_tally(ws, "s", dt.date(2026, 11, 12))
    assert tally["s:eve"]["dialogues"] == 4 and score(tally["s:eve"]["points_deducted"]) == 85.0
    # Dismissing the unanswered finding leaves 1 point of 20: 95.
    unanswered = next(f for f in engine.findings(ws) if f["rule"] == "unanswered")
    ws.con.execute("INSERT INTO qc_reviews VALUES (?, 'dismissed', 'q', '', now())", [unanswered["finding_id"]])
    assert engine.agent_day_scores(ws)[0]["qc_score"] == 95.0
    ws.close()


def test_a_busier_agent_with_the_same_share_of_problems_scores_the_same(tmp_path):
    """Issue #11: scores are per dialogue inspected, so ten times the dialogues with ten times the problems
    score as one (the former per-day rule gave 96.5 to eve and 75 to the busy fay, her caps reached)."""
    quiet = dialogues("s:eve", ["b1", "b2", "b3", "b4"])
    busy = dialogues("s:fay", [f"c{i}" for i in range(40)])
    ws = shop(tmp_path, sorted(quiet + busy, key=lambda r: r["ts"]))
    engine.run(ws)
    scores = {r["agent"]: r for r in engine.agent_day_scores(ws)}
    assert (scores["s:fay"]["dialogues"], scores["s:fay"]["points"]) == (40, 30.0)
    assert scores["s:eve"]["qc_score"] == scores["s:fay"]["qc_score"] == 85.0
    ws.close()


def test_a_period_score_is_over_all_its_dialogues(tmp_path):
    """agent_scores sums points and dialogues over the days (not the mean of the days' scores)."""
    first = dialogues("s:eve", ["b1", "b2", "b3", "b4"])  # 3 points of 20
    second = [
        r | {"ts": r["ts"].replace(DAY, "2026-11-13")}
        for r in dialogues("s:eve", [f"d{i}" for i in range(8)])
        if r["buyer"] not in ("d1", "d5")
    ]  # two more clean days' worth: d0, d4 slow (0.5 each); d2, d3, d6, d7 clean
    ws = shop(tmp_path, first + second)
    engine.run(ws)
    days = {r["day"].isoformat(): r for r in engine.agent_day_scores(ws)}
    assert (days["2026-11-13"]["dialogues"], days["2026-11-13"]["points"], days["2026-11-13"]["qc_score"]) == (
        6,
        1.0,
        96.7,
    )
    [eve] = engine.agent_scores(ws)
    # (3 + 1) points of (4 + 6) × 5 = 50 at stake: 100 × (1 − 4/50) = 92.0 (the mean of 85 and 96.7 would be 90.85)
    assert (eve["days"], eve["dialogues"], eve["points"], eve["qc_score"]) == (2, 10, 4.0, 92.0)
    ws.close()


def test_findings_without_a_stored_dialogue_count_count_their_own_dialogues(tmp_path):
    """Findings written before dialogue counts existed (or by hand): the dialogues they are in are the denominator."""
    ws = shop(tmp_path, dialogues("s:eve", ["b1", "b2", "b3", "b4"]))
    engine.run(ws)
    ws.con.execute("DELETE FROM qc_dialogues")
    [row] = store.tally(ws.con, "TRUE", [])
    assert (row["dialogues"], row["points"], row["points_deducted"]) == (2, 3.0, 30.0)  # b1, b2: 3 of 10
    ws.close()


def test_the_daily_report_shows_the_per_dialogue_score(tmp_path):
    from kefu import api
    from kefu.reports.daily import daily_report

    ws = shop(tmp_path, dialogues("s:eve", ["b1", "b2", "b3", "b4"]))
    engine.run(ws)
    day = dt.date(2026, 11, 12)
    report = daily_report(lambda by, f, t: api.kpis(ws, list(by), date_from=f, date_to=t), "s", day, [], {})
    report = attach_qc(report, day_tally(ws, "s", day))
    assert [a["qc"]["qc_score"] for a in report.agents] == [85.0]
    ws.close()
