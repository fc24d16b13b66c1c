"""The daily report as an XLSX workbook with native Excel charts (xlsxwriter).

Sheets: 团队 (team figures and targets; 状态 marks a figure that can still change
as 未定 with the day it becomes final), 客服 (per agent; with the day's QC
score, findings and confirmed findings when QC has checked the day), 组别 (each team's
month to date against its team targets), 峰谷差 (spread), 图表 (charts:
credited sales per agent, and reply times per agent).
Values are written as numbers with Excel number formats, so the workbook
can be recomputed and filtered; tests read the cells back with openpyxl.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from kefu.exports import workbook, xlsx_text, xlsx_text_row
from kefu.metrics.registry import BY_KEY
from kefu.reports.daily import AGENT_METRICS, DailyReport

FORMATS = {"ratio": "0.0%", "s": '0.0" 秒"', "yuan": "¥#,##0.00"}


def _label(key: str, lang: str) -> str:
    m = BY_KEY[key]
    return m.zh if lang == "zh" else m.en


def write_daily_xlsx(report: DailyReport, target: Path | BinaryIO, lang: str = "zh") -> None:
    zh = lang == "zh"
    wb = workbook(target)
    head = wb.add_format(
        {
            "bold": True,
            "bg_color": "#1f4e79",
            "font_color": "white",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
        }
    )
    title = wb.add_format({"bold": True, "font_size": 14})
    num = {u: wb.add_format({"num_format": f, "border": 1}) for u, f in FORMATS.items()}
    plain = wb.add_format({"num_format": "#,##0", "border": 1})
    pp = wb.add_format({"num_format": '+0.0" pp";-0.0" pp";0.0" pp"', "border": 1})
    text = wb.add_format({"border": 1})
    qc_score = wb.add_format({"num_format": "0.0", "border": 1})

    def cell_format(key: str, is_delta=False):
        unit = BY_KEY[key].unit
        if is_delta and unit == "ratio":
            return pp
        return num.get(unit, plain)

    def put(ws, r, c, key, value, is_delta=False):
        if value is None:
            ws.write_blank(r, c, None, text)
        else:
            ws.write_number(
                r, c, value * 100 if (is_delta and BY_KEY[key].unit == "ratio") else value, cell_format(key, is_delta)
            )

    prov = report.provisional  # metric -> the day its figure becomes final (kefu.metrics.provisional)
    mark = "未定" if zh else "provisional"

    def status(key: str) -> str:
        return (
            "" if key not in prov else (f"未定, {prov[key]} 起为最终值" if zh else f"provisional, final on {prov[key]}")
        )

    # 团队
    ws = wb.add_worksheet("团队" if zh else "Team")
    xlsx_text(ws, 0, 0, f"{report.shop} {'日报' if zh else 'daily report'} {report.day.isoformat()}", title)
    if prov and report.data_until:
        xlsx_text(
            ws,
            1,
            0,
            f"数据截至 {report.data_until:%Y-%m-%d %H:%M:%S}; 转化窗口未结束的数字标为未定"
            if zh
            else f"Data until {report.data_until:%Y-%m-%d %H:%M:%S}; figures whose conversion window is still open are marked provisional",
        )
    cols = (
        ["指标", "当日", "前一日", "较前日", "上周同日", "较上周同日", "本月累计", "月目标", "完成率", "差距", "状态"]
        if zh
        else [
            "Metric",
            "Day",
            "Previous day",
            "vs previous",
            "Same day last week",
            "vs last week",
            "Month to date",
            "Monthly target",
            "Completion",
            "Gap",
            "Status",
        ]
    )
    xlsx_text_row(ws, 2, 0, cols, head)
    for i, row in enumerate(report.team, start=3):
        k = row["metric"]
        xlsx_text(ws, i, 0, _label(k, lang), text)
        put(ws, i, 1, k, row["value"])
        put(ws, i, 2, k, row["previous"])
        put(ws, i, 3, k, row["vs_previous"], True)
        put(ws, i, 4, k, row["last_week"])
        put(ws, i, 5, k, row["vs_last_week"], True)
        put(ws, i, 6, k, row["mtd"])
        put(ws, i, 7, k, row["target"])
        if row["completion"] is None:
            ws.write_blank(i, 8, None, text)
        else:
            ws.write_number(i, 8, row["completion"], num["ratio"])
        put(ws, i, 9, k, row["gap"], True)
        xlsx_text(ws, i, 10, status(k), text)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 9, 13)
    ws.set_column(10, 10, 26)
    ws.freeze_panes(3, 1)

    # 客服
    wa = wb.add_worksheet("客服" if zh else "Agents")
    fixed = ["客服", "组别", "归属"] if zh else ["Agent", "Team", "Employer"]
    header = fixed + [
        h
        for k in AGENT_METRICS
        for h in (
            _label(k, lang) + (f" ({mark})" if k in prov else ""),
            ("较前日" if zh else "vs prev"),
            ("较上周" if zh else "vs last week"),
        )
    ]
    header += ["本月销售额", "月目标", "完成率"] if zh else ["Sales MTD", "Monthly target", "Completion"]
    qc_col = len(header)  # QC figures of the day (质检), when the report has them (kefu.reports.daily.attach_qc)
    if report.qc:
        header += ["质检分", "质检问题", "已确认"] if zh else ["QC score", "QC findings", "Confirmed"]
    xlsx_text_row(wa, 0, 0, header, head)
    for i, a in enumerate(report.agents, start=1):
        xlsx_text(wa, i, 0, a["name"], text)
        xlsx_text(wa, i, 1, a["team"] or "", text)
        xlsx_text(wa, i, 2, a["employer"], text)
        c = 3
        for k in AGENT_METRICS:
            f = a["figures"][k]
            put(wa, i, c, k, f["value"])
            put(wa, i, c + 1, k, f["vs_previous"], True)
            put(wa, i, c + 2, k, f["vs_last_week"], True)
            c += 3
        put(wa, i, c, "sales_amount", a["mtd_sales"])
        put(wa, i, c + 1, "sales_amount", a["target_sales"])
        if a["target_completion"] is None:
            wa.write_blank(i, c + 2, None, text)
        else:
            wa.write_number(i, c + 2, a["target_completion"], num["ratio"])
        if report.qc:
            wa.write_number(i, qc_col, a["qc"]["qc_score"], qc_score)
            wa.write_number(i, qc_col + 1, a["qc"]["findings"], plain)
            wa.write_number(i, qc_col + 2, a["qc"]["confirmed"], plain)
    wa.set_column(0, 2, 12)
    wa.set_column(3, len(header), 11)
    wa.freeze_panes(1, 1)
    wa.autofilter(0, 0, max(len(report.agents), 1), len(header) - 1)

    # 组别: month to date per team against the team's monthly targets
    wt = wb.add_worksheet("组别" if zh else "Teams")
    xlsx_text_row(
        wt,
        0,
        0,
        ["组别", "指标", "本月累计", "月目标", "按进度应达", "完成率", "差距", "达标"]
        if zh
        else ["Team", "Metric", "Month to date", "Monthly target", "Expected by now", "Completion", "Gap", "On track"],
        head,
    )
    r = 1
    for team in report.teams:
        name = team["team"] or ("未分组" if zh else "No team")
        rows = team["targets"] or [
            {
                "metric": "sales_amount",
                "mtd": team["figures"].get("sales_amount"),
                "target": None,
                "expected_to_date": None,
                "completion": None,
                "gap": None,
                "on_track": None,
            }
        ]
        for row in rows:
            k = row["metric"]
            xlsx_text(wt, r, 0, name, text)
            xlsx_text(wt, r, 1, _label(k, lang), text)
            put(wt, r, 2, k, row["mtd"])
            put(wt, r, 3, k, row["target"])
            put(wt, r, 4, k, row["expected_to_date"])
            if row["completion"] is None:
                wt.write_blank(r, 5, None, text)
            else:
                wt.write_number(r, 5, row["completion"], num["ratio"])
            put(wt, r, 6, k, row["gap"], True)
            track = (
                None
                if row["on_track"] is None
                else (("达标" if row["on_track"] else "落后") if zh else ("on track" if row["on_track"] else "behind"))
            )
            xlsx_text(wt, r, 7, " ".join(filter(None, (track, f"({mark})" if k in prov else ""))), text)
            r += 1
    wt.set_column(0, 1, 16)
    wt.set_column(2, 7, 13)
    wt.freeze_panes(1, 1)

    # 峰谷差
    wsp = wb.add_worksheet("峰谷差" if zh else "Spread")
    xlsx_text_row(
        wsp,
        0,
        0,
        ["指标", "最高", "客服", "最低", "客服", "峰谷差"]
        if zh
        else ["Metric", "Peak", "Agent", "Valley", "Agent", "Gap"],
        head,
    )
    for i, s in enumerate(report.spread, start=1):
        k = s["metric"]
        xlsx_text(wsp, i, 0, _label(k, lang), text)
        put(wsp, i, 1, k, s["peak"])
        xlsx_text(wsp, i, 2, (s["peak_agent"] or "").split(":", 1)[-1], text)
        put(wsp, i, 3, k, s["valley"])
        xlsx_text(wsp, i, 4, (s["valley_agent"] or "").split(":", 1)[-1], text)
        put(wsp, i, 5, k, s["gap"])
    wsp.set_column(0, 0, 22)
    wsp.set_column(1, 5, 13)

    # 图表: native charts over the 客服 sheet
    wc = wb.add_worksheet("图表" if zh else "Charts")
    n = len(report.agents)
    sheet = wa.get_name()
    if n:
        sales_col = 3 + 3 * AGENT_METRICS.index("sales_amount")
        chart = wb.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": _label("sales_amount", lang),
                "categories": [sheet, 1, 0, n, 0],
                "values": [sheet, 1, sales_col, n, sales_col],
                "fill": {"color": "#2f6fb0"},
            }
        )
        chart.set_title({"name": _label("sales_amount", lang)})
        chart.set_legend({"none": True})
        chart.set_size({"width": 900, "height": 360})
        wc.insert_chart(1, 1, chart)
        rt = wb.add_chart({"type": "bar"})
        for key, color in (("avg_first_response_s", "#e0892d"), ("avg_response_s", "#5b9b5b")):
            col = 3 + 3 * AGENT_METRICS.index(key)
            rt.add_series(
                {
                    "name": _label(key, lang),
                    "categories": [sheet, 1, 0, n, 0],
                    "values": [sheet, 1, col, n, col],
                    "fill": {"color": color},
                }
            )
        rt.set_title({"name": "响应时间(秒)" if zh else "Response time (s)"})
        rt.set_size({"width": 900, "height": 520})
        wc.insert_chart(20, 1, rt)
    wb.close()
