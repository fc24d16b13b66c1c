"""`kefu report daily` and its XLSX on the hand-made shop of tests/reports/two_days.py:
完成率 in each metric's direction (issue #11.1) and 答问比 / 慢响应人数 in the report (issue #11.7)."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kefu.cli.main import app
from tests.reports.two_days import D11, build

runner = CliRunner()


def kefu(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The printed report (zh), and the team sheet of its XLSX as {指标: row of values}."""
    root = tmp_path_factory.mktemp("daily")
    ws = build(root)
    kefu("targets", "import", ws, root / "targets.csv")
    out = kefu("report", "daily", ws, "--date", D11, "--xlsx", root / "日报.xlsx")
    book = load_workbook(root / "日报.xlsx")
    team = {r[0].value: [c.value for c in r] for r in book["团队"].iter_rows(min_row=4)}
    return out, team, book


def printed(out: str, label: str) -> list[str]:
    """The cells of the printed row of a metric."""
    line = next(line for line in out.splitlines() if f"│ {label}" in line)
    return [c.strip() for c in line.strip("│ ").split("│")]


def test_completion_of_a_lower_is_better_target_is_target_over_actual(report):
    out, team, _ = report
    # 平响 month to date 66.2 s against a target of 15 s: 15 / 66.2 = 22.7 % (not 66.2 / 15 = 441 %)
    assert team["平均响应时间(平响)"][6] == pytest.approx(66.2)
    assert team["平均响应时间(平响)"][8] == pytest.approx(15 / 66.2)
    assert printed(out, "平均响应时间(平响)")[-1] == "23%"


def test_completion_of_a_higher_is_better_target_is_actual_over_target(report):
    out, team, _ = report
    # 回复率 month to date 4/5 = 80 % against 95 %: 84.2 %
    assert team["回复率"][8] == pytest.approx(0.8 / 0.95)
    assert printed(out, "回复率")[-1] == "84%"


def test_answer_ratio_and_slow_response_buyers_are_in_the_report(report):
    out, team, book = report
    assert team["答问比"][1] == pytest.approx(1.2)  # 6 agent messages / 5 buyer messages
    assert (team["慢响应次数"][1], team["慢响应人数"][1]) == (4, 3)  # b3 was slow twice
    assert printed(out, "答问比")[1] == "120.0%" and printed(out, "慢响应人数")[1] == "3"
    agents = book["客服"]
    header = [c.value for c in agents[1]]
    assert agents.cell(2, header.index("答问比") + 1).value == pytest.approx(1.2)
    assert agents.cell(2, header.index("慢响应人数") + 1).value == 3
    spread = [r[0].value for r in book["峰谷差"].iter_rows(min_row=2)]
    assert "答问比" in spread and "慢响应人数" in spread
