"""kefu.pay.compare.summary: the totals of a comparison."""

from kefu.pay.compare import summary


def test_the_summary_of_a_comparison_without_agents_is_zero_not_an_error():
    # a month nobody is paid under either scheme set: sum() of nothing was the int 0, which has no quantize()
    assert summary([]) == {
        "agents": 0,
        "total_a": 0.0,
        "total_b": 0.0,
        "change": 0.0,
        "gain": 0,
        "lose": 0,
        "same": 0,
    }


def test_the_summary_adds_the_totals_and_counts_who_gains_and_who_loses():
    rows = [
        {"total_a": 100.5, "total_b": 120.25, "change": 19.75},
        {"total_a": None, "total_b": 50.0, "change": 50.0},  # paid under B only
        {"total_a": 80.0, "total_b": 80.0, "change": 0.0},
        {"total_a": 30.1, "total_b": None, "change": -30.1},  # paid under A only
    ]
    # A: 100.50 + 80.00 + 30.10 = 210.60; B: 120.25 + 50.00 + 80.00 = 250.25; change 39.65
    assert summary(rows) == {
        "agents": 4,
        "total_a": 210.6,
        "total_b": 250.25,
        "change": 39.65,
        "gain": 2,
        "lose": 1,
        "same": 1,
    }
