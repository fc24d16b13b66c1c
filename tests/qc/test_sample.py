"""The review sample: reproducible, independent of row order, never more than asked per agent, doubtful first."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples
from shops import msg, shop

from kefu.qc import engine
from kefu.qc.sample import STRATA, chat_path, sample, sample_finding_ids, sample_table, week_days

CON = ibis.duckdb.connect()
SEVERITIES = ("low", "medium", "high", "critical")
DAY0 = dt.date(2026, 11, 9)


def table(rows: list[tuple], names: tuple[str, ...]) -> ibis.Table:
    types = {"day": pa.date32()}
    schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
    return ibis.memtable(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}, schema=schema))


def draw(dialogues: list[tuple], findings: list[tuple], per_agent: int, seed: int) -> list[tuple]:
    talks = table(dialogues, ("shop", "agent", "buyer", "day"))
    found = table(findings, ("shop", "agent", "buyer", "day", "severity"))
    frame = CON.execute(sample_table(talks, found, per_agent, seed))
    return [
        (r.shop, r.agent, r.buyer, r.day.date() if hasattr(r.day, "date") else r.day, r.stratum, r.findings, r.pick)
        for r in frame.itertuples()
    ]


@st.composite
def shops_with_findings(draw_):
    agents = draw_(st.lists(st.sampled_from(["s:ann", "s:bob", "s:cat", "t:dan"]), min_size=1, max_size=4, unique=True))
    dialogues = draw_(
        st.lists(
            st.tuples(st.sampled_from(agents), st.integers(0, 30), st.integers(0, 6)),
            min_size=1,
            max_size=60,
            unique=True,
        )
    )
    rows = [(a.split(":")[0], a, f"b{b}", DAY0 + dt.timedelta(days=d)) for a, b, d in dialogues]
    findings = []
    for row in rows:
        for severity in draw_(st.lists(st.sampled_from(SEVERITIES), max_size=3)):
            findings.append((*row, severity))
    return rows, findings


@settings(max_examples=examples(25), deadline=None)
@given(shops_with_findings(), st.integers(1, 12), st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_reproducible_whatever_the_row_order_and_never_more_than_asked(data, per_agent, seed, rnd):
    rows, findings = data
    picked = draw(rows, findings, per_agent, seed)
    shuffled_rows, shuffled_findings = rows[:], findings[:]
    rnd.shuffle(shuffled_rows)
    rnd.shuffle(shuffled_findings)
    assert draw(shuffled_rows, shuffled_findings, per_agent, seed) == picked
    for agent in {r[1] for r in rows}:
        mine = [p for p in picked if p[1] == agent]
        assert len(mine) == min(per_agent, sum(1 for r in rows if r[1] == agent))
        assert [p[6] for p in mine] == list(range(1, len(mine) + 1))


@settings(max_examples=examples(25), deadline=None)
@given(shops_with_findings(), st.integers(1, 12), st.integers(0, 10**6))
def test_strata_take_turns_worst_first(data, per_agent, seed):
    rows, findings = data
    worst = {}
    for f in findings:
        key = f[:4]
        worst[key] = min(worst.get(key, 4), SEVERITIES[::-1].index(f[4]))
    picked = draw(rows, findings, per_agent, seed)
    for agent in {r[1] for r in rows}:
        present = sorted({worst.get(r, 4) for r in rows if r[1] == agent})
        mine = [STRATA.index(p[4]) for p in picked if p[1] == agent]
        first_round = mine[: len(present)]
        assert first_round == present[: len(first_round)]  # one of each stratum, the worst first
        for p in picked:
            assert p[4] == STRATA[worst.get(p[:4], 4)]


def test_a_different_seed_draws_another_sample():
    rows = [("s", "s:ann", f"b{i}", DAY0) for i in range(40)]
    samples = {tuple(draw(rows, [], 5, seed)) for seed in range(5)}
    assert len(samples) > 1


def test_week():
    assert week_days("2026-W46") == (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    with pytest.raises(ValueError, match="2026-W46"):
        week_days("2026-46")


def test_sample_of_a_workspace_links_to_its_chats(tmp_path):
    messages = [msg("10:00:00", "buyer", buyer=f"b{i}", text="在吗") for i in range(6)]
    messages += [msg("10:00:30", "agent", buyer=f"b{i}", text="亲,在的,感谢") for i in range(5)]  # b5 never answered
    messages += [msg("10:00:40", "agent", buyer="b1", text="加我微信")]
    w = shop(tmp_path, messages)
    engine.run(w)
    day = dt.date(2026, 11, 11)
    picked = sample(w, day, day, per_agent=3, seed=7)
    assert [p["stratum"] for p in picked] == ["critical", "high", "clean"]
    assert [p["buyer"] for p in picked[:2]] == ["b1", "b5"]
    assert picked[0]["rules"] == "missing_closing,off_platform_contact"
    assert picked[0]["chat"] == chat_path("s:ann", day, "b1") == "/chats/s%3Aann/2026-11-11/b1"
    ids = sample_finding_ids(w.con, date_from=day, date_to=day, per_agent=3, seed=7)
    expected = [f["finding_id"] for f in engine.findings(w) if f["buyer"] in {p["buyer"] for p in picked}]
    assert sorted(ids) == sorted(expected) and len(ids) == 3
    w.close()
