"""Each component's arithmetic on its own, worked out by hand (the pure functions of kefu.pay.components)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from kefu.pay import components as c
from kefu.pay.model import MutualAccount, MutualMistake, Prize
from kefu.pay.scheme import Commission, Condition, KpiScore, MutualFund, Pool, Prizes, Ranking, Threshold
from kefu.pay.slip import rmb_upper


def commission(**kw) -> Commission:
    return Commission(kind="commission", name="提成", **kw)


def test_money_rounds_half_up_once():
    assert c.money(D("0.125")) == D("0.13")
    assert c.money(D("0.124999")) == D("0.12")
    assert c.money(D("-0.125")) == D("-0.13")  # half away from zero


def test_flat_commission():
    line = c.commission(commission(rate="1.5%"), D("12345.67"), D("0"))
    assert line.amount == D("185.19")  # 12,345.67 × 0.015 = 185.18505
    assert line.formula == "¥12,345.67 × 1.5% = ¥185.19"


def test_marginal_tiers():
    spec = commission(tiers=[{"from": 0, "rate": "1%"}, {"from": 100000, "rate": "2%"}])
    # 100,000 × 1% + 50,000 × 2% = 1,000 + 1,000
    assert c.commission(spec, D("150000"), D("0")).amount == D("2000.00")
    # exactly at a tier start: all of it at the lower rate
    assert c.commission(spec, D("100000"), D("0")).amount == D("1000.00")
    assert c.commission(spec, D("0"), D("0")).amount == D("0.00")


def test_refunds_only_when_net():
    gross, net = commission(rate="1%"), commission(rate="1%", net_of_refunds=True)
    assert c.commission(gross, D("1000"), D("300")).amount == D("10.00")
    assert c.commission(net, D("1000"), D("300")).amount == D("7.00")


def test_negative_net_sales_are_charged_back_at_the_first_rate():
    spec = commission(tiers=[{"from": 0, "rate": "1%"}, {"from": 100, "rate": "5%"}], net_of_refunds=True)
    # October's big sale refunded in November: net −2,000 → −20.00
    assert c.commission(spec, D("0"), D("2000")).amount == D("-20.00")


def test_component_cap_and_floor():
    capped = commission(rate="10%", cap=500)
    line = c.commission(capped, D("10000"), D("0"))
    assert line.amount == D("500.00") and line.formula.endswith("封顶 ¥500.00")
    floored = commission(rate="10%", net_of_refunds=True, floor=0)
    assert c.commission(floored, D("0"), D("100")).amount == D("0.00")


def kpi_score(*kpis, amount=1000) -> KpiScore:
    return KpiScore(
        kind="kpi_score",
        name="KPI",
        amount=amount,
        kpis=[dict(zip(("kpi", "worst", "best", "weight"), k)) for k in kpis],
    )


def test_kpi_score_linear_clamped_weighted():
    spec = kpi_score(("reply_rate", "90%", "100%", 40), ("avg_response_s", 30, 5, 60))
    # reply 95 % → half of 40 = 20; response 10 s → (10 − 30)/(5 − 30) = 0.8 of 60 = 48; 1,000 × 68/100
    assert c.kpi_score(spec, {"reply_rate": D("0.95"), "avg_response_s": D("10")}).amount == D("680.00")
    # beyond best and below worst are clamped: 40 + 0
    assert c.kpi_score(spec, {"reply_rate": D("1"), "avg_response_s": D("45")}).amount == D("400.00")
    # no value (no consultations) scores 0
    assert c.kpi_score(spec, {"reply_rate": None, "avg_response_s": D("5")}).amount == D("600.00")


def test_kpi_score_weights_need_not_add_to_100():
    spec = kpi_score(("reply_rate", "0%", "100%", 1), ("rate_3min", "0%", "100%", 2), amount=300)
    # (1 × 0.5 + 2 × 0.25) / 3 × 300 = 100
    assert c.kpi_score(spec, {"reply_rate": D("0.5"), "rate_3min": D("0.25")}).amount == D("100.00")


def threshold(when, **kw) -> Threshold:
    return Threshold(kind="threshold", name="达标", when=when, **kw)


def no_standard(cond: Condition):
    raise AssertionError("not asked")


def test_threshold_all_conditions_must_hold():
    spec = threshold(
        [{"kpi": "avg_response_s", "op": "<=", "value": 15}, {"kpi": "complaints", "op": "==", "value": 0}],
        percent_of_base=20,
    )
    assert c.threshold(spec, {"avg_response_s": D("15"), "complaints": D("0")}, no_standard, D("3000")).amount == D(
        "600.00"
    )
    assert c.threshold(spec, {"avg_response_s": D("15.1"), "complaints": D("0")}, no_standard, D("3000")).amount == D(
        "0.00"
    )
    assert c.threshold(spec, {"avg_response_s": None, "complaints": D("0")}, no_standard, D("3000")).amount == D("0.00")


@pytest.mark.parametrize(
    "op, value, holds", [(">=", 3, True), (">", 3, False), ("<", 4, True), ("<=", 2, False), ("==", 3, True)]
)
def test_threshold_operators(op, value, holds):
    spec = threshold([{"kpi": "complaints", "op": op, "value": value}], amount=-50)
    assert c.threshold(spec, {"complaints": D("3")}, no_standard, D("0")).amount == (
        D("-50.00") if holds else D("0.00")
    )


def test_threshold_against_the_shop_standard_or_a_target():
    spec = threshold([{"kpi": "inquiry_conversion", "op": ">=", "value": "shop"}], amount=100)
    line = c.threshold(spec, {"inquiry_conversion": D("0.4")}, lambda cond: (D("0.35"), "店铺标准"), D("0"))
    assert line.amount == D("100.00") and line.detail[0]["target"] == D("0.35")
    # no standard (no shop figure, no target) → the condition does not hold
    assert c.threshold(spec, {"inquiry_conversion": D("0.4")}, lambda cond: (None, "未设月度目标"), D("0")).amount == D(
        "0.00"
    )


def test_pool_shares_add_up_to_the_pool():
    # 1,000 over 3 equal agents: 333.33 each and one cent to the first in account order
    assert c.pool_shares(D("1000"), {"b": D(1), "a": D(1), "c": D(1)}) == {
        "a": D("333.34"),
        "b": D("333.33"),
        "c": D("333.33"),
    }
    assert c.pool_shares(D("1000"), {"a": D(0), "b": D(0)}) == {"a": D("0.00"), "b": D("0.00")}


def test_pool_deductions_and_floor():
    spec = Pool(kind="pool", name="池", pool=5000, per_qc_error=50, per_complaint=100)
    line = c.pool(spec, D("1000.00"), D("10"), D("50"), {"qc_errors": D("3"), "complaints": D("1")}, "出勤表")
    assert line.amount == D("750.00")  # 1,000 − 3 × 50 − 1 × 100
    assert c.pool(spec, D("100.00"), D("1"), D("50"), {"qc_errors": D("3"), "complaints": D("1")}, "").amount == D(
        "0.00"
    )  # floor 0


def test_competition_ranking():
    assert c.ranks({"a": D(5), "b": D(9), "c": D(9), "d": D(1)}, higher_is_better=True) == {
        "b": 1,
        "c": 1,
        "a": 3,
        "d": 4,
    }
    assert c.ranks({"a": D(5), "b": D(9)}, higher_is_better=False) == {"a": 1, "b": 2}
    spec = Ranking(kind="ranking", name="排名", kpi="sales_amount", prizes=[800, 500])
    assert c.ranking(spec, 1, 4, D(9), []).amount == D("800.00")
    assert c.ranking(spec, 3, 4, D(5), []).amount == D("0.00")
    assert c.ranking(spec, None, 4, None, []).amount == D("0.00")


def test_prizes_and_limits():
    line = c.prizes(Prizes(kind="prizes", name="奖励"), [Prize(D("200"), "双11"), Prize(D("-50"), "迟到")])
    assert line.amount == D("150.00") and "双11" in line.formula
    assert c.performance_limit(D("5000"), D("3000"), None).amount == D("-2000")
    assert c.performance_limit(D("-10"), None, D("0")).amount == D("10")
    assert c.performance_limit(D("100"), D("3000"), D("0")) is None


def fund(*sources: str, warning_only: bool = False, start: str = "100") -> MutualAccount:
    """A ledger row as kefu.qc.ledger works it out: 10 an error, 20 one QC found that nobody reported."""
    errors = tuple(
        MutualMistake(s, dt.date(2026, 11, i + 1), f"差错{i + 1}", D("10.00") if s == "peer" else D("20.00"))
        for i, s in enumerate(sources)
    )
    costs = sum((e.cost for e in errors), D("0.00"))
    deductions = D("0.00") if warning_only else costs
    return MutualAccount(D(start), costs, deductions, max(D(start) - deductions, D("0.00")), warning_only, errors)


def test_mutual_fund_pays_the_balance():
    spec = MutualFund(kind="mutual_fund", name="互查基金")
    # 100 − 2 × 10 (colleagues reported them) − 1 × 20 (QC found it, nobody reported it) = 60
    line = c.mutual_fund(spec, fund("peer", "supervisor", "peer"))
    assert (line.kind, line.amount) == ("mutual_fund", D("60.00"))
    assert line.formula == "¥100.00 − 2 × ¥10.00(同事互查) − 1 × ¥20.00(主管发现) = ¥60.00"
    assert line.detail[0]["balance"] == D("60.00") and [d["source"] for d in line.detail[1:]] == [
        "peer",
        "supervisor",
        "peer",
    ]
    # a warning-only month: the costs are shown, the whole fund is paid
    warned = c.mutual_fund(spec, fund("peer", "supervisor", "peer", warning_only=True))
    assert warned.amount == D("100.00") and "¥40.00 不扣" in warned.formula
    # 6 × 20 = 120 > 100: the fund stops at 0
    floored = c.mutual_fund(spec, fund(*["supervisor"] * 6))
    assert floored.amount == D("0.00") and floored.formula.endswith("= −¥20.00，基金不低于 ¥0.00 = ¥0.00")
    assert c.mutual_fund(spec, fund()).formula == "本月无差错，全额发放：¥100.00 = ¥100.00"
    # no fund this month (no message, no error): nothing
    assert c.mutual_fund(spec, None).amount == D("0.00")


def test_mutual_fund_own_cap_and_floor():
    capped = MutualFund(kind="mutual_fund", name="互查基金", cap=50)
    assert c.mutual_fund(capped, fund("peer")).amount == D("50.00")
    floored = MutualFund(kind="mutual_fund", name="互查基金", floor=30)
    line = c.mutual_fund(floored, fund(*["supervisor"] * 4))
    assert line.amount == D("30.00") and line.formula.endswith("= ¥20.00，保底 ¥30.00")
    assert c.mutual_fund(floored, None).amount == D("30.00")


def test_base_prorated():
    assert c.base_line(D("3200"), True, D("20"), D("22"), "").amount == D("2909.09")
    assert c.base_line(D("3200"), False, None, None, "").amount == D("3200.00")


@pytest.mark.parametrize(
    "value, text",
    [
        ("4071.25", "肆仟零柒拾壹元贰角伍分"),
        ("10", "壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("100500", "壹拾万零伍佰元整"),
        ("100000001", "壹亿零壹元整"),
        ("10.05", "壹拾元零伍分"),
        ("0.5", "伍角"),
        ("-300", "负叁佰元整"),
        ("0", "零元整"),
        ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ],
)
def test_amount_in_chinese_capitals(value, text):
    assert rmb_upper(D(value)) == text
