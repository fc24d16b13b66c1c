"""QC figures in the daily report (日报): each agent's QC score, findings and confirmed findings of the day."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from shops import order, shop
from test_engine import DAY, chats

from kefu import api
from kefu.qc import day_tally, engine
from kefu.reports.daily import attach_qc, daily_report
from kefu.reports.xlsx import write_daily_xlsx


def report_of(ws):
    return daily_report(lambda by, f, t: api.kpis(ws, list(by), date_from=f, date_to=t), "s", DAY, [], {})


def test_no_qc_run_no_qc_figures(tmp_path):
    ws = shop(tmp_path, chats())
    assert day_tally(ws, "s", DAY) is None
    report = report_of(ws)
    assert attach_qc(report, None) is report and report.qc is False
    ws.close()


def test_agents_get_the_days_qc_figures_and_the_workbook_shows_them(tmp_path):
    ws = shop(
        tmp_path,
        chats(),
        [order("6222021234567890128", "14:05:00", "14:06:00", buyer="b4")],
        agents=[{"agent": "s:bot", "shop": "s", "role": "bot"}],
    )
    engine.run(ws, DAY, DAY)
    confirmed = next(f for f in engine.findings(ws) if f["rule"] == "off_platform_contact")
    ws.con.execute("INSERT INTO qc_reviews VALUES (?, 'confirmed', 'q', '', now())", [confirmed["finding_id"]])
    assert day_tally(ws, "s", DAY + dt.timedelta(days=1)) is None  # the run covered only DAY
    report = attach_qc(report_of(ws), day_tally(ws, "s", DAY))
    scores = {r["agent"]: r for r in engine.agent_day_scores(ws, DAY, DAY)}
    assert report.qc and {a["agent"] for a in report.agents} == set(scores)
    for a in report.agents:
        want = scores[a["agent"]]
        assert {k: a["qc"][k] for k in ("qc_score", "findings", "confirmed", "open")} == {
            k: want[k] for k in ("qc_score", "findings", "confirmed", "open")
        }
    ann = next(a for a in report.agents if a["agent"] == "s:ann")
    assert ann["qc"]["confirmed"] == 1 and ann["qc"]["qc_score"] < 100

    buffer = io.BytesIO()
    write_daily_xlsx(report, buffer, "zh")
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["客服"]
    header = [c.value for c in sheet[1]]
    col = header.index("质检分")
    assert header[col : col + 3] == ["质检分", "质检问题", "已确认"]
    cells = {row[0].value: [c.value for c in row[col : col + 3]] for row in sheet.iter_rows(min_row=2)}
    assert cells[ann["name"]] == [ann["qc"]["qc_score"], ann["qc"]["findings"], 1]
    ws.close()
