"""Invariants of the team figures the web app shows (hypothesis over periods of the simulated shop): teams add up to
the shop's agents, and a team's ratio is its sums' ratio (never an average of its agents' ratios)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import SHOP

ADDITIVE = (
    "consult_buyers",
    "received_buyers",
    "inquiry_buyers",
    "converted_buyers",
    "lost_buyers",
    "questions",
    "slow_responses",
    "attributed_orders",
    "sales_amount",
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 9), length=st.integers(0, 9))
def test_teams_add_up_to_the_agents_and_ratios_come_from_sums(app, world, start, length):
    store = app.state.store
    first = world.day - dt.timedelta(days=9)
    date_from = first + dt.timedelta(days=start)
    date_to = min(world.day, date_from + dt.timedelta(days=length))
    teams = [r for r in store.kpis(("team",), date_from, date_to) if r["shop"] == SHOP]
    agents = [r for r in store.kpis(("agent",), date_from, date_to) if r["shop"] == SHOP]
    for key in ADDITIVE:
        assert sum(r[key] or 0 for r in teams) == pytest.approx(sum(r[key] or 0 for r in agents)), key
    roster = store.agents()
    for team in teams:
        members = [r for r in agents if roster.get(r["agent"], {}).get("team") == team["team"]]
        inquiries = sum(r["inquiry_buyers"] for r in members)
        converted = sum(r["converted_buyers"] for r in members)
        assert team["inquiry_buyers"] == inquiries
        assert team["inquiry_conversion"] == (None if inquiries == 0 else pytest.approx(converted / inquiries))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(0, 9),
    length=st.integers(0, 9),
    sort=st.sampled_from(["sales_amount", "avg_response_s", "answer_ratio"]),
)
def test_leaderboard_ranks_every_role_on_its_own(clients, world, start, length, sort):
    """Each role's table ranks its own agents 1, 2, … best first; every agent is in the table of their role."""
    date_from = world.day - dt.timedelta(days=9) + dt.timedelta(days=start)
    date_to = min(world.day, date_from + dt.timedelta(days=length))
    board = (
        clients["manager"]
        .get("/api/leaderboard", params={"date_from": date_from, "date_to": date_to, "sort": sort})
        .json()
    )
    roster = {a["agent"]: a for a in clients["admin"].get("/api/agents").json()}
    assert sorted(r["agent"] for g in board["groups"] for r in g["rows"]) == sorted(r["agent"] for r in board["rows"])
    for group in board["groups"]:
        assert {roster[r["agent"]]["role"] for r in group["rows"]} == {group["role"]}
        ranked = [r for r in group["rows"] if r["rank"] is not None]
        assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
        values = [r[group["sort"]] for r in ranked]
        assert values == sorted(values, reverse=group["desc"])
        if ranked:
            assert group["spread"][group["sort"]]["peak_agent"] == ranked[0]["agent"]
