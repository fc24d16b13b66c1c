"""Invariants of the pay arithmetic, with hypothesis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples

from kefu.pay import components as c
from kefu.pay.model import AgentInfo, MonthData, MutualAccount, MutualMistake, Prize
from kefu.pay.output import slip_summary
from kefu.pay.payroll import compute
from kefu.pay.scheme import Commission, Scheme

cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: D(n) / 100)
amounts = st.integers(min_value=0, max_value=10**7).map(lambda n: D(n) / 100)
rates = st.integers(min_value=0, max_value=500).map(lambda n: D(n) / 10000)  # 0 – 5 %
ratios = st.one_of(st.none(), st.integers(min_value=0, max_value=1000).map(lambda n: D(n) / 1000))
seconds = st.one_of(st.none(), st.integers(min_value=0, max_value=3000).map(lambda n: D(n) / 10))
counts = st.integers(min_value=0, max_value=20).map(D)


@st.composite
def tiers(draw):
    starts = sorted(set(draw(st.lists(st.integers(min_value=1, max_value=10**6), max_size=4))))
    return [{"from": 0, "rate": draw(rates)}] + [{"from": s, "rate": draw(rates)} for s in starts]


@given(tiers(), cents, cents)
def test_commission_never_falls_when_sales_rise(bands, s1, s2):
    low, high = sorted((s1, s2))
    spec = Commission(kind="commission", name="提成", tiers=bands)
    exact = [c.tiered(s, [(t.from_, t.rate) for t in spec.bands])[0] for s in (low, high)]
    assert exact[0] <= exact[1]
    paid = [c.commission(spec, s, D(0)).amount for s in (low, high)]
    assert paid[0] <= paid[1]  # rounding half-up keeps the order


@given(tiers(), amounts, amounts, amounts)
def test_commission_net_of_refunds_never_rises_with_refunds(bands, sales, r1, r2):
    spec = Commission(kind="commission", name="提成", tiers=bands, net_of_refunds=True)
    small, big = sorted((r1, r2))
    assert c.commission(spec, sales, big).amount <= c.commission(spec, sales, small).amount


@given(
    st.integers(min_value=-(10**6), max_value=10**6).map(lambda n: D(n) / 100),
    st.integers(min_value=-1000, max_value=1000).map(D),
    st.integers(min_value=-1000, max_value=1000).map(D),
    st.integers(min_value=1, max_value=100).map(D),
)
def test_clamped_kpi_score_stays_within_zero_and_weight(value, worst, best, weight):
    if worst == best:
        return
    points = weight * c.score(value, worst, best)
    assert 0 <= points <= weight


@given(
    amounts,
    st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.integers(min_value=0, max_value=62).map(lambda n: D(n) / 2),
        min_size=1,
        max_size=12,
    ),
)
def test_pool_shares_add_up_to_the_pool_to_the_cent(pool, days):
    shares = c.pool_shares(pool, days)
    total = sum(days.values(), D(0))
    if total == 0:
        assert set(shares.values()) == {D("0.00")}
        return
    assert sum(shares.values(), D(0)) == pool
    for a, share in shares.items():
        assert abs(share - pool * days[a] / total) < D("0.01")


# -- a whole payroll: random values under a scheme that has every component kind -----------------


KEYS = (
    "reply_rate",
    "avg_response_s",
    "inquiry_conversion",
    "complaints",
    "sales_amount",
    "refund_amount",
    "qc_errors",
    "working_days",
    "consult_buyers",
    "test_score",
)


@st.composite
def mutual_fund(draw):
    """An agent's 互查 fund as kefu.qc.ledger works it out: the fund less each error's cost, never below 0."""
    start, peer, supervisor = draw(amounts), draw(amounts), draw(amounts)
    errors = tuple(
        MutualMistake(source, dt.date(2026, 11, 1), "x", peer if source == "peer" else supervisor)
        for source in draw(st.lists(st.sampled_from(["peer", "supervisor"]), max_size=8))
    )
    costs = sum((e.cost for e in errors), D("0.00"))
    warning = draw(st.booleans())
    deductions = D("0.00") if warning else costs
    return MutualAccount(
        start, costs, deductions, max(start - deductions, D("0.00")), warning, errors, peer, supervisor
    )


@st.composite
def month(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    agents = {f"s:a{i}": AgentInfo(f"s:a{i}", "s", f"a{i}", team=draw(st.sampled_from(["A", "B"]))) for i in range(n)}
    values = {}
    for a in agents:
        v = {
            "reply_rate": draw(ratios),
            "inquiry_conversion": draw(ratios),
            "avg_response_s": draw(seconds),
            "complaints": draw(counts),
            "qc_errors": draw(counts),
            "consult_buyers": draw(counts),
            "sales_amount": draw(amounts),
            "refund_amount": draw(amounts),
            "working_days": D(draw(st.integers(0, 31))),
            "test_score": draw(st.one_of(st.none(), st.integers(0, 100).map(D))),
        }
        v["net_sales"] = v["sales_amount"] - v["refund_amount"]
        values[a] = v
    prizes = {a: (Prize(draw(cents), "奖"),) for a in agents if draw(st.booleans())}
    shop = {"s": {"inquiry_conversion": draw(ratios)}}
    mutual = {a: draw(mutual_fund()) for a in agents if draw(st.booleans())}  # no entry: no fund this month
    return MonthData(
        "2026-11",
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
        agents,
        values,
        shop,
        prizes=prizes,
        mutual=mutual,
        days_from_chats=True,
    )


@st.composite
def scheme(draw):
    cap = draw(st.one_of(st.none(), amounts))
    floor = draw(st.one_of(st.none(), cents.filter(lambda x: cap is None or x <= cap)))
    fund_cap = draw(st.one_of(st.none(), amounts))
    fund_floor = draw(st.one_of(st.none(), amounts.filter(lambda x: fund_cap is None or x <= fund_cap)))
    return Scheme.model_validate(
        {
            "name": "s",
            "effective_from": "2026-01",
            "applies_to": {"shops": ["s"]},
            "base": {"amount": draw(amounts)},
            "components": [
                {"kind": "commission", "name": "提成", "tiers": draw(tiers()), "net_of_refunds": draw(st.booleans())},
                {
                    "kind": "kpi_score",
                    "name": "KPI",
                    "amount": draw(amounts),
                    "kpis": [
                        {"kpi": "reply_rate", "worst": "0.9", "best": "1", "weight": draw(st.integers(1, 50))},
                        {"kpi": "avg_response_s", "worst": 30, "best": 5, "weight": draw(st.integers(1, 50))},
                    ],
                },
                {
                    "kind": "threshold",
                    "name": "达标",
                    "percent_of_base": draw(st.integers(-30, 30)),
                    "when": [
                        {"kpi": "inquiry_conversion", "op": ">=", "value": "shop"},
                        {"kpi": "complaints", "op": "<", "value": 2},
                    ],
                },
                {
                    "kind": "pool",
                    "name": "池",
                    "pool": draw(amounts),
                    "shared_within": draw(st.sampled_from(["scheme", "team"])),
                    "per_qc_error": draw(amounts),
                    "per_complaint": draw(amounts),
                },
                {
                    "kind": "ranking",
                    "name": "排名",
                    "kpi": "sales_amount",
                    "prizes": draw(st.lists(amounts, min_size=1, max_size=3)),
                },
                {"kind": "prizes", "name": "奖励"},
                {"kind": "mutual_fund", "name": "互查", "cap": fund_cap, "floor": fund_floor},
            ],
            "limits": {"cap": cap, "floor": floor},
        }
    )


@settings(max_examples=examples(150), deadline=None)
@given(month(), scheme())
def test_total_is_the_exact_sum_of_the_components(data, s):
    payroll = compute(data, [s])
    assert len(payroll.slips) == len(data.agents)
    for slip in payroll.slips:
        assert all(line.amount == line.amount.quantize(D("0.01")) for line in slip.lines)  # every line is whole cents
        out = slip_summary(slip)  # what JSON, CSV and XLSX carry
        assert D(str(out["base"])) + sum(D(str(v)) for v in out["components"].values()) == D(str(out["total"]))
        performance = slip.total - slip.base
        if s.limits.cap is not None:
            assert performance <= s.limits.cap
        if s.limits.floor is not None:
            assert performance >= s.limits.floor
    assert payroll.total == sum((x.total for x in payroll.slips), D(0))
    fund_spec = s.components[6]
    for slip in payroll.slips:  # the 互查 line is the ledger's balance (0 without a fund), within its own cap and floor
        found = data.mutual.get(slip.agent.agent)
        paid = found.balance if found else D("0.00")
        if fund_spec.cap is not None:
            paid = min(paid, fund_spec.cap)
        if fund_spec.floor is not None:
            paid = max(paid, fund_spec.floor)
        assert slip.line("互查").amount == paid >= 0
    pools = [x.line("池").detail[0]["share"] for x in payroll.slips]
    if s.components[3].shared_within == "scheme" and sum(data.values[a]["working_days"] for a in data.agents):
        assert sum(pools, D(0)) == s.components[3].pool
