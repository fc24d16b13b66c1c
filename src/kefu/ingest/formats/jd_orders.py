"""京东 order export: one row per order line (SKU); an order spans several rows.

Per-order columns (the same value repeated on every line of the order, or
only on its first line): 订单号, 下单帐号, 下单时间, 付款确认时间, 订单状态,
订单金额, 应付金额, 运费金额. Per-line columns: 商品ID, 商品名称, 订购数量,
京东价, 结算金额. The order's amount is 应付金额 (what the buyer pays after
discounts, freight included: the 实付金额 of the data model), or 订单金额 when
the export has no 应付金额. It is taken once per order, never summed over the
lines: summing a repeated order-level value would count it once per SKU.
"""

from __future__ import annotations

from pathlib import Path

from .common import ORDER_COLUMNS, Reject, make_table
from .orders import Columns, Line, finish_order, read_lines

FORMAT = "jd_orders"

COLUMNS = Columns(
    order_id=("订单号", "订单编号"),
    buyer=("下单帐号", "下单账号"),
    created_at=("下单时间",),
    paid_at=("付款确认时间",),
    amount=("应付金额", "订单金额"),
    status=("订单状态",),
)


def is_header(cells: set[str]) -> bool:
    return bool(cells & set(COLUMNS.order_id)) and bool(cells & set(COLUMNS.buyer)) and "下单时间" in cells


def parse_records(records, lines, path: Path, shop: str):
    """Row source -> (tables, rejects, read).

    A record is an order (its lines folded) or a line whose order number is
    unreadable (it cannot be folded into any order).
    """
    items, names = read_lines(records, lines, path, COLUMNS, is_header)
    orders: dict[str, list[Line]] = {}  # by order number, in order of first line
    rows, rejects = [], []
    for line in items:
        if line.problems:
            rejects.append(Reject(line.first, "; ".join(line.problems), line.raw))
        else:
            orders.setdefault(line.order_id, []).append(line)
    for order_id, order_lines in orders.items():
        first = order_lines[0].first
        values, problems = fold(order_lines, names)
        if not problems:
            row, problems = finish_order(order_id, values, names, shop)
        if problems:
            raw = "\n".join(ln.raw for ln in order_lines)
            rejects.append(Reject(first, "; ".join(problems), raw))
        else:
            assert row is not None  # finish_order returns a row when it finds no problem
            rows.append((*row, first))
    rejects.sort(key=lambda r: r.line)
    return {"orders": make_table(ORDER_COLUMNS, rows)}, rejects, len(orders) + sum(1 for ln in items if ln.problems)


def fold(order_lines: list[Line], names: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """One value per order-level field: lines must agree (empty cells are ignored)."""
    values, problems = {}, []
    for field in order_lines[0].texts:
        seen: dict[str, int] = {}  # value -> first line holding it
        for ln in order_lines:
            if ln.texts[field]:
                seen.setdefault(ln.texts[field], ln.first)
        if len(seen) > 1:
            (a, la), (b, lb) = list(seen.items())[:2]
            problems.append(
                f"lines {la} and {lb} of order {order_lines[0].order_id} disagree "
                f"on {names[field]} ('{a[:40]}' vs '{b[:40]}')"
            )
        values[field] = next(iter(seen), "")
    return values, problems
