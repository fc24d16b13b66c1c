"""Scheme validation: every problem named with its file, line and key; versions; who a scheme pays."""

from __future__ import annotations

import textwrap
from decimal import Decimal as D
from pathlib import Path

import pytest

from kefu.pay.model import AgentInfo
from kefu.pay.scheme import SchemeError, assign, load_schemes, parse_scheme, select
from kefu.tomlpos import key_lines
from tests.pay.month import PRESALES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "schemes"
HEAD = 'name = "售前"\neffective_from = "2026-11"\n[applies_to]\nroles = ["presales"]\n'


def problems(text: str, source: str = "s.toml") -> list[str]:
    with pytest.raises(SchemeError) as exc:
        parse_scheme(text, source)
    return exc.value.problems


def test_the_examples_are_valid():
    schemes = load_schemes([EXAMPLES])
    assert {s.name for s in schemes} == {"售前", "售后", "外包"}
    assert all(s.source.startswith(str(EXAMPLES)) for s in schemes)


def test_bad_toml_names_file_and_line():
    found = problems(HEAD + "[base\namount = 1\n")
    assert len(found) == 1 and found[0].startswith("s.toml:5: not valid TOML")


def test_unknown_kpi_key_names_line_key_and_suggestion():
    text = HEAD + textwrap.dedent("""\
        [[components]]
        kind = "kpi_score"
        name = "KPI"
        amount = 100
        [[components.kpis]]
        kpi = "reply_rate"
        worst = 0.9
        best = 1
        weight = 1
        [[components.kpis]]
        kpi = "avg_respons_s"
        worst = 30
        best = 5
        weight = 1
        """)
    assert problems(text) == [
        "s.toml:15: components[1].kpis[2].kpi: unknown KPI 'avg_respons_s' (did you mean avg_response_s?)"
    ]


def test_every_problem_is_reported_at_once_with_its_line():
    text = HEAD + textwrap.dedent("""\
        [base]
        amount = "a lot"
        [[components]]
        kind = "commission"
        name = "提成"
        rate = "150%"
        [[components]]
        kind = "bonus"
        name = "x"
        [[components]]
        kind = "threshold"
        name = "达标"
        amount = 100
        when = [{ kpi = "reply_rate", op = ">=", value = 95 }]
        [[components]]
        kind = "commission"
        name = "提成2"
        tiers = [
          { from = 0, rate = 0.01 },
          { from = 100, rate = 0.02, tpyo = 1 },
        ]
        """)
    found = problems(text)
    assert found[0].startswith("s.toml:6: base.amount: 'a lot' is not a number")
    assert "s.toml:7: components[1]: rate 1.5 must be between 0 and 1" in found[1]
    assert found[2].startswith("s.toml:11: components[2]: unknown kind 'bonus'")
    assert found[3] == 's.toml:18: components[3].when[1]: value: reply_rate is a rate; write 0.95 or "95%", not 95'
    assert found[4] == "s.toml:24: components[4].tiers[2].tpyo: unknown key (a typo? see docs/pay.md)"
    assert len(found) == 5


def test_semantic_checks():
    def one(extra: str) -> str:
        found = problems(HEAD + textwrap.dedent(extra))
        assert len(found) == 1, found
        return found[0]

    assert "give either rate or tiers" in one('[[components]]\nkind = "commission"\nname = "c"\n')
    assert "tiers must be in increasing order" in one(
        '[[components]]\nkind = "commission"\nname = "c"\ntiers = [{from = 0, rate = 0.01}, {from = 0, rate = 0.02}]\n'
    )
    assert "first tier must start at from = 0" in one(
        '[[components]]\nkind = "commission"\nname = "c"\ntiers = [{from = 5, rate = 0.01}]\n'
    )
    assert "worst and best of reply_rate are both 0.9" in one(
        '[[components]]\nkind = "kpi_score"\nname = "k"\namount = 1\nkpis = [{kpi = "reply_rate", worst = 0.9, best = 0.9, weight = 1}]\n'
    )
    assert "needs a KPI; test_score is a pay input" in one(
        '[[components]]\nkind = "threshold"\nname = "t"\namount = 1\nwhen = [{kpi = "test_score", op = ">=", value = "shop"}]\n'
    )
    assert "component names must be unique: a" in one(
        '[[components]]\nkind = "prizes"\nname = "a"\n[[components]]\nkind = "prizes"\nname = "a"\n'
    )
    assert "consult_buyers has no better direction" in one(
        '[[components]]\nkind = "ranking"\nname = "r"\nkpi = "consult_buyers"\nprizes = [1]\n'
    )
    assert "unknown role 'sales'" in parse_problems(
        'name = "x"\neffective_from = "2026-11"\n[applies_to]\nroles = ["sales"]\n'
    )
    assert "applies_to needs at least one" in parse_problems('name = "x"\neffective_from = "2026-11"\n[applies_to]\n')
    assert "month '2026-13' is not YYYY-MM" in parse_problems(
        'name = "x"\neffective_from = "2026-13"\n[applies_to]\nroles = ["qc"]\n'
    )


def test_mutual_fund_validation():
    fund = '[[components]]\nkind = "mutual_fund"\nname = "互查基金"\n'
    assert parse_scheme(HEAD + fund + 'cap = 80\nnote = "月末余额"\n').components[0].cap == 80
    # the fund and the costs are the workspace's (kefu.toml [qc.mutual]), not a scheme's: said at the key's line
    found = problems(HEAD + fund + 'fund = 200\nfloor = 0\nwarning_only_months = ["2026-11"]\n')
    assert found == [
        f"s.toml:{line}: components[1].{key}: unknown key: the 互查 fund and what an error costs are set for the "
        "whole workspace in kefu.toml [qc.mutual] (fund, error_cost, supervisor_multiplier, warning_only_months), "
        "not in a scheme"
        for line, key in ((8, "fund"), (10, "warning_only_months"))
    ]
    assert problems(HEAD + fund + "pool = 100\n") == [
        "s.toml:8: components[1].pool: unknown key (a typo? see docs/pay.md)"
    ]
    assert problems(HEAD + fund + "cap = 10\nfloor = 20\n") == ["s.toml:5: components[1]: cap 10 is below floor 20"]
    assert problems(HEAD + fund + 'cap = "lots"\n')[0].startswith("s.toml:8: components[1].cap: 'lots' is not a number")
    assert problems(HEAD + '[[components]]\nkind = "mutual_fund"\n') == ["s.toml:5: components[1].name: missing"]
    # paid once per scheme
    twice = problems(
        HEAD + fund + '[[components]]\nkind = "prizes"\nname = "奖励"\n' + fund.replace("互查基金", "互查基金2")
    )
    assert twice == [
        's.toml: (top level): components[1] (互查基金) and components[3] (互查基金2) are both kind = "mutual_fund": '
        "the 互查 fund is paid once; keep one"
    ]
    assert (
        "kinds: commission, kpi_score, threshold, pool, ranking, prizes, mutual_fund"
        in problems(HEAD + '[[components]]\nkind = "mutual"\nname = "x"\n')[0]
    )


def parse_problems(text: str) -> str:
    return "\n".join(problems(text))


def test_percentages_and_decimals_are_exact():
    s = parse_scheme(PRESALES)
    assert [t.rate for t in s.components[0].bands] == [D("0.01"), D("0.015"), D("0.02")]
    assert s.components[1].kpis[0].worst == D("0.9")


def test_latest_effective_version_applies(tmp_path):
    old = parse_scheme(HEAD.replace("2026-11", "2026-01") + "[base]\namount = 1\n", "old.toml")
    new = parse_scheme(HEAD.replace("2026-11", "2026-12") + "[base]\namount = 2\n", "new.toml")
    assert select([old, new], "2026-11") == [old]
    assert select([old, new], "2026-12") == [new]
    assert select([old, new], "2025-12") == []
    with pytest.raises(SchemeError, match=r"also defined in old\.toml"):
        select([old, parse_scheme(HEAD.replace("2026-11", "2026-01"), "copy.toml")], "2026-11")


def test_an_agent_matched_by_two_schemes_is_an_error():
    presales = parse_scheme(HEAD, "presales.toml")
    team = parse_scheme('name = "A组"\neffective_from = "2026-01"\n[applies_to]\nteams = ["A"]\n', "team-a.toml")
    agents = {"s:ann": AgentInfo("s:ann", "s", "安", "A"), "s:bob": AgentInfo("s:bob", "s", "波", "B")}
    with pytest.raises(SchemeError) as exc:
        assign(agents, [presales, team])
    assert exc.value.problems == [
        "s:ann (presales, A, in_house) is paid by two schemes: 售前 (2026-11) in presales.toml and "
        "A组 (2026-01) in team-a.toml; narrow applies_to so that one scheme pays each agent"
    ]
    assert assign(agents, [presales]) == {"s:ann": presales, "s:bob": presales}


def test_applies_to_every_given_list_must_match():
    s = parse_scheme(
        'name = "x"\neffective_from = "2026-01"\n[applies_to]\nroles = ["presales"]\nemployers = ["in_house"]\n'
    )
    assert s.applies_to.matches(AgentInfo("a", "s", "a"))
    assert not s.applies_to.matches(AgentInfo("a", "s", "a", employer="v1"))
    assert not s.applies_to.matches(AgentInfo("a", "s", "a", role="aftersales"))


def test_load_schemes_collects_problems_of_every_file(tmp_path):
    (tmp_path / "a.toml").write_text("name = 1\n", encoding="utf-8")
    (tmp_path / "b.toml").write_text("[[x\n", encoding="utf-8")
    with pytest.raises(SchemeError) as exc:
        load_schemes([tmp_path])
    assert any(p.startswith(f"{tmp_path / 'a.toml'}:1: name:") for p in exc.value.problems)
    assert any(p.startswith(f"{tmp_path / 'b.toml'}:1: not valid TOML") for p in exc.value.problems)


def test_key_lines_follow_arrays_of_tables_and_inline_arrays():
    lines = key_lines(
        textwrap.dedent("""\
        a = 1
        [[c]]
        n = "x"  # comment with [brackets]
        [[c.k]]
        v = 1
        [[c]]
        t = [
          {from = 0, rate = 1},
          {from = 5, "rate" = 2},
        ]
        [[c.k]]
        v = 2
        """)
    )
    assert lines[("a",)] == 1
    assert lines[("c", 0, "n")] == 3 and lines[("c", 0, "k", 0, "v")] == 5
    assert lines[("c", 1, "t", 1, "rate")] == 9 and lines[("c", 1, "t", 0)] == 8
    assert lines[("c", 1, "k", 0, "v")] == 12
