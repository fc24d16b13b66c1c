"""The overview's pure functions (kefu.reports.overview): the day against the day before and a week before, the
month to date against the shop's targets, the silent sales, the trend and the teams. Worked out by hand from the
records below (15 November: half the month elapsed)."""

from __future__ import annotations

import datetime as dt

import pytest

from kefu.reports import overview as ov
from kefu.targets import Target

DAY = dt.date(2026, 11, 15)
FIRST = dt.date(2026, 11, 1)
BY_DAY = [
    {"shop": "s", "day": "2026-11-08", "consult_buyers": 12, "sales_amount": 600.0},
    {"shop": "s", "day": "2026-11-14", "consult_buyers": 8, "sales_amount": 400.0},
    {
        "shop": "s",
        "day": "2026-11-15",
        "consult_buyers": 10,
        "sales_amount": 500.0,
        "silent_orders": 2,
        "silent_sales": 100.0,
        "consulted_sales_share": 0.8,
        "avg_response_s": 30.0,
    },
    {"shop": "s", "day": "2026-11-16", "consult_buyers": 7},  # after the day: not in the trend
    {"shop": "t", "day": "2026-11-15", "consult_buyers": 99},  # another shop
]
MTD = [
    {"shop": "t", "sales_amount": 1.0},
    {"shop": "s", "sales_amount": 1800.0, "consult_buyers": 40, "silent_sales": 300.0, "consulted_sales_share": 0.75},
]
TEAMS = [{"shop": "s", "team": "A组", "sales_amount": 1800.0}, {"shop": "t", "team": "A组", "sales_amount": 1.0}]
TARGETS = [
    Target("2026-11", "s", "shop", "s", "sales_amount", 3000.0),
    Target("2026-10", "s", "shop", "s", "consult_buyers", 10.0),  # another month
    Target("2026-11", "t", "shop", "t", "consult_buyers", 10.0),  # another shop
    Target("2026-11", "s", "team", "A组", "sales_amount", 3000.0),
]


def kpis(by, date_from, date_to):
    return {
        (("shop", "day"), None, None): BY_DAY,
        (("shop",), FIRST, DAY): MTD,
        (("team",), FIRST, DAY): TEAMS,
    }[(by, date_from, date_to)]


def page(data_until: dt.datetime | None = None) -> dict:
    return ov.overview("s", DAY, ov.collect(kpis, "s", DAY), TARGETS, data_until)


def figure(out: dict, key: str) -> dict:
    return next(f for f in out["figures"] if f["metric"] == key)


def test_collect_keeps_the_shops_records():
    data = ov.collect(kpis, "s", DAY)
    assert sorted(data.by_day) == ["2026-11-08", "2026-11-14", "2026-11-15", "2026-11-16"]
    assert data.mtd == MTD[1] and data.teams_mtd == {"A组": TEAMS[0]}


def test_the_day_against_the_day_before_and_the_same_day_last_week():
    out = page()
    assert (out["day"], out["previous_day"], out["same_day_last_week"]) == ("2026-11-15", "2026-11-14", "2026-11-08")
    assert figure(out, "consult_buyers") == {
        "metric": "consult_buyers",
        "day": 10,
        "previous": 8,
        "last_week": 12,
        "vs_previous": 2,
        "vs_last_week": -2,
    }
    assert figure(out, "sales_amount")["vs_previous"] == 100.0 and figure(out, "sales_amount")["vs_last_week"] == -100.0
    lost = figure(out, "lost_buyers")
    assert lost["day"] is None and lost["vs_previous"] is None  # no figure: no change either
    assert [f["metric"] for f in out["figures"]] == list(ov.HEADLINE)


def test_month_to_date_against_the_shops_target_of_the_month():
    out = page()
    assert out["month"] == "2026-11" and out["elapsed_share"] == 0.5
    rows = {r["metric"]: r for r in out["month_to_date"]}
    # money is expected pro rata: 3000 × 0.5 = 1500 by the 15th; 1800 of 3000 is 60 %
    assert rows["sales_amount"] == {
        "metric": "sales_amount",
        "mtd": 1800.0,
        "target": 3000.0,
        "actual": 1800.0,
        "completion": 0.6,
        "gap": -1200.0,
        "expected_to_date": 1500.0,
        "on_track": True,
        "additive": True,
    }
    # the October target and the other shop's are not this month's targets of this shop
    assert rows["consult_buyers"] == {"metric": "consult_buyers", "mtd": 40, "target": None}


def test_silent_sales_trend_and_teams():
    out = page()
    silent = out["silent"]
    assert (silent["silent_orders"], silent["silent_sales"], silent["consulted_sales_share"]) == (2, 100.0, 0.8)
    assert silent["silent_sales_share"] == pytest.approx(0.2)
    assert (silent["mtd_silent_sales"], silent["mtd_consulted_sales_share"]) == (300.0, 0.75)
    assert [d["day"] for d in out["trend"]] == ["2026-11-08", "2026-11-14", "2026-11-15"]
    assert out["trend"][2] == {
        "day": "2026-11-15",
        "sales_amount": 500.0,
        "silent_sales": 100.0,
        "consult_buyers": 10,
        "avg_response_s": 30.0,
    }
    (team,) = out["teams"]
    (target,) = team["targets"]
    assert team["team"] == "A组" and (target["expected_to_date"], target["completion"], target["gap"]) == (
        1500.0,
        0.6,
        -1200.0,
    )


def test_figures_whose_conversion_window_is_open_are_provisional():
    # the 15th's conversion window closes at the end of the 16th: final on the 17th
    assert page(dt.datetime(2026, 11, 15, 20, 0))["provisional"] == {
        "inquiry_conversion": "2026-11-17",
        "lost_buyers": "2026-11-17",
    }
    assert page(dt.datetime(2026, 11, 17, 0, 0))["provisional"] == {}
    assert page(None)["provisional"] == {}
