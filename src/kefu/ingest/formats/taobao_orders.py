"""淘宝/天猫 order export (ExportOrderList*.csv): one row per order.

Both header generations are read by name, wherever the columns are:
classic 订单创建时间 / 订单付款时间 / 买家实际支付金额, newer 买家下单时间 /
买家付款时间 / 买家实付金额.
"""

from __future__ import annotations

from pathlib import Path

from .common import ORDER_COLUMNS, Reject, make_table
from .orders import Columns, finish_order, read_lines

FORMAT = "taobao_orders"

COLUMNS = Columns(
    order_id=("订单编号",),
    buyer=("买家会员名",),
    created_at=("订单创建时间", "买家下单时间"),
    paid_at=("订单付款时间", "买家付款时间"),
    amount=("买家实际支付金额", "买家实付金额"),
    status=("订单状态",),
)


def is_header(cells: set[str]) -> bool:
    return {"订单编号", "买家会员名"} <= cells and bool(cells & set(COLUMNS.created_at))


def parse_records(records, lines, path: Path, shop: str):
    """Row source -> (tables, rejects, read); each non-blank row is one order."""
    items, names = read_lines(records, lines, path, COLUMNS, is_header)
    rows, rejects = [], []
    for line in items:
        row, problems = None, line.problems
        if line.values is not None:  # report every problem of the row at once
            row, more = finish_order(line.order_id, line.values, names, shop)
            problems = problems + more
        if problems:
            rejects.append(Reject(line.first, "; ".join(problems), line.raw))
        else:
            assert row is not None  # finish_order returns a row when it finds no problem
            rows.append((*row, line.first))
    return {"orders": make_table(ORDER_COLUMNS, rows)}, rejects, len(items)
