"""The hand-made November (tests/pay/month.py): every component and the mixed scheme, worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kefu.pay import api as pay
from kefu.pay.scheme import parse_scheme
from kefu.workspace import Workspace
from tests.pay.month import MONTH, PRESALES


def amounts(payroll, agent: str) -> dict[str, D]:
    return {line.component: line.amount for line in payroll.slip(agent).lines}


# -- the month's inputs, as the engine and the imports give them --------------------------------


def test_month_values_come_from_the_engine_month_grouping(data):
    ann, bob = data.values["s:ann"], data.values["s:bob"]
    # reply rate 3/4 from the month's consultations (the mean of ann's daily rates 1, 1/2, 1 would be 0.83)
    assert (ann["consult_buyers"], ann["reply_rate"], ann["avg_response_s"], ann["inquiry_conversion"]) == (
        4,
        D("0.75"),
        20,
        D("0.5"),
    )
    assert (bob["reply_rate"], bob["avg_response_s"], bob["inquiry_conversion"], bob["complaints"]) == (
        1,
        25,
        D("0.5"),
        3,
    )
    # the shop standard: (2 + 1 + 0) / (4 + 2 + 1) consultations, not an average of the agents' rates
    assert data.shop_values["s"]["inquiry_conversion"] == pytest.approx(D(3) / D(7))


def test_refunds_count_in_the_month_they_finished_for_the_credited_agent(data):
    ann = data.values["s:ann"]
    assert ann["sales_amount"] == D("151000.00")  # o1 + o2; o0 was paid in October
    # r1 200 + r2 300 (o0 from October) + r5 capped at what is left of o1 (1000 − 200 = 800);
    # r3 closed, r4 unfinished and r6 finished in December do not count
    assert ann["refund_amount"] == D("1300.00")
    assert ann["net_sales"] == D("149700.00")
    assert data.values["s:bob"]["refund_amount"] == D("0.00")  # r6 is December's


def test_credited_sales_are_the_engines_to_the_cent(month_ws, data):
    from kefu import api
    from kefu.month import Month

    month = Month.parse(MONTH)
    with Workspace.open(month_ws, read_only=True) as ws:
        records = api.kpis(ws, ["agent", "month"], None, month.first, month.last)
    assert records and all(
        data.values[r["agent"]]["sales_amount"] == D(str(r["sales_amount"])).quantize(D("0.01")) for r in records
    )


def test_confirmed_qc_errors_only_and_only_of_the_month(data):
    assert data.values["s:cat"]["qc_errors"] == 2  # f1, f2; not the dismissed, the open or October's
    assert data.values["s:cat"]["qc_points"] == 10
    assert data.values["s:dan"]["qc_errors"] == 0


def test_imported_inputs(data):
    assert data.values["s:cat"]["working_days"] == 22
    assert (
        data.values["s:dan"]["working_days"] == 20 and data.values["s:dan"]["leave_days"] == 2
    )  # named 丹 in the file
    assert data.values["s:ann"]["test_score"] == 90
    assert data.values["s:ann"]["working_days"] is None  # attendance was imported and ann is not on it
    assert [p.amount for p in data.prizes["s:ann"]] == [D("200.00")]
    assert not data.days_from_chats


# -- each component, by hand -----------------------------------------------------------------


def test_commission_tiered_net_of_refunds(payroll):
    # net 149,700.00: 100,000 × 1% + 49,700 × 1.5% = 1,000 + 745.50
    assert amounts(payroll, "s:ann")["销售提成"] == D("1745.50")
    assert amounts(payroll, "s:bob")["销售提成"] == D("3.00")  # 300 × 1%


def test_kpi_score(payroll):
    # ann: reply 0.75 below worst 0.9 → 0 of 30; response 20 s: (20 − 30)/(5 − 30) = 0.4 → 12 of 30;
    #      conversion 0.5 = best → 40 of 40. 1,000 × 52 / 100 = 520.00
    assert amounts(payroll, "s:ann")["KPI 考核"] == D("520.00")
    # bob: reply 1.0 → 30; 25 s: 0.2 → 6; 0.5 → 40. 1,000 × 76 / 100 = 760.00
    assert amounts(payroll, "s:bob")["KPI 考核"] == D("760.00")


def test_threshold_bonus_against_the_shop_standard_and_the_complaint_penalty(payroll):
    # ann: 20 s ≤ 25, 0.5 ≥ 3/7, 0 complaints → 20 % of 3,000
    assert amounts(payroll, "s:ann")["达标奖"] == D("600.00")
    assert amounts(payroll, "s:ann")["投诉扣罚"] == D("0.00")
    # bob: 3 complaints → no bonus, and −10 % of 3,000
    assert amounts(payroll, "s:bob")["达标奖"] == D("0.00")
    assert amounts(payroll, "s:bob")["投诉扣罚"] == D("-300.00")
    bonus = payroll.slip("s:ann").line("达标奖")
    shop_used = [u for u in bonus.used if u.source.startswith("店铺标准")]
    assert shop_used and shop_used[0].value == pytest.approx(D(3) / D(7))


def test_test_score_ranking_and_imported_prizes(payroll):
    # test 90: (90 − 60) / 40 × 200 = 150.00; bob took no test → 0
    assert amounts(payroll, "s:ann")["产品知识考试"] == D("150.00")
    assert amounts(payroll, "s:bob")["产品知识考试"] == D("0.00")
    # only ann has ≥ 3 consultations, so she is ranked, first of one; bob is not ranked
    assert amounts(payroll, "s:ann")["销售排名奖"] == D("800.00")
    assert amounts(payroll, "s:bob")["销售排名奖"] == D("0.00")
    assert amounts(payroll, "s:ann")["其他奖励"] == D("200.00")


def test_performance_cap_is_its_own_line(payroll):
    # ann's performance 1,745.50 + 520 + 600 + 150 + 800 + 200 = 4,015.50 > cap 3,000 → −1,015.50
    ann = amounts(payroll, "s:ann")
    assert ann["绩效封顶调整"] == D("-1015.50")
    assert payroll.slip("s:ann").total == D("6000.00")


def test_mixed_scheme_totals(payroll):
    # bob: 3,000 + 3.00 + 760 − 300 = 3,463.00
    assert payroll.slip("s:bob").total == D("3463.00")
    assert "绩效封顶调整" not in amounts(payroll, "s:bob")


def test_subtraction_pool_shared_by_working_days(payroll):
    # 5,000 × 22/42 = 2,619.047… and 5,000 × 20/42 = 2,380.952…; floors 2,619.04 + 2,380.95 leave one cent,
    # which goes to the larger remainder (cat, 0.0076 > 0.0024): 2,619.05 + 2,380.95 = 5,000.00
    cat, dan = payroll.slip("s:cat"), payroll.slip("s:dan")
    assert cat.line("售后绩效池").detail[0]["share"] + dan.line("售后绩效池").detail[0]["share"] == D("5000.00")
    assert amounts(payroll, "s:cat")["售后绩效池"] == D("2519.05")  # 2,619.05 − 2 confirmed QC errors × 50
    assert amounts(payroll, "s:dan")["售后绩效池"] == D("2280.95")  # 2,380.95 − 1 complaint × 100


def test_base_prorated_by_attendance(payroll):
    assert amounts(payroll, "s:cat")["基本工资"] == D("3200.00")  # 22 / 22
    assert amounts(payroll, "s:dan")["基本工资"] == D("2909.09")  # 3,200 × 20 / 22 = 2,909.0909…
    assert payroll.slip("s:dan").total == D("5190.04")


def test_vendor_scheme_floor(payroll):
    # eve: 60 s > 40 → −300; the performance floor 0 adds +300 back; the seat fee stays 4,500
    eve = amounts(payroll, "s:eve")
    assert (eve["慢响应扣罚"], eve["绩效保底调整"]) == (D("-300.00"), D("300.00"))
    assert payroll.slip("s:eve").total == D("4500.00")


def test_agents_no_scheme_pays_are_listed(payroll):
    assert [a.agent for a in payroll.unassigned] == ["s:mgr"]
    assert payroll.total == D("6000.00") + D("3463.00") + D("5719.05") + D("5190.04") + D("4500.00")


# -- explanation: every amount traces to its rule, values and rows --------------------------------


@pytest.fixture(scope="module")
def explained(month_ws, data):
    with Workspace.open(month_ws, read_only=True) as ws:
        return pay.explain(ws, MONTH, "s:ann", data=data)


def test_explain_names_rule_values_and_formula(explained):
    lines = {x["component"]: x for x in explained["lines"]}
    commission = lines["销售提成"]
    assert "超额累进" in commission["rule"]
    assert commission["formula"] == (
        "¥151,000.00 − ¥1,300.00 = ¥149,700.00；¥100,000.00 × 1% + ¥49,700.00 × 1.5% = ¥1,745.50"
    )
    kpi = lines["KPI 考核"]
    assert {u["zh"] for u in kpi["used"]} == {"回复率", "平均响应时间(平响)", "询单→最终付款转化率"}
    assert kpi["formula"] == "¥1,000.00 × (0 + 12 + 40) / 100 = ¥520.00"
    assert explained["total"] == 6000.0 == sum(x["amount"] for x in explained["lines"])


def test_explain_lists_the_rows_behind(explained):
    rows = explained["rows"]
    assert [r["order_id"] for r in rows["credited_orders"]] == ["o1", "o2"]
    assert sum(r["amount"] for r in rows["credited_orders"]) == 151000
    assert [(r["refund_id"], r["counted"]) for r in rows["refunds"]] == [("r2", 300), ("r1", 200), ("r5", 800)]
    assert rows["test_scores"][0]["score"] == 90 and rows["test_scores"][0]["source"] == "test_scores.csv:2"
    assert rows["prizes"][0]["reason"] == "双11 先锋"
    assert {r["day"] for r in rows["kpi_days"]} == {"2026-11-02", "2026-11-03", "2026-11-04"}


def test_explain_of_cat_lists_the_confirmed_findings(month_ws, data):
    with Workspace.open(month_ws, read_only=True) as ws:
        cat = pay.explain(ws, MONTH, "s:cat", data=data)
    assert sorted(f["finding_id"] for f in cat["rows"]["qc_findings"]) == ["f1", "f2"]
    assert cat["rows"]["attendance"][0]["source"] == "attendance.csv:2"


def test_explain_unknown_agent(month_ws, data):
    with Workspace.open(month_ws, read_only=True) as ws, pytest.raises(KeyError, match="not paid by any scheme"):
        pay.explain(ws, MONTH, "s:mgr", data=data)


# -- which KPI would raise the pay most -------------------------------------------------------------


def test_hints_rerun_the_scheme_with_one_kpi_improved(data):
    # bob: reply rate is at best already; avg response 25 s → 5 s gives the remaining 24 of 30 points (× 1,000 / 100 = 240)
    hints = {h["kpi"]: h for h in pay.hints_records(data, [parse_scheme(PRESALES)], "s:bob")}
    assert "reply_rate" not in hints
    response = hints["avg_response_s"]
    assert response["steps"][-1] == {"value": 5, "shown": "5.0 秒", "gain": 240}
    # complaints 3 → 2 lifts the −10 % penalty: +300 (the bonus still needs 0 complaints), → 0 also adds the 600 bonus
    gains = {s["value"]: s["gain"] for s in hints["complaints"]["steps"]}
    assert gains == {2: 300, 0: 900}
    # sorted by the largest gain first
    assert [h["best_gain"] for h in pay.hints_records(data, [parse_scheme(PRESALES)], "s:bob")] == sorted(
        (h["best_gain"] for h in hints.values()), reverse=True
    )
