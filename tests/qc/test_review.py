"""Manual review of QC findings: confirm, dismiss, comment, undo; the queue's order and filters; agents' feedback."""

from __future__ import annotations

import datetime as dt

import pytest
from qc_rows import add_finding

from kefu.qc import review
from kefu.qc.review import ReviewError, clear_status, counts, feedback, queue, set_comment, set_status
from kefu.workspace import Workspace


@pytest.fixture
def con():
    ws = Workspace.memory()
    c = ws.con
    add_finding(c, "low-early", "s:ann", "2026-11-11 09:00:00", severity="low")
    add_finding(c, "crit-late", "s:ann", "2026-11-11 18:00:00", severity="critical", rule="r9", rule_name="辱骂")
    add_finding(c, "high", "s:bob", "2026-11-11 10:00:00", severity="high")
    add_finding(c, "med-next", "s:ann", "2026-11-12 10:00:00", severity="medium")
    add_finding(c, "done", "s:bob", "2026-11-11 08:00:00", severity="critical", status="dismissed")
    add_finding(c, "other-shop", "t:dan", "2026-11-11 08:00:00", shop="t", severity="critical")
    yield c
    ws.close()


def ids(rows):
    return [r["finding_id"] for r in rows]


def test_queue_shows_open_first_then_the_worst_then_in_time(con):
    assert ids(queue(con)) == ["other-shop", "crit-late", "high", "med-next", "low-early", "done"]


def test_confirm_with_a_comment(con):
    found = set_status(con, "high", "confirmed", "质检", "确实说了")
    assert (found["status"], found["reviewer"], found["comment"]) == ("confirmed", "质检", "确实说了")
    assert isinstance(found["reviewed_at"], dt.datetime)
    assert ids(queue(con, status="confirmed")) == ["high"]
    assert "high" not in ids(queue(con, status="open"))


def test_a_second_review_replaces_the_first(con):
    set_status(con, "high", "confirmed", "质检", "first")
    set_status(con, "high", "dismissed", "小萍", "误报")
    assert con.execute("SELECT count(*) FROM qc_reviews WHERE finding_id = 'high'").fetchone()[0] == 1
    found = review.get_finding(con, "high")
    assert (found["status"], found["reviewer"], found["comment"]) == ("dismissed", "小萍", "误报")


def test_clear_status_reopens(con):
    clear_status(con, "done")
    assert review.get_finding(con, "done")["status"] == "open"
    assert review.get_finding(con, "done")["reviewer"] is None


def test_comment_on_a_reviewed_finding_keeps_its_status(con):
    found = set_comment(con, "done", "小萍", "补充说明")
    assert (found["status"], found["comment"], found["reviewer"]) == ("dismissed", "补充说明", "小萍")
    with pytest.raises(ReviewError, match="confirm or dismiss"):
        set_comment(con, "high", "小萍", "x")


@pytest.mark.parametrize(
    "finding, status, reviewer, problem",
    [
        ("high", "maybe", "质检", "one of confirmed, dismissed"),
        ("high", "open", "质检", "one of confirmed, dismissed"),
        ("nope", "confirmed", "质检", "no QC finding 'nope'"),
        ("high", "confirmed", "", "reviewer"),
    ],
)
def test_bad_reviews_are_refused(con, finding, status, reviewer, problem):
    with pytest.raises(ReviewError, match=problem):
        set_status(con, finding, status, reviewer)
    assert review.get_finding(con, "high")["status"] == "open"


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"agent": "s:ann"}, ["crit-late", "med-next", "low-early"]),
        ({"agents": ["s:bob", "t:dan"]}, ["other-shop", "high", "done"]),
        ({"agents": []}, []),
        ({"day": dt.date(2026, 11, 12)}, ["med-next"]),
        (
            {"date_from": dt.date(2026, 11, 11), "date_to": dt.date(2026, 11, 11), "agent": "s:ann"},
            ["crit-late", "low-early"],
        ),
        ({"rule": "r9"}, ["crit-late"]),
        ({"severity": "critical"}, ["other-shop", "crit-late", "done"]),
        ({"status": "dismissed"}, ["done"]),
        ({"status": "open", "agent": "s:bob"}, ["high"]),
    ],
)
def test_queue_filters(con, filters, expected):
    assert ids(queue(con, **filters)) == expected


def test_queue_pages(con):
    assert ids(queue(con, limit=2)) + ids(queue(con, limit=2, offset=2)) + ids(queue(con, limit=2, offset=4)) == ids(
        queue(con)
    )


def test_counts_per_status_ignore_the_status_filter(con):
    set_status(con, "high", "confirmed", "质检")
    assert counts(con, agents=["s:ann", "s:bob"], status="open") == {"open": 3, "confirmed": 1, "dismissed": 1}


def test_feedback_is_the_agents_confirmed_findings_newest_first(con):
    set_status(con, "low-early", "confirmed", "质检", "注意用语")
    set_status(con, "crit-late", "confirmed", "质检")
    set_status(con, "med-next", "dismissed", "质检")
    set_status(con, "high", "confirmed", "质检")  # someone else's
    shown = feedback(con, "s:ann")
    assert ids(shown) == ["crit-late", "low-early"]
    assert shown[1]["comment"] == "注意用语" and shown[1]["match"] == "滚"
    assert ids(feedback(con, "s:ann", date_from=dt.date(2026, 11, 11), date_to=dt.date(2026, 11, 11), limit=1)) == [
        "crit-late"
    ]


def test_reviews_survive_a_rerun_that_replaces_the_findings(con):
    set_status(con, "high", "confirmed", "质检", "ok")
    row = con.execute("SELECT * FROM qc_findings WHERE finding_id = 'high'").fetchall()
    con.execute("DELETE FROM qc_findings")  # what `kefu qc run` does for its period …
    con.execute(
        f"INSERT INTO qc_findings VALUES ({', '.join('?' * len(row[0]))})", list(row[0])
    )  # … and the same id comes back
    assert review.get_finding(con, "high")["status"] == "confirmed"


def test_queue_of_sampled_dialogues(con):
    add_finding(con, "other-buyer", "s:ann", "2026-11-11 12:00:00", buyer="b7")
    sampled = [("s:ann", "b1", dt.date(2026, 11, 11)), ("s:bob", "b9", dt.date(2026, 11, 11))]
    assert ids(queue(con, dialogues=sampled)) == ["crit-late", "low-early"]
    assert counts(con, dialogues=sampled) == {"open": 2, "confirmed": 0, "dismissed": 0}
    assert queue(con, dialogues=[]) == []


def test_min_severity_keeps_that_severity_or_worse(con):
    assert ids(queue(con, min_severity="high", status="open")) == ["other-shop", "crit-late", "high"]
    assert ids(queue(con, min_severity="critical")) == ["other-shop", "crit-late", "done"]
    assert counts(con, min_severity="high") == {"open": 3, "confirmed": 0, "dismissed": 1}
    with pytest.raises(ReviewError, match="min_severity"):
        queue(con, min_severity="awful")


def test_set_many_is_one_transaction_all_or_nothing(con):
    with pytest.raises(ReviewError, match="no QC finding 'nope'"):
        review.set_many(con, ["high", "nope"], "confirmed", "质检")
    assert review.get_finding(con, "high")["status"] == "open"  # nothing recorded
    assert review.set_many(con, ["high", "low-early", "done"], "confirmed", "质检", "批量") == 3
    got = {
        f["finding_id"]: (f["status"], f["reviewer"], f["comment"])
        for f in queue(con, finding_ids=["high", "low-early", "done"])
    }
    assert set(got.values()) == {("confirmed", "质检", "批量")}  # the earlier dismissal of "done" replaced
    assert review.set_many(con, ["high", "done"], "open", "") == 2
    assert [review.get_finding(con, i)["status"] for i in ("high", "done", "low-early")] == [
        "open",
        "open",
        "confirmed",
    ]
    with pytest.raises(ReviewError):
        review.set_many(con, [], "confirmed", "质检")
    with pytest.raises(ReviewError):
        review.set_many(con, ["high"], "confirmed", "")


def test_matching_ids_are_every_page_of_the_filter(con):
    assert review.matching_ids(con, agent="s:ann", status="open") == ["crit-late", "med-next", "low-early"]
