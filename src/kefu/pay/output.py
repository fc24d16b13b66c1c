"""Payroll, slips and lines as plain JSON-ready records (the shape of `--format json`, the web API and exports).

Money is written as a number with at most two decimals; JSON keeps the
decimal text, so 1234.56 stays exactly 1234.56.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kefu.pay.model import Line, Payroll, Slip


def plain(value: Any) -> Any:
    """Decimals to numbers, dates to ISO text, containers recursively."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # an int, or "n", "N", "F" for NaN and infinity
        whole = value == value.to_integral_value() and isinstance(exponent, int) and exponent >= 0
        return int(value) if whole else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item"):  # numpy / pandas scalars
        return value.item()
    return value


def money_number(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def slip_summary(slip: Slip) -> dict[str, Any]:
    """One object per agent: who, base, each component, total (`kefu pay --format json`)."""
    a = slip.agent
    return {
        "month": slip.month,
        "agent": a.agent,
        "name": a.name,
        "shop": a.shop,
        "team": a.team,
        "role": a.role,
        "employer": a.employer,
        "scheme": slip.scheme,
        "scheme_version": slip.scheme_version,
        "base": money_number(slip.base),
        "components": {line.component: money_number(line.amount) for line in slip.lines if line.kind != "base"},
        "total": money_number(slip.total),
    }


def line_record(line: Line) -> dict[str, Any]:
    return {
        "component": line.component,
        "kind": line.kind,
        "amount": money_number(line.amount),
        "rule": line.rule,
        "formula": line.formula,
        "used": [
            {"key": u.key, "zh": u.zh, "value": plain(u.value), "shown": u.shown, "source": u.source} for u in line.used
        ],
        "detail": plain(list(line.detail)),
    }


def slip_record(slip: Slip) -> dict[str, Any]:
    """A slip with every line's rule, formula and values (the payslip and `kefu pay explain --format json`)."""
    return slip_summary(slip) | {"scheme_source": slip.scheme_source, "lines": [line_record(x) for x in slip.lines]}


def payroll_records(payroll: Payroll) -> list[dict[str, Any]]:
    return [slip_summary(s) for s in payroll.slips]


def component_names(payroll: Payroll) -> list[str]:
    """Every component name in the order schemes declare them (columns of the payroll table)."""
    names: list[str] = []
    for slip in payroll.slips:
        for line in slip.lines:
            if line.kind != "base" and line.component not in names:
                names.append(line.component)
    return names


def flat_rows(payroll: Payroll) -> list[dict[str, Any]]:
    """One flat row per agent with a column per component (CSV, tables)."""
    names = component_names(payroll)
    out = []
    for s in payroll.slips:
        row = {k: v for k, v in slip_summary(s).items() if k != "components"}
        amounts = slip_summary(s)["components"]
        row = {
            **{
                k: row[k]
                for k in (
                    "month",
                    "agent",
                    "name",
                    "shop",
                    "team",
                    "role",
                    "employer",
                    "scheme",
                    "scheme_version",
                    "base",
                )
            },
            **{n: amounts.get(n) for n in names},
            "total": row["total"],
        }
        out.append(row)
    return out
