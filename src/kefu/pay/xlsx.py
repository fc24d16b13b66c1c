"""Payroll and vendor settlement workbooks with native Excel charts (xlsxwriter, as kefu.reports.xlsx).

Payroll (工资表): sheets 工资表 (one row per agent: base, each component,
total, with a totals row), 明细 (one row per agent and line: amount, rule,
formula — the audit trail), 方案 (the schemes used) and 图表 (a stacked
column chart of each agent's components and a column chart of totals).
Settlement (结算单): a summary sheet and one sheet per vendor.
Amounts are numbers with a ¥ format; totals rows are SUM formulas that also
carry their computed value. Tests read the cells back with openpyxl.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from kefu.exports import workbook, xlsx_text, xlsx_text_row
from kefu.pay.model import Payroll
from kefu.pay.output import component_names

MONEY = "¥#,##0.00;[Red]-¥#,##0.00"
ZH_COLUMNS = ("店铺", "组别", "客服", "账号", "角色", "归属", "方案", "版本", "基本工资")
EN_COLUMNS = ("Shop", "Team", "Agent", "Account", "Role", "Employer", "Scheme", "Version", "Base")
SHEET_NAME_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        self.head = wb.add_format(
            {
                "bold": True,
                "bg_color": "#1f4e79",
                "font_color": "white",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
            }
        )
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.money = wb.add_format({"num_format": MONEY, "border": 1})
        self.total = wb.add_format({"num_format": MONEY, "border": 1, "bold": True, "bg_color": "#dde8f3"})
        self.text = wb.add_format({"border": 1})
        self.wrap = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.bold = wb.add_format({"border": 1, "bold": True, "bg_color": "#dde8f3"})


def write_payroll_xlsx(payroll: Payroll, target: Path | BinaryIO, lang: str = "zh") -> None:
    zh = lang != "en"
    wb = workbook(target)
    f = _Formats(wb)
    names = component_names(payroll)
    ws = wb.add_worksheet("工资表" if zh else "Payroll")
    xlsx_text(ws, 0, 0, f"{payroll.month} {'工资表' if zh else 'payroll'}", f.title)
    header = list(ZH_COLUMNS if zh else EN_COLUMNS) + names + ["合计" if zh else "Total"]
    xlsx_text_row(ws, 2, 0, header, f.head)
    first = 3
    for i, s in enumerate(payroll.slips, start=first):
        a = s.agent
        xlsx_text_row(
            ws, i, 0, [a.shop, a.team or "", a.name, a.agent, a.role, a.employer, s.scheme, s.scheme_version], f.text
        )
        ws.write_number(i, 8, float(s.base), f.money)
        for j, n in enumerate(names, start=9):
            line = s.line(n)
            if line is None:
                ws.write_blank(i, j, None, f.text)
            else:
                ws.write_number(i, j, float(line.amount), f.money)
        ws.write_number(i, 9 + len(names), float(s.total), f.total)
    last = first + len(payroll.slips) - 1
    _totals_row(
        ws,
        f,
        last + 1,
        8,
        9 + len(names),
        first,
        last,
        [sum((s.base for s in payroll.slips), Decimal(0))]
        + [sum((ln.amount for s in payroll.slips if (ln := s.line(n)) is not None), Decimal(0)) for n in names]
        + [payroll.total],
        "合计" if zh else "Total",
    )
    ws.set_column(0, 7, 12)
    ws.set_column(8, 9 + len(names), 13)
    ws.freeze_panes(3, 4)
    ws.autofilter(2, 0, max(last, 3), 9 + len(names))

    _details_sheet(wb, f, payroll, zh)
    _schemes_sheet(wb, f, payroll, zh)
    _charts_sheet(wb, ws.get_name(), payroll, names, first, last, zh)
    wb.close()


def _totals_row(
    ws, f: _Formats, row: int, first_col: int, last_col: int, top: int, bottom: int, values: list[Decimal], label: str
) -> None:
    xlsx_text(ws, row, 0, label, f.bold)
    for col, value in zip(range(first_col, last_col + 1), values):
        if bottom < top:
            ws.write_number(row, col, 0, f.total)
            continue
        ws.write_formula(
            row, col, f"=SUM({xl_rowcol_to_cell(top, col)}:{xl_rowcol_to_cell(bottom, col)})", f.total, float(value)
        )


def _details_sheet(wb, f: _Formats, payroll: Payroll, zh: bool) -> None:
    ws = wb.add_worksheet("明细" if zh else "Details")
    xlsx_text_row(
        ws,
        0,
        0,
        ["账号", "客服", "方案", "项目", "金额", "规则", "计算"]
        if zh
        else ["Account", "Agent", "Scheme", "Line", "Amount", "Rule", "Computation"],
        f.head,
    )
    row = 1
    for s in payroll.slips:
        for line in s.lines:
            xlsx_text_row(ws, row, 0, [s.agent.agent, s.agent.name, s.scheme, line.component], f.text)
            ws.write_number(row, 4, float(line.amount), f.money)
            xlsx_text(ws, row, 5, line.rule, f.wrap)
            xlsx_text(ws, row, 6, line.formula, f.wrap)
            row += 1
    ws.set_column(0, 3, 14)
    ws.set_column(4, 4, 12)
    ws.set_column(5, 6, 60)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, max(row - 1, 1), 6)


def _schemes_sheet(wb, f: _Formats, payroll: Payroll, zh: bool) -> None:
    ws = wb.add_worksheet("方案" if zh else "Schemes")
    xlsx_text_row(ws, 0, 0, ["方案", "版本", "文件", "人数"] if zh else ["Scheme", "Version", "File", "Agents"], f.head)
    used: dict[tuple, int] = {}
    for s in payroll.slips:
        key = (s.scheme, s.scheme_version, s.scheme_source)
        used[key] = used.get(key, 0) + 1
    for i, ((name, version, source), n) in enumerate(sorted(used.items()), start=1):
        xlsx_text_row(ws, i, 0, [name, version, source], f.text)
        ws.write_number(i, 3, n, f.text)
    ws.set_column(0, 1, 12)
    ws.set_column(2, 2, 50)


def _charts_sheet(wb, sheet: str, payroll: Payroll, names: list[str], first: int, last: int, zh: bool) -> None:
    wc = wb.add_worksheet("图表" if zh else "Charts")
    if last < first:
        return
    stacked = wb.add_chart({"type": "column", "subtype": "stacked"})
    for col in range(8, 9 + len(names)):  # the base pay, then one column per component
        stacked.add_series(
            {
                "name": [sheet, 2, col],
                "categories": [sheet, first, 2, last, 2],
                "values": [sheet, first, col, last, col],
            }
        )
    stacked.set_title({"name": "各项构成" if zh else "Pay by component"})
    stacked.set_size({"width": 1000, "height": 420})
    wc.insert_chart(1, 1, stacked)
    totals = wb.add_chart({"type": "column"})
    col = 9 + len(names)
    totals.add_series(
        {
            "name": [sheet, 2, col],
            "categories": [sheet, first, 2, last, 2],
            "values": [sheet, first, col, last, col],
            "fill": {"color": "#2f6fb0"},
            "data_labels": {"value": True, "num_format": "#,##0"},
        }
    )
    totals.set_title({"name": "应发合计" if zh else "Total pay"})
    totals.set_legend({"none": True})
    totals.set_size({"width": 1000, "height": 380})
    wc.insert_chart(23, 1, totals)


def write_settlement_xlsx(found: list[dict[str, Any]], target: Path | BinaryIO) -> None:
    """Vendor settlements (kefu.pay.settlement): 汇总 and one sheet per vendor."""
    wb = workbook(target)
    f = _Formats(wb)
    summary = wb.add_worksheet("汇总")
    xlsx_text_row(summary, 0, 0, ["供应商", "月份", "人数", "基本工资(坐席费)", "结算合计"], f.head)
    for i, v in enumerate(found, start=1):
        xlsx_text_row(summary, i, 0, [v["employer"], v["month"]], f.text)
        summary.write_number(i, 2, len(v["agents"]), f.text)
        summary.write_number(i, 3, v["base"], f.money)
        summary.write_number(i, 4, v["total"], f.total)
    summary.set_column(0, 4, 16)
    for v in found:
        ws = wb.add_worksheet(v["employer"].translate(SHEET_NAME_BAD)[:31])
        xlsx_text(ws, 0, 0, f"{v['employer']} 结算单 {v['month']}", f.title)
        header = ["客服", "账号", "组别", "方案", "基本工资"] + v["components"] + ["合计"]
        xlsx_text_row(ws, 2, 0, header, f.head)
        first = 3
        for i, a in enumerate(v["agents"], start=first):
            xlsx_text_row(ws, i, 0, [a["name"], a["agent"], a["team"] or "", a["scheme"]], f.text)
            ws.write_number(i, 4, a["base"], f.money)
            for j, n in enumerate(v["components"], start=5):
                amount = a["components"].get(n)
                if amount is None:
                    ws.write_blank(i, j, None, f.text)
                else:
                    ws.write_number(i, j, amount, f.money)
            ws.write_number(i, 5 + len(v["components"]), a["total"], f.total)
        last = first + len(v["agents"]) - 1
        sums = (
            [Decimal(str(v["base"]))]
            + [
                sum((Decimal(str(a["components"].get(n) or 0)) for a in v["agents"]), Decimal(0))
                for n in v["components"]
            ]
            + [Decimal(str(v["total"]))]
        )
        _totals_row(ws, f, last + 1, 4, 5 + len(v["components"]), first, last, sums, "合计")
        ws.set_column(0, 3, 14)
        ws.set_column(4, 5 + len(v["components"]), 13)
    wb.close()
