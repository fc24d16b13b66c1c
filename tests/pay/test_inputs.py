"""Imported monthly inputs: every bad row named with file, line and reason; nothing stored then; a month replaced."""

from __future__ import annotations

from decimal import Decimal as D

import duckdb
import pytest
from openpyxl import Workbook

from kefu.pay import inputs
from kefu.pay.model import AgentInfo

AGENTS = {
    "s:ann": AgentInfo("s:ann", "s", "安"),
    "s:bob": AgentInfo("s:bob", "s", "波"),
    "t:bob": AgentInfo("t:bob", "t", "波"),
}


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_attendance_with_chinese_headers_names_and_gbk(con, tmp_path):
    path = write(tmp_path, "出勤.csv", "客服,出勤天数,请假天数,应出勤天数\n安,21.5,0.5,22\ns:bob,22,,22\n", "gbk")
    assert inputs.import_file(con, path, "2026-11", "attendance", AGENTS) == 2
    found = inputs.attendance(con, "2026-11")
    assert found["s:ann"].working_days == D("21.5") and found["s:ann"].leave_days == D("0.5")
    assert found["s:ann"].source == "出勤.csv:2" and found["s:bob"].leave_days == 0


def test_every_bad_row_is_named_and_nothing_is_stored(con, tmp_path):
    path = write(tmp_path, "att.csv", "agent,working_days\ns:ann,40\n波,20\nnobody,1\ns:ann,x\n\ns:ann,3\n")
    with pytest.raises(inputs.InputError) as exc:
        inputs.import_file(con, path, "2026-11", "attendance", AGENTS)
    assert exc.value.problems == [
        "att.csv line 2: working_days 40 is not a number of days 0–31 (halves allowed)",
        "att.csv line 3: agent '波' is ambiguous (s:bob, t:bob); write 店铺:名字",
        "att.csv line 4: agent 'nobody' is not a known agent",
        "att.csv line 5: working_days 'x' is not a number",
    ]  # line 6 is blank; line 7 is good (the earlier s:ann rows were refused)
    assert inputs.attendance(con, "2026-11") == {}


def test_a_repeated_agent_is_named_with_its_first_line(con, tmp_path):
    path = write(tmp_path, "att.csv", "agent,working_days\ns:ann,20\ns:bob,20\ns:ann,21\n")
    with pytest.raises(inputs.InputError) as exc:
        inputs.import_file(con, path, "2026-11", "attendance", AGENTS)
    assert exc.value.problems == ["att.csv line 4: s:ann is already on line 2"]


def test_missing_column_and_bad_month(con, tmp_path):
    path = write(tmp_path, "p.csv", "agent,why\ns:ann,x\n")
    with pytest.raises(inputs.InputError, match=r"p.csv line 1: missing column amount \(金额/奖金\), reason"):
        inputs.import_file(con, path, "2026-11", "prizes", AGENTS)
    with pytest.raises(inputs.InputError, match="is not YYYY-MM"):
        inputs.import_file(con, path, "2026-13", "prizes", AGENTS)


def test_a_month_is_replaced_other_months_kept(con, tmp_path):
    first = write(tmp_path, "p1.csv", "agent,amount,reason\ns:ann,100,a\ns:ann,50.5,b\n")
    second = write(tmp_path, "p2.csv", "agent,amount,reason\ns:bob,-20,迟到\n")
    inputs.import_file(con, first, "2026-10", "prizes", AGENTS)
    inputs.import_file(con, first, "2026-11", "prizes", AGENTS)
    inputs.import_file(con, second, "2026-11", "prizes", AGENTS)
    assert {a: [p.amount for p in ps] for a, ps in inputs.prizes(con, "2026-11").items()} == {"s:bob": [D("-20.00")]}
    assert [p.amount for p in inputs.prizes(con, "2026-10")["s:ann"]] == [D("100.00"), D("50.50")]


def test_money_with_three_decimals_is_refused(con, tmp_path):
    path = write(tmp_path, "p.csv", "agent,amount,reason\ns:ann,1.005,x\n")
    with pytest.raises(inputs.InputError, match=r"line 2: amount 1\.005 has more than two decimals"):
        inputs.import_file(con, path, "2026-11", "prizes", AGENTS)


def test_test_scores_from_xlsx_several_tests_averaged(con, tmp_path):
    wb = Workbook()
    sheet = wb.active
    sheet.append(["客服", "成绩", "考试"])
    sheet.append(["s:ann", 80, "面料"])
    sheet.append([None, None, None])
    sheet.append(["s:ann", 95.5, "尺码"])
    sheet.append(["s:bob", 101, "面料"])
    path = tmp_path / "scores.xlsx"
    wb.save(path)
    with pytest.raises(inputs.InputError) as exc:
        inputs.import_file(con, path, "2026-11", "test_scores", AGENTS)
    assert exc.value.problems == ["scores.xlsx line 5: score 101 is not a score 0–100"]  # the XLSX row number
    sheet.delete_rows(5)
    wb.save(path)
    assert inputs.import_file(con, path, "2026-11", "test_scores", AGENTS) == 2
    assert [(s, t, w) for s, t, w in inputs.test_scores(con, "2026-11")["s:ann"]] == [
        (D("80.00"), "面料", "scores.xlsx:2"),
        (D("95.50"), "尺码", "scores.xlsx:4"),
    ]


def test_unreadable_file(con, tmp_path):
    path = write(tmp_path, "bad.csv", "agent\n", "utf-8")
    path.write_bytes(b"\xff\xfe\xfa agent")
    with pytest.raises(inputs.InputError, match=r"bad\.csv"):
        inputs.import_file(con, path, "2026-11", "attendance", AGENTS)
