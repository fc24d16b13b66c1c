"""Targets: every problem of a file reported with its line, nothing stored when one row is wrong."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from kefu.targets import TargetError, import_file, load, progress
from kefu.workspace import Workspace


@pytest.fixture
def con():
    ws = Workspace.memory()
    yield ws.con
    ws.close()


def test_csv_import_with_percentages_and_agent_names(con, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(
        '\ufeffmonth,shop,scope,subject,metric,value\n2026-11,s,shop,s,sales_amount,"150,000"\n'
        "2026-11,s,agent,小萍,reply_rate,98%\n",
        encoding="utf-8",
    )
    assert import_file(con, f) == 2
    got = {(t.scope, t.subject, t.metric): t.value for t in load(con, "2026-11")}
    assert got == {("shop", "s", "sales_amount"): 150000.0, ("agent", "s:小萍", "reply_rate"): 0.98}


def test_every_problem_is_listed_and_nothing_is_stored(con, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(
        "month,shop,scope,subject,metric,value\n2026-11,s,shop,s,sales_amount,100\n"
        "2026-1,s,desk,s,nope,abc\n2026-11,s,shop,s,reply_rate,1.5\n",
        encoding="utf-8",
    )
    with pytest.raises(TargetError) as e:
        import_file(con, f)
    text = str(e.value)
    assert "t.csv line 3: month '2026-1'" in text and "scope 'desk'" in text and "unknown metric 'nope'" in text
    assert "value 'abc' is not a number" in text and "line 4: reply_rate is a rate" in text
    assert load(con) == []


def test_xlsx_import(con, tmp_path):
    wb = Workbook()
    wb.active.append(["month", "shop", "scope", "subject", "metric", "value"])
    wb.active.append(["2026-11", "s", "team", "售前一组", "inquiry_conversion", 0.6])
    wb.save(tmp_path / "t.xlsx")
    assert import_file(con, tmp_path / "t.xlsx") == 1
    assert load(con)[0].value == 0.6


def test_reimport_replaces(con, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("month,shop,scope,subject,metric,value\n2026-11,s,shop,s,complaints,5\n", encoding="utf-8")
    import_file(con, f)
    f.write_text("month,shop,scope,subject,metric,value\n2026-11,s,shop,s,complaints,3\n", encoding="utf-8")
    import_file(con, f)
    assert [t.value for t in load(con)] == [3.0]


def test_progress_pro_rata_for_counts_and_direct_for_rates():
    assert progress(500.0, 1000.0, "sales_amount", elapsed_share=0.4)["on_track"] is True
    assert progress(300.0, 1000.0, "sales_amount", elapsed_share=0.4)["on_track"] is False
    assert progress(0.9, 0.95, "reply_rate", elapsed_share=0.1)["on_track"] is False
    assert progress(40.0, 45.0, "avg_response_s")["on_track"] is True  # lower is better
    assert progress(2, 5, "complaints", elapsed_share=0.5)["on_track"] is True
