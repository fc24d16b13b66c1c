"""The 互查 ledger: peer reports, supervisor decisions and the month's fund, worked out by hand.

Shop s, November 2026 (fund 100, error 10, supervisor-found ×2):
- s:ann  F1 confirmed and reported by two peers (one error, peer: 10) + F2 confirmed, nobody reported it
         (supervisor: 20) + F3 dismissed (nothing)                                 -> 2 errors, 30, balance 70
- s:bob  F5 confirmed, a peer reported its message (peer: 10) + a day report (10) + F4 open (nothing)
         + a rejected report and an open report (nothing)                           -> 2 errors, 20, balance 80
- s:cat  six confirmed findings nobody reported: 6 × 20 = 120 > 100               -> balance 0 (the floor)
- s:dee  worked, no error                                                           -> 100
Shop t: t:dan one confirmed peer report (10) -> 90; t:eve -> 100.
October: one confirmed report about s:ann (10); s:ann sent no message in October but has a row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples
from qc_rows import add_finding
from shops import msg, shop, write_table

from kefu.config import Config, Mutual
from kefu.ingest.pipeline import import_paths
from kefu.month import MonthError
from kefu.qc import ledger, review
from kefu.qc.ledger import ReportError, decide, file_report, month_errors, month_ledger, public_list
from kefu.workspace import Workspace

NOV = "2026-11"


def chat(agent: str, day: str, buyer: str = "b1", shop_: str = "s") -> list[dict]:
    return [
        msg(f"{day} 10:00:00", "buyer", agent=agent, buyer=buyer, shop=shop_),
        msg(f"{day} 10:00:10", "agent", agent=agent, buyer=buyer, shop=shop_, text="亲,在的"),
    ]


@pytest.fixture
def month(tmp_path):
    messages = (
        chat("s:ann", "2026-11-03")
        + chat("s:ann", "2026-11-05", "b2")
        + chat("s:bob", "2026-11-07")
        + chat("s:cat", "2026-11-09")
        + chat("s:dee", "2026-11-10")
        + chat("t:dan", "2026-11-02", shop_="t")
        + chat("t:eve", "2026-11-02", shop_="t")
        + [msg("2026-11-04 09:00:00", "bot", agent="s:bot", buyer="b9", text="您好")]
    )
    ws = shop(tmp_path, messages)
    con = ws.con
    ledger.ensure_table(con)
    f1 = add_finding(con, "F1", "s:ann", "2026-11-03 10:00:10", status="confirmed")
    add_finding(con, "F2", "s:ann", "2026-11-05 10:00:10", buyer="b2", status="confirmed")
    add_finding(con, "F3", "s:ann", "2026-11-05 10:00:10", buyer="b2", rule="r2", status="dismissed")
    add_finding(con, "F4", "s:bob", "2026-11-07 10:00:10")
    add_finding(con, "F5", "s:bob", "2026-11-07 10:00:10", rule="r3", status="confirmed")
    for i in range(6):
        add_finding(con, f"C{i}", "s:cat", "2026-11-09 10:00:10", rule=f"r{i}", status="confirmed")
    decide(con, file_report(con, reporter="s:bob", description="说了禁用语", finding_id=f1), "confirmed", "质检")
    decide(con, file_report(con, reporter="s:cat", description="同一条", finding_id=f1), "confirmed", "质检")
    decide(
        con,
        file_report(
            con,
            reporter="s:ann",
            description="态度差",
            shop="s",
            agent="s:bob",
            buyer="b1",
            ts=dt.datetime(2026, 11, 7, 10, 0, 10),
        ),
        "confirmed",
        "小萍",
    )
    decide(
        con,
        file_report(con, reporter="s:dee", description="漏回复", shop="s", agent="s:bob", day=dt.date(2026, 11, 8)),
        "confirmed",
        "小萍",
    )
    decide(
        con,
        file_report(con, reporter="s:dee", description="不是错误", shop="s", agent="s:bob", day=dt.date(2026, 11, 8)),
        "rejected",
        "小萍",
    )
    file_report(con, reporter="s:dee", description="还没处理", shop="s", agent="s:bob", day=dt.date(2026, 11, 9))
    decide(
        con,
        file_report(con, reporter="t:eve", description="发错链接", shop="t", agent="t:dan", day=dt.date(2026, 11, 2)),
        "confirmed",
        "小萍",
    )
    decide(
        con,
        file_report(con, reporter="s:bob", description="十月的错", shop="s", agent="s:ann", day=dt.date(2026, 10, 30)),
        "confirmed",
        "小萍",
    )
    yield ws
    ws.close()


def by_agent(rows):
    return {r["agent"]: r for r in rows}


def test_month_ledger_worked_out_by_hand(month):
    rows = by_agent(month_ledger(month.con, NOV))
    assert set(rows) == {"s:ann", "s:bob", "s:cat", "s:dee", "t:dan", "t:eve"}  # the bot has no fund
    expected = {  # errors, peer, supervisor, costs, deductions, balance
        "s:ann": (2, 1, 1, 30.0, 30.0, 70.0),
        "s:bob": (2, 2, 0, 20.0, 20.0, 80.0),
        "s:cat": (6, 0, 6, 120.0, 120.0, 0.0),
        "s:dee": (0, 0, 0, 0.0, 0.0, 100.0),
        "t:dan": (1, 1, 0, 10.0, 10.0, 90.0),
        "t:eve": (0, 0, 0, 0.0, 0.0, 100.0),
    }
    for agent, values in expected.items():
        r = rows[agent]
        assert (
            r["errors"],
            r["peer_errors"],
            r["supervisor_errors"],
            r["costs"],
            r["deductions"],
            r["balance"],
        ) == values, agent
        assert (r["fund_start"], r["warning_only"], r["month"]) == (100.0, False, NOV)


def test_every_deduction_is_traced_to_a_report_or_a_finding(month):
    errors = month_errors(month.con, NOV, "s")
    ann = [(e["source"], e["finding_id"], e["cost"]) for e in errors if e["agent"] == "s:ann"]
    assert ann == [("peer", "F1", 10.0), ("supervisor", "F2", 20.0)]
    bob = [e for e in errors if e["agent"] == "s:bob"]
    assert [(e["source"], e["description"], e["cost"]) for e in bob] == [
        ("peer", "态度差", 10.0),
        ("peer", "漏回复", 10.0),
    ]
    assert all(e["report_id"] for e in bob)
    assert {e["shop"] for e in errors} == {"s"}


def test_one_shop_only(month):
    assert set(by_agent(month_ledger(month.con, NOV, "t"))) == {"t:dan", "t:eve"}
    assert by_agent(month_ledger(month.con, NOV, "s"))["s:ann"]["balance"] == 70.0


def test_an_error_in_another_month_counts_there(month):
    rows = by_agent(month_ledger(month.con, "2026-10"))
    assert set(rows) == {"s:ann"}  # no chats in October, but an error
    assert (rows["s:ann"]["errors"], rows["s:ann"]["balance"]) == (1, 90.0)


def test_warning_only_month_shows_costs_and_deducts_nothing(month):
    rows = by_agent(month_ledger(month.con, NOV, settings=Mutual(warning_only_months=(NOV,))))
    assert (
        rows["s:ann"]["costs"],
        rows["s:ann"]["deductions"],
        rows["s:ann"]["balance"],
        rows["s:ann"]["warning_only"],
    ) == (30.0, 0.0, 100.0, True)
    assert rows["s:cat"]["balance"] == 100.0
    assert (
        by_agent(month_ledger(month.con, "2026-10", settings=Mutual(warning_only_months=(NOV,))))["s:ann"]["balance"]
        == 90.0
    )


def test_settings_from_the_workspace(month, tmp_path):
    # fund 50, error 12.5, supervisor ×1.5: s:ann 12.5 + 18.75 = 31.25 -> 18.75; s:cat 6 × 18.75 = 112.5 -> 0
    month.config = Config(mutual=Mutual(fund=50, error_cost=12.5, supervisor_multiplier=1.5))
    rows = by_agent(month_ledger(month, NOV))
    assert (rows["s:ann"]["fund_start"], rows["s:ann"]["costs"], rows["s:ann"]["balance"]) == (50.0, 31.25, 18.75)
    assert (rows["s:cat"]["deductions"], rows["s:cat"]["balance"]) == (112.5, 0.0)


def test_a_half_cent_is_rounded_half_up():
    assert ledger._cost(Mutual(error_cost=0.05, supervisor_multiplier=1.5), "supervisor") == ledger.Decimal("0.08")


def test_confirming_a_peer_report_of_a_supervisor_finding_halves_its_cost(month):
    report = file_report(month.con, reporter="s:bob", description="也看到了", finding_id="F2")
    assert (
        by_agent(month_ledger(month.con, NOV))["s:ann"]["costs"] == 30.0
    )  # the report is open: still supervisor-found
    decide(month.con, report, "confirmed", "质检")
    row = by_agent(month_ledger(month.con, NOV))["s:ann"]
    assert (row["peer_errors"], row["supervisor_errors"], row["costs"]) == (2, 0, 20.0)
    decide(month.con, report, "open", "质检")  # undone
    assert by_agent(month_ledger(month.con, NOV))["s:ann"]["costs"] == 30.0


def test_a_reopened_finding_is_no_error(month):
    review.clear_status(month.con, "F2")
    assert by_agent(month_ledger(month.con, NOV))["s:ann"]["costs"] == 10.0


def test_public_list_hides_who(month):
    shown = public_list(month.con, NOV, "s")
    assert len(shown) == 2 + 2 + 6
    assert all(set(e) == {"day", "source", "description", "cost"} for e in shown)
    text = repr(shown)
    assert "s:ann" not in text and "s:bob" not in text and "s:dee" not in text


@pytest.mark.parametrize(
    "kwargs, problem",
    [
        (
            {"reporter": "s:bob", "description": " ", "shop": "s", "agent": "s:ann", "day": dt.date(2026, 11, 3)},
            "description",
        ),
        (
            {"reporter": "s:ann", "description": "x", "shop": "s", "agent": "s:ann", "day": dt.date(2026, 11, 3)},
            "own error",
        ),
        ({"reporter": "s:ann", "description": "x", "finding_id": "F1"}, "own error"),
        ({"reporter": "s:bob", "description": "x", "finding_id": "nope"}, "no QC finding"),
        ({"reporter": "s:bob", "description": "x", "finding_id": "F1", "agent": "s:cat"}, "is about s:ann"),
        (
            {"reporter": "s:bob", "description": "x", "shop": "s", "agent": "s:nobody", "day": dt.date(2026, 11, 3)},
            "not an agent of s",
        ),
        (
            {"reporter": "s:bob", "description": "x", "shop": "t", "agent": "s:ann", "day": dt.date(2026, 11, 3)},
            "not an agent of t",
        ),
        ({"reporter": "s:bob", "description": "x", "shop": "s", "agent": "s:ann"}, "day"),
        (
            {"reporter": "小萍", "description": "x", "shop": "s", "agent": "s:ann", "day": dt.date(2026, 11, 3)},
            "reporter 小萍 is not an agent of s",
        ),
        ({"reporter": "t:dan", "description": "x", "finding_id": "F1"}, "reporter t:dan is not an agent of s"),
        (
            {
                "reporter": "s:bob",
                "description": "x",
                "shop": "s",
                "agent": "s:ann",
                "buyer": "b1",
                "ts": dt.datetime(2026, 11, 3, 10, 0, 11),
            },
            "no message of s:ann",
        ),
    ],
)
def test_bad_reports_are_refused_with_the_reason(month, kwargs, problem):
    with pytest.raises(ReportError, match=problem):
        file_report(month.con, **kwargs)


def test_decisions(month):
    report = file_report(
        month.con, reporter="s:bob", description="x", shop="s", agent="s:ann", day=dt.date(2026, 11, 3)
    )
    assert ledger.get_report(month.con, report)["status"] == "open"
    decided = decide(month.con, report, "rejected", "质检")
    assert (decided["status"], decided["decided_by"]) == ("rejected", "质检") and decided["decided_at"] is not None
    with pytest.raises(ReportError, match="one of"):
        decide(month.con, report, "maybe", "质检")
    with pytest.raises(ReportError, match="no peer report"):
        decide(month.con, "nope", "confirmed", "质检")
    assert report not in {r["report_id"] for r in ledger.reports(month.con, month=NOV, status="open")}


def test_reports_are_listed_open_first(month):
    listed = ledger.reports(month.con, month=NOV, shops=["s"])
    statuses = [r["status"] for r in listed]
    assert statuses == sorted(statuses, key=lambda s: s != "open") and statuses[0] == "open"
    assert {r["shop"] for r in listed} == {"s"}
    assert len(ledger.reports(month.con, month=NOV, agents=["s:bob"])) == 4


def test_month_must_be_a_month(month):
    with pytest.raises(MonthError, match="month '2026-13' is not YYYY-MM"):
        month_ledger(month.con, "2026-13")
    with pytest.raises(MonthError):
        ledger.reports(month.con, month="2026-1")


def test_the_ledger_reads_a_read_only_workspace_and_creates_nothing(tmp_path):
    """`kefu pay` opens the workspace read-only: missing QC and report tables read as no errors (nothing is created)."""
    data = tmp_path / "data"
    data.mkdir()
    write_table(data, "messages", chat("s:ann", "2026-11-03") + chat("s:bob", "2026-11-04"))
    path = tmp_path / "ws"
    with Workspace.open(path, create=True) as ws:
        assert all(not r.rejected and not r.error for r in import_paths(ws, [data]))
    qc_tables = (
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('qc_findings', 'qc_reviews', 'qc_peer_reports')"
    )

    def read() -> dict:
        with Workspace.open(path, read_only=True) as ws:
            rows = by_agent(month_ledger(ws, NOV))
            return {a: (r["peer_errors"], r["supervisor_errors"], r["balance"]) for a, r in rows.items()} | {
                "public": len(public_list(ws, NOV, "s")),
                "tables": ws.con.execute(qc_tables).fetchone()[0],
            }

    # nobody ran QC or filed a report: no table, every agent who worked has the full fund
    assert read() == {"s:ann": (0, 0, 100.0), "s:bob": (0, 0, 100.0), "public": 0, "tables": 0}
    with Workspace.open(path) as ws:  # QC ran and a finding was confirmed; no peer report table yet
        add_finding(ws.con, "F1", "s:ann", "2026-11-03 10:00:10", status="confirmed")
    assert read() == {"s:ann": (0, 1, 80.0), "s:bob": (0, 0, 100.0), "public": 1, "tables": 2}
    with Workspace.open(path) as ws:  # a colleague reports it and the report is confirmed: a peer error
        decide(
            ws.con,
            file_report(ws.con, reporter="s:bob", description="说了禁用语", finding_id="F1"),
            "confirmed",
            "质检",
        )
    assert read() == {"s:ann": (1, 0, 90.0), "s:bob": (0, 0, 100.0), "public": 1, "tables": 3}


# -- property: the arithmetic holds for any settings and any errors ---------------------------------

money = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def empty():
    ws = Workspace.memory()
    ledger.ensure_table(ws.con)
    yield ws
    ws.close()


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fund=money,
    cost=money,
    multiplier=st.decimals(min_value=0, max_value=5, places=2),
    errors=st.lists(st.tuples(st.sampled_from(["s:a", "s:b", "s:c"]), st.booleans()), max_size=12),
    warning=st.booleans(),
)
def test_balance_is_fund_minus_deductions_floored_at_zero(empty, fund, cost, multiplier, errors, warning):
    con = empty.con
    for table in ("qc_peer_reports", "qc_reviews", "qc_findings"):
        con.execute(f"DELETE FROM {table}")
    for i, (agent, by_peer) in enumerate(errors):
        fid = add_finding(con, f"P{i}", agent, f"2026-11-{i + 1:02d} 10:00:00", status="confirmed")
        if by_peer:
            con.execute(
                "INSERT INTO qc_peer_reports VALUES (?, 's', 'peer', ?, ?, NULL, ?, 'x', 'confirmed', 'qc', now(), NULL, now())",
                [f"R{i}", agent, fid, dt.date(2026, 11, i + 1)],
            )
    mutual = Mutual(
        fund=float(fund),
        error_cost=float(cost),
        supervisor_multiplier=float(multiplier),
        warning_only_months=(NOV,) if warning else (),
    )
    rows = month_ledger(con, NOV, settings=mutual)
    assert {r["agent"] for r in rows} == {a for a, _ in errors}
    for r in rows:
        mine = [p for a, p in errors if a == r["agent"]]
        peer = sum(mine)
        supervisor_cost = (cost * multiplier).quantize(ledger.CENT, ledger.ROUND_HALF_UP)
        costs = cost * peer + supervisor_cost * (len(mine) - peer)
        assert r["errors"] == len(mine) and r["peer_errors"] == peer
        assert r["costs"] == float(costs) and r["deductions"] >= 0
        assert r["deductions"] == (0.0 if warning else float(costs))
        if fund >= costs or warning:
            assert r["balance"] == float(fund - ledger.Decimal(str(r["deductions"])))
        else:
            assert r["balance"] == 0.0
        assert 0 <= r["balance"] <= r["fund_start"] == float(fund)
